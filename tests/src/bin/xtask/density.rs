//! `cargo xtask density`: how many tenants a node holds. A release `mandi serve` on a scratch
//! SQLite database; N tenants (default 5,000) are created through the admin API, each with the
//! sample catalog and its own component — jiomart's, made distinct by a custom section naming
//! the tenant, so nothing is shared by digest — deployed to every hook jiomart's exports. Reports the
//! server's resident memory after the deploys, after every tenant quoted once, and after a
//! restart followed by every tenant quoting once, with first-quote latency p50/p99 in both
//! cases and the setup time.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use mandi_tests::demo::{create_tenant, deploy, upload};
use mandi_tests::http::Api;
use mandi_tests::samples::{example_config, example_hooks, sample_request};
use serde_json::json;
use wasm_encoder::{ComponentSection as _, CustomSection};

use super::server::Bench;
use super::step;

#[derive(Debug)]
pub struct DensityArgs {
    tenants: usize,
}

impl DensityArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self { tenants: 5_000 };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--tenants" => {
                    parsed.tenants = args
                        .next()
                        .context("--tenants needs a number")?
                        .parse()
                        .context("--tenants needs a number")?;
                }
                other => bail!("unknown argument `{other}` (expected --tenants N)"),
            }
        }
        ensure!(parsed.tenants > 0, "--tenants must be at least 1");
        Ok(parsed)
    }
}

/// Client threads for setup and quoting: enough to keep the server's 2 cores busy.
const CLIENTS: usize = 4;

pub fn density(args: DensityArgs) -> anyhow::Result<()> {
    let mut bench = Bench::start("density")?;
    let admin = bench.admin;
    let idle_rss = rss_of(bench.server.pid())?;

    let jiomart = bench.component("jiomart")?;
    let api = &bench.api;
    step(&format!(
        "creating {} tenants, each with its own component on {} hooks",
        args.tenants,
        example_hooks("jiomart").len()
    ));
    let begun = Instant::now();
    let keys = in_parallel(args.tenants, |i| {
        let id = format!("t{i:05}");
        let key = create_tenant(api, admin, &id)?;
        let digest = upload(api, admin, &id, &distinct(&jiomart, &id))?;
        for hook in example_hooks("jiomart") {
            let body =
                json!({ "hook": hook, "plugin": digest, "config": example_config("jiomart") });
            deploy(api, admin, &id, &body).with_context(|| format!("{id}: deploying {hook}"))?;
        }
        Ok(key)
    })?;
    let setup = begun.elapsed();
    let after_deploys = rss_of(bench.server.pid())?;

    step("every tenant quotes once");
    let first = first_quotes(api, &keys)?;
    let after_quotes = rss_of(bench.server.pid())?;

    step("restarting the node; every tenant quotes once again");
    bench.restart()?;
    let restarted_idle = rss_of(bench.server.pid())?;
    let after_restart = first_quotes(&bench.api, &keys)?;
    let after_restart_quotes = rss_of(bench.server.pid())?;
    bench.stop();

    let n = args.tenants;
    println!(
        "\n{n} tenants, each with a distinct component on {} hooks (release build, setup {:.0} s, \
         {:.1} tenants/s):\n",
        example_hooks("jiomart").len(),
        setup.as_secs_f64(),
        n as f64 / setup.as_secs_f64()
    );
    println!("| moment | server RSS | per tenant | first quote p50 | first quote p99 |");
    println!("|---|---|---|---|---|");
    let per_tenant = |rss: u64, base: u64| (rss.saturating_sub(base)) as f64 / n as f64 / 1024.0;
    println!("| idle, no tenants | {} | - | - | - |", mib(idle_rss));
    println!(
        "| after the deploys | {} | {:.0} KiB | - | - |",
        mib(after_deploys),
        per_tenant(after_deploys, idle_rss)
    );
    println!(
        "| after every tenant quoted once | {} | {:.0} KiB | {} | {} |",
        mib(after_quotes),
        per_tenant(after_quotes, idle_rss),
        ms(first.p50),
        ms(first.p99)
    );
    println!("| restarted, idle | {} | - | - | - |", mib(restarted_idle));
    println!(
        "| restarted, after every tenant quoted once | {} | {:.0} KiB | {} | {} |",
        mib(after_restart_quotes),
        per_tenant(after_restart_quotes, idle_rss),
        ms(after_restart.p50),
        ms(after_restart.p99)
    );
    Ok(())
}

/// The component with a custom section naming `tenant`: the same code under another digest.
fn distinct(wasm: &[u8], tenant: &str) -> Vec<u8> {
    let mut bytes = wasm.to_vec();
    CustomSection {
        name: "mandi-density-tenant".into(),
        data: tenant.as_bytes().into(),
    }
    .append_to_component(&mut bytes);
    bytes
}

struct Latency {
    p50: Duration,
    p99: Duration,
}

/// Each tenant's first quote, timed.
fn first_quotes(api: &Api, keys: &[String]) -> anyhow::Result<Latency> {
    let mut times = in_parallel(keys.len(), |i| {
        let started = Instant::now();
        let (status, quote) = api.post("/v1/quotes", &keys[i], &sample_request(), &[])?;
        ensure!(
            status == 200,
            "tenant {i}'s quote failed ({status}): {quote}"
        );
        Ok(started.elapsed())
    })?;
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok(Latency {
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// Runs `work(0..n)` on a few client threads, printing progress; results in index order.
fn in_parallel<T: Send>(
    n: usize,
    work: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<(usize, T)>> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(mine);
                        }
                        mine.push((i, work(i)?));
                        let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if finished.is_multiple_of(500) || finished == n {
                            eprintln!("  {finished}/{n}");
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("client thread"))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|all| all.into_iter().flatten().collect())
    })?;
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, t)| t).collect())
}

/// The process's resident set size in bytes (Linux).
fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .context("reading the server's /proc status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

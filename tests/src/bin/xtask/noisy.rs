//! `cargo xtask noisy`: the noisy-neighbour benchmark. A release `mandi serve` on a scratch
//! SQLite database; a good tenant (tira's pricing plugin) quotes on 2 connections, first alone,
//! then while another tenant's plugin misbehaves on 4 connections. Three neighbours, each
//! measured against a fresh "alone" run just before it, reported side by side as p50/p99 and
//! the ratio:
//!
//! 1. `spin`: a plugin that spins ~45 ms a call and answers (sized on this machine; its
//!    deadline raised to 200 ms);
//! 2. `flood`: a plugin that logs 1 MiB and returns ~250 KB of output a call (its log and
//!    output limits raised);
//! 3. `loop`: a plugin that loops until the default limits stop it (its breaker then opens).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use mandi_tests::demo::{create_tenant, deploy, set_up_brand, upload};
use mandi_tests::http::Api;
use mandi_tests::samples::small_request;
use serde_json::{Value, json};

use super::server::Bench;
use super::step;

#[derive(Debug)]
pub struct NoisyArgs {
    /// How long each phase (alone, beside the neighbour) runs.
    seconds: u64,
    /// Only these scenarios (`spin`, `flood`, `loop`); all when `None`.
    scenarios: Option<Vec<String>>,
}

impl NoisyArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self {
            seconds: 8,
            scenarios: None,
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    parsed.seconds = args
                        .next()
                        .context("--seconds needs a number")?
                        .parse()
                        .context("--seconds needs a number")?;
                }
                "--scenario" => {
                    let list = args
                        .next()
                        .context("--scenario needs spin, flood or loop")?;
                    parsed.scenarios = Some(list.split(',').map(str::to_owned).collect());
                }
                other => anyhow::bail!(
                    "unknown argument `{other}` (expected --seconds N, --scenario spin,flood,loop)"
                ),
            }
        }
        Ok(parsed)
    }
}

const GOOD_CONNECTIONS: usize = 2;
const NOISY_CONNECTIONS: usize = 4;

pub fn noisy(args: NoisyArgs) -> anyhow::Result<()> {
    let bench = Bench::start("noisy")?;
    let (api, admin) = (&bench.api, bench.admin);
    let good = set_up_brand(api, admin, "tira", &bench.component("tira")?)?.api_key;
    let hostile = bench.component("hostile")?;
    let neighbour = |id: &str, config: Value, limits: Value| -> anyhow::Result<String> {
        let key = create_tenant(api, admin, id)?;
        let digest = upload(api, admin, id, &hostile)?;
        deploy(
            api,
            admin,
            id,
            &json!({
                "hook": "pricing", "plugin": digest, "config": config,
                "failure_policy": "fail-open", "limits": limits,
            }),
        )?;
        Ok(key)
    };
    // A slow plugin's limits: its budget far above what it burns, so it always answers.
    let slow_limits = json!({ "deadline_ms": 200, "max_fuel": 50_000_000_000u64 });

    step("sizing the slow plugin's spin to ~45 ms on this machine");
    const PROBE: u64 = 100_000_000;
    let probe = neighbour(
        "probe",
        json!({ "attack": "spin", "iterations": PROBE }),
        json!({ "deadline_ms": 2000, "max_fuel": 50_000_000_000u64 }),
    )?;
    let (_, quote) = api.post("/v1/quotes", &probe, &small_request(), &[])?;
    ensure!(
        quote["trace"][0]["outcome"] == "ok",
        "the probe failed: {quote}"
    );
    let spent_us = quote["trace"][0]["duration_us"]
        .as_u64()
        .unwrap_or(0)
        .max(1);
    let iterations_45ms = PROBE * 45_000 / spent_us;
    println!("  {PROBE} iterations took {spent_us} us: ~45 ms is {iterations_45ms}");

    let all = [
        (
            "spin",
            "spins ~45 ms a call and answers (deadline 200 ms)",
            json!({ "attack": "spin", "iterations": iterations_45ms }),
            slow_limits,
        ),
        (
            "flood",
            "logs 1 MiB + returns ~250 KB a call",
            json!({ "attack": "flood" }),
            json!({ "max_log_bytes": 1_048_576, "max_output_bytes": 300_000 }),
        ),
        (
            "loop",
            "loops until the default limits stop it",
            json!({ "attack": "loop" }),
            json!({}),
        ),
    ];
    let mut scenarios = Vec::new();
    for (id, name, config, limits) in all {
        if args
            .scenarios
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == id))
        {
            scenarios.push((name, neighbour(id, config, limits)?));
        }
    }
    ensure!(
        !scenarios.is_empty(),
        "no scenario matches (spin, flood, loop)"
    );

    step("warming up");
    measure(api, &good, Duration::from_secs(2), None)?;

    let phase = Duration::from_secs(args.seconds);
    let mut rows = Vec::new();
    for (name, noisy_key) in &scenarios {
        step(&format!(
            "good tenant alone, then beside a neighbour that {name}"
        ));
        let alone = measure(api, &good, phase, None)?;
        let beside = measure(api, &good, phase, Some(noisy_key))?;
        rows.push((*name, alone, beside));
    }
    bench.stop();

    println!(
        "\nGood tenant's quote latency on {GOOD_CONNECTIONS} connections, alone and beside a \
         neighbour on {NOISY_CONNECTIONS} (release build, {} s a phase):\n",
        args.seconds
    );
    println!(
        "| neighbour | alone p50 | alone p99 | beside p50 | beside p99 | p99 ratio | good quotes (alone / beside) | neighbour quotes its plugin answered |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, alone, beside) in &rows {
        println!(
            "| {name} | {} | {} | {} | {} | {:.2}x | {} / {} | {} |",
            ms(alone.p50),
            ms(alone.p99),
            ms(beside.p50),
            ms(beside.p99),
            beside.p99.as_secs_f64() / alone.p99.as_secs_f64(),
            alone.count,
            beside.count,
            beside.neighbour_quotes,
        );
    }
    Ok(())
}

/// Latencies of the good tenant's quotes over one phase.
struct Phase {
    p50: Duration,
    p99: Duration,
    count: usize,
    neighbour_quotes: u64,
}

/// Quotes as the good tenant on its connections for `span`, while `neighbour` (if any) quotes
/// on its own.
fn measure(
    api: &Api,
    good: &str,
    span: Duration,
    neighbour: Option<&String>,
) -> anyhow::Result<Phase> {
    let stop = Arc::new(AtomicBool::new(false));
    let neighbour_quotes = Arc::new(AtomicU64::new(0));
    let noisy: Vec<_> = neighbour
        .into_iter()
        .flat_map(|key| std::iter::repeat_n(key.clone(), NOISY_CONNECTIONS))
        .map(|key| {
            let (api, stop, count) = (api.clone(), stop.clone(), neighbour_quotes.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // Counted when its plugin answered: a skipped call (breaker open, failure)
                    // costs the node next to nothing and is not the load being measured.
                    if let Ok((200, quote)) = api.post("/v1/quotes", &key, &small_request(), &[])
                        && quote["trace"][0]["outcome"] == "ok"
                    {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    // Let the neighbour get going (and the scheduler see it) before measuring.
    if neighbour.is_some() {
        std::thread::sleep(Duration::from_millis(500));
    }
    let good_threads: Vec<_> = (0..GOOD_CONNECTIONS)
        .map(|_| {
            let (api, key) = (api.clone(), good.to_owned());
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let begun = Instant::now();
                let mut times = Vec::new();
                while begun.elapsed() < span {
                    let started = Instant::now();
                    let (status, quote) = api.post("/v1/quotes", &key, &small_request(), &[])?;
                    ensure!(status == 200, "good quote failed: {quote}");
                    times.push(started.elapsed());
                }
                Ok(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for thread in good_threads {
        times.extend(thread.join().expect("client thread")?);
    }
    stop.store(true, Ordering::Relaxed);
    for thread in noisy {
        thread.join().expect("neighbour thread");
    }
    ensure!(!times.is_empty(), "no quotes measured");
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok(Phase {
        p50: at(0.50),
        p99: at(0.99),
        count: times.len(),
        neighbour_quotes: neighbour_quotes.load(Ordering::Relaxed),
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

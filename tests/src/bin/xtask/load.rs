//! `cargo xtask load`: the quote load benchmark. A release `mandi serve` on a scratch SQLite
//! database with two tenants on the same sample catalog: `jiomart`, whose example component is
//! deployed to every hook it exports, and `plain`, with no plugins (the platform defaults). `wrk`
//! drives POST /v1/quotes with the 20-line sample cart at several concurrencies, alternating the
//! two tenants at each so both see the same machine, and the table gives quotes/s, p50, p99 and
//! errors side by side with the ratios.
//!
//! wrk (Debian's `wrk`) is a long-standing HTTP load generator written in C: its event loop
//! keeps many connections busy from two threads, so the client takes little of the 2 cores.
//! It is installed with apt when missing.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use mandi_tests::demo::{create_tenant, deploy, set_up_brand, set_up_brand_as};
use mandi_tests::samples::sample_request;

use super::server::Bench;
use super::step;

#[derive(Debug)]
pub struct LoadArgs {
    /// How long wrk runs at each concurrency, per tenant.
    seconds: u64,
    /// The wrk connection counts to measure at.
    connections: Vec<u32>,
    /// Also measure the live path of tenants with a 10% shadow and a 10% canary.
    rollouts: bool,
    /// Rounds of the rollout cells at each concurrency. A round runs the three tenants one after
    /// the other, in an order rotated each round, so drift of the machine falls on all of them;
    /// the table reports each tenant's median and the median of the per-round ratios.
    rounds: u32,
}

impl LoadArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self {
            seconds: 10,
            connections: vec![2, 8, 16],
            rollouts: false,
            rounds: 5,
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
                "--connections" => {
                    parsed.connections = args
                        .next()
                        .context("--connections needs a list, e.g. 2,8,16")?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .context("--connections needs a list of numbers, e.g. 2,8,16")?;
                }
                "--rollouts" => parsed.rollouts = true,
                "--rounds" => {
                    parsed.rounds = args
                        .next()
                        .context("--rounds needs a number")?
                        .parse()
                        .context("--rounds needs a number")?;
                }
                other => {
                    bail!(
                        "unknown argument `{other}` (expected --seconds N, --connections 2,8,16, \
                         --rollouts, --rounds N)"
                    )
                }
            }
        }
        ensure!(
            parsed.connections.iter().all(|&c| c >= 2),
            "wrk needs at least 2 connections for its 2 threads"
        );
        ensure!(parsed.rounds >= 1, "--rounds needs at least 1");
        Ok(parsed)
    }
}

/// What wrk reported for one run.
#[derive(Debug, Clone, Copy)]
struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

pub fn load(args: LoadArgs) -> anyhow::Result<()> {
    let wrk = ensure_wrk()?;
    let bench = Bench::start("load")?;
    let (api, admin) = (&bench.api, bench.admin);
    let jiomart = bench.component("jiomart")?;
    let with_plugins = set_up_brand(api, admin, "jiomart", &jiomart)?.api_key;
    let without = create_tenant(api, admin, "plain")?;
    let body = serde_json::to_string(&sample_request())?;
    // The same plugins, plus a 10% shadow or a 10% canary of the same version on pricing: what
    // a rollout costs the live path.
    let mut rollouts = Vec::new();
    if args.rollouts {
        for (tenant, mode) in [("shadowed", "shadow"), ("canaried", "canary")] {
            let set_up = set_up_brand_as(api, admin, tenant, "jiomart", &jiomart)?;
            let body = serde_json::json!({
                "hook": "pricing", "plugin": set_up.plugin, "mode": mode, "sample_percent": 10,
                "config": mandi_tests::samples::example_config("jiomart"),
            });
            deploy(api, admin, tenant, &body)?;
            rollouts.push(set_up.api_key);
        }
    }
    for key in [&with_plugins, &without].into_iter().chain(&rollouts) {
        let (status, quote) = api.post("/v1/quotes", key, &sample_request(), &[])?;
        ensure!(status == 200, "the sample cart does not quote: {quote}");
    }

    let url = format!("{}/v1/quotes", bench.server.base);
    let wrk_run = |key: &str, connections: u32, seconds: u64| -> anyhow::Result<Run> {
        let script = bench
            .dir
            .join(format!("quote-{}.lua", &key[..8.min(key.len())]));
        write_script(&script, key, &body)?;
        run_wrk(&wrk, &url, &script, connections, seconds)
    };

    step("warming up (every tenant)");
    for key in [&with_plugins, &without].into_iter().chain(&rollouts) {
        wrk_run(key, 4, 3)?;
    }

    let mut rows = Vec::new();
    let mut rollout_rows = Vec::new();
    for &connections in &args.connections {
        step(&format!(
            "{connections} connections: with plugins, then without"
        ));
        let with = wrk_run(&with_plugins, connections, args.seconds)?;
        let none = wrk_run(&without, connections, args.seconds)?;
        rows.push((connections, with, none));
        if let [shadowed, canaried] = &rollouts[..] {
            let tenants = [&with_plugins, shadowed, canaried];
            let mut rounds = Vec::new();
            for round in 0..args.rounds as usize {
                step(&format!(
                    "{connections} connections, round {} of {}: plugins alone, with a 10% shadow, \
                     with a 10% canary (in turn)",
                    round + 1,
                    args.rounds
                ));
                let mut runs = [None; 3];
                for turn in 0..3 {
                    let which = (round + turn) % 3;
                    runs[which] = Some(wrk_run(tenants[which], connections, args.seconds)?);
                }
                rounds.push(runs.map(|run| run.expect("every tenant ran this round")));
            }
            rollout_rows.push((connections, rounds));
        }
    }
    bench.stop();

    println!(
        "\nPOST /v1/quotes, 20-line sample cart, wrk -t2 for {} s a cell (release build):\n",
        args.seconds
    );
    println!(
        "| connections | jiomart plugins on {} hooks | same catalog, no plugins | throughput ratio | p99 ratio |",
        mandi_tests::samples::example_hooks("jiomart").len()
    );
    println!("|---|---|---|---|---|");
    for (connections, with, none) in &rows {
        println!(
            "| {connections} | {} | {} | {:.2}x | {:.2}x |",
            cell(with),
            cell(none),
            with.per_second / none.per_second,
            with.p99_ms / none.p99_ms,
        );
    }
    if !rollout_rows.is_empty() {
        println!(
            "\nThe live path during a rollout: jiomart's plugins alone, then with a 10% shadow or a \
             10% canary of the same version on pricing; {} rounds, each tenant's median, and the \
             median (min-max) of the rounds' p50 ratios:\n",
            args.rounds
        );
        println!(
            "| connections | plugins only | + 10% shadow | + 10% canary | shadow p50 ratio | canary p50 ratio |"
        );
        println!("|---|---|---|---|---|---|");
        for (connections, rounds) in &rollout_rows {
            let median_run = |which: usize| Run::median(rounds.iter().map(|round| round[which]));
            let ratio = |which: usize| {
                Spread::of(
                    rounds
                        .iter()
                        .map(|round| round[which].p50_ms / round[0].p50_ms),
                )
            };
            println!(
                "| {connections} | {} | {} | {} | {} | {} |",
                cell(&median_run(0)),
                cell(&median_run(1)),
                cell(&median_run(2)),
                ratio(1),
                ratio(2),
            );
        }
    }
    Ok(())
}

impl Run {
    /// Each figure's median over the runs (errors summed).
    fn median(runs: impl Iterator<Item = Run> + Clone) -> Run {
        Run {
            per_second: Spread::of(runs.clone().map(|r| r.per_second)).median,
            p50_ms: Spread::of(runs.clone().map(|r| r.p50_ms)).median,
            p99_ms: Spread::of(runs.clone().map(|r| r.p99_ms)).median,
            errors: runs.map(|r| r.errors).sum(),
        }
    }
}

/// The median and range of a few measurements.
#[derive(Debug, PartialEq)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64>) -> Spread {
        let mut values: Vec<f64> = values.collect();
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Spread {
            median,
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}x ({:.3}-{:.3})", self.median, self.min, self.max)
    }
}

fn cell(run: &Run) -> String {
    format!(
        "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        run.per_second, run.p50_ms, run.p99_ms, run.errors
    )
}

/// wrk's path, installing Debian's package when it is missing.
fn ensure_wrk() -> anyhow::Result<String> {
    let found = || {
        Command::new("wrk")
            .arg("--version")
            .output()
            .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
    };
    super::apt_install(&["wrk"], found)?;
    Ok("wrk".to_owned())
}

/// wrk's Lua hook: every request is the quote POST with the tenant's key.
fn write_script(path: &Path, key: &str, body: &str) -> anyhow::Result<()> {
    // Lua long brackets take the JSON as is; the level is chosen so the body cannot close it.
    let script = format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"Authorization\"] = \"Bearer {key}\"\n\
         wrk.body = [==[{body}]==]\n"
    );
    ensure!(!body.contains("]==]"), "the body would end the Lua string");
    std::fs::write(path, script).with_context(|| format!("writing {}", path.display()))
}

fn run_wrk(
    wrk: &str,
    url: &str,
    script: &Path,
    connections: u32,
    seconds: u64,
) -> anyhow::Result<Run> {
    let output = Command::new(wrk)
        .args(["-t2", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "wrk failed: {text}");
    parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// Reads throughput, the latency percentiles and the error counts from wrk's `--latency` report.
fn parse_wrk(text: &str) -> anyhow::Result<Run> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let per_second = field("Requests/sec:").context("no Requests/sec")?.parse()?;
    let p50_ms = duration_ms(field("50%").context("no p50")?)?;
    let p99_ms = duration_ms(field("99%").context("no p99")?)?;
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .map(str::parse)
        .transpose()?
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket: u64 = field("Socket errors:")
        .map(|s| {
            s.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(Run {
        per_second,
        p50_ms,
        p99_ms,
        errors: non_2xx + socket,
    })
}

/// wrk prints durations as e.g. `812.00us`, `1.80ms`, `1.02s`.
fn duration_ms(text: &str) -> anyhow::Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .context("a duration without a unit")?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    Ok(match unit {
        "us" => number / 1_000.0,
        "ms" => number,
        "s" => number * 1_000.0,
        "m" => number * 60_000.0,
        other => bail!("unknown duration unit `{other}`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 2s test @ http://127.0.0.1:1/v1/quotes
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.80ms    2.10ms  30.00ms   80.00%
  Latency Distribution
     50%    5.80ms
     75%    7.00ms
     90%    8.50ms
     99%  812.00us
  2712 requests in 2.00s, 3.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1356.12
Transfer/sec:      1.55MB
";
        let run = parse_wrk(report).expect("parses");
        assert_eq!(run.per_second, 1356.12);
        assert_eq!(run.p50_ms, 5.8);
        assert_eq!(run.p99_ms, 0.812);
        assert_eq!(run.errors, 7);
    }

    #[test]
    fn a_spread_has_the_middle_value_or_the_mean_of_the_two() {
        let odd = Spread::of([1.2, 0.9, 1.0].into_iter());
        assert_eq!(
            odd,
            Spread {
                median: 1.0,
                min: 0.9,
                max: 1.2
            }
        );
        assert_eq!(Spread::of([4.0, 1.0, 2.0, 3.0].into_iter()).median, 2.5);
    }
}

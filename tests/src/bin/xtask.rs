//! Project tasks that need more than one cargo invocation, run as `cargo xtask <task>`:
//!
//! - `demo`  builds the example plugins and runs each brand's hooks on the same sample cart
//!   through `mandi plugin run`, showing how each brand's rules change it.
//! - `test`  runs every test: the host workspace and the plugins' own (native) tests.
//! - `bench` runs the hook latency benchmark (release build).
//!
//! Each adds the wasm32-wasip2 target first when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use mandi_tests::toolchain::{self, cargo};
use serde_json::Value;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "demo" => demo(),
        "test" => test(),
        "bench" => bench(),
        _ => {
            eprintln!("usage: cargo xtask <demo|test|bench>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask {task}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    mandi_tests::repo_root()
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Tests that measure one tenant's latency while another misbehaves: other tests running
/// beside them on two cores would measure the machine, not the isolation.
const ISOLATION_TESTS: &str = "isolation::";

fn test() -> anyhow::Result<()> {
    toolchain::build_plugins()?;
    step("host workspace: unit, integration and end-to-end tests");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--", "--skip", ISOLATION_TESTS])
        .current_dir(root()))?;
    step("tenant isolation under load (latency measured, so alone on the machine)");
    run(Command::new(cargo())
        .args(["test", "--package", "mandi-tests", "--test", "e2e", "--"])
        .args([ISOLATION_TESTS, "--test-threads=1", "--nocapture"])
        .current_dir(root()))?;
    step("plugins workspace: the example plugins' native tests");
    run(Command::new(cargo())
        .arg("test")
        .current_dir(root().join("plugins-examples")))?;
    step("all tests passed");
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    toolchain::build_plugins()?;
    run(Command::new(cargo())
        .args(["bench", "--package", "mandi-tests", "--bench", "hooks"])
        .current_dir(root()))
}

/// The brands of the demo, with the hooks each exports.
const BRANDS: &[(&str, &[&str])] = &[
    ("jiomart", &["pricing", "validation", "fulfillment"]),
    ("netmeds", &["validation", "fulfillment"]),
    ("tira", &["pricing"]),
];

fn demo() -> anyhow::Result<()> {
    let plugins = toolchain::build_plugins()?;
    step("building the mandi binary");
    run(Command::new(cargo())
        .args(["build", "--package", "mandi-host", "--bin", "mandi"])
        .current_dir(root()))?;
    let mandi = root()
        .join("target/debug")
        .join(format!("mandi{}", std::env::consts::EXE_SUFFIX));
    let cart = root().join("plugins-examples/samples/cart.json");
    println!("\nOne cart, three brands. Cart: {}\n", rel(&cart));
    print_cart(&cart)?;
    for (brand, hooks) in BRANDS {
        let wasm = plugins.join(format!("{brand}.wasm"));
        let config = root()
            .join("plugins-examples")
            .join(brand)
            .join("config.json");
        println!("\n=== {brand} ({}) ===", hooks.join(", "));
        let files = [&cart, &config, &wasm];
        for hook in *hooks {
            let report = mandi_json(&mandi, &["plugin", "run", "--hook", hook], files)?;
            print_report(hook, &report);
        }
        print_quote(&mandi_json(&mandi, &["plugin", "quote"], files)?);
    }
    println!(
        "\nEach block above is one sandboxed call: a fresh instance, the brand's config, \
         production limits.\nTimings are one cold call in a new process of a debug build; \
         `cargo xtask bench` measures steady-state latency.\n\
         Full JSON: run any `$ mandi ...` line (the binary is {}).",
        rel(&mandi)
    );
    Ok(())
}

/// Runs `mandi ARGS --input CART --config CONFIG WASM`, echoing the command, and parses its JSON.
/// Exit status 3 (the hook failed) still prints a report; 2 is a usage error.
fn mandi_json(
    mandi: &Path,
    args: &[&str],
    [cart, config, wasm]: [&PathBuf; 3],
) -> anyhow::Result<Value> {
    println!(
        "$ mandi {} --input {} --config {} {}",
        args.join(" "),
        rel(cart),
        rel(config),
        rel(wasm)
    );
    let out = Command::new(mandi)
        .args(args)
        .arg("--input")
        .arg(cart)
        .arg("--config")
        .arg(config)
        .arg(wasm)
        .output()
        .context("running mandi")?;
    if out.status.code() == Some(2) {
        bail!("mandi failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("mandi printed JSON")
}

fn print_cart(path: &Path) -> anyhow::Result<()> {
    let input: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let cart = &input["cart"];
    for (i, line) in cart["lines"].as_array().into_iter().flatten().enumerate() {
        println!(
            "  line {i}: {:>3} x {:<28} @ {}",
            line["quantity"].as_u64().unwrap_or(0),
            line["sku"].as_str().unwrap_or("?"),
            money(&line["unit_price"])
        );
    }
    println!(
        "  customer segment: {}, coupons: {}, ship to pincode {}",
        cart["customer"]["segment"], cart["coupon_codes"], cart["shipping_address"]["pincode"]
    );
    Ok(())
}

fn print_report(hook: &str, report: &Value) {
    let cost = format!(
        "{} us, {} fuel, {} KiB peak memory",
        report["duration_us"],
        report["fuel_used"],
        report["peak_memory_bytes"].as_u64().unwrap_or(0) / 1024
    );
    if report["status"] != "ok" {
        let error = &report["error"];
        let detail = match (error["code"].as_str(), error["message"].as_str()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => error.to_string(),
        };
        println!(
            "  FAILED ({}) {detail}  [{cost}]",
            error["kind"].as_str().unwrap_or("?")
        );
        return;
    }
    let output = &report["output"];
    match hook {
        "pricing" => {
            for adj in output["adjustments"].as_array().into_iter().flatten() {
                println!(
                    "  adjust {:<24} {:<34} {}",
                    adj["code"].as_str().unwrap_or("?"),
                    describe_target(&adj["target"]) + " " + &describe_kind(&adj["kind"]),
                    adj["message"].as_str().unwrap_or("")
                );
            }
            for item in output["free_items"].as_array().into_iter().flatten() {
                println!(
                    "  free   {:<24} {} x {}",
                    item["code"].as_str().unwrap_or("?"),
                    item["quantity"],
                    item["sku"].as_str().unwrap_or("?")
                );
            }
        }
        "validation" => {
            let violations = output.as_array().map(Vec::as_slice).unwrap_or_default();
            if violations.is_empty() {
                println!("  no violations: the order may be placed");
            }
            for v in violations {
                let at = v["line"]
                    .as_u64()
                    .map_or("order".to_owned(), |l| format!("line {l}"));
                println!(
                    "  BLOCK  {:<24} {:<8} {}",
                    v["code"].as_str().unwrap_or("?"),
                    at,
                    v["message"].as_str().unwrap_or("")
                );
            }
        }
        _ => {
            for o in output.as_array().into_iter().flatten() {
                let nodes: Vec<String> = o["assignments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| format!("{}->{}", a["line"], a["node_id"].as_str().unwrap_or("?")))
                    .collect();
                println!(
                    "  option {:<10} {:<18} {} in {} min: {} [{}]",
                    o["code"].as_str().unwrap_or("?"),
                    o["method"].as_str().unwrap_or("?"),
                    money(&o["cost"]),
                    o["eta_minutes"],
                    o["label"].as_str().unwrap_or(""),
                    nodes.join(" ")
                );
            }
        }
    }
    for log in report["logs"].as_array().into_iter().flatten() {
        println!("  log    {}", log["message"].as_str().unwrap_or(""));
    }
    println!("  ({cost})");
}

/// One line: what the whole checkout comes to for this brand.
fn print_quote(quote: &Value) {
    if quote["status"] == "failed" {
        println!(
            "  QUOTE REFUSED: {} hook failed ({}: {})",
            quote["hook"].as_str().unwrap_or("?"),
            quote["error"]["kind"].as_str().unwrap_or("?"),
            quote["error"]["code"]
                .as_str()
                .or(quote["error"]["message"].as_str())
                .unwrap_or("")
        );
        return;
    }
    let priced = &quote["priced"];
    let violations = quote["violations"].as_array().map_or(0, Vec::len);
    let delivery = &quote["delivery_options"][0];
    println!(
        "  QUOTE  {} - {} = {}; {}; delivery {} ({})",
        money(&priced["subtotal"]),
        money(&priced["discount"]),
        money(&priced["total"]),
        if violations == 0 {
            "may be ordered".to_owned()
        } else {
            format!("{violations} violation(s) block the order")
        },
        delivery["code"].as_str().unwrap_or("none"),
        money(&delivery["cost"]),
    );
}

fn describe_target(target: &Value) -> String {
    match target.get("line") {
        Some(line) => format!("line {line}:"),
        None => "order:".into(),
    }
}

fn describe_kind(kind: &Value) -> String {
    if let Some(bps) = kind.get("percent_off").and_then(Value::as_u64) {
        format!("{}.{:02}% off", bps / 100, bps % 100)
    } else if let Some(m) = kind.get("amount_off") {
        format!("{} off", money(m))
    } else if let Some(m) = kind.get("price_override") {
        format!("price {}", money(m))
    } else {
        kind.to_string()
    }
}

fn money(m: &Value) -> String {
    let amount = m["amount"].as_i64().unwrap_or(0);
    format!(
        "{} {}.{:02}",
        m["currency"].as_str().unwrap_or("?"),
        amount / 100,
        (amount % 100).abs()
    )
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn step(message: &str) {
    eprintln!("\n==> {message}");
}

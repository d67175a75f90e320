//! The real `mandi` binary: `plugin inspect` and `plugin run`, including its errors.

use std::path::Path;
use std::process::{Command, Output};

use mandi_host::runtime::Limits;
use serde_json::Value;

fn mandi(args: &[&str]) -> Output {
    Command::new(mandi_tests::mandi_bin())
        .args(args)
        .arg("--no-cache")
        .output()
        .expect("running mandi")
}

fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn write_temp(name: &str, contents: &str) -> tempfile::TempPath {
    let file = tempfile::Builder::new()
        .prefix(name)
        .suffix(".json")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), contents).expect("write temp file");
    file.into_temp_path()
}

#[test]
fn inspect_prints_contract_and_hooks() {
    let wasm = mandi_tests::plugin_path("tira");
    let out = mandi(&["plugin", "inspect", path(&wasm)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_stdout(&out);
    assert_eq!(report["contract"], "mandi:commerce@0.2.0");
    assert_eq!(
        report["hooks"],
        serde_json::json!(["cart-transform", "pricing", "payment"])
    );
    assert!(
        report["digest"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sha256:")
    );
}

#[test]
fn run_prints_output_and_costs() {
    let wasm = mandi_tests::plugin_path("hostile");
    let input = mandi_tests::samples_dir().join("cart.json");
    let config = write_temp("cfg", r#"{"attack": "none"}"#);
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        "--config",
        path(&config),
        path(&wasm),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_stdout(&out);
    assert_eq!(report["status"], "ok");
    assert_eq!(report["hook"], "pricing");
    assert_eq!(report["output"]["adjustments"], serde_json::json!([]));
    assert!(report["fuel_used"].as_u64().unwrap_or_default() > 0);
    assert!(report["peak_memory_bytes"].as_u64().unwrap_or_default() > 0);
    assert!(report["duration_us"].as_u64().is_some());
}

#[test]
fn run_reports_a_failed_hook_with_its_kind_fuel_against_its_budget_and_exit_status_3() {
    let wasm = mandi_tests::plugin_path("hostile");
    let input = mandi_tests::samples_dir().join("cart.json");
    let config = write_temp("cfg", r#"{"attack": "loop"}"#);
    // The default fuel budget stops the loop; the deadline is raised so only fuel can, and the
    // outcome does not depend on how busy the machine is.
    let limits = write_temp("limits", r#"{"deadline_ms": 2000}"#);
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        "--config",
        path(&config),
        "--limits",
        path(&limits),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let report = json_stdout(&out);
    assert_eq!(report["status"], "failed");
    assert_eq!(report["error"]["kind"], "fuel-exhausted");
    let budget = Limits::default().max_fuel;
    assert_eq!(report["fuel_budget"], budget);
    assert_eq!(report["fuel_used"], budget);
}

#[test]
fn run_refuses_limits_above_the_runtimes_ceilings() {
    let wasm = mandi_tests::plugin_path("tira");
    let input = mandi_tests::samples_dir().join("cart.json");
    let limits = write_temp("limits", r#"{"max_memory_bytes": 314572800}"#);
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        "--limits",
        path(&limits),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("max_memory_bytes must be 1 to 268435456, not 314572800"),
        "{stderr}"
    );
}

#[test]
fn malformed_input_is_a_clear_usage_error() {
    let wasm = mandi_tests::plugin_path("tira");
    let input = write_temp(
        "bad",
        r#"{"cart": {"currency": "INR", "lines": [{"sku": 5}]}}"#,
    );
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid run input") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn config_must_be_an_object() {
    let wasm = mandi_tests::plugin_path("tira");
    let input = mandi_tests::samples_dir().join("cart.json");
    let config = write_temp("cfg", "[1, 2]");
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        "--config",
        path(&config),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a JSON object"));
}

#[test]
fn running_a_hook_the_plugin_lacks_names_the_hooks_it_has() {
    let wasm = mandi_tests::plugin_path("tira");
    let input = mandi_tests::samples_dir().join("cart.json");
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "fulfillment",
        "--input",
        path(&input),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "does not export the fulfillment hook (it exports: cart-transform, pricing, payment)"
        ),
        "{stderr}"
    );
}

#[test]
fn inspect_prints_the_declared_config_schema_and_run_checks_a_config_against_it() {
    let wasm = mandi_tests::plugin_path("tira");
    let out = mandi(&["plugin", "inspect", path(&wasm)]);
    let report = json_stdout(&out);
    let schema = &report["config_schema"];
    assert!(schema["properties"]["gift_sets"].is_object(), "{schema}");
    // A component that declares none says so.
    let jiomart = json_stdout(&mandi(&[
        "plugin",
        "inspect",
        path(&mandi_tests::plugin_path("jiomart")),
    ]));
    assert_eq!(jiomart["config_schema"], Value::Null);

    let input = mandi_tests::samples_dir().join("cart.json");
    let config = write_temp("bad-config.json", r#"{ "max_discount_bps": "twenty" }"#);
    let out = mandi(&[
        "plugin",
        "run",
        "--hook",
        "pricing",
        "--input",
        path(&input),
        "--config",
        path(&config),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/max_discount_bps") && stderr.contains("config schema"),
        "{stderr}"
    );
}

#[test]
fn inspecting_a_non_component_fails_clearly() {
    let file = write_temp("not-wasm", "hello");
    let out = mandi(&["plugin", "inspect", path(&file)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WebAssembly binary"));
}

#[test]
fn quote_runs_every_exported_hook_through_the_pipeline() {
    let input = mandi_tests::samples_dir().join("cart.json");
    let config = mandi_tests::repo_root().join("plugins-examples/tira/config.json");
    let wasm = mandi_tests::plugin_path("tira");
    let out = mandi(&[
        "plugin",
        "quote",
        "--input",
        path(&input),
        "--config",
        path(&config),
        path(&wasm),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quote = json_stdout(&out);
    assert_eq!(quote["priced"]["subtotal"]["amount"], 2_600_550);
    assert_eq!(quote["priced"]["discount"]["amount"], 520_110);
    assert_eq!(quote["priced"]["total"]["amount"], 2_080_440);
    // The free sample priced from the input's catalog, given away in full.
    assert_eq!(quote["applied"][0]["code"], "FREE-SAMPLE");
    assert_eq!(quote["applied"][0]["amount"], 29_900);
    let outcomes: Vec<&str> = quote["trace"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["ok", "ok", "default", "default", "ok"]);
    // Over tira's limit for cash on delivery: its payment hook hid it.
    assert_eq!(quote["payment"]["hidden"], serde_json::json!(["cod"]));
    assert_eq!(
        quote["payment"]["offered"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn quote_stops_at_a_failing_hook_with_exit_status_3() {
    let input = mandi_tests::samples_dir().join("cart.json");
    let config = mandi_tests::repo_root().join("plugins-examples/netmeds/config.json");
    let wasm = mandi_tests::plugin_path("netmeds");
    let out = mandi(&[
        "plugin",
        "quote",
        "--input",
        path(&input),
        "--config",
        path(&config),
        path(&wasm),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let failed = json_stdout(&out);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["hook"], "fulfillment");
    assert_eq!(failed["error"]["code"], "no-pharmacy");
}

/// `mandi plugin build` makes the same component, byte for byte, wherever a brand's sources
/// are and wherever cargo keeps its registry: the example plugins' workspace, copied to another
/// directory and built with another cargo home, gives the digest of the suite's own build
/// (which builds the plugins the same way). A plain `cargo build` would not: the registry's
/// paths end up in the component.
#[test]
fn a_component_built_elsewhere_with_another_cargo_home_has_the_same_digest() {
    let root = mandi_tests::repo_root();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let listed = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .arg("plugins-examples")
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files failed");
    for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = Path::new(std::str::from_utf8(file).expect("utf-8 path"));
        let (from, to) = (root.join(file), elsewhere.path().join(file));
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copy");
    }
    // The brands' workspace as a brand has it: its own plugins, and the SDK from one place
    // (as a registry would give it; cargo hashes a path dependency's absolute path into symbol
    // names, so a moved SDK checkout is another SDK as far as the bytes go).
    let manifest = elsewhere.path().join("plugins-examples/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let sdk = root.join("plugin-sdk");
    let text = text.replace(r#", "../tests/plugins/hostile""#, "").replace(
        r#"path = "../plugin-sdk""#,
        &format!("path = {:?}", path(&sdk)),
    );
    std::fs::write(&manifest, text).expect("rewrite manifest");
    // Another cargo home: the same registry under another path.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let other_home = elsewhere.path().join("cargo-home");
    std::os::unix::fs::symlink(&cargo_home, &other_home).expect("symlink");

    let out = Command::new(mandi_tests::mandi_bin())
        .args(["plugin", "build", "--manifest-path"])
        .arg(&manifest)
        .args(["--", "-p", "tira"])
        .env("CARGO_HOME", &other_home)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running mandi plugin build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = json_stdout(&out);
    let tira = (built.as_array().expect("components").iter())
        .find(|c| {
            c["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("/tira.wasm"))
        })
        .unwrap_or_else(|| panic!("no tira.wasm in {built}"));
    let here = mandi_host::runtime::PluginDigest::of(&mandi_tests::plugin_bytes("tira"));
    assert_eq!(tira["digest"], here.to_string(), "{built}");
}

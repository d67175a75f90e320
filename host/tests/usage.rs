//! The binary's own usage surface. (Being an integration test of this package also makes
//! `cargo test --workspace` build `mandi` with the test build's features, which the end-to-end
//! suite in tests/ then runs.)

use std::process::Command;

fn mandi(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mandi"))
        .args(args)
        .output()
        .expect("running mandi")
}

#[test]
fn version_names_the_binary() {
    let out = mandi(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mandi {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn plugin_help_lists_inspect_and_run() {
    let out = mandi(&["plugin", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("inspect") && help.contains("run"), "{help}");
}

#[test]
fn unknown_hook_is_a_usage_error() {
    let out = mandi(&[
        "plugin", "run", "--hook", "shipping", "--input", "x.json", "p.wasm",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "unknown hook `shipping`: expected cart-transform, pricing, validation, fulfillment or payment"
        ),
        "{stderr}"
    );
}

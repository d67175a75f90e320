//! Runs alone in its own test binary so other tests' allocations do not blur the measurement.

use mandi_host::runtime::{CallSettings, Limits, Runtime, RuntimeConfig};
use mandi_sdk::testing::{CartBuilder, line};
use serde_json::json;

/// Resident memory of this process, in bytes.
#[cfg(target_os = "linux")]
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("rss field");
    pages * 4096
}

#[cfg(target_os = "linux")]
#[test]
fn repeated_attacks_do_not_leak_host_memory() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime starts");
    let plugin = runtime
        .load(&mandi_tests::plugin_bytes("hostile"))
        .expect("loads");
    let limits = Limits {
        deadline_ms: 5,
        ..Limits::default()
    };
    let round = || {
        for name in [
            "alloc",
            "recursion",
            "panic",
            "oversize",
            "garbage",
            "exit",
            "loop",
        ] {
            let run = attack(&plugin, name, &limits);
            assert!(run.output().is_err(), "{name} should fail");
        }
    };
    // Warm up: the pooling allocator's slots and caches reach their steady state.
    for _ in 0..3 {
        round();
    }
    let before = rss_bytes();
    for _ in 0..30 {
        round();
    }
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "resident memory growth over 30 rounds of 7 attacks: {} KiB",
        grown >> 10
    );
    assert!(
        grown < 32 << 20,
        "resident memory grew by {} KiB over 30 rounds",
        grown >> 10
    );
}

fn attack(
    plugin: &mandi_host::runtime::Plugin,
    name: &str,
    limits: &Limits,
) -> mandi_host::runtime::HookRun<mandi_sdk::PricingResult> {
    let config = std::sync::Arc::new(
        mandi_host::runtime::PluginConfig::from_json(&json!({ "attack": name }).to_string())
            .expect("config"),
    );
    let ctx = mandi_sdk::Context {
        tenant_id: "evil".into(),
        request_id: "leak".into(),
        now_unix_ms: 0,
        time_zone: "UTC".into(),
        utc_offset_minutes: 0,
    };
    let cart = CartBuilder::inr().line(line("SKU-1", 1, 100)).build();
    plugin.price(CallSettings::new(&config, limits), &ctx, &cart)
}

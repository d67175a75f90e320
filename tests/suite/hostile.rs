//! Every way a plugin can misbehave ends in its own clear failure, within its limits, and the
//! host keeps serving other plugins.

use std::time::{Duration, Instant};

use mandi_host::runtime::{CallSettings, HookFailure, HookRun, Limits, Plugin};
use mandi_sdk::testing::{CartBuilder, line};
use mandi_sdk::{Cart, PricingResult};
use serde_json::json;

use crate::{config, context, runtime};

fn hostile() -> Plugin {
    runtime()
        .load(&mandi_tests::plugin_bytes("hostile"))
        .expect("hostile plugin loads")
}

fn cart() -> Cart {
    CartBuilder::inr().line(line("SKU-1", 2, 10_000)).build()
}

fn attack(name: &str) -> HookRun<PricingResult> {
    attack_with(name, &Limits::default())
}

fn attack_with(name: &str, limits: &Limits) -> HookRun<PricingResult> {
    let config = config(json!({ "attack": name }));
    hostile().price(
        CallSettings::new(&config, limits),
        &context("evil"),
        &cart(),
    )
}

fn failure(run: &HookRun<PricingResult>) -> &HookFailure {
    run.output().expect_err("the attack must fail")
}

/// A well-behaved call right after, in the same process and runtime.
fn assert_host_still_serves() {
    let run = attack("none");
    assert_eq!(
        run.output().expect("a good call succeeds"),
        &PricingResult::default()
    );
}

#[test]
fn endless_loop_times_out_at_its_deadline_never_before() {
    // Fuel at its ceiling, so the wall-clock deadline is what stops the loop.
    let limits = Limits {
        deadline_ms: 50,
        max_fuel: Limits::CEILINGS.max_fuel,
        ..Limits::default()
    };
    let started = Instant::now();
    let run = attack_with("loop", &limits);
    let elapsed = started.elapsed();
    assert_eq!(failure(&run), &HookFailure::Timeout { deadline_ms: 50 });
    // The deadline is checked against the clock when a tick says it may be due, so this holds
    // whatever the tick phase or the machine's load.
    assert!(
        run.stats.duration >= Duration::from_millis(50) && elapsed >= run.stats.duration,
        "stopped early: {:?}",
        run.stats.duration
    );
    // Generous bound: this checks "does not hang", not speed.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_host_still_serves();
}

#[test]
fn fuel_budget_stops_a_loop_deterministically() {
    let limits = Limits {
        max_fuel: 1_000_000,
        deadline_ms: 5_000,
        ..Limits::default()
    };
    let run = attack_with("loop", &limits);
    assert_eq!(
        failure(&run),
        &HookFailure::FuelExhausted {
            max_fuel: 1_000_000
        }
    );
    assert_eq!(run.stats.fuel_used, 1_000_000);
    assert_eq!(run.stats.fuel_budget, 1_000_000);
    assert_host_still_serves();
}

#[test]
fn an_output_far_over_the_limit_is_refused_before_it_is_copied() {
    let run = attack("huge-output");
    let HookFailure::InvalidOutput { message } = failure(&run) else {
        panic!("expected invalid output, got {:?}", run.output());
    };
    assert!(message.contains("refused before copying it"), "{message}");
    assert_host_still_serves();
}

#[test]
fn an_error_far_over_the_output_limit_is_refused_before_it_is_copied() {
    let run = attack("huge-error");
    let HookFailure::InvalidOutput { message } = failure(&run) else {
        panic!("expected invalid output, got {:?}", run.output());
    };
    assert!(message.contains("refused before copying it"), "{message}");
}

#[test]
fn an_error_message_is_cut_to_the_text_limit() {
    let run = attack("long-error");
    let HookFailure::PluginError { code, message } = failure(&run) else {
        panic!("expected a plugin error, got {:?}", run.output());
    };
    assert_eq!(code, "long");
    // 5,000 two-byte characters, cut on a character boundary at 1 KiB.
    assert!(
        message.ends_with("... [10000 bytes, cut to 1024]"),
        "{}",
        &message[1000..]
    );
    assert!(message.len() < 1100, "{} bytes kept", message.len());
}

#[test]
fn a_handled_memory_refusal_does_not_hide_a_later_panic() {
    let run = attack("handled-alloc-then-panic");
    let HookFailure::Trap { message } = failure(&run) else {
        panic!("expected a trap with the panic, got {:?}", run.output());
    };
    assert!(
        message.contains("handled the refused allocation (refused: true)"),
        "{message}"
    );
    assert_host_still_serves();
}

#[test]
fn gibibyte_allocation_hits_the_memory_limit() {
    let run = attack("alloc");
    assert_eq!(
        failure(&run),
        &HookFailure::MemoryLimit {
            limit_bytes: Limits::default().max_memory_bytes
        }
    );
    assert!(run.stats.peak_memory_bytes <= Limits::default().max_memory_bytes);
    assert_host_still_serves();
}

#[test]
fn deep_recursion_traps_without_harming_the_host() {
    let run = attack("recursion");
    let HookFailure::Trap { message } = failure(&run) else {
        panic!("expected a trap, got {:?}", run.output());
    };
    // Rust keeps its stack in linear memory: overflowing it runs off the bottom of memory.
    assert!(
        message.contains("out of bounds memory access") || message.contains("stack overflow"),
        "{message}"
    );
    assert_host_still_serves();
}

#[test]
fn panic_traps_with_the_panic_message() {
    let run = attack("panic");
    let HookFailure::Trap { message } = failure(&run) else {
        panic!("expected a trap, got {:?}", run.output());
    };
    assert!(
        message.contains("hostile plugin panicked on purpose"),
        "{message}"
    );
    assert_host_still_serves();
}

#[test]
fn oversize_output_is_refused() {
    let run = attack("oversize");
    let HookFailure::InvalidOutput { message } = failure(&run) else {
        panic!("expected invalid output, got {:?}", run.output());
    };
    assert!(
        message.contains("exceeds the 262144 byte limit"),
        "{message}"
    );
    assert_host_still_serves();
}

#[test]
fn garbage_output_is_refused() {
    let run = attack("garbage");
    let HookFailure::InvalidOutput { message } = failure(&run) else {
        panic!("expected invalid output, got {:?}", run.output());
    };
    assert!(message.contains("line 999 does not exist"), "{message}");
}

#[test]
fn host_files_are_not_visible() {
    let run = attack("file");
    let HookFailure::PluginError { code, message } = failure(&run) else {
        panic!("the plugin must not read host files: {:?}", run.output());
    };
    assert_eq!(code, "sandbox");
    assert!(message.contains("cannot read /etc/passwd"), "{message}");
}

#[test]
fn environment_is_empty() {
    let run = attack("env");
    let HookFailure::PluginError { message, .. } = failure(&run) else {
        panic!(
            "the plugin must not see the environment: {:?}",
            run.output()
        );
    };
    assert!(message.ends_with("; 0 variables visible"), "{message}");
}

#[test]
fn network_is_unreachable() {
    let run = attack("network");
    let HookFailure::PluginError { code, message } = failure(&run) else {
        panic!("the plugin must not open connections: {:?}", run.output());
    };
    assert_eq!(code, "sandbox");
    assert!(message.starts_with("connect 127.0.0.1:5432:"), "{message}");
}

#[test]
fn clocks_read_the_calls_now_and_stand_still() {
    let run = attack("clock");
    let output = run.output().expect("reading a clock is allowed");
    // The wall clock is the host-supplied `now`, not the machine's time; the monotonic
    // clock does not move, so a run cannot observe timing.
    assert_eq!(
        output.adjustments[0].message,
        format!("wall={} elapsed=0", crate::NOW_UNIX_MS)
    );
}

#[test]
fn exit_is_a_trap() {
    let run = attack("exit");
    let HookFailure::Trap { message } = failure(&run) else {
        panic!("expected a trap, got {:?}", run.output());
    };
    assert!(message.contains("exit status"), "{message}");
    assert_host_still_serves();
}

#[test]
fn printing_past_the_log_limit_traps_and_keeps_the_log_capped() {
    let run = attack("print");
    assert!(
        matches!(failure(&run), HookFailure::Trap { .. }),
        "{:?}",
        run.output()
    );
    assert!(run.logs_truncated);
    let logged: usize = run.logs.iter().map(|l| l.message.len()).sum();
    assert!(
        logged <= Limits::default().max_log_bytes,
        "{logged} bytes of logs kept"
    );
}

#[test]
fn a_looping_plugin_does_not_stall_another_call() {
    let limits = Limits {
        deadline_ms: 500,
        max_fuel: Limits::CEILINGS.max_fuel,
        ..Limits::default()
    };
    hostile(); // loaded and compiled up front: this measures calls, not compilation
    let looping = std::thread::spawn(move || attack_with("loop", &limits));
    // While the loop burns its deadline on another thread, good calls complete promptly.
    std::thread::sleep(Duration::from_millis(20));
    let started = Instant::now();
    for _ in 0..20 {
        assert_host_still_serves();
    }
    let good_calls = started.elapsed();
    let looped = looping.join().expect("loop thread");
    assert_eq!(failure(&looped), &HookFailure::Timeout { deadline_ms: 500 });
    // Generous: this checks that good calls are not held up behind the loop, not their speed.
    assert!(
        good_calls < Duration::from_millis(2_000),
        "good calls took {good_calls:?}"
    );
}

#[test]
fn a_full_instance_pool_answers_overloaded_instead_of_waiting() {
    let runtime = mandi_host::runtime::Runtime::new(mandi_host::runtime::RuntimeConfig {
        max_concurrent_instances: 1,
        ..Default::default()
    })
    .expect("runtime");
    let plugin = runtime
        .load(&mandi_tests::plugin_bytes("hostile"))
        .expect("loads");
    let limits = Limits {
        deadline_ms: 300,
        max_fuel: Limits::CEILINGS.max_fuel,
        ..Limits::default()
    };
    let spinning = {
        let plugin = plugin.clone();
        std::thread::spawn(move || {
            let config = config(json!({ "attack": "loop" }));
            plugin.price(CallSettings::new(&config, &limits), &context("a"), &cart())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let config = config(json!({ "attack": "none" }));
    let run = plugin.price(CallSettings::new(&config, &limits), &context("b"), &cart());
    let HookFailure::Overloaded { message } = failure(&run) else {
        panic!("expected overloaded, got {:?}", run.output());
    };
    assert!(
        message.contains("maximum concurrent limit of 1"),
        "{message}"
    );
    let spun = spinning.join().expect("thread");
    assert_eq!(failure(&spun), &HookFailure::Timeout { deadline_ms: 300 });
}

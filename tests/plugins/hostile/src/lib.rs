//! A plugin that misbehaves on purpose. Its deployment config picks the attack, so one
//! component exercises every way a plugin can go wrong:
//!
//! `{"attack": "loop" | "alloc" | "recursion" | "panic" | "oversize" | "garbage" | "file" |
//! "env" | "network" | "clock" | "exit" | "print" | "huge-output" | "huge-error" | "long-error" |
//! "handled-alloc-then-panic" | "overflow" | "free-flood" | "free-units" | "flood" | "nul-text" |
//! "none"}`, or `{"attack": "spin", "iterations": N}` (slow but well-behaved).
//!
//! `{"attack": "count"}` is not an attack but a probe of sandbox state: each hook call answers
//! how many calls this instance has served (pricing as a note, validation as a violation), so
//! tests see which calls shared an instance. On validation, `"panic"` panics; every other
//! attack is pricing's alone, and validation finds nothing.
//!
//! The tests assert that each attack ends in its own clear failure kind within the limits, and
//! that the host then serves other plugins normally.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

use mandi_sdk::prelude::*;
use serde::Deserialize;

pub struct Hostile;

#[derive(Deserialize)]
struct Config {
    attack: String,
    /// For `spin`: how many loop iterations to burn before answering.
    #[serde(default)]
    iterations: u64,
    /// For `count`: pricing counts, then fails with a business error.
    #[serde(default)]
    pricing_error: bool,
}

impl Pricing for Hostile {
    fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
        let config: Config = ctx.config()?;
        match config.attack.as_str() {
            "loop" => spin_forever(),
            "spin" => Ok(note(&format!("spun {}", spin(config.iterations)))),
            "alloc" => allocate_a_gibibyte(),
            "recursion" => Ok(note(&format!("depth {}", recurse(black_box(0))))),
            "panic" => panic!("hostile plugin panicked on purpose"),
            "oversize" => Ok(oversize(cart)),
            "garbage" => Ok(garbage()),
            "file" => read_host_file(),
            "env" => read_environment(),
            "network" => connect_out(),
            "clock" => Ok(read_clock()),
            "exit" => std::process::exit(7),
            "print" => print_forever(),
            "huge-output" => Ok(note(&"x".repeat(HUGE))),
            "huge-error" => Err(PluginError::new("huge", "x".repeat(HUGE))),
            "long-error" => Err(PluginError::new("long", "é".repeat(5_000))),
            "handled-alloc-then-panic" => handled_alloc_then_panic(),
            "overflow" => Ok(overflow(cart)),
            "free-flood" => Ok(free_items(4_000, 1)),
            "free-units" => Ok(free_items(1, u32::MAX)),
            "flood" => Ok(flood(cart)),
            "nul-text" => nul_text(),
            "none" => Ok(PricingResult::default()),
            "count" => {
                let call = count_call();
                if config.pricing_error {
                    return Err(PluginError::new("count", format!("call {call} failed")));
                }
                Ok(note(&format!("call {call}")))
            }
            other => Err(PluginError::new("unknown-attack", other)),
        }
    }
}

/// 30 MB: far over any output limit, well within the plugin's own memory limit.
const HUGE: usize = 30 << 20;

/// Asks for more memory than the limit allows, handles the refusal, then fails for another
/// reason: the failure must be that reason, not the memory limit.
fn handled_alloc_then_panic() -> Result<PricingResult> {
    let mut block: Vec<u8> = Vec::new();
    let refused = block.try_reserve_exact(1 << 30).is_err();
    panic!("handled the refused allocation (refused: {refused}), then failed on purpose");
}

/// Overrides every line's price to the largest amount: each line fits, their sum does not.
fn overflow(cart: &Cart) -> PricingResult {
    let mut result = PricingResult::default();
    for (i, _) in cart.lines.iter().enumerate() {
        result.adjust(Adjustment::line(
            i as u32,
            AdjustmentKind::PriceOverride(Money::new(i64::MAX, cart.currency.clone())),
            "MAX",
            "",
        ));
    }
    result
}

/// Logs 1 MiB in 1 KiB lines, then returns ~250 KB of adjustments (each valid): as much work
/// beside the call as the limits of a deployment that raised its log limit allow.
fn flood(cart: &Cart) -> PricingResult {
    let line = "x".repeat(1024);
    for _ in 0..1024 {
        mandi_sdk::log::info(&line);
    }
    let mut result = PricingResult::default();
    for i in 0..480 {
        result.adjust(Adjustment::order(
            AdjustmentKind::AmountOff(Money::zero(cart.currency.clone())),
            format!("FLOOD-{i}"),
            "y".repeat(500),
        ));
    }
    result
}

/// Text no PostgreSQL text column can hold: a NUL in a log line and in the error.
fn nul_text() -> Result<PricingResult> {
    mandi_sdk::log::info("before\0after");
    Err(PluginError::new("nul", "a message with a \0 inside"))
}

/// Gives away `count` free items of the first line's sku, `quantity` units each.
fn free_items(count: usize, quantity: u32) -> PricingResult {
    let mut result = PricingResult::default();
    for _ in 0..count {
        result.add_free_item(FreeItem {
            sku: "SKU-1".into(),
            quantity,
            code: "FREE".into(),
            message: String::new(),
        });
    }
    result
}

/// Burns CPU for `iterations` rounds, then answers: a slow but well-behaved plugin.
fn spin(iterations: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..iterations {
        sum = black_box(sum.wrapping_add(i));
    }
    sum
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn allocate_a_gibibyte() -> Result<PricingResult> {
    let block = vec![1u8; 1 << 30];
    Ok(note(&format!("allocated {}", black_box(&block).len())))
}

/// Each frame keeps a buffer alive so the stack grows fast.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1) + frame[1]
}

/// Returns far more than the output limit allows, with each item individually valid.
fn oversize(cart: &Cart) -> PricingResult {
    let mut result = PricingResult::default();
    for i in 0..5_000 {
        result.adjust(Adjustment::order(
            AdjustmentKind::AmountOff(Money::zero(cart.currency.clone())),
            format!("SPAM-{i}"),
            "x".repeat(512),
        ));
    }
    result
}

/// Targets a line that does not exist and takes more than 100% off.
fn garbage() -> PricingResult {
    let mut result = PricingResult::default();
    result.adjust(Adjustment::line(
        999,
        AdjustmentKind::PercentOff(Percent::from_bps(50_000)),
        "GARBAGE",
        "",
    ));
    result
}

/// Reports what it could read, so a test can tell a leak from a refusal.
fn read_host_file() -> Result<PricingResult> {
    match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => Ok(note(&format!(
            "LEAKED {}",
            text.lines().next().unwrap_or("")
        ))),
        Err(err) => Err(PluginError::new(
            "sandbox",
            format!("cannot read /etc/passwd: {err}"),
        )),
    }
}

fn read_environment() -> Result<PricingResult> {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    match std::env::var("HOME") {
        Ok(home) => Ok(note(&format!("LEAKED HOME={home}"))),
        Err(err) => Err(PluginError::new(
            "sandbox",
            format!("HOME: {err}; {} variables visible", vars.len()),
        )),
    }
}

fn connect_out() -> Result<PricingResult> {
    match std::net::TcpStream::connect("127.0.0.1:5432") {
        Ok(_) => Ok(note("LEAKED a connection to 127.0.0.1:5432")),
        Err(err) => Err(PluginError::new(
            "sandbox",
            format!("connect 127.0.0.1:5432: {err}"),
        )),
    }
}

/// What std's clocks say inside the sandbox: the test compares it with the call's `now`.
fn read_clock() -> PricingResult {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let start = std::time::Instant::now();
    let mut spin = 0u64;
    for i in 0..100_000 {
        spin = black_box(spin + i);
    }
    let elapsed = start.elapsed().as_nanos();
    note(&format!("wall={wall} elapsed={elapsed}"))
}

fn print_forever() -> ! {
    loop {
        println!("{}", "chatty ".repeat(100));
    }
}

fn note(message: &str) -> PricingResult {
    let mut result = PricingResult::default();
    result.adjust(Adjustment::order(
        AdjustmentKind::PercentOff(Percent::ZERO),
        "NOTE",
        message,
    ));
    result
}

impl Validation for Hostile {
    fn validate(ctx: &Context, _cart: &PricedCart) -> Result<Vec<Violation>> {
        let config: Config = ctx.config()?;
        match config.attack.as_str() {
            "count" => Ok(vec![Violation::order(
                "COUNT",
                format!("call {}", count_call()),
            )]),
            "panic" => panic!("hostile plugin panicked on purpose"),
            _ => Ok(Vec::new()),
        }
    }
}

/// Calls this instance has served, this one included: state that lives as long as the instance.
fn count_call() -> u32 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed) + 1
}

mandi_sdk::export_plugin!(Hostile: pricing, validation);

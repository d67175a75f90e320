//! A tenant whose plugin loops forever gets its failure policy's outcome within its deadline,
//! while another tenant's quotes, over real connections at the same time, keep their latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ADMIN, LiveService, small_request};
use mandi_tests::demo;
use mandi_tests::http::Api;

const DEADLINE_MS: u64 = 200;
/// Fuel beyond what the deadline allows, so the loop is stopped by the clock.
const UNMETERED: u64 = 100_000_000_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn setup(api: &Api, tenant: &str, plugin: &str, deploy: Value) -> String {
    let key = demo::create_tenant(api, ADMIN, tenant).expect("tenant");
    let mut body = deploy;
    body["plugin"] = demo::upload(api, ADMIN, tenant, &mandi_tests::plugin_bytes(plugin))
        .expect("upload")
        .into();
    demo::deploy(api, ADMIN, tenant, &body).expect("deploy");
    key
}

/// Quote latencies, sorted: at least `n` quotes, and for at least `min_time`.
fn timed_quotes(api: &Api, key: &str, n: usize, min_time: Duration) -> Vec<Duration> {
    let begun = Instant::now();
    let mut times = Vec::new();
    while times.len() < n || begun.elapsed() < min_time {
        let started = Instant::now();
        let (status, quote) = api
            .post("/v1/quotes", key, &small_request(), &[])
            .expect("quote");
        assert_eq!(status, 200, "{quote}");
        assert_eq!(quote["trace"][1]["outcome"], "ok");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_tenant_gets_its_policy_outcome_and_others_keep_their_latency() {
    let live = LiveService::start(|config| {
        // One plugin call per tenant at a time: the looping tenant can hold one core, not both.
        config.scheduler.per_tenant = 1;
        config.scheduler.queue_timeout = Duration::from_secs(5);
        // Keep the loop running on every request, so the breaker does not hide its cost.
        config.breaker.failure_threshold = u32::MAX;
    })
    .await;
    let (good, spin, closed) = live
        .client(|api| {
            let good = setup(&api, "good", "tira", json!({ "hook": "pricing", "config": mandi_tests::samples::example_config("tira") }));
            let spin = setup(&api, "spin", "hostile", json!({
                "hook": "pricing", "config": { "attack": "loop" },
                "failure_policy": "fail-open", "limits": { "deadline_ms": DEADLINE_MS, "max_fuel": UNMETERED },
            }));
            let closed = setup(&api, "spin-closed", "hostile", json!({
                "hook": "pricing", "config": { "attack": "loop" },
                "failure_policy": "fail-closed", "limits": { "deadline_ms": DEADLINE_MS, "max_fuel": UNMETERED },
            }));
            (good, spin, closed)
        })
        .await;

    let alone = live
        .client({
            let good = good.clone();
            move |api| {
                timed_quotes(&api, &good, 20, Duration::ZERO);
                timed_quotes(&api, &good, 200, Duration::ZERO)
            }
        })
        .await;

    let spinning = Arc::new(AtomicBool::new(true));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let (api, key, spinning) = (live.api.clone(), spin.clone(), spinning.clone());
            std::thread::spawn(move || {
                let mut hook_durations = Vec::new();
                while spinning.load(Ordering::Relaxed) {
                    let (status, quote) = api
                        .post("/v1/quotes", &key, &small_request(), &[])
                        .expect("quote");
                    // fail-open: the quote is served at catalog prices, marked degraded.
                    assert_eq!(status, 200, "{quote}");
                    assert_eq!(quote["degraded"], true);
                    assert_eq!(quote["trace"][1]["outcome"], "skipped");
                    assert_eq!(quote["trace"][1]["error"]["kind"], "timeout", "{quote}");
                    assert_eq!(quote["totals"]["total"], 129_800);
                    hook_durations.push(Duration::from_micros(
                        quote["trace"][1]["duration_us"].as_u64().expect("us"),
                    ));
                }
                hook_durations
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let loaded = live
        .client({
            let good = good.clone();
            // Long enough for the looping tenant to hit its deadline several times.
            move |api| timed_quotes(&api, &good, 200, Duration::from_secs(2))
        })
        .await;
    let failed_closed = live
        .client(move |api| {
            api.post("/v1/quotes", &closed, &small_request(), &[])
                .expect("quote")
        })
        .await;
    spinning.store(false, Ordering::Relaxed);
    let hook_durations: Vec<Duration> = tokio::task::spawn_blocking(move || {
        spinners
            .into_iter()
            .flat_map(|s| s.join().expect("spinner"))
            .collect()
    })
    .await
    .expect("joins");

    let (p50_alone, p99_alone) = (percentile(&alone, 0.5), percentile(&alone, 0.99));
    let (p50_loaded, p99_loaded) = (percentile(&loaded, 0.5), percentile(&loaded, 0.99));
    println!(
        "good tenant quote latency over HTTP: alone p50 {p50_alone:?} p99 {p99_alone:?}; \
         while another tenant loops: p50 {p50_loaded:?} p99 {p99_loaded:?} ({} quotes); \
         looping calls stopped after {:?}..{:?} ({} calls, deadline {DEADLINE_MS} ms)",
        loaded.len(),
        hook_durations.iter().min().expect("some"),
        hook_durations.iter().max().expect("some"),
        hook_durations.len(),
    );
    assert!(hook_durations.len() >= 2, "the looping tenant ran");
    for d in &hook_durations {
        assert!(
            *d >= Duration::from_millis(DEADLINE_MS),
            "stopped early: {d:?}"
        );
        assert!(
            *d < Duration::from_millis(DEADLINE_MS * 2),
            "stopped late: {d:?}"
        );
    }
    // Stalling behind the loop would cost a whole deadline (200 ms) per quote.
    assert!(
        p50_loaded < p50_alone * 3 + Duration::from_millis(5),
        "p50 {p50_alone:?} -> {p50_loaded:?}"
    );
    assert!(
        p99_loaded < Duration::from_millis(DEADLINE_MS / 2),
        "p99 under load {p99_loaded:?}"
    );

    let (status, failed) = failed_closed;
    assert_eq!(status, 502, "{failed}");
    assert_eq!(failed["error"]["code"], "plugin-failed");
    assert_eq!(failed["error"]["details"]["failure"]["kind"], "timeout");
    live.shutdown().await;
}

/// A component with `functions` small exported functions: much code to compile, no hooks.
fn large_component(functions: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut wat = String::from("(component (core module $m\n");
    for i in 0..functions {
        let _ = writeln!(
            wat,
            "(func (export \"f{i}\") (param i64) (result i64) local.get 0 i64.const {i} i64.add \
             i64.const 7 i64.mul local.get 0 i64.xor i64.const 13 i64.rotl local.get 0 i64.sub)"
        );
    }
    wat.push_str(")(core instance (instantiate $m)))");
    wat::parse_str(&wat).expect("valid WAT")
}

/// Functions in the expensive component: the runtime's limit, seconds to compile.
const EXPENSIVE: usize = 10_000;
/// Over the runtime's limit of functions per component.
const TOO_MANY: usize = 10_001;

/// Another tenant's quotes keep answering while a component that takes seconds to compile is
/// uploaded: compiling runs off the request path, one at a time, at low priority; and a
/// component over the code limits is refused before any compiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expensive_compile_does_not_stall_other_tenants_quotes() {
    let live = LiveService::start(|_| {}).await;
    let (expensive, too_many) =
        tokio::task::spawn_blocking(|| (large_component(EXPENSIVE), large_component(TOO_MANY)))
            .await
            .expect("generates");
    let report = live
        .client(move |api| {
            let key = setup(&api, "good", "tira", json!({ "hook": "pricing" }));
            demo::create_tenant(&api, ADMIN, "big").expect("tenant");
            let alone = timed_quotes(&api, &key, 200, Duration::from_secs(1));

            // Refused from its section headers, before compiling: fast, whatever the machine.
            let started = Instant::now();
            let (status, refused) = api
                .upload("/admin/tenants/big/plugins", ADMIN, &too_many)
                .expect("upload");
            let refused_in = started.elapsed();
            assert_eq!(
                (status, refused["error"]["code"].as_str()),
                (413, Some("component-too-complex")),
                "{refused}"
            );

            let uploading = Arc::new(AtomicBool::new(true));
            let upload = {
                let (api, uploading) = (api.clone(), uploading.clone());
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let answer = api.upload("/admin/tenants/big/plugins", ADMIN, &expensive);
                    let took = started.elapsed();
                    uploading.store(false, Ordering::SeqCst);
                    (answer.expect("upload answers"), took)
                })
            };
            let mut during = Vec::new();
            while uploading.load(Ordering::SeqCst) {
                let started = Instant::now();
                let (status, quote) = api
                    .post("/v1/quotes", &key, &small_request(), &[])
                    .expect("quote");
                assert_eq!(status, 200, "{quote}");
                during.push(started.elapsed());
            }
            let ((status, uploaded), compile) = upload.join().expect("upload thread");
            // Compiled, then refused for what it is (no hooks): the stable code, after the work.
            assert_eq!(
                (status, uploaded["error"]["code"].as_str()),
                (422, Some("unsupported-contract")),
                "{uploaded}"
            );
            during.sort();
            (alone, during, compile, refused_in)
        })
        .await;
    let (alone, during, compile, refused_in) = report;
    assert!(!during.is_empty(), "no quote ran during the compile");
    let slowest = *during.last().expect("some");
    // Generous: no quote waits on the compile (it would take seconds if it did).
    assert!(
        slowest < Duration::from_secs(3),
        "a quote took {slowest:?} during the compile"
    );
    println!(
        "expensive compile ({EXPENSIVE} functions): {compile:?}; over the limit ({TOO_MANY}): \
         refused in {refused_in:?}. Other tenant's quotes alone: p50 {:?} p99 {:?} ({} quotes); \
         during the compile: p50 {:?} p99 {:?} max {slowest:?} ({} quotes)",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        alone.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        during.len()
    );
}

//! One tenant's plugin spinning until its deadline does not stall another tenant's quotes:
//! measured with concurrent requests through the tenant scheduler and the real components.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mandi_host::pipeline::{
    Deployed, FailurePolicy, HookDeployment, QuoteInput, SchedulerConfig, Source, TenantHooks,
    TenantScheduler, quote,
};
use mandi_host::runtime::{Hook, HookFailure, Limits, PluginConfig};
use mandi_sdk::Cart;

use crate::{context, runtime};

fn pricing(plugin: &str, config: &str, limits: Limits) -> TenantHooks {
    let plugin = runtime()
        .load(&mandi_tests::plugin_bytes(plugin))
        .expect("loads");
    TenantHooks::default().with(
        Hook::Pricing,
        HookDeployment {
            source: Source {
                deployment_id: "d".into(),
                plugin: plugin.digest().to_string(),
                version: 1,
            },
            policy: FailurePolicy::FailOpen,
            invoker: Arc::new(Deployed {
                plugin,
                config: Arc::new(PluginConfig::from_json(config).expect("config")),
                limits,
            }),
            breaker: Arc::default(),
        },
    )
}

fn sample_cart() -> Cart {
    let input: mandi_host::cli::RunInput = serde_json::from_str(
        &std::fs::read_to_string(mandi_tests::samples_dir().join("cart.json")).expect("sample"),
    )
    .expect("parses");
    input.cart
}

async fn timed_quote(
    scheduler: &TenantScheduler,
    tenant: &'static str,
    hooks: Arc<TenantHooks>,
) -> (Duration, mandi_host::pipeline::Quote) {
    let started = Instant::now();
    let quote = scheduler
        .run(tenant, move || {
            quote(
                &context(tenant),
                &sample_cart(),
                &QuoteInput::default(),
                &hooks,
                &|_| Vec::new(),
            )
            .expect("fail-open never rejects")
        })
        .await
        .expect("not busy");
    (started.elapsed(), quote)
}

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() - 1) * p / 100]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_tenant_does_not_stall_another_tenants_quotes() {
    let scheduler = Arc::new(TenantScheduler::new(SchedulerConfig {
        per_tenant: 1,
        queue_timeout: Duration::from_secs(10),
    }));
    let evil_limits = Limits {
        deadline_ms: 200,
        max_fuel: Limits::CEILINGS.max_fuel,
        ..Limits::default()
    };
    let evil = Arc::new(pricing("hostile", r#"{"attack": "loop"}"#, evil_limits));
    let good = Arc::new(pricing("tira", "{}", Limits::default()));

    let mut alone = Vec::new();
    for _ in 0..30 {
        alone.push(timed_quote(&scheduler, "good", good.clone()).await.0);
    }

    // Six spinning checkouts of the evil tenant: 1.2 s of CPU, one at a time under its permit.
    let spinning: Vec<_> = (0..6)
        .map(|_| {
            let (s, hooks) = (scheduler.clone(), evil.clone());
            tokio::spawn(async move { timed_quote(&s, "evil", hooks).await.1 })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut loaded = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(800) {
        let (took, quote) = timed_quote(&scheduler, "good", good.clone()).await;
        assert!(!quote.degraded);
        loaded.push(took);
    }
    let mut kinds = Vec::new();
    for evil_quote in spinning {
        let quote = evil_quote.await.expect("joins");
        assert!(quote.degraded, "the spinning hook is skipped (fail-open)");
        kinds.push(
            quote.trace[1]
                .error
                .as_ref()
                .map_or("none", HookFailure::kind),
        );
    }
    kinds.sort_unstable();
    // Five timeouts open the deployment's breaker (default threshold); the sixth is refused
    // without running.
    assert_eq!(
        kinds,
        [
            "circuit-open",
            "timeout",
            "timeout",
            "timeout",
            "timeout",
            "timeout"
        ]
    );

    let (alone_p50, alone_max) = (percentile(&mut alone, 50), percentile(&mut alone, 100));
    let (loaded_p50, loaded_p99) = (percentile(&mut loaded, 50), percentile(&mut loaded, 99));
    eprintln!(
        "good tenant quote latency: alone p50 {alone_p50:?} max {alone_max:?}; while the other \
         tenant spins: p50 {loaded_p50:?} p99 {loaded_p99:?} over {} quotes",
        loaded.len()
    );
    // Stalled behind a spinning quote, a good quote would take up to the 200 ms deadline.
    assert!(loaded_p50 < Duration::from_millis(50), "p50 {loaded_p50:?}");
}

//! Metrics: the Prometheus recorder and the series the service reports. Every series about
//! plugins carries the tenant, so one tenant's slow or failing plugin is visible as its own.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds) from the tens of microseconds a plugin call takes up to the
/// seconds of a timed-out checkout.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

/// Share of a call's fuel budget it burnt: how much headroom a tenant's plugin has.
const BUDGET_SHARE_BUCKETS: &[f64] = &[0.000_1, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0];

/// The process-wide recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(Matcher::Suffix("_ratio".into()), BUDGET_SHARE_BUCKETS)
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed in this process")
    })
}

/// What one plugin hook call did and cost.
#[derive(Debug, Clone, Copy)]
pub struct HookCall<'a> {
    pub tenant: &'a str,
    pub hook: &'a str,
    pub outcome: &'a str,
    pub failure_kind: Option<&'a str>,
    pub took: Duration,
    pub fuel_used: u64,
    pub fuel_budget: u64,
}

/// One plugin hook call: its latency, its failure kind if any, and the share of its fuel
/// budget it burnt.
pub fn hook_call(call: HookCall<'_>) {
    let HookCall {
        tenant,
        hook,
        outcome,
        failure_kind,
        took,
        ..
    } = call;
    let labels = [
        ("tenant", tenant.to_owned()),
        ("hook", hook.to_owned()),
        ("outcome", outcome.to_owned()),
    ];
    metrics::histogram!("mandi_hook_duration_seconds", &labels).record(took.as_secs_f64());
    if call.fuel_budget > 0 {
        metrics::histogram!(
            "mandi_hook_fuel_budget_used_ratio",
            "tenant" => tenant.to_owned(), "hook" => hook.to_owned()
        )
        .record(call.fuel_used as f64 / call.fuel_budget as f64);
    }
    if let Some(kind) = failure_kind {
        metrics::counter!(
            "mandi_hook_failures_total",
            "tenant" => tenant.to_owned(), "hook" => hook.to_owned(), "kind" => kind.to_owned()
        )
        .increment(1);
    }
}

/// A deployment's circuit state: 0 closed, 1 half-open, 2 open.
pub fn circuit_state(tenant: &str, hook: &str, deployment: &str, state: u8) {
    metrics::gauge!(
        "mandi_circuit_state",
        "tenant" => tenant.to_owned(), "hook" => hook.to_owned(), "deployment" => deployment.to_owned()
    )
    .set(f64::from(state));
}

/// Compiled plugin code this node holds in memory, in bytes (bounded by `--loaded-code-mib`).
pub fn loaded_code_bytes(bytes: u64) {
    metrics::gauge!("mandi_loaded_code_bytes").set(bytes as f64);
}

/// A checkout request (quote or order) and how it ended.
pub fn checkout(tenant: &str, operation: &str, result: &str, took: Duration) {
    let labels = [
        ("tenant", tenant.to_owned()),
        ("operation", operation.to_owned()),
        ("result", result.to_owned()),
    ];
    metrics::histogram!("mandi_checkout_duration_seconds", &labels).record(took.as_secs_f64());
}

/// An HTTP request, by route template (never the raw path: ids would explode the series).
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::histogram!("mandi_http_request_duration_seconds", &labels).record(took.as_secs_f64());
}

/// A sampled checkout of a shadow deployment: `identical`, `different` or `failed` against the
/// live version, or `skipped` (the node's shadow slot was busy).
pub fn shadow_run(tenant: &str, hook: &str, status: &str) {
    metrics::counter!(
        "mandi_shadow_runs_total",
        "tenant" => tenant.to_owned(),
        "hook" => hook.to_owned(),
        "status" => status.to_owned()
    )
    .increment(1);
}

/// A canary deployment the platform rolled back for doing worse than the live version.
pub fn canary_rolled_back(tenant: &str, hook: &str) {
    metrics::counter!(
        "mandi_canary_rollbacks_total",
        "tenant" => tenant.to_owned(),
        "hook" => hook.to_owned()
    )
    .increment(1);
}

/// A tenant's run records that were not stored: the history writer fell behind, or the
/// database refused or could not be reached.
pub fn runs_dropped(tenant: &str, count: u64) {
    metrics::counter!("mandi_plugin_runs_dropped_total", "tenant" => tenant.to_owned())
        .increment(count);
}

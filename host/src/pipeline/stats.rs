//! Tenants' health by the minute: every live quote and hook call is counted here (calls,
//! failures, degraded calls and a duration histogram per tenant, hook and minute), written to
//! the store by the run-history writer every few seconds, and read back across nodes for the
//! console's figures ([`health`]). `/metrics` keeps the same figures for Prometheus; these are
//! the service's own, so the console needs no monitoring stack.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{HookFailure, HookTrace, Quote, QuoteError};
use crate::store::{DeploymentRecord, DeploymentStatus, MinuteStat, Tenant};

const MINUTE_MS: i64 = 60_000;

/// The row name of whole quotes, beside the hooks'.
pub const QUOTE: &str = "quote";

/// Durations in log-scale buckets: bucket `i` holds durations in [1.25^i, 1.25^(i+1)) µs, so a
/// percentile read from it is within 12% of the true one. Written by hand because a tenant
/// keeps one per hook and minute: a few dozen sparse counters, where a general-purpose
/// histogram (HdrHistogram) allocates kilobytes each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    counts: BTreeMap<u16, u64>,
}

const BUCKET_BASE: f64 = 1.25;

impl Histogram {
    pub fn record(&mut self, took: Duration) {
        let micros = took.as_secs_f64() * 1e6;
        let bucket = (micros.max(1.0).ln() / BUCKET_BASE.ln()).floor() as u16;
        *self.counts.entry(bucket).or_default() += 1;
    }

    pub fn merge(&mut self, other: impl IntoIterator<Item = (u16, u64)>) {
        for (bucket, count) in other {
            *self.counts.entry(bucket).or_default() += count;
        }
    }

    pub fn buckets(&self) -> Vec<(u16, u64)> {
        self.counts.iter().map(|(&b, &c)| (b, c)).collect()
    }

    /// The `q` quantile (0..=1) in milliseconds, at its bucket's geometric middle; `None` when
    /// empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.counts.values().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (&bucket, &count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(BUCKET_BASE.powf(f64::from(bucket) + 0.5) / 1000.0);
            }
        }
        None
    }
}

#[derive(Debug, Clone, Default)]
struct Counts {
    /// Counted since the last snapshot: only these are written again.
    changed: bool,
    calls: u64,
    failed: u64,
    rejected: u64,
    degraded: u64,
    durations: Histogram,
}

/// How a quote or a call ended, as the figures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Ok,
    /// The plugin failed (timeout, trap, limit, invalid output) and the quote with it.
    Failed,
    /// The plugin refused (its own error): a business rule, not a failure.
    Rejected,
    /// The plugin failed and was skipped (fail-open).
    Degraded,
}

impl Counts {
    fn count(&mut self, took: Duration, ended: Ended) {
        self.changed = true;
        self.calls += 1;
        self.failed += u64::from(ended == Ended::Failed);
        self.rejected += u64::from(ended == Ended::Rejected);
        self.degraded += u64::from(ended == Ended::Degraded);
        self.durations.record(took);
    }

    fn add(&mut self, other: &Counts) {
        self.calls += other.calls;
        self.failed += other.failed;
        self.rejected += other.rejected;
        self.degraded += other.degraded;
        self.durations.merge(other.durations.buckets());
    }
}

fn ended(failure: Option<&HookFailure>, skipped: bool) -> Ended {
    match failure {
        None => Ended::Ok,
        Some(_) if skipped => Ended::Degraded,
        Some(HookFailure::PluginError { .. }) => Ended::Rejected,
        Some(_) => Ended::Failed,
    }
}

/// This node's figures for the current and the previous minute, per tenant.
#[derive(Debug)]
pub struct LiveStats {
    /// Names this node's rows: nodes never write each other's.
    node: String,
    tenants: Mutex<HashMap<String, TenantMinutes>>,
}

/// A tenant's counts by (minute, hook or `quote`).
type TenantMinutes = BTreeMap<(i64, &'static str), Counts>;

impl Default for LiveStats {
    fn default() -> Self {
        Self {
            node: uuid::Uuid::now_v7().simple().to_string(),
            tenants: Mutex::default(),
        }
    }
}

impl LiveStats {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Counts a live quote that took `took` and its plugin calls.
    pub fn record(
        &self,
        tenant: &str,
        now_ms: i64,
        took: Duration,
        quote: &Result<Quote, QuoteError>,
        trace: &[HookTrace],
    ) {
        let minute = now_ms - now_ms.rem_euclid(MINUTE_MS);
        let quote_ended = match quote {
            Ok(quote) if quote.degraded => Ended::Degraded,
            Ok(_) | Err(QuoteError::Cart(_)) => Ended::Ok,
            Err(QuoteError::HookFailed(failed)) => ended(Some(&failed.failure), false),
        };
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let minutes = match tenants.get_mut(tenant) {
            Some(minutes) => minutes,
            None => tenants.entry(tenant.to_owned()).or_default(),
        };
        minutes
            .entry((minute, QUOTE))
            .or_default()
            .count(took, quote_ended);
        for call in trace.iter().filter(|t| t.source.is_some()) {
            let call_ended = ended(call.error.as_ref(), call.outcome == "skipped");
            (minutes.entry((minute, call.hook.as_str())).or_default())
                .count(call.duration, call_ended);
        }
    }

    /// What was counted since the last snapshot, as rows to write (each with its minute's
    /// running totals); then forgets the minutes before the previous one, which no quote can
    /// add to any more. A node with 5,000 tenants that each quoted once writes each row once,
    /// not every few seconds.
    pub fn snapshot(&self, now_ms: i64) -> Vec<MinuteStat> {
        let current = now_ms - now_ms.rem_euclid(MINUTE_MS);
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows = Vec::new();
        for (tenant, minutes) in tenants.iter_mut() {
            for (&(minute, hook), counts) in minutes.iter_mut() {
                if !std::mem::take(&mut counts.changed) {
                    continue;
                }
                rows.push(MinuteStat {
                    tenant_id: tenant.clone(),
                    hook: hook.to_owned(),
                    minute,
                    calls: i64::try_from(counts.calls).unwrap_or(i64::MAX),
                    failed: i64::try_from(counts.failed).unwrap_or(i64::MAX),
                    rejected: i64::try_from(counts.rejected).unwrap_or(i64::MAX),
                    degraded: i64::try_from(counts.degraded).unwrap_or(i64::MAX),
                    durations: counts.durations.buckets(),
                });
            }
        }
        tenants.retain(|_, minutes| {
            minutes.retain(|&(minute, _), _| minute >= current - MINUTE_MS);
            !minutes.is_empty()
        });
        rows
    }
}

/// The console's view of every tenant over the last `minutes`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// Unix ms when this was computed.
    pub now: i64,
    pub minutes: u32,
    pub tenants: Vec<TenantHealth>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantHealth {
    pub id: String,
    pub name: String,
    /// Quotes a minute over the last five minutes.
    pub quotes_per_minute: f64,
    pub quotes: Figures,
    /// One entry a minute, oldest first.
    pub series: Vec<MinuteFigures>,
    /// Every hook with a deployment or with calls in the window, in the pipeline's order.
    pub hooks: Vec<HookHealth>,
}

/// Calls over the window.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figures {
    pub count: u64,
    /// Failures: timeouts, traps, limits, invalid output (a fail-closed hook's fail the quote).
    pub failed: u64,
    /// Refusals the plugin chose (its error, e.g. no pharmacy can fill the order).
    pub rejected: u64,
    /// Failed and skipped (fail-open): served without the hook.
    pub degraded: u64,
    pub failure_rate: f64,
    pub rejection_rate: f64,
    pub degraded_rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MinuteFigures {
    /// Unix ms at the minute's start.
    pub minute: i64,
    pub count: u64,
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookHealth {
    pub hook: String,
    /// The deployment serving the hook; `null` when the platform default does.
    pub live: Option<LiveVersion>,
    /// Its shadows and canaries.
    pub rollouts: Vec<Rollout>,
    /// The live deployment's circuit breaker on the node that answered: `closed`, `open`,
    /// `half-open`, or `null` when that node has not run it lately.
    pub breaker: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
    pub series: Vec<MinuteFigures>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveVersion {
    pub deployment_id: String,
    pub version: i64,
    pub plugin_digest: String,
    pub failure_policy: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rollout {
    pub deployment_id: String,
    /// `shadow` or `canary`.
    pub status: DeploymentStatus,
    pub sample_percent: Option<i64>,
}

/// What the health report is built from.
#[derive(Debug)]
pub struct HealthInputs<'a> {
    pub now_ms: i64,
    pub minutes: u32,
    pub tenants: &'a [Tenant],
    /// Every tenant's active, shadow and canary deployments.
    pub serving: &'a [(String, DeploymentRecord)],
    /// Every node's rows from the window's first minute on.
    pub stats: &'a [MinuteStat],
    /// Breaker states on this node (`closed`, `open`, `half-open`) by deployment id; a
    /// deployment this node has not run lately is absent.
    pub breakers: &'a HashMap<String, String>,
}

/// Sums the nodes' rows into per-tenant figures, series and hook health.
pub fn health(inputs: HealthInputs<'_>) -> HealthReport {
    let current = inputs.now_ms - inputs.now_ms.rem_euclid(MINUTE_MS);
    let first = current - MINUTE_MS * (i64::from(inputs.minutes) - 1);
    // (tenant, hook) -> minute -> counts, every node's rows summed.
    let mut merged: HashMap<(&str, &str), BTreeMap<i64, Counts>> = HashMap::new();
    for row in inputs.stats.iter().filter(|r| r.minute >= first) {
        let counts = (merged.entry((row.tenant_id.as_str(), row.hook.as_str())))
            .or_default()
            .entry(row.minute)
            .or_default();
        counts.calls += u64::try_from(row.calls).unwrap_or(0);
        counts.failed += u64::try_from(row.failed).unwrap_or(0);
        counts.rejected += u64::try_from(row.rejected).unwrap_or(0);
        counts.degraded += u64::try_from(row.degraded).unwrap_or(0);
        counts.durations.merge(row.durations.iter().copied());
    }
    let empty = BTreeMap::new();
    let series = |minutes: &BTreeMap<i64, Counts>| -> Vec<MinuteFigures> {
        (0..i64::from(inputs.minutes))
            .map(|i| {
                let minute = first + i * MINUTE_MS;
                let counts = minutes.get(&minute).cloned().unwrap_or_default();
                MinuteFigures {
                    minute,
                    count: counts.calls,
                    failed: counts.failed,
                    rejected: counts.rejected,
                    degraded: counts.degraded,
                    p99_ms: counts.durations.quantile_ms(0.99),
                }
            })
            .collect()
    };
    let tenants = (inputs.tenants.iter())
        .map(|tenant| {
            let quotes = merged.get(&(tenant.id.as_str(), QUOTE)).unwrap_or(&empty);
            let recent: u64 = (quotes.range(current - 4 * MINUTE_MS..))
                .map(|(_, c)| c.calls)
                .sum();
            let serving: Vec<&DeploymentRecord> = (inputs.serving.iter())
                .filter(|(t, _)| *t == tenant.id)
                .map(|(_, d)| d)
                .collect();
            let hooks = (crate::runtime::Hook::ALL.iter())
                .filter_map(|hook| {
                    let name = hook.as_str();
                    let calls = merged.get(&(tenant.id.as_str(), name));
                    let of_hook: Vec<&&DeploymentRecord> =
                        serving.iter().filter(|d| d.hook == name).collect();
                    if calls.is_none() && of_hook.is_empty() {
                        return None;
                    }
                    let live = (of_hook.iter()).find(|d| d.status == DeploymentStatus::Active);
                    let calls = calls.unwrap_or(&empty);
                    Some(HookHealth {
                        hook: name.to_owned(),
                        breaker: live.and_then(|d| inputs.breakers.get(&d.id).cloned()),
                        live: live.map(|d| LiveVersion {
                            deployment_id: d.id.clone(),
                            version: d.version,
                            plugin_digest: d.plugin_digest.clone(),
                            failure_policy: d.failure_policy.clone(),
                        }),
                        rollouts: (of_hook.iter())
                            .filter(|d| d.status != DeploymentStatus::Active)
                            .map(|d| Rollout {
                                deployment_id: d.id.clone(),
                                status: d.status,
                                sample_percent: d.sample_percent,
                            })
                            .collect(),
                        figures: figures(calls),
                        series: series(calls),
                    })
                })
                .collect();
            TenantHealth {
                id: tenant.id.clone(),
                name: tenant.name.clone(),
                quotes_per_minute: recent as f64 / 5.0,
                quotes: figures(quotes),
                series: series(quotes),
                hooks,
            }
        })
        .collect();
    HealthReport {
        now: inputs.now_ms,
        minutes: inputs.minutes,
        tenants,
    }
}

fn figures(minutes: &BTreeMap<i64, Counts>) -> Figures {
    let mut total = Counts::default();
    for counts in minutes.values() {
        total.add(counts);
    }
    let rate = |n: u64| {
        if total.calls == 0 {
            0.0
        } else {
            n as f64 / total.calls as f64
        }
    };
    Figures {
        count: total.calls,
        failed: total.failed,
        rejected: total.rejected,
        degraded: total.degraded,
        failure_rate: rate(total.failed),
        rejection_rate: rate(total.rejected),
        degraded_rate: rate(total.degraded),
        p50_ms: total.durations.quantile_ms(0.5),
        p99_ms: total.durations.quantile_ms(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_within_its_bucket_of_the_true_one() {
        let mut histogram = Histogram::default();
        for micros in 1..=1000u64 {
            histogram.record(Duration::from_micros(micros));
        }
        let p50 = histogram.quantile_ms(0.5).expect("some");
        let p99 = histogram.quantile_ms(0.99).expect("some");
        assert!((0.5 / 1.25..=0.5 * 1.25).contains(&p50), "{p50}");
        assert!((0.99 / 1.25..=0.99 * 1.25).contains(&p99), "{p99}");
        assert_eq!(Histogram::default().quantile_ms(0.5), None);
    }

    #[test]
    fn a_snapshot_writes_what_changed_and_forgets_minutes_before_the_previous_one() {
        let stats = LiveStats::default();
        let quote: Result<Quote, QuoteError> = Err(QuoteError::Cart(
            crate::pipeline::CartOutOfLimits("a test".into()),
        ));
        let took = Duration::from_millis(2);
        stats.record("a", 0, took, &quote, &[]);
        stats.record("a", MINUTE_MS, took, &quote, &[]);
        stats.record("a", 2 * MINUTE_MS + 5, took, &quote, &[]);
        let rows = stats.snapshot(2 * MINUTE_MS + 10);
        assert_eq!(rows.len(), 3, "everything counted is written");
        assert!(stats.snapshot(2 * MINUTE_MS + 10).is_empty(), "nothing new");
        // Another count in the current minute: only its row, with the minute's total.
        stats.record("a", 2 * MINUTE_MS + 30, took, &quote, &[]);
        let rows = stats.snapshot(2 * MINUTE_MS + 40);
        let written: Vec<(i64, i64)> = rows.iter().map(|r| (r.minute, r.calls)).collect();
        assert_eq!(written, [(2 * MINUTE_MS, 2)]);
        // Minute 0 was forgotten at the first snapshot (before the previous minute).
        let kept = stats.tenants.lock().expect("lock")["a"].len();
        assert_eq!(kept, 2);
    }
}

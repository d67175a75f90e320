//! Plugin run history: every hook call of every checkout becomes a run record, written in
//! batches by a background task so recording never adds a database write to a checkout's
//! latency. Records still queued at shutdown are flushed before the store closes.
//!
//! A shadow deployment's compared runs go through the same writer, in the same batches.
//!
//! Each checkout that called a plugin also keeps its input (context, cart, stock, catalog look-ups,
//! payment methods), serialized by the writer task off the response path, so its runs can be
//! replayed against another version.
//!
//! What a plugin logged or said in its error is untrusted text: it is made storable before it
//! is queued, and a batch the database still refuses is written run by run, so one tenant's
//! run can never cost another tenant's runs their history.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use mandi_sdk::RunInput;

use super::HookTrace;
use super::stats::LiveStats;
use crate::runtime::LogRecord;
use crate::store::{CheckoutInputRecord, RunRecord, ShadowRun, Store, storable_text};

/// Runs queued beyond this are dropped (and counted) rather than growing memory without bound.
const QUEUE_CAPACITY: usize = 10_000;
const BATCH: usize = 256;

/// A checkout's input is kept for replays only up to this size as JSON: a 200-line cart with
/// its stock fits; one beyond is recorded without it (its runs cannot be replayed).
pub const MAX_RECORDED_INPUT_BYTES: usize = 64 << 10;

/// What the writer task stores.
#[derive(Debug)]
enum Recorded {
    Run(Box<RunRecord>),
    /// A checkout's input, serialized by the writer.
    Input {
        tenant_id: String,
        request_id: String,
        input: Box<RunInput>,
        created_at: i64,
    },
    /// A shadow deployment's run compared with the live one.
    Shadow(Box<ShadowRun>),
}

#[derive(Debug, Clone)]
pub struct RecordRuns {
    queue: mpsc::Sender<Recorded>,
    /// Live quotes and calls by the minute, written by the same task every few seconds.
    stats: Arc<LiveStats>,
}

/// How often the writer writes this node's minute figures.
const STATS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The writer task.
#[derive(Debug)]
pub struct RunWriter {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunWriter {
    /// Stops taking records, writes those queued, and returns when they are stored.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

impl RecordRuns {
    pub fn start(store: Store) -> (Self, RunWriter) {
        let (queue, mut rx) = mpsc::channel::<Recorded>(QUEUE_CAPACITY);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let stats = Arc::new(LiveStats::default());
        let live_stats = stats.clone();
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let mut stats_due = tokio::time::interval(STATS_EVERY);
            stats_due.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let received = tokio::select! {
                    n = rx.recv_many(&mut batch, BATCH) => n,
                    _ = stats_due.tick() => {
                        write_stats(&store, &live_stats).await;
                        continue;
                    }
                    _ = &mut stopped => {
                        // Refuse new records, then drain what is queued.
                        rx.close();
                        while rx.recv_many(&mut batch, BATCH).await > 0 {
                            write(&store, &mut batch).await;
                        }
                        write_stats(&store, &live_stats).await;
                        break;
                    }
                };
                if received == 0 {
                    break; // every recorder dropped and the queue drained
                }
                write(&store, &mut batch).await;
            }
        });
        (Self { queue, stats }, RunWriter { stop, task })
    }

    /// This node's live figures by the minute.
    pub fn stats(&self) -> &LiveStats {
        &self.stats
    }

    /// Writes this node's figures now, so a reader right after sees its latest quotes.
    pub async fn write_stats(&self, store: &Store) {
        write_stats(store, &self.stats).await;
    }

    /// Queues a record of every plugin call in `trace` (platform defaults are not runs), and
    /// the checkout's `input` when a plugin was called. Each run keeps at most `RUN_LOG_BYTES`
    /// of its logs, so a plugin that logs all its limit on every call costs the history (and
    /// the database, and this request's thread) a bounded amount; the run says its logs were
    /// cut.
    pub fn record(&self, tenant: &str, request_id: &str, trace: &[HookTrace], input: RunInput) {
        let now = crate::store::now_ms();
        if !trace.iter().any(|t| t.source.is_some()) {
            return;
        }
        let input = Recorded::Input {
            tenant_id: tenant.to_owned(),
            request_id: request_id.to_owned(),
            input: Box::new(input),
            created_at: now,
        };
        if self.queue.try_send(input).is_err() {
            crate::telemetry::runs_dropped(tenant, 1);
        }
        for t in trace {
            let Some(source) = &t.source else { continue };
            let kept = logs_kept(&t.logs);
            let record = RunRecord {
                id: 0,
                tenant_id: tenant.to_owned(),
                request_id: request_id.to_owned(),
                hook: t.hook.as_str().to_owned(),
                deployment_id: source.deployment_id.clone(),
                plugin_digest: source.plugin.clone(),
                outcome: t.outcome.to_owned(),
                error_kind: t.error.as_ref().map(|e| e.kind().to_owned()),
                error: t
                    .error
                    .as_ref()
                    .map(|e| storable_text(&e.to_string()).into_owned()),
                duration_us: i64::try_from(t.duration.as_micros()).unwrap_or(i64::MAX),
                fuel_used: i64::try_from(t.fuel_used).unwrap_or(i64::MAX),
                fuel_budget: Some(i64::try_from(t.fuel_budget).unwrap_or(i64::MAX)),
                peak_memory_bytes: i64::try_from(t.peak_memory_bytes).unwrap_or(i64::MAX),
                input_digest: t.input_digest.clone(),
                logs: storable_json(
                    serde_json::to_value(&t.logs[..kept]).expect("log records serialize"),
                ),
                logs_truncated: t.logs_truncated || kept < t.logs.len(),
                created_at: now,
            };
            if self
                .queue
                .try_send(Recorded::Run(Box::new(record)))
                .is_err()
            {
                crate::telemetry::runs_dropped(tenant, 1);
            }
        }
    }

    /// Queues a shadow run's comparison (dropped and counted when the queue is full).
    pub fn record_shadow(&self, mut run: ShadowRun) {
        run.failure = run.failure.map(|f| storable_text(&f).into_owned());
        let tenant = run.tenant_id.clone();
        if self
            .queue
            .try_send(Recorded::Shadow(Box::new(run)))
            .is_err()
        {
            crate::telemetry::runs_dropped(&tenant, 1);
        }
    }
}

async fn write_stats(store: &Store, stats: &LiveStats) {
    let rows = stats.snapshot(crate::store::now_ms());
    if let Err(err) = store.write_minute_stats(stats.node(), &rows).await {
        tracing::warn!(error = %err, rows = rows.len(), "could not write the minute figures");
    }
}

/// The logs a run keeps in history: the first records, up to this many bytes of text. A call
/// may log up to its log limit (1 MiB at most); the quote's caller sees none of it, so this is
/// only what the history keeps to explain the call.
const RUN_LOG_BYTES: usize = 64 << 10;

/// How many of `logs`, from the first, fit in `RUN_LOG_BYTES`.
fn logs_kept(logs: &[LogRecord]) -> usize {
    let mut bytes = 0;
    logs.iter()
        .take_while(|record| {
            bytes += record.message.len()
                + (record.fields.iter())
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>();
            bytes <= RUN_LOG_BYTES
        })
        .count()
}

async fn write(store: &Store, batch: &mut Vec<Recorded>) {
    let mut runs = Vec::with_capacity(batch.len());
    let mut inputs = Vec::new();
    let mut shadows = Vec::new();
    for recorded in batch.drain(..) {
        match recorded {
            Recorded::Run(run) => runs.push(*run),
            Recorded::Shadow(run) => shadows.push(*run),
            Recorded::Input {
                tenant_id,
                request_id,
                input,
                created_at,
            } => {
                let input = serde_json::to_string(&input).expect("contract types serialize");
                if input.len() <= MAX_RECORDED_INPUT_BYTES {
                    inputs.push(CheckoutInputRecord {
                        tenant_id,
                        request_id,
                        // JSON escapes U+0000, so this text is storable as it is.
                        input,
                        created_at,
                    });
                }
            }
        }
    }
    if let Err(err) = store.insert_shadow_runs(&shadows).await {
        tracing::warn!(error = %err, runs = shadows.len(), "could not record shadow runs");
    }
    if let Err(lost) = store.insert_runs(&runs, &inputs).await {
        let mut per_tenant: BTreeMap<&str, u64> = BTreeMap::new();
        for &i in &lost.runs {
            *per_tenant.entry(runs[i].tenant_id.as_str()).or_default() += 1;
        }
        if !lost.inputs.is_empty() {
            tracing::warn!(error = %lost.cause, inputs = lost.inputs.len(), "could not keep checkout inputs");
        }
        if !lost.runs.is_empty() {
            tracing::error!(
                error = %lost.cause, runs = lost.runs.len(), batch = runs.len(), tenants = ?per_tenant,
                "could not record plugin runs"
            );
        }
        for (tenant, count) in per_tenant {
            crate::telemetry::runs_dropped(tenant, count);
        }
    }
    batch.clear();
}

/// Every string in `value` (keys too) made storable.
fn storable_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(storable_text(&text).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(storable_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (storable_text(&k).into_owned(), storable_json(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::storable_json;

    #[test]
    fn nul_in_logged_text_is_replaced_wherever_it_is() {
        let logs = serde_json::json!([{ "message": "a\u{0}b", "fields": [["k\u{0}", "v"]] }]);
        assert_eq!(
            storable_json(logs),
            serde_json::json!([{ "message": "a\u{FFFD}b", "fields": [["k\u{FFFD}", "v"]] }])
        );
    }
}

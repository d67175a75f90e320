//! Replay: a candidate version of one hook (a component, its config, its limits) re-runs a
//! tenant's recorded checkouts beside the version live now, and each is reported identical,
//! different (what changed, and by how much the total moved) or failed. Both sides run from the
//! same recorded input (cart at the prices of that day, context and clock, stock, catalog look-
//! ups), so only the candidate explains a difference. Nothing is recorded: no run history,
//! metrics or breaker states.
//!
//! The comparison is also what `mandi plugin replay` prints offline, from an exported file of
//! recorded checkouts.

use std::sync::Arc;

use mandi_sdk::RunInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkout::{Checkout, CheckoutError, QuoteView, checkout_error, quote_view};
use super::{Quote, QuoteError, TenantHooks};
use crate::runtime::{Hook, HookFailure};
pub use crate::store::Change;
use crate::store::{DeploymentRecord, RunWindow, Tenant};

/// Most recorded runs one replay takes.
pub const MAX_REPLAY_RUNS: u32 = 1_000;

/// One recorded checkout as a replay takes it, and as `GET .../recorded-runs` exports it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedCheckout {
    /// The run of the hook in the tenant's history.
    pub run: i64,
    pub request_id: String,
    /// When the checkout ran, Unix ms.
    pub recorded_at: i64,
    /// What the checkout gave the pipeline, as `mandi plugin quote --input` takes it; absent
    /// when it was too large to keep (then the run is reported `not-kept`).
    #[schema(schema_with = run_input)]
    pub input: Option<RunInput>,
}

/// A checkout's input: the SDK's `RunInput`, defined by the contract's types.
fn run_input() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(
            AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(true),
        ))
        .description(Some(
            "What the checkout gave the pipeline, as `mandi plugin quote --input` takes it: \
             `context`, `cart` (at catalog prices), `nodes` (the stock of its skus), `catalog` \
             (the lines looked up) and `payment_methods`, in the contract's types. Null when it \
             was too large to keep.",
        ))
        .into()
}

/// A file of recorded checkouts: what `GET .../recorded-runs` answers and `mandi plugin replay
/// --runs` reads.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedRuns {
    #[schema(value_type = String)]
    pub hook: Hook,
    pub runs: Vec<RecordedCheckout>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayStatus {
    /// The candidate quotes the checkout exactly as the live version does.
    Identical,
    /// The candidate's quote (or refusal) differs: see `changes` and `totals`.
    Different,
    /// The candidate's hook failed (trap, timeout, invalid output...), or the checkout could
    /// not be replayed.
    Failed,
    /// The checkout's input was too large to keep: nothing to replay.
    NotKept,
}

/// One replayed run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplayedRun {
    pub run: i64,
    pub request_id: String,
    pub recorded_at: i64,
    pub status: ReplayStatus,
    /// With `failed`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The totals of both sides, when both quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<TotalsDelta>,
    /// Each place the candidate's outcome differs from the live one's (empty unless
    /// `different`).
    pub changes: Vec<Change>,
}

/// A quote's total with the live version and with the candidate, minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TotalsDelta {
    pub live: i64,
    pub candidate: i64,
    /// `candidate - live`.
    pub delta: i64,
}

/// What a replay found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplayReport {
    pub summary: ReplaySummary,
    /// Newest first.
    pub runs: Vec<ReplayedRun>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplaySummary {
    pub runs: usize,
    pub identical: usize,
    pub different: usize,
    pub failed: usize,
    pub not_kept: usize,
    /// The sum of the quotes' total deltas, minor units: what the candidate would have
    /// charged more (or, negative, less) over these checkouts.
    pub total_delta: i64,
}

impl ReplayReport {
    pub fn new(runs: Vec<ReplayedRun>) -> Self {
        let mut summary = ReplaySummary {
            runs: runs.len(),
            ..ReplaySummary::default()
        };
        for run in &runs {
            match run.status {
                ReplayStatus::Identical => summary.identical += 1,
                ReplayStatus::Different => summary.different += 1,
                ReplayStatus::Failed => summary.failed += 1,
                ReplayStatus::NotKept => summary.not_kept += 1,
            }
            if let Some(totals) = run.totals {
                summary.total_delta = summary.total_delta.saturating_add(totals.delta);
            }
        }
        Self { summary, runs }
    }
}

/// How a checkout ended, as a replay compares it.
#[derive(Debug)]
pub enum Outcome {
    Quoted(Box<QuoteView>),
    /// A plugin refused the cart (its error code): an answer, not a failure.
    Refused {
        hook: Hook,
        code: String,
    },
    /// Not answered.
    Failed(String),
}

impl Outcome {
    /// The outcome of a pipeline run.
    pub fn of(request_id: &str, result: Result<Quote, QuoteError>) -> Self {
        match result {
            Ok(quote) => Self::Quoted(Box::new(quote_view(request_id, quote))),
            Err(QuoteError::HookFailed(failed)) => match &failed.failure {
                HookFailure::PluginError { code, .. } => Self::Refused {
                    hook: failed.hook,
                    code: code.clone(),
                },
                _ => Self::Failed(failed.to_string()),
            },
            Err(err @ QuoteError::Cart(_)) => Self::Failed(checkout_error(err).to_string()),
        }
    }

    /// What is compared: the quote without its request id, trace and the deployments that
    /// decided (the candidate's always differ), or the refusal.
    fn comparable(&self) -> Value {
        match self {
            Self::Quoted(quote) => {
                let mut value = serde_json::to_value(quote).expect("a quote serializes");
                let object = value.as_object_mut().expect("a quote is an object");
                object.remove("request_id");
                object.remove("trace");
                without_sources(&mut value);
                value
            }
            Self::Refused { hook, code } => {
                serde_json::json!({ "refused": { "hook": hook.as_str(), "code": code } })
            }
            Self::Failed(message) => serde_json::json!({ "failed": message }),
        }
    }

    fn total(&self) -> Option<i64> {
        match self {
            Self::Quoted(quote) => Some(quote.totals.total),
            _ => None,
        }
    }

    /// Why the candidate's `hook` failed, if it did: the run failed, or the hook failed and
    /// was skipped under its fail-open policy.
    fn failure_of(&self, hook: Hook) -> Option<String> {
        match self {
            Self::Failed(message) => Some(message.clone()),
            Self::Refused { .. } => None,
            Self::Quoted(quote) => (quote.trace.iter())
                .find(|t| t.hook == hook && t.error.is_some())
                .map(|t| {
                    let error = serde_json::to_value(&t.error).unwrap_or_default();
                    format!(
                        "the {hook} hook failed ({}) and was skipped: {}",
                        error["kind"].as_str().unwrap_or("failed"),
                        error["message"].as_str().unwrap_or_default()
                    )
                }),
        }
    }
}

/// Compares the candidate's outcome of one recorded checkout with the live version's.
pub fn compare(
    recorded: &RecordedCheckout,
    hook: Hook,
    live: &Outcome,
    candidate: &Outcome,
) -> ReplayedRun {
    let mut run = ReplayedRun {
        run: recorded.run,
        request_id: recorded.request_id.clone(),
        recorded_at: recorded.recorded_at,
        status: ReplayStatus::Identical,
        failure: None,
        totals: None,
        changes: Vec::new(),
    };
    if let Some(failure) = candidate.failure_of(hook) {
        run.status = ReplayStatus::Failed;
        run.failure = Some(failure);
        return run;
    }
    if let (Some(live), Some(candidate)) = (live.total(), candidate.total()) {
        run.totals = Some(TotalsDelta {
            live,
            candidate,
            delta: candidate.saturating_sub(live),
        });
    }
    diff(
        "",
        &live.comparable(),
        &candidate.comparable(),
        &mut run.changes,
    );
    if !run.changes.is_empty() {
        run.status = ReplayStatus::Different;
    }
    run
}

/// A run whose checkout input was not kept.
pub fn not_kept(recorded: &RecordedCheckout) -> ReplayedRun {
    ReplayedRun {
        run: recorded.run,
        request_id: recorded.request_id.clone(),
        recorded_at: recorded.recorded_at,
        status: ReplayStatus::NotKept,
        failure: None,
        totals: None,
        changes: Vec::new(),
    }
}

/// Every place `candidate` differs from `live`, as JSON pointers under `path`. Written here
/// rather than with a JSON Patch crate: a patch says how to turn one side into the other, not
/// what each side had, and a reader of a replay wants both values.
fn diff(path: &str, live: &Value, candidate: &Value, changes: &mut Vec<Change>) {
    match (live, candidate) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let path = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(&path, x, y, changes),
                    (x, y) => changes.push(Change {
                        path,
                        live: x.cloned(),
                        candidate: y.cloned(),
                    }),
                }
            }
        }
        // Lists of the same length are compared item by item; otherwise whole.
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}/{i}"), x, y, changes);
            }
        }
        (a, b) if a == b => {}
        (a, b) => changes.push(Change {
            path: path.to_owned(),
            live: Some(a.clone()),
            candidate: Some(b.clone()),
        }),
    }
}

fn without_sources(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("source");
            map.values_mut().for_each(without_sources);
        }
        Value::Array(items) => items.iter_mut().for_each(without_sources),
        _ => {}
    }
}

impl Checkout {
    /// The tenant's recorded checkouts that ran `hook`, newest first, for a replay or an
    /// export.
    pub async fn recorded_checkouts(
        &self,
        tenant: &Tenant,
        hook: Hook,
        window: RunWindow,
    ) -> Result<Vec<RecordedCheckout>, CheckoutError> {
        let runs = (self
            .store()
            .recorded_runs(&tenant.id, hook.as_str(), window))
        .await
        .map_err(CheckoutError::Store)?;
        Ok(runs
            .into_iter()
            .map(|run| RecordedCheckout {
                run: run.run,
                request_id: run.request_id,
                recorded_at: run.created_at,
                // Written by this service from a `RunInput`; one that no longer reads (an
                // older shape) is treated as not kept rather than failing the replay.
                input: run.input.and_then(|text| serde_json::from_str(&text).ok()),
            })
            .collect())
    }

    /// Replays the tenant's recorded checkouts of `hook` in `window` with `candidate` serving
    /// it, against the hooks live now.
    pub async fn replay(
        &self,
        tenant: &Tenant,
        hook: Hook,
        candidate: &DeploymentRecord,
        window: RunWindow,
    ) -> Result<ReplayReport, CheckoutError> {
        let recorded = self.recorded_checkouts(tenant, hook, window).await?;
        let live = self.deployments().trial_live(&tenant.id).await?;
        let trial = (self.deployments())
            .with_candidate(&tenant.id, hook, candidate)
            .await?;
        let mut runs = Vec::with_capacity(recorded.len());
        for checkout in &recorded {
            let Some(input) = &checkout.input else {
                runs.push(not_kept(checkout));
                continue;
            };
            let live = self.replay_one(tenant, checkout, input, live.clone()).await;
            let candidate = self
                .replay_one(tenant, checkout, input, trial.clone())
                .await;
            runs.push(compare(checkout, hook, &live, &candidate));
        }
        Ok(ReplayReport::new(runs))
    }

    async fn replay_one(
        &self,
        tenant: &Tenant,
        checkout: &RecordedCheckout,
        input: &RunInput,
        hooks: Arc<TenantHooks>,
    ) -> Outcome {
        match self.pipeline(tenant, input.clone(), hooks).await {
            Ok((result, _)) => Outcome::of(&checkout.request_id, result),
            Err(err) => Outcome::Failed(format!("not replayed: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_diff_names_each_changed_value_with_both_sides() {
        let live = json!({ "totals": { "total": 100, "discount": 0 }, "adjustments": [{ "code": "A" }], "violations": [] });
        let candidate = json!({ "totals": { "total": 90, "discount": 10 }, "adjustments": [{ "code": "B" }], "violations": [{ "code": "V" }] });
        let mut changes = Vec::new();
        diff("", &live, &candidate, &mut changes);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/adjustments/0/code",
                "/totals/discount",
                "/totals/total",
                "/violations"
            ]
        );
        assert_eq!(changes[2].live, Some(json!(100)));
        assert_eq!(changes[2].candidate, Some(json!(90)));
        let mut none = Vec::new();
        diff("", &live, &live, &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn who_decided_is_not_a_difference() {
        let mut value =
            json!({ "adjustments": [{ "code": "A", "source": { "deployment_id": "d1" } }] });
        without_sources(&mut value);
        assert_eq!(value, json!({ "adjustments": [{ "code": "A" }] }));
    }
}

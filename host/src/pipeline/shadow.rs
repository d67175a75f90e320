//! Shadow deployments: a candidate version of a hook runs beside the live one on a sampled share
//! of live checkouts. The checkout never waits for it and never sees its answer: the response
//! is sent from the live run, then the shadow re-runs the same checkout input in the background
//! and its outcome is compared with the live one (as a replay compares), counted in the metrics
//! and kept per deployment.
//!
//! A shadow must not slow the live path. It runs on the node's background thread (the kernel's
//! idle scheduling class: only on a core with nothing else to do), one shadow checkout at a
//! time on a node, and at most `MAX_PENDING` wait their turn: a sampled checkout beyond that is
//! skipped (and counted), so a shadow that loops costs the node at most one idle-class core and
//! a bounded queue, never an unbounded one.

use std::sync::Arc;

use mandi_sdk::RunInput;
use tokio::sync::Semaphore;

use super::checkout::{Checkout, run_pipeline};
use super::replay::{Outcome, RecordedCheckout, ReplayStatus, compare};
use super::scheduler::run_in_background;
use super::{Quote, QuoteError, SampledDeployment, TenantHooks};
use crate::runtime::Hook;
use crate::store::ShadowRun;

/// Shadow checkouts a node keeps waiting for the one running.
const MAX_PENDING: usize = 16;

/// The node's shadow checkouts: admitted while fewer than `MAX_PENDING` wait, run one at a time.
#[derive(Debug, Clone)]
pub struct Shadows {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

impl Default for Shadows {
    fn default() -> Self {
        Self {
            admitted: Arc::new(Semaphore::new(MAX_PENDING + 1)),
            running: Arc::new(Semaphore::new(1)),
        }
    }
}

/// Whether a checkout is in a shadow's sample: decided by its request id, so the same request
/// is in or out on every node.
pub fn sampled(request_id: &str, percent: u8) -> bool {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(request_id.as_bytes());
    u16::from_be_bytes([hash[0], hash[1]]) % 100 < u16::from(percent)
}

/// The shadows of `hooks` whose sample takes this checkout.
pub fn sampling<'a>(
    hooks: &'a TenantHooks,
    request_id: &'a str,
) -> impl Iterator<Item = (Hook, &'a SampledDeployment)> + 'a {
    hooks
        .shadows()
        .filter(move |(_, shadow)| sampled(request_id, shadow.sample_percent))
}

impl Checkout {
    /// Runs `shadow` on `input` in the background and records how its outcome compares with
    /// the live `quote`'s. Returns at once: everything but the admission check (building the
    /// shadow's hooks, the run, both outcomes' views and their comparison) happens on the
    /// background thread, and the result is written by the run-history writer in its
    /// batches.
    pub(super) fn shadow(
        &self,
        tenant: &str,
        request_id: &str,
        input: RunInput,
        live: Arc<Result<Quote, QuoteError>>,
        hooks: &Arc<TenantHooks>,
        (hook, shadow): (Hook, &SampledDeployment),
    ) {
        let shadows = self.shadows().clone();
        let Ok(admitted) = shadows.admitted.clone().try_acquire_owned() else {
            crate::telemetry::shadow_run(tenant, hook.as_str(), "skipped");
            return;
        };
        let (store, handle) = (self.store().clone(), tokio::runtime::Handle::current());
        let (deployments, runs) = (self.deployments().clone(), self.runs().clone());
        let (hooks, shadow) = (hooks.clone(), shadow.deployment.clone());
        let deployment_id = shadow.source.deployment_id.clone();
        let (tenant, request_id) = (tenant.to_owned(), request_id.to_owned());
        tokio::spawn(async move {
            let _admitted = admitted;
            let Ok(_running) = shadows.running.acquire().await else {
                return; // closed: never
            };
            let compared = {
                let (tenant, request_id) = (tenant.clone(), request_id.clone());
                run_in_background(move || {
                    // The other hooks as they are live, but with breakers of their own: the
                    // shadow's runs must not move the live breakers. The shadow keeps its own,
                    // so one that keeps failing stops being run.
                    let mut trial = deployments.own_breakers(&hooks);
                    trial.set(hook, shadow);
                    let run = run_pipeline(&store, &handle, &tenant, input, &trial).0;
                    let candidate = Outcome::of(&request_id, run);
                    let live = Outcome::of(&request_id, Arc::unwrap_or_clone(live));
                    let checkout = RecordedCheckout {
                        run: 0,
                        request_id,
                        recorded_at: 0,
                        input: None,
                    };
                    compare(&checkout, hook, &live, &candidate)
                })
                .await
            };
            let (status, compared) = match compared {
                Ok(compared) => (
                    match compared.status {
                        ReplayStatus::Identical => "identical",
                        ReplayStatus::Different => "different",
                        ReplayStatus::Failed | ReplayStatus::NotKept => "failed",
                    },
                    Some(compared),
                ),
                Err(_) => ("failed", None),
            };
            crate::telemetry::shadow_run(&tenant, hook.as_str(), status);
            let totals = compared.as_ref().and_then(|c| c.totals);
            runs.record_shadow(ShadowRun {
                tenant_id: tenant,
                deployment_id,
                request_id,
                status: status.to_owned(),
                live_total: totals.map(|t| t.live),
                shadow_total: totals.map(|t| t.candidate),
                delta: totals.map_or(0, |t| t.delta),
                failure: match &compared {
                    Some(compared) => compared.failure.clone(),
                    None => Some("the shadow run panicked".to_owned()),
                },
                changes: compared.map(|c| c.changes).unwrap_or_default(),
                created_at: crate::store::now_ms(),
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn a_sample_takes_about_its_share_and_all_or_none_at_the_ends() {
        let ids: Vec<String> = (0..2000).map(|i| format!("req_{i}")).collect();
        let share = |percent| ids.iter().filter(|id| sampled(id, percent)).count();
        assert_eq!(share(100), 2000);
        assert_eq!(share(0), 0);
        let ten = share(10);
        assert!((100..300).contains(&ten), "{ten} of 2000 at 10%");
    }
}

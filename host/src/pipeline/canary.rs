//! Canary deployments: a candidate version of a hook serves a share of the tenant's checkouts,
//! sticky per customer (or, without one, per cart), in place of the active deployment. Its calls
//! are recorded in run history like any deployment's, and the canary watch compares them with
//! the active deployment's: when the canary fails more often, or is slower at p99, by more than
//! the rules set at deploy, the platform rolls it back (`plugin.canary-rolled-back`).
//!
//! The watch runs on every node and judges from the shared run history, and the rollback is one
//! conditional update: whichever node sees the verdict first takes the canary off, the change
//! notification takes it off every other node's hooks, and the others find nothing left to do.

use std::sync::Arc;
use std::time::Duration;

use super::shadow::sampled;
use super::{Deployments, TenantHooks};
use crate::store::{CanaryRules, DeploymentRecord, DeploymentStatus, Store};

/// Calls of each side a verdict looks at, newest first.
const CALLS_JUDGED: u32 = 1_000;

/// `hooks` with each canary in place of its hook's deployment when this checkout falls in its
/// share. `sticky_key` (the customer, else the cart) keeps a customer on one version; the
/// canary's id is hashed with it, so each rollout takes a different share of customers.
/// The key is built only when the tenant has a canary.
pub fn routed(hooks: Arc<TenantHooks>, sticky_key: impl FnOnce() -> String) -> Arc<TenantHooks> {
    if hooks.canaries().next().is_none() {
        return hooks; // the common case: no key to build
    }
    let sticky_key = sticky_key();
    let chosen: Vec<_> = hooks
        .canaries()
        .filter(|(_, canary)| {
            let id = &canary.deployment.source.deployment_id;
            sampled(&format!("{sticky_key}/{id}"), canary.sample_percent)
        })
        .map(|(hook, canary)| (hook, canary.deployment.clone()))
        .collect();
    if chosen.is_empty() {
        return hooks;
    }
    let mut routed = TenantHooks::clone(&hooks);
    for (hook, deployment) in chosen {
        routed.set(hook, deployment);
    }
    Arc::new(routed)
}

/// What the watch makes of a canary's calls against the live version's.
#[derive(Debug, Clone, PartialEq)]
pub enum CanaryVerdict {
    /// Too few calls to judge yet.
    Wait,
    Keep,
    RollBack(String),
}

/// Judges a canary by its recent calls and the live version's since it was made: each call is
/// whether it was `ok`, and its duration (µs).
pub fn judge(rules: &CanaryRules, canary: &[(bool, i64)], live: &[(bool, i64)]) -> CanaryVerdict {
    if canary.len() < rules.min_calls as usize {
        return CanaryVerdict::Wait;
    }
    let failure_rate = |calls: &[(bool, i64)]| {
        calls.iter().filter(|(ok, _)| !ok).count() as f64 / calls.len().max(1) as f64
    };
    let (canary_rate, live_rate) = (failure_rate(canary), failure_rate(live));
    if canary_rate - live_rate > rules.max_failure_rate_increase {
        return CanaryVerdict::RollBack(format!(
            "{:.1}% of its {} calls failed, against {:.1}% of the live version's {} (at most \
             {:.1} points more)",
            canary_rate * 100.0,
            canary.len(),
            live_rate * 100.0,
            live.len(),
            rules.max_failure_rate_increase * 100.0
        ));
    }
    if live.len() >= rules.min_calls as usize {
        let (canary_p99, live_p99) = (p99(canary), p99(live));
        if canary_p99 as f64 > live_p99.max(1) as f64 * rules.max_p99_ratio {
            return CanaryVerdict::RollBack(format!(
                "p99 {canary_p99} µs over its {} calls, against {live_p99} µs for the live \
                 version (at most {}x)",
                canary.len(),
                rules.max_p99_ratio
            ));
        }
    }
    CanaryVerdict::Keep
}

fn p99(calls: &[(bool, i64)]) -> i64 {
    let mut durations: Vec<i64> = calls.iter().map(|&(_, d)| d).collect();
    durations.sort_unstable();
    let rank = (durations.len() as f64 * 0.99).ceil() as usize;
    durations[rank.saturating_sub(1).min(durations.len() - 1)]
}

/// Judges every tenant's canaries every `every` until `stop` resolves, rolling back those that
/// do worse than the live version; `changed` is told each tenant whose deployments it changed.
pub async fn watch_canaries(
    store: Store,
    deployments: Arc<Deployments>,
    every: Duration,
    changed: impl Fn(&str),
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        let canaries = match store.canaries().await {
            Ok(canaries) => canaries,
            Err(err) => {
                tracing::warn!(error = %err, "could not list canary deployments");
                continue;
            }
        };
        for (tenant, canary) in canaries {
            match verdict(&store, &tenant, &canary).await {
                Ok(CanaryVerdict::RollBack(reason)) => {
                    match store.roll_back_canary(&tenant, &canary.id, &reason).await {
                        Ok(Some(_)) => {
                            tracing::warn!(%tenant, hook = %canary.hook, deployment = %canary.id, %reason, "canary rolled back");
                            crate::telemetry::canary_rolled_back(&tenant, &canary.hook);
                            deployments.invalidate(&tenant);
                            changed(&tenant);
                        }
                        Ok(None) => {} // another node was first, or it was promoted
                        Err(err) => {
                            tracing::error!(%tenant, deployment = %canary.id, error = %err, "could not roll back a canary");
                        }
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(%tenant, deployment = %canary.id, error = %err, "could not judge a canary");
                }
            }
        }
    }
}

async fn verdict(
    store: &Store,
    tenant: &str,
    canary: &DeploymentRecord,
) -> crate::store::Result<CanaryVerdict> {
    let Some(rules) = &canary.canary else {
        return Ok(CanaryVerdict::Keep);
    };
    let since = canary.created_at;
    let calls = store
        .deployment_calls(tenant, &canary.id, since, CALLS_JUDGED)
        .await?;
    if calls.len() < rules.min_calls as usize {
        return Ok(CanaryVerdict::Wait);
    }
    let live = (store.active_deployments(tenant).await?)
        .into_iter()
        .find(|d| d.hook == canary.hook && d.status == DeploymentStatus::Active);
    let live_calls = match live {
        Some(live) => (store.deployment_calls(tenant, &live.id, since, CALLS_JUDGED)).await?,
        None => Vec::new(),
    };
    Ok(judge(rules, &calls, &live_calls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CanaryRules {
        CanaryRules {
            percent: 50,
            max_failure_rate_increase: 0.05,
            max_p99_ratio: 3.0,
            min_calls: 20,
        }
    }

    #[test]
    fn a_canary_is_judged_only_after_its_minimum_calls() {
        let failing = vec![(false, 100); 19];
        assert_eq!(judge(&rules(), &failing, &[]), CanaryVerdict::Wait);
    }

    #[test]
    fn a_canary_failing_more_than_the_margin_over_live_is_rolled_back() {
        let live = vec![(true, 100); 100];
        let mut canary = vec![(true, 100); 18];
        canary.extend([(false, 100); 2]); // 10% against 0%
        assert!(
            matches!(judge(&rules(), &canary, &live), CanaryVerdict::RollBack(why) if why.contains("10.0% of its 20 calls"))
        );
        let mut fine = vec![(true, 100); 99];
        fine.push((false, 100)); // 1%: within five points
        assert_eq!(judge(&rules(), &fine, &live), CanaryVerdict::Keep);
    }

    #[test]
    fn a_canary_slower_at_p99_than_the_ratio_allows_is_rolled_back() {
        let live = vec![(true, 100); 100];
        let slow = vec![(true, 400); 100];
        assert!(
            matches!(judge(&rules(), &slow, &live), CanaryVerdict::RollBack(why) if why.contains("p99 400"))
        );
        let a_bit = vec![(true, 250); 100];
        assert_eq!(judge(&rules(), &a_bit, &live), CanaryVerdict::Keep);
    }
}

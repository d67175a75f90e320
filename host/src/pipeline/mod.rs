//! The checkout pipeline: price -> apply adjustments with guardrails -> validate -> fulfill ->
//! totals, for one tenant's deployed hooks.
//!
//! The pipeline sees plugins only through [`PluginInvoker`], so it is tested with fakes; the
//! real invoker is a loaded component with its deployment's config and limits
//! ([`Deployed`]). A hook the tenant has not deployed gets the platform's default behaviour (no
//! adjustments, no violations, the platform's delivery options). A failing hook follows its
//! deployment's [`FailurePolicy`].

mod apply;
mod breaker;
mod checkout;
mod defaults;
mod deployments;
mod history;
mod scheduler;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mandi_sdk::{
    Adjustment, Cart, CartLine, Context, DeliveryOption, FulfillmentNode, PricedCart,
    PricingResult, Violation,
};
use serde::Serialize;

pub use apply::{AppliedAdjustment, Pricing, apply};
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use checkout::{
    Checkout, CheckoutError, CheckoutRequest, LineView, OrderRequest, PlacedOrder, QuoteView,
    RequestAddress, RequestCustomer, RequestLine, Totals,
};
pub use defaults::default_delivery_options;
pub use deployments::{ArtifactKey, DeploymentError, Deployments, parse_policy};
pub use history::{RecordRuns, RunWriter};
pub use scheduler::{Busy, SchedulerConfig, TenantScheduler};

use crate::runtime::{
    CallSettings, Hook, HookFailure, HookRun, Limits, LogRecord, Plugin, PluginConfig,
};

/// What to do when a deployment's hook fails (trap, timeout, invalid output, plugin error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// Reject the checkout with the failure.
    FailClosed,
    /// Skip the hook (as if not deployed) and mark the quote degraded.
    FailOpen,
}

/// Calls one deployment's hooks. Implemented by [`Deployed`]; tests implement it with fakes.
pub trait PluginInvoker: Send + Sync {
    fn price(&self, ctx: &Context, cart: &Cart) -> HookRun<PricingResult>;
    fn validate(&self, ctx: &Context, cart: &PricedCart) -> HookRun<Vec<Violation>>;
    fn fulfill(
        &self,
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> HookRun<Vec<DeliveryOption>>;
}

/// A loaded component with the config and limits of its deployment.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub plugin: Plugin,
    pub config: Arc<PluginConfig>,
    pub limits: Limits,
}

impl Deployed {
    fn call(&self) -> CallSettings<'_> {
        CallSettings {
            config: &self.config,
            limits: &self.limits,
        }
    }
}

impl PluginInvoker for Deployed {
    fn price(&self, ctx: &Context, cart: &Cart) -> HookRun<PricingResult> {
        self.plugin.price(self.call(), ctx, cart)
    }

    fn validate(&self, ctx: &Context, cart: &PricedCart) -> HookRun<Vec<Violation>> {
        self.plugin.validate(self.call(), ctx, cart)
    }

    fn fulfill(
        &self,
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> HookRun<Vec<DeliveryOption>> {
        self.plugin.fulfill(self.call(), ctx, cart, nodes, defaults)
    }
}

/// Which deployment (and plugin version) produced something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub deployment_id: String,
    /// The plugin's content digest, `sha256:...`.
    pub plugin: String,
}

/// One hook of one tenant: the deployment and how to call it.
#[derive(Clone)]
pub struct HookDeployment {
    pub source: Source,
    pub policy: FailurePolicy,
    pub invoker: Arc<dyn PluginInvoker>,
    /// Shared by every call of this deployment.
    pub breaker: Arc<CircuitBreaker>,
}

impl std::fmt::Debug for HookDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookDeployment")
            .field("source", &self.source)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A tenant's deployed hooks; `None` means the platform default for that hook.
#[derive(Debug, Clone, Default)]
pub struct TenantHooks {
    pub pricing: Option<HookDeployment>,
    pub validation: Option<HookDeployment>,
    pub fulfillment: Option<HookDeployment>,
}

/// What the pipeline needs besides the cart.
#[derive(Debug, Clone, Default)]
pub struct QuoteInput {
    pub nodes: Vec<FulfillmentNode>,
    /// The platform's own delivery options for this cart.
    pub defaults: Vec<DeliveryOption>,
}

/// How one hook went, for the quote's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookTrace {
    pub hook: Hook,
    /// `None` when the platform default ran.
    pub source: Option<Source>,
    /// `ok`, `default`, `skipped` (failed or circuit open, fail-open) or `failed` (fail-closed).
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<HookFailure>,
    #[serde(rename = "duration_us", serialize_with = "micros")]
    pub duration: Duration,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    /// SHA-256 of the hook's input (empty when no plugin ran): finds identical calls.
    pub input_digest: String,
    /// What the plugin logged; kept for run history, not shown in the quote.
    #[serde(skip)]
    pub logs: Vec<LogRecord>,
    #[serde(skip)]
    pub logs_truncated: bool,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A priced, validated cart with its delivery options.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub priced: PricedCart,
    pub applied: Vec<AppliedAdjustment<Source>>,
    /// Free items the pricing hook asked for whose sku the catalog does not have.
    pub unknown_free_items: Vec<String>,
    pub violations: Vec<Violation>,
    pub delivery_options: Vec<DeliveryOption>,
    pub trace: Vec<HookTrace>,
    /// True when a fail-open hook failed and was skipped.
    pub degraded: bool,
}

/// A fail-closed hook failed: the checkout cannot be quoted.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{hook} hook of deployment {} failed: {failure}", deployment.deployment_id)]
pub struct HookFailed {
    pub hook: Hook,
    pub deployment: Source,
    pub failure: HookFailure,
    pub trace: Vec<HookTrace>,
}

/// Runs the pipeline. `catalog` looks up a sku for free items (a cart line at catalog price).
pub fn quote(
    ctx: &Context,
    cart: &Cart,
    input: &QuoteInput,
    hooks: &TenantHooks,
    catalog: &dyn Fn(&str, u32) -> Option<CartLine>,
) -> Result<Quote, Box<HookFailed>> {
    let mut run = Run {
        tenant: &ctx.tenant_id,
        trace: Vec::new(),
        degraded: false,
    };

    let pricing = run.hook(
        Hook::Pricing,
        hooks.pricing.as_ref(),
        || json_digest(&cart),
        |inv| inv.price(ctx, cart),
    )?;
    let (mut cart_with_free, mut adjustments, mut unknown_free_items) =
        (cart.clone(), Vec::new(), Vec::new());
    if let Some((result, source)) = pricing {
        adjustments.extend(result.adjustments.into_iter().map(|a| (a, source.clone())));
        for item in result.free_items {
            match catalog(&item.sku, item.quantity) {
                Some(line) => {
                    // A free item is a line at catalog price with an override to zero, so the
                    // quote shows what was given away and who gave it.
                    let index = cart_with_free.lines.len() as u32;
                    cart_with_free.lines.push(line);
                    let free = Adjustment::line(
                        index,
                        mandi_sdk::AdjustmentKind::PriceOverride(mandi_sdk::Money::zero(
                            cart.currency.clone(),
                        )),
                        item.code,
                        item.message,
                    );
                    adjustments.push((free, source.clone()));
                }
                None => unknown_free_items.push(item.sku),
            }
        }
    }
    let Pricing { priced, applied } = apply(&cart_with_free, &adjustments);
    unknown_free_items.sort();

    let violations = run
        .hook(
            Hook::Validation,
            hooks.validation.as_ref(),
            || json_digest(&priced),
            |inv| inv.validate(ctx, &priced),
        )?
        .map(|(v, _)| v)
        .unwrap_or_default();

    let nodes = stock_of_cart(&input.nodes, &priced.cart);
    let delivery_options = run
        .hook(
            Hook::Fulfillment,
            hooks.fulfillment.as_ref(),
            || json_digest(&(&priced, &nodes, &input.defaults)),
            |inv| inv.fulfill(ctx, &priced, &nodes, &input.defaults),
        )?
        .map(|(options, _)| options)
        .unwrap_or_else(|| input.defaults.clone());

    Ok(Quote {
        priced,
        applied,
        unknown_free_items,
        violations,
        delivery_options,
        degraded: run.degraded,
        trace: run.trace,
    })
}

/// Each node with its stock of this cart's skus only (free items included). The rest is nothing
/// a fulfillment plugin can use, and a store's whole inventory would cost every call thousands
/// of strings to lower and soon exceed the input limit.
fn stock_of_cart(nodes: &[FulfillmentNode], cart: &Cart) -> Vec<FulfillmentNode> {
    let skus: std::collections::HashSet<&str> = cart.lines.iter().map(|l| l.sku.as_str()).collect();
    nodes
        .iter()
        .map(|node| FulfillmentNode {
            stock: node
                .stock
                .iter()
                .filter(|s| skus.contains(s.sku.as_str()))
                .cloned()
                .collect(),
            ..node.clone()
        })
        .collect()
}

/// `sha256:<hex>` of a value's JSON: a hook's input (its context left out, as it differs on
/// every call), or an order request (to tell a replay from another body).
fn json_digest(input: &impl Serialize) -> String {
    use sha2::Digest as _;
    let json = serde_json::to_vec(input).expect("contract types serialize");
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&json)))
}

struct Run<'a> {
    tenant: &'a str,
    trace: Vec<HookTrace>,
    degraded: bool,
}

impl Run<'_> {
    /// Calls one hook per its deployment and policy. `Ok(None)`: use the platform default.
    fn hook<T>(
        &mut self,
        hook: Hook,
        deployment: Option<&HookDeployment>,
        digest: impl FnOnce() -> String,
        call: impl FnOnce(&dyn PluginInvoker) -> HookRun<T>,
    ) -> Result<Option<(T, Source)>, Box<HookFailed>> {
        let Some(deployment) = deployment else {
            self.trace.push(HookTrace {
                hook,
                source: None,
                outcome: "default",
                error: None,
                duration: Duration::ZERO,
                fuel_used: 0,
                peak_memory_bytes: 0,
                input_digest: String::new(),
                logs: Vec::new(),
                logs_truncated: false,
            });
            return Ok(None);
        };
        let span = tracing::info_span!(
            "hook",
            tenant = self.tenant,
            %hook,
            deployment = %deployment.source.deployment_id,
            plugin = %deployment.source.plugin,
        );
        let _entered = span.enter();
        let input_digest = digest();
        let mut logs = (Vec::new(), false);
        let mut peak_memory_bytes = 0;
        let (result, duration, fuel_used) = match deployment.breaker.allow(Instant::now()) {
            Err(refused) => {
                let retry_after_ms =
                    u64::try_from(refused.retry_after.as_millis()).unwrap_or(u64::MAX);
                (
                    Err(HookFailure::CircuitOpen { retry_after_ms }),
                    Duration::ZERO,
                    0,
                )
            }
            Ok(()) => {
                let run = call(deployment.invoker.as_ref());
                let faulted = run.output().err().is_some_and(HookFailure::is_fault);
                deployment.breaker.record(Instant::now(), !faulted);
                let (duration, fuel_used) = (run.stats.duration, run.stats.fuel_used);
                peak_memory_bytes = run.stats.peak_memory_bytes;
                logs = (run.logs, run.logs_truncated);
                (run.outcome.into_result(), duration, fuel_used)
            }
        };
        let trace = |outcome, error| HookTrace {
            hook,
            source: Some(deployment.source.clone()),
            outcome,
            error,
            duration,
            fuel_used,
            peak_memory_bytes,
            input_digest,
            logs: logs.0,
            logs_truncated: logs.1,
        };
        match result {
            Ok(output) => {
                self.trace.push(trace("ok", None));
                Ok(Some((output, deployment.source.clone())))
            }
            Err(failure) => match deployment.policy {
                FailurePolicy::FailOpen => {
                    self.trace.push(trace("skipped", Some(failure)));
                    self.degraded = true;
                    Ok(None)
                }
                FailurePolicy::FailClosed => {
                    self.trace.push(trace("failed", Some(failure.clone())));
                    Err(Box::new(HookFailed {
                        hook,
                        deployment: deployment.source.clone(),
                        failure,
                        trace: std::mem::take(&mut self.trace),
                    }))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests;

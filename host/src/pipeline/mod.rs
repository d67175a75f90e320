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
mod canary;
mod checkout;
mod defaults;
mod deployments;
mod history;
mod payment;
mod replay;
mod scheduler;
mod shadow;
mod stats;
mod test_carts;
mod transform;
pub mod views;

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use mandi_sdk::{
    Adjustment, AdjustmentKind, Cart, CartLine, CartOperation, Context, DeliveryOption,
    FulfillmentNode, Money, PaymentMethod, PaymentOperation, PricedCart, PricingResult, Violation,
};
use serde::Serialize;

pub use apply::{AmountOverflow, AppliedAdjustment, Pricing, apply};
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use canary::{CanaryVerdict, judge, watch_canaries};
pub use checkout::{
    Checkout, CheckoutError, CheckoutRequest, LineView, OrderRequest, PlacedOrder, QuoteView,
    RequestAddress, RequestCustomer, RequestLine, Totals, check_request, quote_view,
};
pub use defaults::default_delivery_options;
pub use deployments::{ArtifactKey, DeploymentError, Deployments, parse_policy};
pub use history::{RecordRuns, RunWriter};
pub use payment::PaymentChoice;
pub use replay::{
    Change, MAX_REPLAY_RUNS, Outcome, RecordedCheckout, RecordedRuns, ReplayReport, ReplayStatus,
    ReplaySummary, ReplayedRun, TotalsDelta, compare, not_kept,
};
pub use scheduler::{Busy, SchedulerConfig, TenantScheduler};
pub use shadow::Shadows;
pub use stats::{HealthInputs, HealthReport, LiveStats, health};
pub use test_carts::{
    Expectation, ExpectedAdjustment, ExpectedOutcome, MAX_TEST_CARTS, TestCart, tally,
};
pub use transform::{AppliedTransform, Transformed, transformed};

use crate::runtime::{
    CallSettings, CheckoutSandbox, Hook, HookFailure, HookRun, Limits, LogRecord, Plugin,
    PluginConfig,
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

/// A loaded component with the config and limits of its deployment.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub plugin: Plugin,
    pub config: Arc<PluginConfig>,
    pub limits: Limits,
}

impl Deployed {
    fn call<'a>(&'a self, checkout: &'a CheckoutSandbox) -> CallSettings<'a> {
        CallSettings {
            checkout: Some(checkout),
            ..CallSettings::new(&self.config, &self.limits)
        }
    }
}

/// The hooks a [`PluginInvoker`] answers, each named once: the trait's methods, and
/// [`Deployed`]'s calls of the component's hook of the same name, in the checkout's sandbox.
macro_rules! invoker_hooks {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)+) => {
        /// Calls one deployment's hooks, within the sandbox of the checkout they belong to.
        /// Implemented by [`Deployed`] for every hook; tests implement it with fakes, which
        /// answer the hooks their tests deploy (a hook a fake leaves out panics if called).
        pub trait PluginInvoker: Send + Sync {
            $(
                fn $name(
                    &self,
                    checkout: &CheckoutSandbox,
                    ctx: &Context,
                    $($arg: $ty),*
                ) -> HookRun<$out> {
                    let _ = (checkout, ctx, $($arg),*);
                    unimplemented!("this invoker does not answer {}", stringify!($name))
                }
            )+

            /// Memory the invoker holds while loaded (compiled code), for bounding the caches
            /// of it.
            fn code_bytes(&self) -> usize {
                0
            }
        }

        impl PluginInvoker for Deployed {
            $(
                fn $name(
                    &self,
                    checkout: &CheckoutSandbox,
                    ctx: &Context,
                    $($arg: $ty),*
                ) -> HookRun<$out> {
                    self.plugin.$name(self.call(checkout), ctx, $($arg),*)
                }
            )+

            fn code_bytes(&self) -> usize {
                self.plugin.code_bytes()
            }
        }
    };
}

invoker_hooks! {
    fn transform_cart(cart: &Cart) -> Vec<CartOperation>;
    fn price(cart: &Cart) -> PricingResult;
    fn validate(cart: &PricedCart) -> Vec<Violation>;
    fn fulfill(
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption]
    ) -> Vec<DeliveryOption>;
    fn customize_payment(cart: &PricedCart, methods: &[PaymentMethod]) -> Vec<PaymentOperation>;
}

/// Which deployment (and plugin version) produced something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub deployment_id: String,
    /// The plugin's content digest, `sha256:...`.
    pub plugin: String,
    /// The deployment's position in its hook's history, from 1: which of the hook's configs.
    pub version: i64,
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

/// A deployment beside a hook's live one on a sampled share of live checkouts: a shadow (run
/// after the response, compared, never served) or a canary (serving its share).
#[derive(Debug, Clone)]
pub struct SampledDeployment {
    pub deployment: HookDeployment,
    /// Percent of live checkouts it takes, 1 to 100.
    pub sample_percent: u8,
}

/// A tenant's deployed hooks, one slot per [`Hook`]; an empty slot means the platform default.
/// A hook may also have a shadow, which the checkout never waits for, and a canary, which
/// serves its share of checkouts in place of the deployment.
#[derive(Debug, Clone, Default)]
pub struct TenantHooks {
    deployed: [Option<HookDeployment>; Hook::ALL.len()],
    shadows: [Option<SampledDeployment>; Hook::ALL.len()],
    canaries: [Option<SampledDeployment>; Hook::ALL.len()],
}

impl TenantHooks {
    /// These hooks with `deployment` on `hook` (replacing any there).
    pub fn with(mut self, hook: Hook, deployment: HookDeployment) -> Self {
        self.set(hook, deployment);
        self
    }

    pub fn set(&mut self, hook: Hook, deployment: HookDeployment) {
        self.deployed[hook.index()] = Some(deployment);
    }

    /// The deployment on `hook`, if any.
    pub fn get(&self, hook: Hook) -> Option<&HookDeployment> {
        self.deployed[hook.index()].as_ref()
    }

    pub fn set_shadow(&mut self, hook: Hook, shadow: SampledDeployment) {
        self.shadows[hook.index()] = Some(shadow);
    }

    /// The hooks with a shadow, in pipeline order.
    pub fn shadows(&self) -> impl Iterator<Item = (Hook, &SampledDeployment)> {
        Hook::ALL
            .into_iter()
            .filter_map(|hook| Some((hook, self.shadows[hook.index()].as_ref()?)))
    }

    pub fn set_canary(&mut self, hook: Hook, canary: SampledDeployment) {
        self.canaries[hook.index()] = Some(canary);
    }

    /// The hooks with a canary, in pipeline order.
    pub fn canaries(&self) -> impl Iterator<Item = (Hook, &SampledDeployment)> {
        Hook::ALL
            .into_iter()
            .filter_map(|hook| Some((hook, self.canaries[hook.index()].as_ref()?)))
    }

    /// The deployed hooks, in pipeline order.
    pub fn iter(&self) -> impl Iterator<Item = (Hook, &HookDeployment)> {
        Hook::ALL
            .into_iter()
            .filter_map(|hook| Some((hook, self.get(hook)?)))
    }

    /// Compiled code these hooks hold in memory (a component on several hooks counts once),
    /// plus a little for the hooks themselves.
    pub fn code_bytes(&self) -> usize {
        let mut hooks: Vec<&HookDeployment> = (self.iter().map(|(_, d)| d))
            .chain(self.shadows().map(|(_, s)| &s.deployment))
            .chain(self.canaries().map(|(_, c)| &c.deployment))
            .collect();
        hooks.sort_by(|a, b| a.source.plugin.cmp(&b.source.plugin));
        hooks.dedup_by(|a, b| a.source.plugin == b.source.plugin);
        1024 + hooks
            .iter()
            .map(|hook| hook.invoker.code_bytes())
            .sum::<usize>()
    }
}

/// What the pipeline needs besides the cart.
#[derive(Debug, Clone, Default)]
pub struct QuoteInput {
    pub nodes: Vec<FulfillmentNode>,
    /// The tenant's payment methods, in its order.
    pub payment_methods: Vec<PaymentMethod>,
}

/// The catalog as the pipeline sees it: the lines (at catalog price) of the skus a pricing
/// hook gives away, looked up in one call. Skus it does not know are left out; the pipeline
/// sets each line's quantity.
pub type Catalog<'a> = &'a dyn Fn(&[&str]) -> Vec<CartLine>;

/// Most lines a cart may have, free items included.
pub const MAX_LINES: usize = 200;
/// Most units of one line, free items included.
pub const MAX_QUANTITY: u32 = 10_000;
/// Highest catalog unit price, in minor units. With [`MAX_LINES`] and [`MAX_QUANTITY`] it keeps
/// a cart's subtotal within `i64` (200 x 10,000 x 10^12 = 2 x 10^18), so only a plugin's output
/// can take an amount out of range.
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000;

/// The cart is outside the limits the pipeline relies on (the service checks them on every
/// request; this catches other callers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CartOutOfLimits(pub String);

/// Checks a cart against [`MAX_LINES`], [`MAX_QUANTITY`] and [`MAX_UNIT_PRICE`].
pub fn check_cart_limits(cart: &Cart) -> Result<(), CartOutOfLimits> {
    if cart.lines.len() > MAX_LINES {
        return Err(CartOutOfLimits(format!(
            "a cart has at most {MAX_LINES} lines, this one {}",
            cart.lines.len()
        )));
    }
    for (i, line) in cart.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(CartOutOfLimits(format!(
                "line {i} ({}): quantity must be 1 to {MAX_QUANTITY}, not {}",
                line.sku, line.quantity
            )));
        }
        if !(0..=MAX_UNIT_PRICE).contains(&line.unit_price.amount) {
            return Err(CartOutOfLimits(format!(
                "line {i} ({}): unit price must be 0 to {MAX_UNIT_PRICE}, not {}",
                line.sku, line.unit_price.amount
            )));
        }
    }
    Ok(())
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
    /// The call's fuel budget (0 when no plugin ran).
    pub fuel_budget: u64,
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
    pub payment: PaymentChoice,
    /// What the cart-transform hook did to the cart before pricing.
    pub transforms: Vec<AppliedTransform<Source>>,
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

/// Why the pipeline could not quote a cart.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QuoteError {
    #[error(transparent)]
    Cart(#[from] CartOutOfLimits),
    #[error(transparent)]
    HookFailed(Box<HookFailed>),
}

impl From<Box<HookFailed>> for QuoteError {
    fn from(failed: Box<HookFailed>) -> Self {
        Self::HookFailed(failed)
    }
}

/// Runs the pipeline on a cart within [`check_cart_limits`].
pub fn quote(
    ctx: &Context,
    cart: &Cart,
    input: &QuoteInput,
    hooks: &TenantHooks,
    catalog: Catalog<'_>,
) -> Result<Quote, QuoteError> {
    check_cart_limits(cart)?;
    // Consecutive hooks of one component share an instance for this checkout only.
    let checkout = CheckoutSandbox::new();
    let mut run = Run {
        tenant: &ctx.tenant_id,
        trace: Vec::new(),
        degraded: false,
    };

    // Bundles first: pricing and everything after see the transformed cart. Applying the
    // operations (catalog look-ups, guardrails) is part of the call, like pricing's below.
    let transform = run.hook(
        Hook::CartTransform,
        hooks.get(Hook::CartTransform),
        || json_digest(&cart),
        |inv, _| {
            inv.transform_cart(&checkout, ctx, cart)
                .and_then(|operations| transformed(cart, operations, catalog))
        },
    )?;
    let (transformed_cart, bundle_discounts, transforms) = match transform {
        Some((t, source)) => (
            Some(t.cart),
            (t.discounts.into_iter())
                .map(|d| (d, source.clone()))
                .collect(),
            (t.applied.into_iter())
                .map(|a| a.attributed(&source))
                .collect(),
        ),
        None => (None, Vec::new(), Vec::new()),
    };
    let cart = transformed_cart.as_ref().unwrap_or(cart);

    // The pricing hook's output is only good if the platform can apply it: free items within
    // the cart limits and amounts that stay in range. Checked as part of the call, so a bad
    // output is that hook's `invalid-output` under its failure policy and breaker.
    let pricing = run.hook(
        Hook::Pricing,
        hooks.get(Hook::Pricing),
        || json_digest(&cart),
        |inv, source| {
            inv.price(&checkout, ctx, cart)
                .and_then(|result| priced(cart, &bundle_discounts, result, source, catalog))
        },
    )?;
    let (pricing, unknown_free_items) = match pricing {
        Some((priced, _)) => (priced.pricing, priced.unknown_free_items),
        None => {
            let catalog_prices = apply(cart, &bundle_discounts).map_err(|overflow| {
                // Unreachable: a cart within the limits, and bundle discounts within its lines.
                CartOutOfLimits(overflow.to_string())
            })?;
            (catalog_prices, Vec::new())
        }
    };
    let Pricing { priced, applied } = pricing;

    let violations = run
        .hook(
            Hook::Validation,
            hooks.get(Hook::Validation),
            || json_digest(&priced),
            |inv, _| inv.validate(&checkout, ctx, &priced),
        )?
        .map(|(v, _)| v)
        .unwrap_or_default();

    // After pricing, so free items are delivered too.
    let nodes = stock_of_cart(&input.nodes, &priced.cart);
    let defaults = default_delivery_options(&priced.cart, &nodes);
    let delivery_options = run
        .hook(
            Hook::Fulfillment,
            hooks.get(Hook::Fulfillment),
            || json_digest(&(&priced, &nodes, &defaults)),
            |inv, _| {
                inv.fulfill(&checkout, ctx, &priced, &nodes, &defaults)
                    .and_then(|options| chargeable(&priced, options))
            },
        )?
        .map(|(options, _)| options)
        .unwrap_or(defaults);

    // A tenant with no payment methods has nothing for a payment hook to decide.
    let methods = &input.payment_methods;
    let payment = run
        .hook(
            Hook::Payment,
            hooks.get(Hook::Payment).filter(|_| !methods.is_empty()),
            || json_digest(&(&priced, methods)),
            |inv, _| inv.customize_payment(&checkout, ctx, &priced, methods),
        )?
        .map(|(operations, _)| PaymentChoice::apply(methods, &operations))
        .unwrap_or_else(|| PaymentChoice::all(methods));

    Ok(Quote {
        priced,
        applied,
        unknown_free_items,
        violations,
        delivery_options,
        payment,
        transforms,
        degraded: run.degraded,
        trace: run.trace,
    })
}

/// A pricing hook's output applied to the cart, with the cart transform's bundle discounts.
struct Priced {
    pricing: Pricing<Source>,
    unknown_free_items: Vec<String>,
}

/// Adds the free items (at catalog price, overridden to zero) and applies the adjustments:
/// the bundle discounts already attributed, then the pricing hook's, attributed to `source`.
fn priced(
    cart: &Cart,
    bundle_discounts: &[(Adjustment, Source)],
    result: PricingResult,
    source: &Source,
    catalog: Catalog<'_>,
) -> Result<Priced, HookFailure> {
    let invalid = |message: String| HookFailure::InvalidOutput { message };
    let lines = cart.lines.len() + result.free_items.len();
    if lines > MAX_LINES {
        return Err(invalid(format!(
            "{} free items would make a cart of {lines} lines (at most {MAX_LINES})",
            result.free_items.len()
        )));
    }
    if let Some((i, item)) =
        (result.free_items.iter().enumerate()).find(|(_, item)| item.quantity > MAX_QUANTITY)
    {
        return Err(invalid(format!(
            "free item {i} ({}): quantity {} is over {MAX_QUANTITY}",
            item.sku, item.quantity
        )));
    }
    let mut adjustments: Vec<(Adjustment, Source)> = (bundle_discounts.iter().cloned())
        .chain(result.adjustments.into_iter().map(|a| (a, source.clone())))
        .collect();
    let mut cart_with_free = cart.clone();
    let mut unknown_free_items = Vec::new();
    if !result.free_items.is_empty() {
        let skus: Vec<&str> = result.free_items.iter().map(|i| i.sku.as_str()).collect();
        let known: HashMap<String, CartLine> = catalog(&skus)
            .into_iter()
            .map(|line| (line.sku.clone(), line))
            .collect();
        for item in result.free_items {
            let Some(line) = known.get(&item.sku) else {
                unknown_free_items.push(item.sku);
                continue;
            };
            // A free item is a line at catalog price with an override to zero, so the quote
            // shows what was given away and who gave it.
            let index = cart_with_free.lines.len() as u32;
            cart_with_free.lines.push(CartLine {
                quantity: item.quantity,
                ..line.clone()
            });
            let free = Adjustment::line(
                index,
                AdjustmentKind::PriceOverride(Money::zero(cart.currency.clone())),
                item.code,
                item.message,
            );
            adjustments.push((free, source.clone()));
        }
    }
    unknown_free_items.sort();
    check_cart_limits(&cart_with_free).map_err(|e| invalid(format!("with its free items: {e}")))?;
    let pricing = apply(&cart_with_free, &adjustments).map_err(|e| invalid(e.to_string()))?;
    Ok(Priced {
        pricing,
        unknown_free_items,
    })
}

/// Delivery options whose cost can be added to the cart's total.
fn chargeable(
    priced: &PricedCart,
    options: Vec<DeliveryOption>,
) -> Result<Vec<DeliveryOption>, HookFailure> {
    for option in &options {
        if priced
            .total
            .amount
            .checked_add(option.cost.amount)
            .is_none()
        {
            return Err(HookFailure::InvalidOutput {
                message: format!(
                    "delivery option {}: cost {} overflows the order total",
                    option.code, option.cost.amount
                ),
            });
        }
    }
    Ok(options)
}

/// Each node with its stock of this cart's skus only (free items included). The rest is nothing
/// a fulfillment plugin can use, and a store's whole inventory would cost every call thousands
/// of strings to lower and soon exceed the input limit.
fn stock_of_cart(nodes: &[FulfillmentNode], cart: &Cart) -> Vec<FulfillmentNode> {
    let skus: std::collections::HashSet<&str> = cart.lines.iter().map(|l| l.sku.as_str()).collect();
    stock_of_skus(nodes, &skus)
}

/// Each node with its stock of `skus` only.
fn stock_of_skus(
    nodes: &[FulfillmentNode],
    skus: &std::collections::HashSet<&str>,
) -> Vec<FulfillmentNode> {
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
    use std::io::Write as _;
    // Streamed into the hash through a small buffer: the JSON itself is never needed, and
    // serde_json writes in fragments of a few bytes.
    let mut hasher = sha2::Sha256::new();
    let mut buffered = std::io::BufWriter::with_capacity(4096, &mut hasher);
    serde_json::to_writer(&mut buffered, input).expect("contract types serialize");
    buffered.flush().expect("hashing cannot fail");
    drop(buffered);
    format!("sha256:{}", hex::encode(hasher.finalize()))
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
        call: impl FnOnce(&dyn PluginInvoker, &Source) -> HookRun<T>,
    ) -> Result<Option<(T, Source)>, Box<HookFailed>> {
        let Some(deployment) = deployment else {
            self.trace.push(HookTrace {
                hook,
                source: None,
                outcome: "default",
                error: None,
                duration: Duration::ZERO,
                fuel_used: 0,
                fuel_budget: 0,
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
        let (mut peak_memory_bytes, mut fuel_budget) = (0, 0);
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
                let run = call(deployment.invoker.as_ref(), &deployment.source);
                let faulted = run.output().err().is_some_and(HookFailure::is_fault);
                deployment.breaker.record(Instant::now(), !faulted);
                let (duration, fuel_used) = (run.stats.duration, run.stats.fuel_used);
                peak_memory_bytes = run.stats.peak_memory_bytes;
                fuel_budget = run.stats.fuel_budget;
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
            fuel_budget,
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

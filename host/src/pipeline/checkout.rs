//! The checkout service: turns a client's cart (skus and quantities, never prices) into a
//! quote or an order for one tenant — catalog prices from the store, the tenant's deployed
//! hooks through the pipeline on the tenant's scheduler, every plugin call recorded.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use mandi_sdk::{
    Address, Attribute, Cart, CartLine, Context, Customer, FulfillmentNode, Money, PricedCart,
    Product, RunInput, StockLevel,
};
use serde::{Deserialize, Serialize};

use super::deployments::{DeploymentError, Deployments};
use super::history::RecordRuns;
use super::views::{
    AdjustmentView, DecisionView, DeliveryOptionView, HookTraceView, OrderBody, OrderTotals,
    TransformView, ViolationView,
};
use super::{
    Busy, HookFailed, HookTrace, MAX_LINES, MAX_QUANTITY, Quote, QuoteError, QuoteInput,
    TenantScheduler,
};
use crate::store::{self, NewOrder, OrderRecord, Placed, Reservation, Store, StoreError, Tenant};

const MAX_TEXT: usize = 256;
const MAX_LIST: usize = 32;

/// A cart as a client sends it: what to buy, never at what price.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// 1 to 200 lines, each sku once (else 422 `empty-cart`, `too-many-lines`, `duplicate-sku`).
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<RequestLine>,
    #[serde(default)]
    pub customer: Option<RequestCustomer>,
    #[serde(default)]
    pub shipping_address: Option<RequestAddress>,
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    /// Cart attributes plugins read, e.g. `prescription-id`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestLine {
    pub sku: String,
    /// 1 to 10 000 (else 422 `invalid-quantity`).
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCustomer {
    pub id: Option<String>,
    /// e.g. a loyalty tier; plugins decide what it means.
    pub segment: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAddress {
    #[serde(default)]
    pub line1: String,
    pub pincode: String,
    #[serde(default)]
    pub city: String,
    /// The state or province as the shopper wrote it.
    #[serde(default)]
    pub state: String,
    /// ISO 3166-2 code of the state or province, e.g. `IN-MH` (else 422
    /// `invalid-subdivision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{2}-[A-Z0-9]{1,3}$", example = "IN-MH")]
    pub subdivision: Option<String>,
    #[serde(default)]
    pub country: String,
}

/// `IN-MH`: an ISO 3166-1 alpha-2 country, a hyphen, one to three letters or digits.
fn is_subdivision_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 4
        && bytes.len() <= 6
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2] == b'-'
        && bytes[3..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An order request: a cart plus the delivery option to use.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    #[serde(flatten)]
    pub cart: CheckoutRequest,
    /// Code of one of the quote's delivery options; the first when omitted.
    #[serde(default)]
    pub delivery_option: Option<String>,
    /// Id of one of the quote's payment methods; required when the tenant has any (else 422
    /// `payment-method-required`, or `payment-method-unavailable` for one not offered).
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// Why a checkout could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("{message}")]
    InvalidCart { code: &'static str, message: String },
    #[error("unknown sku: {}", .0.join(", "))]
    UnknownSkus(Vec<String>),
    #[error(transparent)]
    HookFailed(Box<HookFailed>),
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Store(StoreError),
    // Orders only:
    #[error("idempotency key `{0}` was used for a different request")]
    IdempotencyConflict(String),
    #[error("the order is blocked by {} violation(s)", .0.len())]
    Blocked(Vec<ViolationView>),
    #[error("no delivery option can fulfil this cart")]
    NotFulfillable,
    #[error("unknown delivery option `{0}`")]
    UnknownDeliveryOption(String),
    #[error("the order must name one of the payment methods offered: {}", .offered.join(", "))]
    PaymentMethodRequired { offered: Vec<String> },
    #[error("{message}")]
    PaymentMethodUnavailable { message: String },
    #[error("not enough stock of {sku} at {node_id}")]
    OutOfStock { node_id: String, sku: String },
    /// The pipeline produced totals that do not add up: a platform bug, never written.
    #[error("order totals do not add up: {0}")]
    InconsistentTotals(String),
}

impl From<StoreError> for CheckoutError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::OutOfStock { node_id, sku } => Self::OutOfStock { node_id, sku },
            other => Self::Store(other),
        }
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> CheckoutError {
    CheckoutError::InvalidCart {
        code,
        message: message.into(),
    }
}

/// A quote as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    pub request_id: String,
    pub currency: String,
    pub lines: Vec<LineView>,
    /// What the cart-transform hook did before pricing: bundles expanded into their parts or
    /// parts merged into bundles, with the lines each made and who asked for it.
    pub transforms: Vec<TransformView>,
    /// Every adjustment with what it took off and the deployment that asked for it.
    pub adjustments: Vec<AdjustmentView>,
    /// Any violation blocks an order.
    pub violations: Vec<ViolationView>,
    /// The ways to deliver the cart; an order chooses one by code (the first by default).
    pub delivery_options: Vec<DeliveryOptionView>,
    /// The payment methods offered for this cart, in order, under the names to show; an order
    /// names one by id.
    pub payment_methods: Vec<store::PaymentMethod>,
    pub totals: Totals,
    /// Free items a plugin asked for whose sku the catalog does not have.
    pub unknown_free_items: Vec<String>,
    /// True when a fail-open hook failed and was skipped.
    pub degraded: bool,
    /// Each hook: which deployment ran, how it went and what it cost.
    pub trace: Vec<HookTraceView>,
}

/// One line of the cart, priced: amounts in minor units of the quote's currency.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineView {
    /// The line's index: what adjustments, violations and delivery assignments refer to.
    pub line: u32,
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// Minor units.
    pub catalog_unit_price: i64,
    pub unit_price: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
}

/// Minor units of the quote's currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
}

/// A placed order, or one found by its idempotency key.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub order: OrderRecord,
    /// False when the key had already placed this order.
    pub created: bool,
}

/// Which hooks a checkout runs: the tenant's live ones (recorded in run history, metrics and
/// breakers) or a trial's (recorded nowhere).
enum Hooks {
    Live,
    Trial(Arc<super::TenantHooks>),
}

#[derive(Debug)]
pub struct Checkout {
    store: Store,
    deployments: Arc<Deployments>,
    scheduler: TenantScheduler,
    runs: RecordRuns,
    shadows: super::Shadows,
}

impl Checkout {
    pub fn new(
        store: Store,
        deployments: Arc<Deployments>,
        scheduler: TenantScheduler,
        runs: RecordRuns,
    ) -> Self {
        Self {
            store,
            deployments,
            scheduler,
            runs,
            shadows: super::Shadows::default(),
        }
    }

    pub(super) fn shadows(&self) -> &super::Shadows {
        &self.shadows
    }

    pub fn deployments(&self) -> &Arc<Deployments> {
        &self.deployments
    }

    pub(super) fn runs(&self) -> &RecordRuns {
        &self.runs
    }

    /// Writes this node's minute figures now (they are otherwise written every few seconds).
    pub async fn write_stats(&self) {
        self.runs.write_stats(&self.store).await;
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// Prices, validates and fulfils a cart without writing anything but run history.
    pub async fn quote(
        &self,
        tenant: &Tenant,
        request: &CheckoutRequest,
        request_id: &str,
    ) -> Result<QuoteView, CheckoutError> {
        let quoting = self.run(tenant, request, request_id, Hooks::Live);
        let result = measured(&tenant.id, "quote", quoting).await;
        result.map(|(view, ..)| view)
    }

    /// Quotes `request` with `hooks` in place of the tenant's live ones (a candidate
    /// deployment's, say), recording nothing: no run history, metrics or breaker states.
    pub(super) async fn trial_quote(
        &self,
        tenant: &Tenant,
        request: &CheckoutRequest,
        request_id: &str,
        hooks: Arc<super::TenantHooks>,
    ) -> Result<QuoteView, CheckoutError> {
        let run = self.run(tenant, request, request_id, Hooks::Trial(hooks));
        run.await.map(|(view, ..)| view)
    }

    /// Places an order once per idempotency key: re-runs the pipeline, then writes the order,
    /// its stock reservations and `order.placed` in one transaction.
    pub async fn place_order(
        &self,
        tenant: &Tenant,
        request: &OrderRequest,
        idempotency_key: &str,
        request_id: &str,
    ) -> Result<PlacedOrder, CheckoutError> {
        let placing = self.place(tenant, request, idempotency_key, request_id);
        measured(&tenant.id, "order", placing).await
    }

    async fn place(
        &self,
        tenant: &Tenant,
        request: &OrderRequest,
        idempotency_key: &str,
        request_id: &str,
    ) -> Result<PlacedOrder, CheckoutError> {
        let request_hash = super::json_digest(request);
        let replay = |order: OrderRecord| {
            if order.request_hash == request_hash {
                Ok(PlacedOrder {
                    order,
                    created: false,
                })
            } else {
                Err(CheckoutError::IdempotencyConflict(
                    idempotency_key.to_owned(),
                ))
            }
        };
        if let Some(order) = self.store.order_by_key(&tenant.id, idempotency_key).await? {
            return replay(order);
        }
        let (quote, priced, hidden) =
            (self.run(tenant, &request.cart, request_id, Hooks::Live)).await?;
        if !quote.violations.is_empty() {
            return Err(CheckoutError::Blocked(quote.violations));
        }
        let option = match &request.delivery_option {
            Some(code) => quote
                .delivery_options
                .iter()
                .find(|o| &o.code == code)
                .ok_or_else(|| CheckoutError::UnknownDeliveryOption(code.clone()))?,
            None => quote
                .delivery_options
                .first()
                .ok_or(CheckoutError::NotFulfillable)?,
        }
        .clone();
        let payment_method =
            chosen_payment_method(&quote, request.payment_method.as_deref(), &hidden)?;
        let reservations = option
            .assignments
            .iter()
            .map(|a| {
                let line = &priced.cart.lines[a.line as usize];
                Reservation {
                    node_id: a.node_id.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                }
            })
            .collect();
        let id = format!("ord_{}", uuid::Uuid::now_v7().simple());
        let total = verified_total(&quote, &option)?;
        // Written from the type the API documents, so the stored order and its schema agree.
        let body = serde_json::to_value(OrderBody {
            id: id.clone(),
            status: "placed".to_owned(),
            request_id: request_id.to_owned(),
            currency: quote.currency.clone(),
            customer: request.cart.customer.clone(),
            shipping_address: request.cart.shipping_address.clone(),
            lines: quote.lines.clone(),
            adjustments: quote.adjustments.clone(),
            totals: OrderTotals {
                subtotal: quote.totals.subtotal,
                discount: quote.totals.discount,
                delivery: option.cost,
                total,
            },
            delivery: option,
            payment_method,
            degraded: quote.degraded,
            decisions: quote.trace.iter().map(DecisionView::from).collect(),
        })
        .expect("an order serializes");
        let order = NewOrder {
            id,
            idempotency_key: idempotency_key.to_owned(),
            request_hash: request_hash.clone(),
            currency: quote.currency.clone(),
            total_minor: total,
            body,
            reservations,
        };
        match self.store.place_order(&tenant.id, &order).await? {
            Placed::Created(order) => Ok(PlacedOrder {
                order,
                created: true,
            }),
            // A concurrent duplicate won the race; answer as a replay of it.
            Placed::Existing(order) => replay(order),
        }
    }

    async fn run(
        &self,
        tenant: &Tenant,
        request: &CheckoutRequest,
        request_id: &str,
        which: Hooks,
    ) -> Result<(QuoteView, PricedCart, Vec<String>), CheckoutError> {
        let started = Instant::now();
        check_request(request)?;
        let cart = self.cart(tenant, request).await?;
        let (nodes, payment_methods) = self.store.nodes_and_payment_methods(&tenant.id).await?;
        let nodes: Vec<FulfillmentNode> = nodes.into_iter().map(fulfillment_node).collect();
        let payment_methods = (payment_methods.into_iter())
            .map(|m| mandi_sdk::PaymentMethod {
                id: m.id,
                name: m.name,
                kind: m.kind,
            })
            .collect();
        let hooks = match &which {
            Hooks::Live => {
                let live = self.deployments.for_tenant(&tenant.id).await?;
                super::canary::routed(live, || sticky_key(request))
            }
            Hooks::Trial(hooks) => hooks.clone(),
        };
        let ctx = Context {
            tenant_id: tenant.id.clone(),
            request_id: request_id.to_owned(),
            now_unix_ms: store::now_ms(),
            time_zone: tenant.time_zone.clone(),
            utc_offset_minutes: tenant.utc_offset_minutes,
        };
        let input = RunInput {
            context: Some(ctx),
            cart,
            priced_cart: None,
            nodes,
            defaults: Vec::new(),
            catalog: Vec::new(),
            payment_methods,
        };
        let (quote, input) = self.pipeline(tenant, input, hooks.clone()).await?;
        if let Hooks::Live = which {
            let shadows: Vec<_> = super::shadow::sampling(&hooks, request_id).collect();
            if !shadows.is_empty() {
                let live = Arc::new(quote.clone());
                for shadow in shadows {
                    let (input, live) = (input.clone(), live.clone());
                    self.shadow(&tenant.id, request_id, input, live, &hooks, shadow);
                }
            }
            let now = store::now_ms();
            (self.runs.stats()).record(
                &tenant.id,
                now,
                started.elapsed(),
                &quote,
                trace_of(&quote),
            );
            self.report(tenant, request_id, trace_of(&quote), &hooks, input);
        }
        Ok(into_view(request_id, quote.map_err(checkout_error)?))
    }

    /// Runs the pipeline on `input` (its cart, context, stock and payment methods) with
    /// `hooks`, on the tenant's scheduler. Free items are priced from `input.catalog` when it
    /// has them, else from the store. Returns the input as a recorded checkout keeps it: the
    /// catalog lines the pipeline looked up, and only the stock of the skus it saw.
    pub(super) async fn pipeline(
        &self,
        tenant: &Tenant,
        input: RunInput,
        hooks: Arc<super::TenantHooks>,
    ) -> Result<(Result<Quote, QuoteError>, RunInput), CheckoutError> {
        let (store, tenant_id, handle) = (
            self.store.clone(),
            tenant.id.clone(),
            tokio::runtime::Handle::current(),
        );
        self.scheduler
            .run(&tenant.id, move || {
                run_pipeline(&store, &handle, &tenant_id, input, &hooks)
            })
            .await
            .map_err(CheckoutError::from)
    }

    /// Run history (with the checkout's input), metrics and breaker states for one pipeline
    /// run.
    fn report(
        &self,
        tenant: &Tenant,
        request_id: &str,
        trace: &[HookTrace],
        hooks: &super::TenantHooks,
        input: RunInput,
    ) {
        self.runs.record(&tenant.id, request_id, trace, input);
        for t in trace.iter().filter(|t| t.source.is_some()) {
            let failure = t.error.as_ref().map(|e| e.kind());
            crate::telemetry::hook_call(crate::telemetry::HookCall {
                tenant: &tenant.id,
                hook: t.hook.as_str(),
                outcome: t.outcome,
                failure_kind: failure,
                took: t.duration,
                fuel_used: t.fuel_used,
                fuel_budget: t.fuel_budget,
            });
        }
        let now = Instant::now();
        for (hook, d) in hooks.iter() {
            let state = match d.breaker.state(now) {
                super::BreakerState::Closed => 0,
                super::BreakerState::HalfOpen => 1,
                super::BreakerState::Open => 2,
            };
            crate::telemetry::circuit_state(
                &tenant.id,
                hook.as_str(),
                &d.source.deployment_id,
                state,
            );
        }
    }

    /// The cart at catalog prices.
    async fn cart(
        &self,
        tenant: &Tenant,
        request: &CheckoutRequest,
    ) -> Result<Cart, CheckoutError> {
        let skus: Vec<&str> = request.lines.iter().map(|l| l.sku.as_str()).collect();
        let mut products = self.store.products_by_sku(&tenant.id, &skus).await?;
        let mut unknown: Vec<String> = skus
            .iter()
            .filter(|s| !products.contains_key(**s))
            .map(|s| (*s).to_owned())
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(CheckoutError::UnknownSkus(unknown));
        }
        let lines = request
            .lines
            .iter()
            .map(|l| {
                let product = products.remove(&l.sku).expect("checked above");
                cart_line(product, l.quantity as u32)
            })
            .collect();
        let customer = request.customer.clone().unwrap_or_default();
        Ok(Cart {
            currency: tenant.currency.clone(),
            lines,
            customer: Customer {
                id: customer.id,
                segment: customer.segment,
                tags: customer.tags,
            },
            shipping_address: request.shipping_address.clone().map(|a| Address {
                line1: a.line1,
                pincode: a.pincode,
                city: a.city,
                state: a.state,
                subdivision: a.subdivision,
                country: a.country,
            }),
            coupon_codes: request.coupon_codes.clone(),
            attributes: attributes(&request.attributes),
        })
    }
}

/// The pipeline on `input` with `hooks`, on a thread that may block (a blocking-pool or
/// low-priority thread): see [`Checkout::pipeline`].
pub(super) fn run_pipeline(
    store: &Store,
    handle: &tokio::runtime::Handle,
    tenant_id: &str,
    mut input: RunInput,
    hooks: &super::TenantHooks,
) -> (Result<Quote, QuoteError>, RunInput) {
    let ctx = input.context.clone().unwrap_or_else(|| Context {
        tenant_id: tenant_id.to_owned(),
        request_id: String::new(),
        now_unix_ms: store::now_ms(),
        time_zone: String::new(),
        utc_offset_minutes: 0,
    });
    let quote_input = QuoteInput {
        nodes: std::mem::take(&mut input.nodes),
        payment_methods: std::mem::take(&mut input.payment_methods),
    };
    let looked_up = std::cell::RefCell::new(Vec::new());
    // Free items and bundle parts are looked up mid-pipeline, all in one query;
    // this thread is a blocking-pool thread, where waiting on the store is allowed.
    let catalog = |skus: &[&str]| {
        let (mut lines, missing): (Vec<CartLine>, Vec<&str>) = {
            let known: Vec<CartLine> = (input.catalog.iter())
                .filter(|line| skus.contains(&line.sku.as_str()))
                .cloned()
                .collect();
            let missing = (skus.iter().copied())
                .filter(|sku| !known.iter().any(|l| l.sku == *sku))
                .collect();
            (known, missing)
        };
        if !missing.is_empty() {
            match handle.block_on(store.products_by_sku(tenant_id, &missing)) {
                Ok(products) => {
                    lines.extend(products.into_values().map(|p| cart_line(p, 1)));
                }
                Err(err) => {
                    // The items are reported as unknown: the quote still answers.
                    tracing::warn!(tenant = %tenant_id, error = %err, "free item lookup failed");
                }
            }
        }
        looked_up.borrow_mut().extend(lines.iter().cloned());
        lines
    };
    let quote = super::quote(&ctx, &input.cart, &quote_input, hooks, &catalog);
    let mut seen: HashSet<&str> = input.cart.lines.iter().map(|l| l.sku.as_str()).collect();
    if let Ok(quote) = &quote {
        seen.extend(quote.priced.cart.lines.iter().map(|l| l.sku.as_str()));
    }
    let nodes = super::stock_of_skus(&quote_input.nodes, &seen);
    let mut catalog = looked_up.into_inner();
    catalog.sort_by(|a, b| a.sku.cmp(&b.sku));
    catalog.dedup_by(|a, b| a.sku == b.sku);
    let recorded = RunInput {
        context: Some(ctx),
        nodes,
        catalog,
        payment_methods: quote_input.payment_methods,
        ..input
    };
    (quote, recorded)
}

/// What keeps a shopper on one side of a canary: the customer, else the cart (its skus and
/// quantities, in any order).
fn sticky_key(request: &CheckoutRequest) -> String {
    if let Some(id) = request.customer.as_ref().and_then(|c| c.id.as_deref()) {
        return format!("customer:{id}");
    }
    let mut lines: Vec<String> = (request.lines.iter())
        .map(|l| format!("{}*{}", l.sku, l.quantity))
        .collect();
    lines.sort();
    format!("cart:{}", lines.join(","))
}

/// The hooks a pipeline run called, however it ended.
pub(super) fn trace_of(quote: &Result<Quote, QuoteError>) -> &[HookTrace] {
    match quote {
        Ok(q) => &q.trace,
        Err(QuoteError::HookFailed(failed)) => &failed.trace,
        Err(QuoteError::Cart(_)) => &[],
    }
}

pub(super) fn checkout_error(err: QuoteError) -> CheckoutError {
    match err {
        QuoteError::HookFailed(failed) => CheckoutError::HookFailed(failed),
        // The request was checked against the same limits; kept for completeness.
        QuoteError::Cart(limits) => invalid("cart-out-of-limits", limits.to_string()),
    }
}

/// A quote as the API shows it.
pub fn quote_view(request_id: &str, quote: Quote) -> QuoteView {
    into_view(request_id, quote).0
}

/// A quote as the API shows it, with what an order needs beside it: the priced cart and the
/// payment methods a rule hid. Moved out, not copied: this is on every checkout's path.
fn into_view(request_id: &str, quote: Quote) -> (QuoteView, PricedCart, Vec<String>) {
    let view = QuoteView {
        request_id: request_id.to_owned(),
        currency: quote.priced.cart.currency.clone(),
        lines: quote
            .priced
            .lines
            .iter()
            .map(|p| {
                let line = &quote.priced.cart.lines[p.line as usize];
                LineView {
                    line: p.line,
                    sku: line.sku.clone(),
                    title: line.product.title.clone(),
                    quantity: line.quantity,
                    catalog_unit_price: line.unit_price.amount,
                    unit_price: p.unit_price.amount,
                    subtotal: p.subtotal.amount,
                    discount: p.discount.amount,
                    total: p.total.amount,
                }
            })
            .collect(),
        transforms: (quote.transforms.into_iter())
            .map(TransformView::from)
            .collect(),
        adjustments: (quote.applied.into_iter())
            .map(AdjustmentView::from)
            .collect(),
        violations: (quote.violations.into_iter())
            .map(ViolationView::from)
            .collect(),
        delivery_options: (quote.delivery_options.into_iter())
            .map(DeliveryOptionView::from)
            .collect(),
        payment_methods: (quote.payment.offered.into_iter())
            .map(|m| store::PaymentMethod {
                id: m.id,
                name: m.name,
                kind: m.kind,
            })
            .collect(),
        totals: Totals {
            subtotal: quote.priced.subtotal.amount,
            discount: quote.priced.discount.amount,
            total: quote.priced.total.amount,
        },
        unknown_free_items: quote.unknown_free_items,
        degraded: quote.degraded,
        trace: quote.trace.into_iter().map(HookTraceView::from).collect(),
    };
    (view, quote.priced, quote.payment.hidden)
}

/// The amount an order charges, after checking that the quote's figures add up: every line
/// between zero and its subtotal, lines summing to the totals, nothing negative or out of
/// range. The pipeline guarantees all of this; an order is money, so it is checked again
/// before it is written.
fn verified_total(quote: &QuoteView, option: &DeliveryOptionView) -> Result<i64, CheckoutError> {
    let wrong = |what: String| Err(CheckoutError::InconsistentTotals(what));
    let sum = |field: fn(&LineView) -> i64| {
        (quote.lines.iter()).try_fold(0i64, |sum, line| sum.checked_add(field(line)))
    };
    for l in &quote.lines {
        if l.discount < 0 || l.total < 0 || l.subtotal.checked_sub(l.discount) != Some(l.total) {
            return wrong(format!("line {}", l.line));
        }
    }
    let totals = &quote.totals;
    if sum(|l| l.subtotal) != Some(totals.subtotal)
        || sum(|l| l.discount) != Some(totals.discount)
        || sum(|l| l.total) != Some(totals.total)
        || totals.subtotal.checked_sub(totals.discount) != Some(totals.total)
    {
        return wrong("the lines do not sum to the totals".into());
    }
    match totals.total.checked_add(option.cost) {
        Some(total) if total >= 0 && option.cost >= 0 => Ok(total),
        _ => wrong(format!("delivery cost {}", option.cost)),
    }
}

/// The payment method an order pays with: one the quote offers, named by the request. A
/// tenant without payment methods takes orders that name none.
fn chosen_payment_method(
    quote: &QuoteView,
    requested: Option<&str>,
    hidden: &[String],
) -> Result<Option<store::PaymentMethod>, CheckoutError> {
    let offered = &quote.payment_methods;
    let Some(id) = requested else {
        return match offered.is_empty() && hidden.is_empty() {
            true => Ok(None),
            false => Err(CheckoutError::PaymentMethodRequired {
                offered: offered.iter().map(|m| m.id.clone()).collect(),
            }),
        };
    };
    if let Some(method) = offered.iter().find(|m| m.id == id) {
        return Ok(Some(method.clone()));
    }
    let message = if hidden.iter().any(|h| h == id) {
        format!("payment method `{id}` is not offered for this cart (a payment rule hides it)")
    } else {
        format!("`{id}` is not one of this tenant's payment methods")
    };
    Err(CheckoutError::PaymentMethodUnavailable { message })
}

/// Runs one checkout operation and records its latency and result in the metrics.
async fn measured<T>(
    tenant: &str,
    operation: &str,
    work: impl Future<Output = Result<T, CheckoutError>>,
) -> Result<T, CheckoutError> {
    let started = Instant::now();
    let result = work.await;
    crate::telemetry::checkout(tenant, operation, result_label(&result), started.elapsed());
    result
}

fn result_label<T>(result: &Result<T, CheckoutError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(CheckoutError::HookFailed(_)) => "plugin-failed",
        Err(CheckoutError::Busy(_)) => "busy",
        Err(
            CheckoutError::Store(_)
            | CheckoutError::Deployment(_)
            | CheckoutError::InconsistentTotals(_),
        ) => "error",
        Err(_) => "rejected",
    }
}

/// The checks every cart request passes before anything is looked up: lines, quantities,
/// text sizes (else `CheckoutError::InvalidCart`).
pub fn check_request(request: &CheckoutRequest) -> Result<(), CheckoutError> {
    if request.lines.is_empty() {
        return Err(invalid("empty-cart", "the cart has no lines"));
    }
    if request.lines.len() > MAX_LINES {
        return Err(invalid(
            "too-many-lines",
            format!(
                "a cart has at most {MAX_LINES} lines, this one {}",
                request.lines.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, line) in request.lines.iter().enumerate() {
        if line.sku.trim().is_empty() || line.sku.len() > MAX_TEXT {
            return Err(invalid(
                "invalid-sku",
                format!("line {i}: the sku is empty or too long"),
            ));
        }
        if !(1..=i64::from(MAX_QUANTITY)).contains(&line.quantity) {
            return Err(invalid(
                "invalid-quantity",
                format!(
                    "line {i} ({}): quantity must be 1 to {MAX_QUANTITY}, not {}",
                    line.sku, line.quantity
                ),
            ));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(invalid(
                "duplicate-sku",
                format!(
                    "sku {} appears on more than one line; add up the quantity",
                    line.sku
                ),
            ));
        }
    }
    if let Some(code) = (request.shipping_address.as_ref()).and_then(|a| a.subdivision.as_deref())
        && !is_subdivision_code(code)
    {
        return Err(invalid(
            "invalid-subdivision",
            format!("`{code}` is not an ISO 3166-2 subdivision code such as IN-MH"),
        ));
    }
    let customer = request.customer.clone().unwrap_or_default();
    let texts = request
        .coupon_codes
        .iter()
        .chain(&customer.tags)
        .chain(customer.id.iter())
        .chain(customer.segment.iter())
        .chain(request.attributes.keys())
        .chain(request.attributes.values());
    if texts.into_iter().any(|t| t.len() > MAX_TEXT) {
        return Err(invalid(
            "text-too-long",
            format!("a cart text is longer than {MAX_TEXT} bytes"),
        ));
    }
    if request.coupon_codes.len() > MAX_LIST
        || customer.tags.len() > MAX_LIST
        || request.attributes.len() > MAX_LIST
    {
        return Err(invalid(
            "too-many-items",
            format!("coupon codes, customer tags and attributes are limited to {MAX_LIST} each"),
        ));
    }
    Ok(())
}

fn attributes(map: &BTreeMap<String, String>) -> Vec<Attribute> {
    map.iter()
        .map(|(key, value)| Attribute {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

fn cart_line(product: store::Product, quantity: u32) -> CartLine {
    CartLine {
        sku: product.sku,
        quantity,
        unit_price: Money::new(product.price_minor, product.currency),
        product: Product {
            title: product.title,
            category: product.category,
            brand: product.brand,
            tags: product.tags,
            attributes: attributes(&product.attributes),
        },
    }
}

fn fulfillment_node(node: store::Node) -> FulfillmentNode {
    FulfillmentNode {
        id: node.id,
        kind: node.kind,
        pincode: node.pincode,
        stock: node
            .stock
            .into_iter()
            .map(|(sku, quantity)| StockLevel { sku, quantity })
            .collect(),
        tags: node.tags,
    }
}

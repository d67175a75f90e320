//! The pipeline against fake plugins: defaults, attribution, free items, failure policies.

use std::sync::{Arc, Mutex};

use mandi_sdk::testing::{CartBuilder, line, node};
use mandi_sdk::{AdjustmentKind, FreeItem, LineAssignment, Money, Percent, Target};

use super::*;
use crate::runtime::{Outcome, RunStats};

/// A plugin whose every hook returns a canned result, and which records what validation saw.
#[derive(Default)]
struct Fake {
    pricing: Option<Result<PricingResult, HookFailure>>,
    validation: Option<Result<Vec<Violation>, HookFailure>>,
    fulfillment: Option<Result<Vec<DeliveryOption>, HookFailure>>,
    payment: Option<Result<Vec<PaymentOperation>, HookFailure>>,
    transform: Option<Result<Vec<CartOperation>, HookFailure>>,
    validated_total: Mutex<Option<i64>>,
    /// The nodes fulfillment was given.
    fulfilled_nodes: Mutex<Vec<FulfillmentNode>>,
    /// Fulfillment answers with the platform's options it was given, as a plugin may.
    fulfillment_returns_defaults: bool,
}

fn run<T>(result: Option<Result<T, HookFailure>>) -> HookRun<T> {
    let outcome = match result.expect("the test deployed this hook") {
        Ok(output) => Outcome::Ok { output },
        Err(error) => Outcome::Failed { error },
    };
    HookRun {
        outcome,
        stats: RunStats {
            duration: Duration::from_micros(40),
            fuel_used: 1_000,
            fuel_budget: 1_000_000,
            peak_memory_bytes: 1 << 20,
        },
        logs: Vec::new(),
        logs_truncated: false,
    }
}

impl PluginInvoker for Fake {
    fn price(&self, _: &CheckoutSandbox, _: &Context, _: &Cart) -> HookRun<PricingResult> {
        run(self.pricing.clone())
    }

    fn validate(
        &self,
        _: &CheckoutSandbox,
        _: &Context,
        cart: &PricedCart,
    ) -> HookRun<Vec<Violation>> {
        *self.validated_total.lock().expect("lock") = Some(cart.total.amount);
        run(self.validation.clone())
    }

    fn fulfill(
        &self,
        _: &CheckoutSandbox,
        _: &Context,
        _: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> HookRun<Vec<DeliveryOption>> {
        *self.fulfilled_nodes.lock().expect("lock") = nodes.to_vec();
        if self.fulfillment_returns_defaults {
            return run(Some(Ok(defaults.to_vec())));
        }
        run(self.fulfillment.clone())
    }

    fn customize_payment(
        &self,
        _: &CheckoutSandbox,
        _: &Context,
        _: &PricedCart,
        _: &[PaymentMethod],
    ) -> HookRun<Vec<PaymentOperation>> {
        run(self.payment.clone())
    }

    fn transform_cart(
        &self,
        _: &CheckoutSandbox,
        _: &Context,
        _: &Cart,
    ) -> HookRun<Vec<CartOperation>> {
        run(self.transform.clone())
    }
}

fn deploy(fake: &Arc<Fake>, policy: FailurePolicy) -> HookDeployment {
    HookDeployment {
        source: source(),
        policy,
        invoker: fake.clone(),
        breaker: Arc::default(),
    }
}

fn source() -> Source {
    Source {
        deployment_id: "dep-7".into(),
        plugin: "sha256:abc".into(),
        version: 3,
    }
}

fn ctx() -> Context {
    Context {
        tenant_id: "t".into(),
        request_id: "r".into(),
        now_unix_ms: 0,
        time_zone: "UTC".into(),
        utc_offset_minutes: 0,
    }
}

fn cart() -> Cart {
    CartBuilder::inr()
        .line(line("A", 2, 1_000))
        .pincode("400001")
        .build()
}

fn input() -> QuoteInput {
    QuoteInput {
        nodes: vec![node(
            "N1",
            "warehouse",
            "400002",
            &[("A", 10), ("SAMPLE", 5)],
        )],
        payment_methods: Vec::new(),
    }
}

/// The platform's delivery option for `lines` lines, all from N1.
fn standard(lines: u32) -> DeliveryOption {
    DeliveryOption {
        code: "standard".into(),
        method: "standard".into(),
        assignments: (0..lines)
            .map(|line| LineAssignment {
                line,
                node_id: "N1".into(),
            })
            .collect(),
        cost: Money::inr(0),
        eta_minutes: 2 * 24 * 60,
        label: "Standard delivery".into(),
    }
}

fn no_catalog(_: &[&str]) -> Vec<CartLine> {
    Vec::new()
}

/// A catalog that knows one free item, SAMPLE at 250.
fn sample_catalog(skus: &[&str]) -> Vec<CartLine> {
    (skus.iter())
        .filter(|sku| **sku == "SAMPLE")
        .map(|_| line("SAMPLE", 1, 250))
        .collect()
}

/// The failure a fail-closed hook rejected the quote with.
fn rejected(result: Result<Quote, QuoteError>) -> Box<HookFailed> {
    match result {
        Err(QuoteError::HookFailed(failed)) => failed,
        other => panic!("expected a hook failure, got {other:?}"),
    }
}

fn ten_percent_off() -> PricingResult {
    let mut result = PricingResult::default();
    result.adjust(Adjustment::order(
        AdjustmentKind::PercentOff(Percent::from_percent(10)),
        "TEN",
        "10% off",
    ));
    result
}

fn plugin_error() -> HookFailure {
    HookFailure::PluginError {
        code: "boom".into(),
        message: "rule failed".into(),
    }
}

#[test]
fn without_deployments_the_platform_defaults_apply() {
    let quote = quote(
        &ctx(),
        &cart(),
        &input(),
        &TenantHooks::default(),
        &no_catalog,
    )
    .expect("quotes");
    assert_eq!(quote.priced, PricedCart::unadjusted(cart()));
    assert!(quote.violations.is_empty());
    assert_eq!(quote.delivery_options, [standard(1)]);
    assert!(quote.trace.iter().all(|t| t.outcome == "default"));
    assert!(!quote.degraded);
}

#[test]
fn adjustments_are_applied_attributed_and_seen_by_validation() {
    let fake = Arc::new(Fake {
        pricing: Some(Ok(ten_percent_off())),
        validation: Some(Ok(vec![])),
        ..Fake::default()
    });
    let hooks = TenantHooks::default()
        .with(Hook::Pricing, deploy(&fake, FailurePolicy::FailClosed))
        .with(Hook::Validation, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("quotes");
    assert_eq!(quote.priced.total, Money::inr(1_800));
    assert_eq!(quote.applied[0].amount, 200);
    assert_eq!(quote.applied[0].source, source());
    assert_eq!(*fake.validated_total.lock().expect("lock"), Some(1_800));
    let outcomes: Vec<_> = quote.trace.iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, ["default", "ok", "ok", "default", "default"]);
}

#[test]
fn free_items_are_added_at_zero_and_unknown_skus_reported() {
    let mut result = PricingResult::default();
    for sku in ["SAMPLE", "GHOST"] {
        result.add_free_item(FreeItem {
            sku: sku.into(),
            quantity: 1,
            code: "FREE".into(),
            message: "on us".into(),
        });
    }
    let fake = Arc::new(Fake {
        pricing: Some(Ok(result)),
        ..Fake::default()
    });
    let hooks =
        TenantHooks::default().with(Hook::Pricing, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &sample_catalog).expect("quotes");
    let free = &quote.priced.lines[1];
    assert_eq!(quote.priced.cart.lines[1].sku, "SAMPLE");
    assert_eq!((free.unit_price.amount, free.total.amount), (0, 0));
    assert_eq!(quote.priced.total, Money::inr(2_000));
    let given = quote.applied.iter().find(|a| a.adjustment.code == "FREE");
    assert_eq!(
        given.map(|a| (a.amount, a.adjustment.target)),
        Some((250, Target::Line(1)))
    );
    assert_eq!(quote.unknown_free_items, ["GHOST"]);
}

#[test]
fn fail_open_skips_the_hook_and_marks_the_quote_degraded() {
    let fake = Arc::new(Fake {
        pricing: Some(Err(plugin_error())),
        ..Fake::default()
    });
    let hooks = TenantHooks::default().with(Hook::Pricing, deploy(&fake, FailurePolicy::FailOpen));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("quotes");
    assert!(quote.degraded);
    assert_eq!(quote.priced.total, Money::inr(2_000), "priced at catalog");
    assert_eq!(quote.trace[1].outcome, "skipped");
    assert_eq!(quote.trace[1].error, Some(plugin_error()));
}

#[test]
fn fail_closed_rejects_the_checkout_with_the_failure() {
    let fake = Arc::new(Fake {
        pricing: Some(Ok(PricingResult::default())),
        validation: Some(Err(HookFailure::Timeout { deadline_ms: 50 })),
        ..Fake::default()
    });
    let hooks = TenantHooks::default()
        .with(Hook::Pricing, deploy(&fake, FailurePolicy::FailClosed))
        .with(Hook::Validation, deploy(&fake, FailurePolicy::FailClosed));
    let err = rejected(quote(&ctx(), &cart(), &input(), &hooks, &no_catalog));
    assert_eq!(err.hook, Hook::Validation);
    assert_eq!(err.failure, HookFailure::Timeout { deadline_ms: 50 });
    assert_eq!(
        err.to_string(),
        "validation hook of deployment dep-7 failed: exceeded its 50 ms deadline"
    );
    let outcomes: Vec<_> = err.trace.iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, ["default", "ok", "failed"]);
}

#[test]
fn violations_and_plugin_delivery_options_are_returned() {
    let options = vec![DeliveryOption {
        code: "express".into(),
        ..standard(1)
    }];
    let fake = Arc::new(Fake {
        validation: Some(Ok(vec![Violation::line(0, "QTY", "too many")])),
        fulfillment: Some(Ok(options.clone())),
        ..Fake::default()
    });
    let hooks = TenantHooks::default()
        .with(Hook::Validation, deploy(&fake, FailurePolicy::FailClosed))
        .with(Hook::Fulfillment, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("quotes");
    assert_eq!(quote.violations, [Violation::line(0, "QTY", "too many")]);
    assert_eq!(quote.delivery_options, options);
}

#[test]
fn a_repeatedly_faulting_deployment_is_not_called_until_its_breaker_cools_down() {
    let fake = Arc::new(Fake {
        pricing: Some(Err(HookFailure::Trap {
            message: "boom".into(),
        })),
        ..Fake::default()
    });
    let mut pricing = deploy(&fake, FailurePolicy::FailOpen);
    pricing.breaker = Arc::new(CircuitBreaker::new(BreakerConfig {
        failure_threshold: 2,
        cool_down: Duration::from_secs(60),
    }));
    let hooks = TenantHooks::default().with(Hook::Pricing, pricing);
    let error_kinds: Vec<&str> = (0..3)
        .map(|_| {
            let quote = quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("fail-open");
            assert!(quote.degraded);
            quote.trace[1]
                .error
                .as_ref()
                .map_or("none", HookFailure::kind)
        })
        .collect();
    assert_eq!(error_kinds, ["trap", "trap", "circuit-open"]);
}

#[test]
fn business_failures_do_not_trip_the_breaker() {
    let fake = Arc::new(Fake {
        pricing: Some(Err(plugin_error())),
        ..Fake::default()
    });
    let mut pricing = deploy(&fake, FailurePolicy::FailOpen);
    pricing.breaker = Arc::new(CircuitBreaker::new(BreakerConfig {
        failure_threshold: 1,
        cool_down: Duration::from_secs(60),
    }));
    let breaker = pricing.breaker.clone();
    let hooks = TenantHooks::default().with(Hook::Pricing, pricing);
    for _ in 0..3 {
        quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("fail-open");
    }
    assert_eq!(breaker.state(Instant::now()), BreakerState::Closed);
}

#[test]
fn fulfillment_sees_each_nodes_stock_of_the_carts_skus_only() {
    let mut result = PricingResult::default();
    result.add_free_item(FreeItem {
        sku: "SAMPLE".into(),
        quantity: 1,
        code: "FREE".into(),
        message: "on us".into(),
    });
    let fake = Arc::new(Fake {
        pricing: Some(Ok(result)),
        fulfillment: Some(Ok(vec![standard(2)])),
        ..Fake::default()
    });
    let hooks = TenantHooks::default()
        .with(Hook::Pricing, deploy(&fake, FailurePolicy::FailClosed))
        .with(Hook::Fulfillment, deploy(&fake, FailurePolicy::FailClosed));
    let mut input = input();
    input.nodes = vec![
        node(
            "N1",
            "warehouse",
            "400002",
            &[("A", 10), ("SAMPLE", 3), ("OTHER", 500)],
        ),
        node("N2", "store", "400003", &[("OTHER", 5)]),
    ];
    quote(&ctx(), &cart(), &input, &hooks, &sample_catalog).expect("quotes");
    let seen = fake.fulfilled_nodes.lock().expect("lock").clone();
    let stock: Vec<(&str, Vec<&str>)> = seen
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                n.stock.iter().map(|s| s.sku.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(stock, [("N1", vec!["A", "SAMPLE"]), ("N2", vec![])]);
}

fn free_sample(quantity: u32) -> FreeItem {
    FreeItem {
        sku: "SAMPLE".into(),
        quantity,
        code: "FREE".into(),
        message: "on us".into(),
    }
}

fn pricing_only(result: PricingResult, policy: FailurePolicy) -> TenantHooks {
    let fake = Arc::new(Fake {
        pricing: Some(Ok(result)),
        ..Fake::default()
    });
    TenantHooks::default().with(Hook::Pricing, deploy(&fake, policy))
}

fn invalid_output(failed: &HookFailed) -> &str {
    match &failed.failure {
        HookFailure::InvalidOutput { message } => message,
        other => panic!("expected invalid-output, got {other:?}"),
    }
}

#[test]
fn price_overrides_whose_sum_overflows_are_invalid_output_never_a_negative_total() {
    let cart = CartBuilder::inr()
        .line(line("A", 1, 1_000))
        .line(line("B", 1, 1_000))
        .build();
    let mut result = PricingResult::default();
    for i in 0..2 {
        result.adjust(Adjustment::line(
            i,
            AdjustmentKind::PriceOverride(Money::inr(i64::MAX)),
            "MAX",
            "",
        ));
    }
    let closed = pricing_only(result.clone(), FailurePolicy::FailClosed);
    let failed = rejected(quote(&ctx(), &cart, &input(), &closed, &no_catalog));
    assert_eq!(failed.hook, Hook::Pricing);
    assert_eq!(invalid_output(&failed), "the cart subtotal overflows");

    let open = pricing_only(result, FailurePolicy::FailOpen);
    let quote = quote(&ctx(), &cart, &input(), &open, &no_catalog).expect("fail-open");
    assert!(quote.degraded);
    assert_eq!(quote.priced.total, Money::inr(2_000), "priced at catalog");
}

#[test]
fn free_items_obey_the_cart_limits() {
    let mut too_many_units = PricingResult::default();
    too_many_units.add_free_item(free_sample(u32::MAX));
    let hooks = pricing_only(too_many_units, FailurePolicy::FailClosed);
    let failed = rejected(quote(&ctx(), &cart(), &input(), &hooks, &sample_catalog));
    assert!(
        invalid_output(&failed).contains("quantity 4294967295 is over 10000"),
        "{failed}"
    );

    let mut too_many_lines = PricingResult::default();
    for _ in 0..MAX_LINES {
        too_many_lines.add_free_item(free_sample(1));
    }
    let hooks = pricing_only(too_many_lines, FailurePolicy::FailClosed);
    let looked_up = Mutex::new(0);
    let counting = |skus: &[&str]| {
        *looked_up.lock().expect("lock") += skus.len();
        sample_catalog(skus)
    };
    let failed = rejected(quote(&ctx(), &cart(), &input(), &hooks, &counting));
    assert!(
        invalid_output(&failed).contains("cart of 201 lines (at most 200)"),
        "{failed}"
    );
    assert_eq!(*looked_up.lock().expect("lock"), 0, "refused before lookup");
}

#[test]
fn free_items_are_looked_up_in_one_call() {
    let mut result = PricingResult::default();
    for _ in 0..3 {
        result.add_free_item(free_sample(1));
    }
    let hooks = pricing_only(result, FailurePolicy::FailClosed);
    let calls = Mutex::new(0);
    let counting = |skus: &[&str]| {
        *calls.lock().expect("lock") += 1;
        sample_catalog(skus)
    };
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &counting).expect("quotes");
    assert_eq!(quote.priced.cart.lines.len(), 4);
    assert_eq!(*calls.lock().expect("lock"), 1);
}

#[test]
fn free_items_are_delivered_by_the_platform_and_in_the_options_fulfillment_is_offered() {
    let mut result = PricingResult::default();
    result.add_free_item(free_sample(1));
    // The platform's own delivery covers the free line.
    let hooks = pricing_only(result.clone(), FailurePolicy::FailClosed);
    let quote_ = quote(&ctx(), &cart(), &input(), &hooks, &sample_catalog).expect("quotes");
    assert_eq!(quote_.delivery_options, [standard(2)]);

    // A fulfillment plugin that answers with the options it was offered is correct.
    let fake = Arc::new(Fake {
        pricing: Some(Ok(result)),
        fulfillment_returns_defaults: true,
        ..Fake::default()
    });
    let hooks = TenantHooks::default()
        .with(Hook::Pricing, deploy(&fake, FailurePolicy::FailClosed))
        .with(Hook::Fulfillment, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &sample_catalog).expect("quotes");
    assert_eq!(quote.delivery_options, [standard(2)]);
}

#[test]
fn a_delivery_cost_that_overflows_the_total_is_invalid_output() {
    let fake = Arc::new(Fake {
        fulfillment: Some(Ok(vec![DeliveryOption {
            cost: Money::inr(i64::MAX),
            ..standard(1)
        }])),
        ..Fake::default()
    });
    let hooks =
        TenantHooks::default().with(Hook::Fulfillment, deploy(&fake, FailurePolicy::FailClosed));
    let failed = rejected(quote(&ctx(), &cart(), &input(), &hooks, &no_catalog));
    assert_eq!(failed.hook, Hook::Fulfillment);
    assert!(invalid_output(&failed).contains("overflows the order total"));
}

#[test]
fn a_cart_outside_the_limits_is_refused_before_any_hook_runs() {
    let cart = CartBuilder::inr()
        .line(line("A", 1, MAX_UNIT_PRICE + 1))
        .build();
    let err = quote(
        &ctx(),
        &cart,
        &input(),
        &TenantHooks::default(),
        &no_catalog,
    )
    .unwrap_err();
    assert!(matches!(err, QuoteError::Cart(_)), "{err:?}");
}

fn with_payment_methods() -> QuoteInput {
    QuoteInput {
        payment_methods: ["upi", "cod"]
            .into_iter()
            .map(|id| PaymentMethod {
                id: id.into(),
                name: id.to_uppercase(),
                kind: id.into(),
            })
            .collect(),
        ..input()
    }
}

#[test]
fn the_payment_hook_decides_the_methods_offered() {
    let fake = Arc::new(Fake {
        payment: Some(Ok(vec![PaymentOperation::hide("cod")])),
        ..Fake::default()
    });
    let hooks =
        TenantHooks::default().with(Hook::Payment, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(
        &ctx(),
        &cart(),
        &with_payment_methods(),
        &hooks,
        &no_catalog,
    )
    .expect("quotes");
    let offered: Vec<&str> = quote
        .payment
        .offered
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(offered, ["upi"]);
    assert_eq!(quote.payment.hidden, ["cod"]);
    let payment = quote.trace.last().expect("a payment trace");
    assert_eq!((payment.hook, payment.outcome), (Hook::Payment, "ok"));
}

#[test]
fn without_payment_methods_the_payment_hook_is_not_called() {
    // A fake without a payment answer panics if called.
    let fake = Arc::new(Fake::default());
    let hooks =
        TenantHooks::default().with(Hook::Payment, deploy(&fake, FailurePolicy::FailClosed));
    let quote = quote(&ctx(), &cart(), &input(), &hooks, &no_catalog).expect("quotes");
    assert!(quote.payment.offered.is_empty());
    let payment = quote.trace.last().expect("a payment trace");
    assert_eq!((payment.hook, payment.outcome), (Hook::Payment, "default"));
}

#[test]
fn a_failing_fail_open_payment_hook_offers_every_method() {
    let fake = Arc::new(Fake {
        payment: Some(Err(HookFailure::Trap {
            message: "boom".into(),
        })),
        ..Fake::default()
    });
    let hooks = TenantHooks::default().with(Hook::Payment, deploy(&fake, FailurePolicy::FailOpen));
    let quote = quote(
        &ctx(),
        &cart(),
        &with_payment_methods(),
        &hooks,
        &no_catalog,
    )
    .expect("quotes");
    assert!(quote.degraded);
    assert_eq!(
        quote.payment,
        PaymentChoice::all(&with_payment_methods().payment_methods)
    );
}

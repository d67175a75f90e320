//! One cart quoted for three tenants through the checkout pipeline with the real components:
//! the totals differ exactly as each brand's rules say.

use std::sync::Arc;

use mandi_host::cli::RunInput;
use mandi_host::pipeline::{
    Deployed, FailurePolicy, HookDeployment, Quote, QuoteInput, Source, TenantHooks, quote,
};
use mandi_host::runtime::{Hook, HookFailure, Limits, PluginConfig};
use mandi_sdk::testing::{LineExt, line};
use mandi_sdk::{CartLine, Money};

use crate::runtime;

fn sample() -> RunInput {
    let path = mandi_tests::samples_dir().join("cart.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("parses")
}

fn deployment(brand: &str, policy: FailurePolicy) -> HookDeployment {
    let plugin = runtime()
        .load(&mandi_tests::plugin_bytes(brand))
        .expect("loads");
    let path = mandi_tests::repo_root()
        .join("plugins-examples")
        .join(brand)
        .join("config.json");
    let config =
        PluginConfig::from_json(&std::fs::read_to_string(path).expect("config")).expect("object");
    HookDeployment {
        source: Source {
            deployment_id: format!("{brand}-1"),
            plugin: plugin.digest().to_string(),
            version: 1,
        },
        policy,
        invoker: Arc::new(Deployed {
            plugin,
            config: Arc::new(config),
            limits: Limits::default(),
        }),
        breaker: Arc::default(),
    }
}

/// The platform catalog's view of free items' skus.
fn catalog(skus: &[&str]) -> Vec<CartLine> {
    (skus.iter())
        .filter(|sku| **sku == "TIRA-MINI-LIPBALM")
        .map(|sku| line(sku, 1, 29_900).category("beauty"))
        .collect()
}

fn quote_for(hooks: &TenantHooks) -> Result<Quote, mandi_host::pipeline::QuoteError> {
    let input = sample();
    let ctx = input.context.clone().expect("context");
    let extra = QuoteInput {
        nodes: input.nodes.clone(),
        payment_methods: input.payment_methods.clone(),
    };
    quote(&ctx, &input.cart, &extra, hooks, &catalog)
}

/// The platform's own delivery options for a quote's cart, from the sample's nodes.
fn platform_options(quote: &Quote) -> Vec<mandi_sdk::DeliveryOption> {
    mandi_host::pipeline::default_delivery_options(&quote.priced.cart, &sample().nodes)
}

/// Subtotal of the sample cart at catalog prices: INR 26,005.50.
const SUBTOTAL: i64 = 2_600_550;

#[test]
fn jiomart_tenant_gets_bulk_prices_and_one_shipment() {
    let hooks = TenantHooks::default()
        .with(
            Hook::Pricing,
            deployment("jiomart", FailurePolicy::FailClosed),
        )
        .with(
            Hook::Validation,
            deployment("jiomart", FailurePolicy::FailClosed),
        )
        .with(
            Hook::Fulfillment,
            deployment("jiomart", FailurePolicy::FailClosed),
        );
    let quote = quote_for(&hooks).expect("quotes");
    // 5% of 7,788.00 + 10% of 10,625.00 + 6% of 4,668.00 = 389.40 + 1,062.50 + 280.08.
    assert_eq!(quote.priced.discount, Money::inr(38_940 + 106_250 + 28_008));
    assert_eq!(quote.priced.total, Money::inr(SUBTOTAL - 173_198));
    let taken: Vec<(&str, i64)> = quote
        .applied
        .iter()
        .map(|a| (a.adjustment.code.as_str(), a.amount))
        .collect();
    assert_eq!(
        taken,
        [
            ("BULK-STAPLES-5", 38_940),
            ("BULK-STAPLES-10", 106_250),
            ("BULK-HOUSEHOLD-6", 28_008)
        ]
    );
    assert!(
        quote
            .applied
            .iter()
            .all(|a| a.source.deployment_id == "jiomart-1")
    );
    assert!(quote.violations.is_empty());
    assert_eq!(quote.delivery_options.len(), 1);
    assert_eq!(quote.delivery_options[0].code, "single");
    assert!(!quote.degraded);
}

#[test]
fn tira_tenant_gets_loyalty_capped_coupon_and_a_free_sample() {
    let hooks =
        TenantHooks::default().with(Hook::Pricing, deployment("tira", FailurePolicy::FailClosed));
    let quote = quote_for(&hooks).expect("quotes");
    // Gold 10% (2,600.55) + GLOW15 capped to 2,600.55 = the 20% cap; the sample is free.
    assert_eq!(quote.priced.discount, Money::inr(520_110));
    assert_eq!(quote.priced.total, Money::inr(SUBTOTAL - 520_110));
    let sample_line = quote.priced.lines.last().expect("free line");
    assert_eq!(
        quote.priced.cart.lines.last().map(|l| l.sku.as_str()),
        Some("TIRA-MINI-LIPBALM")
    );
    assert_eq!(
        (sample_line.unit_price.amount, sample_line.total.amount),
        (0, 0)
    );
    let given = quote
        .applied
        .iter()
        .find(|a| a.adjustment.code == "FREE-SAMPLE")
        .expect("sample");
    assert_eq!(given.amount, 29_900);
    // Without deployments for them, validation and fulfillment are the platform's, and the
    // platform delivers the free sample too.
    assert_eq!(quote.delivery_options, platform_options(&quote));
    let delivered: Vec<u32> = quote.delivery_options[0]
        .assignments
        .iter()
        .map(|a| a.line)
        .collect();
    assert_eq!(
        delivered,
        (0..8).collect::<Vec<u32>>(),
        "7 lines + the free one"
    );
}

#[test]
fn netmeds_tenant_blocks_rx_items_and_its_failure_policy_decides_the_rest() {
    // no-pharmacy is a plugin error of the fulfillment hook on this cart.
    let closed = TenantHooks::default()
        .with(
            Hook::Validation,
            deployment("netmeds", FailurePolicy::FailClosed),
        )
        .with(
            Hook::Fulfillment,
            deployment("netmeds", FailurePolicy::FailClosed),
        );
    let Err(mandi_host::pipeline::QuoteError::HookFailed(err)) = quote_for(&closed) else {
        panic!("the fail-closed fulfillment hook must reject the quote");
    };
    assert_eq!(err.hook, Hook::Fulfillment);
    assert!(matches!(&err.failure, HookFailure::PluginError { code, .. } if code == "no-pharmacy"));

    let open = closed.with(
        Hook::Fulfillment,
        deployment("netmeds", FailurePolicy::FailOpen),
    );
    let quote = quote_for(&open).expect("fail-open quotes");
    assert!(quote.degraded);
    assert_eq!(quote.priced.total, Money::inr(SUBTOTAL));
    let codes: Vec<(&str, Option<u32>)> = quote
        .violations
        .iter()
        .map(|v| (v.code.as_str(), v.line))
        .collect();
    assert_eq!(codes, [("RX-REQUIRED", Some(3)), ("RX-REQUIRED", Some(4))]);
    assert_eq!(
        quote.delivery_options,
        platform_options(&quote),
        "the platform's options instead"
    );
    let outcomes: Vec<_> = quote.trace.iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, ["default", "default", "ok", "skipped", "default"]);
}

/// The hostile component on pricing and validation, both with `config`.
fn counting_hooks(pricing: serde_json::Value, validation: serde_json::Value) -> TenantHooks {
    let plugin = runtime()
        .load(&mandi_tests::plugin_bytes("hostile"))
        .expect("loads");
    let deploy = |config: serde_json::Value| HookDeployment {
        source: Source {
            deployment_id: "count-1".into(),
            plugin: plugin.digest().to_string(),
            version: 1,
        },
        policy: FailurePolicy::FailOpen,
        invoker: Arc::new(Deployed {
            plugin: plugin.clone(),
            config: Arc::new(PluginConfig::from_json(&config.to_string()).expect("object")),
            limits: Limits::default(),
        }),
        breaker: Arc::default(),
    };
    TenantHooks::default()
        .with(Hook::Pricing, deploy(pricing))
        .with(Hook::Validation, deploy(validation))
}

/// Which call of its instance each hook was: pricing's note, validation's violation.
fn calls(quote: &Quote) -> (Option<String>, Option<String>) {
    (
        quote.applied.first().map(|a| a.adjustment.message.clone()),
        quote.violations.first().map(|v| v.message.clone()),
    )
}

/// A checkout's consecutive hooks of one component, with one config and limits, share an
/// instance; the next checkout starts from a fresh one.
#[test]
fn a_checkouts_hooks_of_one_component_share_one_fresh_instance() {
    let count = serde_json::json!({ "attack": "count" });
    let hooks = counting_hooks(count.clone(), count);
    for _ in 0..3 {
        let quote = quote_for(&hooks).expect("quotes");
        assert_eq!(
            calls(&quote),
            (Some("call 1".into()), Some("call 2".into())),
            "pricing is the instance's first call, validation its second, in every checkout"
        );
    }
}

/// Another config (the plugin may have read and kept it) gets an instance of its own.
#[test]
fn hooks_with_different_configs_do_not_share_an_instance() {
    let hooks = counting_hooks(
        serde_json::json!({ "attack": "count" }),
        serde_json::json!({ "attack": "count", "iterations": 1 }),
    );
    let quote = quote_for(&hooks).expect("quotes");
    assert_eq!(
        calls(&quote),
        (Some("call 1".into()), Some("call 1".into()))
    );
}

/// A call that fails does not hand its instance to the next hook.
#[test]
fn a_failed_call_does_not_hand_its_instance_on() {
    let config = serde_json::json!({ "attack": "count", "pricing_error": true });
    let hooks = counting_hooks(config.clone(), config);
    let quote = quote_for(&hooks).expect("quotes (fail-open)");
    assert!(quote.degraded, "pricing failed and was skipped");
    assert_eq!(calls(&quote), (None, Some("call 1".into())));
}

//! The example brands' components on the sample carts: exact adjustments, violations and
//! delivery options, and agreement with the same crates compiled natively.

use std::sync::Arc;

use mandi_host::cli::RunInput;
use mandi_host::runtime::{
    CallSettings, Hook, Limits, Plugin, PluginConfig, Runtime, RuntimeConfig,
};
use mandi_sdk::testing::Harness;
use mandi_sdk::{Context, PricedCart};
use serde::Serialize;
use serde_json::{Value, json};

use crate::runtime;

fn sample(name: &str) -> RunInput {
    let path = mandi_tests::samples_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample exists"))
        .expect("sample parses")
}

fn brand_config(brand: &str) -> Value {
    let path = mandi_tests::repo_root()
        .join("plugins-examples")
        .join(brand)
        .join("config.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("config exists"))
        .expect("config parses")
}

fn context(input: &RunInput) -> Context {
    input.context.clone().expect("samples carry a context")
}

fn priced(input: &RunInput) -> PricedCart {
    input
        .priced_cart
        .clone()
        .unwrap_or_else(|| PricedCart::unadjusted(input.cart.clone()))
}

/// Runs `brand`'s component on a sample; the output, or the failure, as JSON.
fn run(brand: &str, hook: Hook, sample_name: &str) -> Value {
    let plugin = runtime()
        .load(&mandi_tests::plugin_bytes(brand))
        .expect("plugin loads");
    run_plugin(&plugin, brand, hook, sample_name)
}

fn run_plugin(plugin: &Plugin, brand: &str, hook: Hook, sample_name: &str) -> Value {
    let config =
        Arc::new(PluginConfig::from_json(&brand_config(brand).to_string()).expect("config"));
    let limits = Limits::default();
    let call = CallSettings::new(&config, &limits);
    let input = sample(sample_name);
    let ctx = context(&input);
    as_json(plugin.run_input(hook, call, &ctx, &input).into_result())
}

fn as_json<T: Serialize, E: Serialize>(result: Result<T, E>) -> Value {
    match result {
        Ok(output) => serde_json::to_value(output),
        Err(failure) => serde_json::to_value(failure),
    }
    .expect("serializes")
}

fn bulk(line: u32, bps: u32, code: &str, message: &str) -> Value {
    json!({ "target": { "line": line }, "kind": { "percent_off": bps }, "code": code, "message": message })
}

fn inr(amount: i64) -> Value {
    json!({ "amount": amount, "currency": "INR" })
}

fn assigned(nodes: &[&str]) -> Value {
    nodes
        .iter()
        .enumerate()
        .map(|(line, node)| json!({ "line": line, "node_id": node }))
        .collect()
}

/// jiomart's pricing of the shared sample cart: bulk discounts on three lines.
fn jiomart_pricing_of_the_shared_cart() -> Value {
    json!({
        "adjustments": [
            bulk(0, 500, "BULK-STAPLES-5", "Bulk saver: 5% off for 10+ units of staples"),
            bulk(1, 1000, "BULK-STAPLES-10", "Bulk saver: 10% off for 25+ units of staples"),
            bulk(2, 600, "BULK-HOUSEHOLD-6", "Bulk saver: 6% off for 12+ units of household"),
        ],
        "free_items": [],
    })
}

/// jiomart's delivery of the shared sample cart: one shipment from one warehouse.
fn jiomart_delivery_of_the_shared_cart() -> Value {
    json!([{
        "code": "single",
        "method": "standard",
        "assignments": assigned(&["WH-BHIWANDI"; 7]),
        "cost": inr(0),
        "eta_minutes": 1440,
        "label": "Standard delivery in one shipment",
    }])
}

/// jiomart's validation of its bulk-order sample: one line over the quantity cap.
fn jiomart_quantity_cap_on_the_bulk_order() -> Value {
    json!([{ "code": "QTY-CAP", "message": "At most 50 units of Basmati Rice 5 kg per order", "line": 0 }])
}

#[test]
fn jiomart_gives_bulk_discounts_on_the_shared_cart() {
    assert_eq!(
        run("jiomart", Hook::Pricing, "cart.json"),
        jiomart_pricing_of_the_shared_cart()
    );
    assert_eq!(run("jiomart", Hook::Validation, "cart.json"), json!([]));
}

#[test]
fn jiomart_ships_the_shared_cart_from_one_warehouse() {
    assert_eq!(
        run("jiomart", Hook::Fulfillment, "cart.json"),
        jiomart_delivery_of_the_shared_cart()
    );
}

#[test]
fn jiomart_caps_quantities_and_splits_when_no_node_has_everything() {
    assert_eq!(
        run("jiomart", Hook::Validation, "jiomart-bulk-order.json"),
        jiomart_quantity_cap_on_the_bulk_order()
    );
    assert_eq!(
        run("jiomart", Hook::Pricing, "jiomart-bulk-order.json"),
        json!({
            "adjustments": [
                bulk(0, 1000, "BULK-STAPLES-10", "Bulk saver: 10% off for 25+ units of staples"),
                bulk(1, 1000, "BULK-STAPLES-10", "Bulk saver: 10% off for 25+ units of staples"),
                bulk(2, 300, "BULK-HOUSEHOLD-3", "Bulk saver: 3% off for 6+ units of household"),
            ],
            "free_items": [],
        })
    );
    assert_eq!(
        run("jiomart", Hook::Fulfillment, "jiomart-bulk-order.json"),
        json!([{
            "code": "split",
            "method": "standard",
            "assignments": assigned(&["ST-THANE", "WH-NASHIK", "ST-THANE"]),
            "cost": inr(2900),
            "eta_minutes": 2880,
            "label": "Standard delivery, split into 2 shipments",
        }])
    );
}

#[test]
fn netmeds_blocks_prescription_items_without_a_prescription() {
    let needs_rx = |line: u32, title: &str| {
        json!({
            "code": "RX-REQUIRED",
            "message": format!("{title} needs a prescription: upload one to continue"),
            "line": line,
        })
    };
    assert_eq!(
        run("netmeds", Hook::Validation, "cart.json"),
        json!([
            needs_rx(3, "Amoxicillin 500 mg, 10 capsules"),
            needs_rx(4, "Insulin Glargine 100 IU/ml pen"),
        ])
    );
    assert_eq!(
        run("netmeds", Hook::Fulfillment, "cart.json"),
        json!({
            "kind": "plugin-error",
            "code": "no-pharmacy",
            "message": "no single pharmacy can fill every line of this order",
        })
    );
}

#[test]
fn netmeds_dispenses_from_one_pharmacy_with_a_prescription() {
    assert_eq!(
        run(
            "netmeds",
            Hook::Validation,
            "netmeds-with-prescription.json"
        ),
        json!([])
    );
    assert_eq!(
        run(
            "netmeds",
            Hook::Fulfillment,
            "netmeds-with-prescription.json"
        ),
        json!([{
            "code": "pharmacy-delivery",
            "method": "pharmacy-delivery",
            "assignments": assigned(&["PH-POWAI"; 3]),
            "cost": inr(0),
            "eta_minutes": 720,
            "label": "Pharmacy delivery, temperature-controlled",
        }])
    );
}

#[test]
fn netmeds_refuses_cold_chain_to_unserviceable_pincodes() {
    assert_eq!(
        run("netmeds", Hook::Validation, "netmeds-remote-pincode.json"),
        json!([{
            "code": "COLD-CHAIN-UNSERVICEABLE",
            "message": "Insulin Glargine 100 IU/ml pen must stay refrigerated and cannot be delivered to 781005 yet",
            "line": 1,
        }])
    );
}

#[test]
fn tira_applies_loyalty_coupon_sample_and_the_discount_cap() {
    // Subtotal INR 26,005.50: gold 10% = 2,600.55; GLOW15 would be 3,900.83 but the 20% cap
    // (5,201.10) leaves 2,600.55 for the coupon.
    assert_eq!(
        run("tira", Hook::Pricing, "cart.json"),
        json!({
            "adjustments": [
                { "target": "order", "kind": { "percent_off": 1000 }, "code": "LOYALTY-GOLD", "message": "Gold member: 10% off" },
                { "target": "order", "kind": { "amount_off": inr(260_055) }, "code": "GLOW15",
                  "message": "GLOW15: INR 2600.55 off (total discount capped at 20%)" },
            ],
            "free_items": [{ "sku": "TIRA-MINI-LIPBALM", "quantity": 1, "code": "FREE-SAMPLE",
                             "message": "A free sample with orders of INR 1500.00 or more" }],
        })
    );
    assert_eq!(
        run("tira", Hook::Pricing, "tira-small-order.json"),
        json!({
            "adjustments": [
                { "target": "order", "kind": { "percent_off": 500 }, "code": "LOYALTY-SILVER", "message": "Silver member: 5% off" },
                { "target": "order", "kind": { "amount_off": inr(20_000) }, "code": "TIRA200", "message": "TIRA200: INR 200.00 off your order" },
            ],
            "free_items": [],
        })
    );
}

/// The same crates compiled natively, through the SDK harness with the same config and context.
fn native(brand: &str, hook: Hook, sample_name: &str) -> Value {
    let input = sample(sample_name);
    let harness = Harness::new()
        .context(context(&input))
        .config(brand_config(brand));
    let priced = priced(&input);
    let (nodes, defaults) = (&input.nodes, &input.defaults);
    match (brand, hook) {
        ("jiomart", Hook::Pricing) => as_json(harness.price::<jiomart::Jiomart>(&input.cart)),
        ("jiomart", Hook::Validation) => as_json(harness.validate::<jiomart::Jiomart>(&priced)),
        ("jiomart", Hook::Fulfillment) => {
            as_json(harness.fulfill::<jiomart::Jiomart>(&priced, nodes, defaults))
        }
        ("netmeds", Hook::Validation) => as_json(harness.validate::<netmeds::Netmeds>(&priced)),
        ("netmeds", Hook::Fulfillment) => {
            as_json(harness.fulfill::<netmeds::Netmeds>(&priced, nodes, defaults))
        }
        ("tira", Hook::Pricing) => as_json(harness.price::<tira::Tira>(&input.cart)),
        other => panic!("no such hook: {other:?}"),
    }
}

#[test]
fn components_compute_exactly_what_their_native_builds_compute() {
    let samples = [
        "cart.json",
        "jiomart-bulk-order.json",
        "netmeds-with-prescription.json",
        "netmeds-remote-pincode.json",
        "tira-small-order.json",
    ];
    let hooks: [(&str, &[Hook]); 3] = [
        (
            "jiomart",
            &[Hook::Pricing, Hook::Validation, Hook::Fulfillment],
        ),
        ("netmeds", &[Hook::Validation, Hook::Fulfillment]),
        ("tira", &[Hook::Pricing]),
    ];
    for sample_name in samples {
        for (brand, brand_hooks) in hooks {
            for &hook in brand_hooks {
                let wasm = run(brand, hook, sample_name);
                let mut native = native(brand, hook, sample_name);
                // A native plugin error has no `kind` tag; the host adds it.
                if let Some(obj) = native
                    .as_object_mut()
                    .filter(|o| o.contains_key("code") && wasm.get("kind").is_some())
                {
                    obj.insert("kind".into(), json!("plugin-error"));
                }
                assert_eq!(wasm, native, "{brand} {hook} on {sample_name}");
            }
        }
    }
}

/// Brand components built with the SDK share most of their code (its runtime, std, serde):
/// a function another component already had is taken from the node's compiled-function cache,
/// and the component behaves exactly as if it had been compiled whole.
#[test]
fn shared_functions_are_compiled_once() {
    let runtime = Runtime::new(RuntimeConfig {
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let tira = mandi_tests::plugin_bytes("tira");
    let first = runtime.load(&tira).expect("loads");
    // (A component repeats some functions itself: those hit already.)
    let reused_by_first = runtime.reused_compiled_functions();
    // The same code under another digest, as another tenant's build of it would be.
    let mut other = tira.clone();
    wasm_encoder::ComponentSection::append_to_component(
        &wasm_encoder::CustomSection {
            name: "another-build".into(),
            data: b"t2".into(),
        },
        &mut other,
    );
    let second = runtime.load(&other).expect("loads");
    assert_ne!(first.digest(), second.digest());
    let reused_by_second = runtime.reused_compiled_functions() - reused_by_first;
    assert!(reused_by_second > 100, "reused {reused_by_second}");
    for sample in ["cart.json", "tira-small-order.json"] {
        assert_eq!(
            run_plugin(&second, "tira", Hook::Pricing, sample),
            run_plugin(&first, "tira", Hook::Pricing, sample),
        );
    }
}

/// A component built against contract 0.1.0 and kept as built (tests/fixtures/contract-0.1.0)
/// loads and gives the same answers as when it was built, whatever the contract has gained.
#[test]
fn a_component_built_against_contract_0_1_0_keeps_running() {
    let path = mandi_tests::repo_root().join("tests/fixtures/contract-0.1.0/jiomart.wasm");
    let plugin = runtime()
        .load(&std::fs::read(path).expect("the fixture is in the repository"))
        .expect("loads");
    assert_eq!(plugin.inspection().contract, "mandi:commerce@0.1.0");
    assert_eq!(
        plugin.inspection().hooks,
        [Hook::Pricing, Hook::Validation, Hook::Fulfillment]
    );
    assert_eq!(
        run_plugin(&plugin, "jiomart", Hook::Pricing, "cart.json"),
        jiomart_pricing_of_the_shared_cart()
    );
    assert_eq!(
        run_plugin(
            &plugin,
            "jiomart",
            Hook::Validation,
            "jiomart-bulk-order.json"
        ),
        jiomart_quantity_cap_on_the_bulk_order()
    );
    assert_eq!(
        run_plugin(&plugin, "jiomart", Hook::Fulfillment, "cart.json"),
        jiomart_delivery_of_the_shared_cart()
    );
}

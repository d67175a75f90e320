use mandi_sdk::testing::{CartBuilder, Harness, LineExt, line, node};
use serde_json::json;

use super::*;

fn amoxicillin() -> CartLine {
    line("AMOX-500", 1, 11_250)
        .category("medicine")
        .attribute("rx-required", "true")
}

fn insulin() -> CartLine {
    line("INSULIN-PEN", 1, 71_500)
        .category("medicine")
        .tag("cold-chain")
        .attribute("rx-required", "true")
}

fn vitamins() -> CartLine {
    line("VIT-C", 2, 9_900).category("wellness")
}

fn cold(mut node: FulfillmentNode) -> FulfillmentNode {
    node.tags.push("cold-chain".into());
    node
}

fn delivery(node: &str, lines: u32, cost: i64, label: &str) -> DeliveryOption {
    DeliveryOption {
        code: "pharmacy-delivery".into(),
        method: "pharmacy-delivery".into(),
        assignments: (0..lines)
            .map(|line| LineAssignment {
                line,
                node_id: node.into(),
            })
            .collect(),
        cost: Money::inr(cost),
        eta_minutes: 720,
        label: label.into(),
    }
}

// ---- validation ----

#[test]
fn prescription_medicines_need_a_prescription_id() {
    let cart = CartBuilder::inr()
        .line(vitamins())
        .line(amoxicillin())
        .line(line("PARACETAMOL", 1, 3_000).attribute("rx-required", "false"))
        .line(line("AZITHRO", 1, 12_000).attribute("rx-required", "TRUE"))
        .pincode("400053")
        .priced();
    let violations = Harness::new().validate::<Netmeds>(&cart).unwrap();
    assert_eq!(
        violations,
        [
            Violation::line(
                1,
                "RX-REQUIRED",
                "AMOX-500 needs a prescription: upload one to continue"
            ),
            Violation::line(
                3,
                "RX-REQUIRED",
                "AZITHRO needs a prescription: upload one to continue"
            ),
        ]
    );
}

#[test]
fn a_prescription_id_clears_rx_but_a_blank_one_does_not() {
    let with = |id: &str| {
        CartBuilder::inr()
            .line(amoxicillin())
            .attribute("prescription-id", id)
            .pincode("400053")
            .priced()
    };
    let harness = Harness::new();
    assert_eq!(harness.validate::<Netmeds>(&with("RX-1")).unwrap(), []);
    let blank = harness.validate::<Netmeds>(&with("  ")).unwrap();
    assert_eq!(
        blank.iter().map(|v| v.code.as_str()).collect::<Vec<_>>(),
        ["RX-REQUIRED"]
    );
}

#[test]
fn cold_chain_items_only_ship_to_served_pincodes() {
    let to = |pincode: &str| {
        let cart = CartBuilder::inr()
            .line(vitamins())
            .line(insulin())
            .attribute("prescription-id", "RX-1")
            .pincode(pincode)
            .priced();
        Harness::new().validate::<Netmeds>(&cart).unwrap()
    };
    assert_eq!(to("400053"), []);
    assert_eq!(to("110001"), []);
    assert_eq!(
        to("781005"),
        [Violation::line(
            1,
            "COLD-CHAIN-UNSERVICEABLE",
            "INSULIN-PEN must stay refrigerated and cannot be delivered to 781005 yet"
        )]
    );
}

#[test]
fn served_prefixes_come_from_config() {
    let harness = Harness::new().config(json!({ "cold_chain_pincode_prefixes": ["7810"] }));
    let cart = |pincode: &str| {
        CartBuilder::inr()
            .line(insulin())
            .attribute("prescription-id", "RX-1")
            .pincode(pincode)
            .priced()
    };
    assert_eq!(harness.validate::<Netmeds>(&cart("781005")).unwrap(), []);
    let mumbai = harness.validate::<Netmeds>(&cart("400053")).unwrap();
    assert_eq!(mumbai[0].code, "COLD-CHAIN-UNSERVICEABLE");
}

#[test]
fn no_shipping_address_is_an_order_violation() {
    let cart = CartBuilder::inr().line(insulin()).line(vitamins()).priced();
    let violations = Harness::new().validate::<Netmeds>(&cart).unwrap();
    assert_eq!(
        violations,
        [
            Violation::order(
                "NO-SHIPPING-ADDRESS",
                "Add a shipping address to order medicines"
            ),
            Violation::line(
                0,
                "RX-REQUIRED",
                "INSULIN-PEN needs a prescription: upload one to continue"
            ),
        ]
    );
    let blank_pincode = CartBuilder::inr().line(vitamins()).pincode(" ").priced();
    assert_eq!(
        Harness::new().validate::<Netmeds>(&blank_pincode).unwrap(),
        [Violation::order(
            "NO-SHIPPING-ADDRESS",
            "Add a shipping address to order medicines"
        )]
    );
}

#[test]
fn bad_config_is_invalid_config() {
    let cart = CartBuilder::inr()
        .line(vitamins())
        .pincode("400053")
        .priced();
    let nodes = [node("PH", "pharmacy", "400050", &[("VIT-C", 5)])];
    for config in [
        json!({ "cold_chain_pincode_prefixes": [""] }),
        json!({ "cold_chain_pincode_prefixes": ["MUM"] }),
        json!({ "cold_chain_pincode_prefixes": "400" }),
        json!({ "rx_attribute": "schedule" }),
        json!({ "delivery": { "eta_minutes": "soon" } }),
    ] {
        let harness = Harness::new().config(&config);
        let err = harness.validate::<Netmeds>(&cart).unwrap_err();
        assert_eq!(err.code, "invalid-config", "{config}");
        let err = harness.fulfill::<Netmeds>(&cart, &nodes, &[]).unwrap_err();
        assert_eq!(err.code, "invalid-config", "{config}");
    }
}

// ---- fulfillment ----

#[test]
fn the_nearest_pharmacy_that_has_everything_fills_the_order() {
    let cart = CartBuilder::inr()
        .line(amoxicillin())
        .line(vitamins())
        .pincode("400053")
        .priced();
    let nodes = [
        node(
            "WH-NEAREST",
            "warehouse",
            "400053",
            &[("AMOX-500", 9), ("VIT-C", 9)],
        ),
        node("PH-NEAR-PARTIAL", "pharmacy", "400052", &[("AMOX-500", 9)]),
        node(
            "PH-FAR",
            "pharmacy",
            "400100",
            &[("AMOX-500", 9), ("VIT-C", 9)],
        ),
        node(
            "PH-MID",
            "pharmacy",
            "400076",
            &[("AMOX-500", 1), ("VIT-C", 2)],
        ),
    ];
    let harness = Harness::new();
    let options = harness.fulfill::<Netmeds>(&cart, &nodes, &[]).unwrap();
    assert_eq!(options, [delivery("PH-MID", 2, 0, "Pharmacy delivery")]);
    assert_eq!(harness.logs()[0].message, "dispensing from pharmacy PH-MID");
}

#[test]
fn cold_chain_lines_need_a_cold_chain_pharmacy() {
    let cart = CartBuilder::inr()
        .line(amoxicillin())
        .line(insulin())
        .pincode("400053")
        .priced();
    let stock = [("AMOX-500", 5), ("INSULIN-PEN", 5)];
    let nodes = [
        node("PH-NEAR", "pharmacy", "400050", &stock),
        cold(node("WH-COLD", "warehouse", "400051", &stock)),
        cold(node("PH-COLD", "pharmacy", "400076", &stock)),
    ];
    let options = Harness::new()
        .fulfill::<Netmeds>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(
        options,
        [delivery(
            "PH-COLD",
            2,
            0,
            "Pharmacy delivery, temperature-controlled"
        )]
    );
}

#[test]
fn no_single_pharmacy_is_a_plugin_error() {
    let cart = CartBuilder::inr()
        .line(amoxicillin())
        .line(vitamins())
        .pincode("400053")
        .priced();
    let nodes = [
        node("PH-A", "pharmacy", "400050", &[("AMOX-500", 5)]),
        node("PH-B", "pharmacy", "400051", &[("VIT-C", 5)]),
        node(
            "WH",
            "warehouse",
            "400052",
            &[("AMOX-500", 5), ("VIT-C", 5)],
        ),
    ];
    let err = Harness::new()
        .fulfill::<Netmeds>(&cart, &nodes, &[])
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::new(
            "no-pharmacy",
            "no single pharmacy can fill every line of this order"
        )
    );
}

#[test]
fn two_lines_of_one_sku_need_the_stock_for_both() {
    let cart = CartBuilder::inr()
        .line(vitamins())
        .line(vitamins())
        .pincode("400053")
        .priced();
    let nodes = [
        node("PH-NEAR", "pharmacy", "400050", &[("VIT-C", 3)]),
        node("PH-FAR", "pharmacy", "400090", &[("VIT-C", 4)]),
    ];
    let options = Harness::new()
        .fulfill::<Netmeds>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options, [delivery("PH-FAR", 2, 0, "Pharmacy delivery")]);
}

#[test]
fn delivery_is_free_from_exactly_the_threshold() {
    let nodes = [node("PH", "pharmacy", "400050", &[("X", 1)])];
    let at = |paise| {
        let cart = CartBuilder::inr()
            .line(line("X", 1, paise))
            .pincode("400053")
            .priced();
        Harness::new()
            .fulfill::<Netmeds>(&cart, &nodes, &[])
            .unwrap()
    };
    assert_eq!(at(29_900), [delivery("PH", 1, 0, "Pharmacy delivery")]);
    assert_eq!(at(29_899), [delivery("PH", 1, 3_900, "Pharmacy delivery")]);
}

#[test]
fn fulfillment_needs_a_readable_shipping_pincode() {
    let nodes = [node("PH", "pharmacy", "400050", &[("VIT-C", 5)])];
    let no_address = CartBuilder::inr().line(vitamins()).priced();
    let err = Harness::new()
        .fulfill::<Netmeds>(&no_address, &nodes, &[])
        .unwrap_err();
    assert_eq!(err.code, "no-shipping-address");
    let bad = CartBuilder::inr()
        .line(vitamins())
        .pincode("40005")
        .priced();
    let err = Harness::new()
        .fulfill::<Netmeds>(&bad, &nodes, &[])
        .unwrap_err();
    assert_eq!(err.code, "invalid-pincode");
}

// ---- the deployment config and the sample inputs ----

use mandi_sdk::RunInput;

/// A sample as `mandi plugin run --config config.json` runs it.
fn sample(json: &str) -> (Harness, RunInput, PricedCart) {
    let input: RunInput = serde_json::from_str(json).expect("sample parses");
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../config.json")).expect("config.json parses");
    let mut harness = Harness::new().config(config);
    if let Some(ctx) = input.context.clone() {
        harness = harness.context(ctx);
    }
    let priced = input
        .priced_cart
        .clone()
        .unwrap_or_else(|| PricedCart::unadjusted(input.cart.clone()));
    (harness, input, priced)
}

#[test]
fn deployment_config_spells_out_the_defaults() {
    let deployed: Config = serde_json::from_str(include_str!("../config.json")).unwrap();
    assert_eq!(deployed, Config::default());
}

#[test]
fn shared_sample_cart() {
    let (harness, input, priced) = sample(include_str!("../../samples/cart.json"));
    assert_eq!(input.cart.lines.len(), 7);
    assert_eq!(input.defaults.len(), 1);
    assert_eq!(priced.total, Money::inr(2_600_550));

    assert_eq!(
        harness.validate::<Netmeds>(&priced).unwrap(),
        [
            Violation::line(
                3,
                "RX-REQUIRED",
                "Amoxicillin 500 mg, 10 capsules needs a prescription: upload one to continue"
            ),
            Violation::line(
                4,
                "RX-REQUIRED",
                "Insulin Glargine 100 IU/ml pen needs a prescription: upload one to continue"
            ),
        ]
    );
    // Groceries and cosmetics are not on any pharmacy's shelf.
    assert_eq!(
        harness
            .fulfill::<Netmeds>(&priced, &input.nodes, &input.defaults)
            .unwrap_err(),
        PluginError::new(
            "no-pharmacy",
            "no single pharmacy can fill every line of this order"
        )
    );
}

#[test]
fn sample_with_prescription() {
    let (harness, input, priced) =
        sample(include_str!("../../samples/netmeds-with-prescription.json"));
    assert_eq!(harness.validate::<Netmeds>(&priced).unwrap(), []);
    // PH-BANDRA is nearer but has no insulin and no cold storage.
    assert_eq!(
        harness
            .fulfill::<Netmeds>(&priced, &input.nodes, &input.defaults)
            .unwrap(),
        [delivery(
            "PH-POWAI",
            3,
            0,
            "Pharmacy delivery, temperature-controlled"
        )]
    );
    assert_eq!(
        harness.logs()[0].message,
        "dispensing from pharmacy PH-POWAI"
    );
}

#[test]
fn sample_remote_pincode() {
    let (harness, input, priced) =
        sample(include_str!("../../samples/netmeds-remote-pincode.json"));
    assert_eq!(
        harness.validate::<Netmeds>(&priced).unwrap(),
        [Violation::line(
            1,
            "COLD-CHAIN-UNSERVICEABLE",
            "Insulin Glargine 100 IU/ml pen must stay refrigerated and cannot be delivered to 781005 yet"
        )]
    );
    assert_eq!(
        harness
            .fulfill::<Netmeds>(&priced, &input.nodes, &input.defaults)
            .unwrap(),
        [delivery(
            "PH-POWAI",
            3,
            0,
            "Pharmacy delivery, temperature-controlled"
        )]
    );
}

#[test]
fn an_order_with_prescription_medicine_is_not_offered_cash_on_delivery() {
    use mandi_sdk::testing::payment_method;
    let methods = [
        payment_method("upi", "UPI", "upi"),
        payment_method("cod", "Cash on delivery", "cash-on-delivery"),
    ];
    let rx = CartBuilder::inr()
        .line(line("AMOX", 1, 11_250).attribute("rx-required", "true"))
        .priced();
    let hidden = Harness::new().customize_payment::<Netmeds>(&rx, &methods);
    assert_eq!(hidden.unwrap(), [PaymentOperation::hide("cod")]);
    let otc = CartBuilder::inr().line(line("ORS", 2, 4_000)).priced();
    let offered = Harness::new().customize_payment::<Netmeds>(&otc, &methods);
    assert_eq!(offered.unwrap(), []);
}

use mandi_sdk::testing::{CartBuilder, Harness, LineExt, line, node};
use serde_json::json;

use super::*;

fn bulk(line: u32, bps: u32, code: &str, message: &str) -> Adjustment {
    Adjustment::line(
        line,
        AdjustmentKind::PercentOff(Percent::from_bps(bps)),
        code,
        message,
    )
}

fn assign(pairs: &[(u32, &str)]) -> Vec<LineAssignment> {
    pairs
        .iter()
        .map(|(line, node)| LineAssignment {
            line: *line,
            node_id: (*node).into(),
        })
        .collect()
}

fn single(node: &str, lines: u32, cost: i64) -> DeliveryOption {
    DeliveryOption {
        code: "single".into(),
        method: "standard".into(),
        assignments: (0..lines)
            .map(|line| LineAssignment {
                line,
                node_id: node.into(),
            })
            .collect(),
        cost: Money::inr(cost),
        eta_minutes: 1_440,
        label: "Standard delivery in one shipment".into(),
    }
}

fn adjustments(result: PricingResult) -> Vec<Adjustment> {
    assert_eq!(result.free_items, []);
    result.adjustments
}

// ---- pricing ----

#[test]
fn staples_tiers_apply_from_exactly_their_threshold() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 9, 10_000).category("staples"))
        .line(line("ATTA", 10, 10_000).category("staples"))
        .line(line("DAL", 24, 10_000).category("staples"))
        .line(line("OIL", 25, 10_000).category("staples"))
        .build();
    let result = Harness::new().price::<Jiomart>(&cart).unwrap();
    assert_eq!(
        adjustments(result),
        [
            bulk(
                1,
                500,
                "BULK-STAPLES-5",
                "Bulk saver: 5% off for 10+ units of staples"
            ),
            bulk(
                2,
                500,
                "BULK-STAPLES-5",
                "Bulk saver: 5% off for 10+ units of staples"
            ),
            bulk(
                3,
                1_000,
                "BULK-STAPLES-10",
                "Bulk saver: 10% off for 25+ units of staples"
            ),
        ]
    );
}

#[test]
fn household_has_its_own_tiers_and_other_categories_none() {
    let cart = CartBuilder::inr()
        .line(line("SOAP", 5, 3_000).category("household"))
        .line(line("DETERGENT", 12, 38_900).category("household"))
        .line(line("LIPSTICK", 40, 79_900).category("beauty"))
        .build();
    let result = Harness::new().price::<Jiomart>(&cart).unwrap();
    assert_eq!(
        adjustments(result),
        [bulk(
            1,
            600,
            "BULK-HOUSEHOLD-6",
            "Bulk saver: 6% off for 12+ units of household"
        )]
    );
}

#[test]
fn configured_tiers_replace_the_defaults_and_keep_fractional_percents() {
    let harness = Harness::new().config(json!({
        "bulk_tiers": { "snacks": [{ "min_units": 3, "discount_bps": 750 }] }
    }));
    let cart = CartBuilder::inr()
        .line(line("CHIPS", 3, 2_000).category("snacks"))
        .line(line("RICE", 30, 64_900).category("staples"))
        .build();
    let result = harness.price::<Jiomart>(&cart).unwrap();
    assert_eq!(
        adjustments(result),
        [bulk(
            0,
            750,
            "BULK-SNACKS-7.50",
            "Bulk saver: 7.50% off for 3+ units of snacks"
        )]
    );
}

#[test]
fn tiers_listed_out_of_order_still_pick_the_richest_reached() {
    let harness = Harness::new().config(json!({
        "bulk_tiers": { "staples": [
            { "min_units": 20, "discount_bps": 800 },
            { "min_units": 5, "discount_bps": 200 }
        ] }
    }));
    let cart = CartBuilder::inr()
        .line(line("RICE", 21, 100).category("staples"))
        .build();
    let result = harness.price::<Jiomart>(&cart).unwrap();
    assert_eq!(
        adjustments(result),
        [bulk(
            0,
            800,
            "BULK-STAPLES-8",
            "Bulk saver: 8% off for 20+ units of staples"
        )]
    );
}

#[test]
fn bad_config_is_invalid_config() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 10, 100).category("staples"))
        .build();
    for config in [
        json!({ "max_units": 10 }),
        json!({ "bulk_tiers": { "staples": [{ "min_units": 10, "discount_bps": 10_001 }] } }),
        json!({ "bulk_tiers": { "staples": [{ "min_units": 0, "discount_bps": 500 }] } }),
        json!({ "bulk_tiers": { "staples": [{ "min_units": 10 }] } }),
        json!({ "max_units_per_line": 0 }),
        json!({ "delivery": { "fee_paise": -1 } }),
    ] {
        let harness = Harness::new().config(&config);
        let err = harness.price::<Jiomart>(&cart).unwrap_err();
        assert_eq!(err.code, "invalid-config", "{config}");
        let err = harness.validate::<Jiomart>(&PricedCart::unadjusted(cart.clone()));
        assert_eq!(err.unwrap_err().code, "invalid-config", "{config}");
    }
}

// ---- validation ----

#[test]
fn a_line_over_the_cap_is_a_qty_cap_violation() {
    let mut rice = line("RICE", 51, 64_900).category("staples");
    rice.product.title = "Basmati Rice 5 kg".into();
    let cart = CartBuilder::inr()
        .line(line("ATTA", 50, 42_500))
        .line(rice)
        .line(line("DAL", 70, 12_000))
        .priced();
    let violations = Harness::new().validate::<Jiomart>(&cart).unwrap();
    assert_eq!(
        violations,
        [
            Violation::line(
                1,
                "QTY-CAP",
                "At most 50 units of Basmati Rice 5 kg per order"
            ),
            Violation::line(2, "QTY-CAP", "At most 50 units of DAL per order"),
        ]
    );
}

#[test]
fn the_cap_comes_from_config() {
    let cart = CartBuilder::inr()
        .line(line("ATTA", 5, 42_500))
        .line(line("RICE", 6, 64_900))
        .priced();
    let harness = Harness::new().config(json!({ "max_units_per_line": 5 }));
    assert_eq!(
        harness.validate::<Jiomart>(&cart).unwrap(),
        [Violation::line(
            1,
            "QTY-CAP",
            "At most 5 units of RICE per order"
        )]
    );
}

// ---- fulfillment ----

#[test]
fn nearest_node_with_everything_ships_in_one_go() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 10, 64_900))
        .line(line("ATTA", 2, 42_500))
        .pincode("400053")
        .priced();
    let nodes = [
        node(
            "FAR",
            "warehouse",
            "421302",
            &[("RICE", 100), ("ATTA", 100)],
        ),
        node("NEAR-PARTIAL", "dark-store", "400058", &[("RICE", 100)]),
        node("NEAR", "store", "400601", &[("RICE", 10), ("ATTA", 2)]),
    ];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options, [single("NEAR", 2, 0)]);
}

#[test]
fn equally_distant_nodes_are_ranked_by_id() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 1, 64_900))
        .pincode("400053")
        .priced();
    let nodes = [
        node("B", "store", "400050", &[("RICE", 5)]),
        node("A", "store", "400056", &[("RICE", 5)]),
    ];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options, [single("A", 1, 0)]);
}

#[test]
fn no_node_with_everything_splits_line_by_line() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 10, 64_900))
        .line(line("ATTA", 5, 42_500))
        .line(line("DAL", 3, 12_000))
        .pincode("400053")
        .priced();
    let nodes = [
        node("WH", "warehouse", "421302", &[("RICE", 50), ("DAL", 50)]),
        node("DS", "dark-store", "400058", &[("RICE", 10), ("ATTA", 1)]),
        node("ST", "store", "400601", &[("ATTA", 5), ("DAL", 2)]),
    ];
    let harness = Harness::new();
    let options = harness.fulfill::<Jiomart>(&cart, &nodes, &[]).unwrap();
    assert_eq!(
        options,
        [DeliveryOption {
            code: "split".into(),
            method: "standard".into(),
            assignments: assign(&[(0, "DS"), (1, "ST"), (2, "WH")]),
            cost: Money::inr(2 * 2_900),
            eta_minutes: 2_880,
            label: "Standard delivery, split into 3 shipments".into(),
        }]
    );
    assert_eq!(
        harness.logs()[0].message,
        "no single node stocks the whole order; splitting into 3 shipments"
    );
}

#[test]
fn a_split_below_the_free_threshold_pays_the_fee_and_the_surcharge() {
    let cart = CartBuilder::inr()
        .line(line("SALT", 1, 2_800))
        .line(line("SUGAR", 1, 4_500))
        .pincode("400053")
        .priced();
    let nodes = [
        node("A", "store", "400058", &[("SALT", 5)]),
        node("B", "store", "400060", &[("SUGAR", 5)]),
    ];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options[0].code, "split");
    assert_eq!(options[0].assignments, assign(&[(0, "A"), (1, "B")]));
    assert_eq!(options[0].cost, Money::inr(4_900 + 2_900));
}

#[test]
fn two_lines_of_one_sku_need_the_stock_for_both() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 6, 64_900))
        .line(line("RICE", 6, 64_900))
        .pincode("400053")
        .priced();
    let nodes = [
        node("NEAR", "store", "400058", &[("RICE", 10)]),
        node("FAR", "warehouse", "421302", &[("RICE", 8)]),
    ];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options[0].code, "split");
    assert_eq!(options[0].assignments, assign(&[(0, "NEAR"), (1, "FAR")]));
}

#[test]
fn a_line_no_node_can_stock_is_out_of_stock() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 1, 64_900))
        .line(line("SAFFRON", 3, 49_900))
        .pincode("400053")
        .priced();
    let nodes = [node("A", "store", "400058", &[("RICE", 5), ("SAFFRON", 2)])];
    let err = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::new("out-of-stock", "no node has 3 units of SAFFRON in stock")
    );
}

#[test]
fn delivery_is_free_from_exactly_the_threshold() {
    let nodes = [node("A", "store", "400058", &[("RICE", 5)])];
    let at = |paise| {
        let cart = CartBuilder::inr()
            .line(line("RICE", 1, paise))
            .pincode("400053")
            .priced();
        Harness::new()
            .fulfill::<Jiomart>(&cart, &nodes, &[])
            .unwrap()
    };
    assert_eq!(at(49_900), [single("A", 1, 0)]);
    assert_eq!(at(49_899), [single("A", 1, 4_900)]);
}

#[test]
fn the_threshold_looks_at_the_discounted_total() {
    let mut cart = CartBuilder::inr()
        .line(line("RICE", 1, 50_000))
        .pincode("400053")
        .priced();
    cart.discount = Money::inr(2_500);
    cart.total = Money::inr(47_500);
    let nodes = [node("A", "store", "400058", &[("RICE", 5)])];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options[0].cost, Money::inr(4_900));
}

#[test]
fn delivery_terms_come_from_config() {
    let harness = Harness::new().config(json!({
        "delivery": { "fee_paise": 1_000, "free_from_paise": 1_000_000, "eta_minutes": 90 }
    }));
    let cart = CartBuilder::inr()
        .line(line("RICE", 1, 64_900))
        .pincode("400053")
        .priced();
    let nodes = [node("A", "store", "400058", &[("RICE", 5)])];
    let options = harness.fulfill::<Jiomart>(&cart, &nodes, &[]).unwrap();
    assert_eq!(
        (options[0].cost.clone(), options[0].eta_minutes),
        (Money::inr(1_000), 90)
    );
}

#[test]
fn fulfillment_needs_a_readable_shipping_pincode() {
    let nodes = [node("A", "store", "400058", &[("RICE", 5)])];
    let no_address = CartBuilder::inr().line(line("RICE", 1, 100)).priced();
    let err = Harness::new()
        .fulfill::<Jiomart>(&no_address, &nodes, &[])
        .unwrap_err();
    assert_eq!(err.code, "no-shipping-address");

    let bad_pincode = CartBuilder::inr()
        .line(line("RICE", 1, 100))
        .pincode("4000AB")
        .priced();
    let err = Harness::new()
        .fulfill::<Jiomart>(&bad_pincode, &nodes, &[])
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::new("invalid-pincode", "`4000AB` is not a 6-digit pincode")
    );
}

#[test]
fn a_node_with_an_unreadable_pincode_is_used_last() {
    let cart = CartBuilder::inr()
        .line(line("RICE", 1, 64_900))
        .pincode("400053")
        .priced();
    let nodes = [
        node("UNKNOWN", "store", "", &[("RICE", 5)]),
        node("FAR", "warehouse", "799001", &[("RICE", 5)]),
    ];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &nodes, &[])
        .unwrap();
    assert_eq!(options, [single("FAR", 1, 0)]);
}

#[test]
fn an_empty_cart_keeps_the_platform_defaults() {
    let cart = CartBuilder::inr().priced();
    let defaults = [DeliveryOption {
        code: "standard".into(),
        method: "standard".into(),
        assignments: Vec::new(),
        cost: Money::inr(0),
        eta_minutes: 60,
        label: "Standard".into(),
    }];
    let options = Harness::new()
        .fulfill::<Jiomart>(&cart, &[], &defaults)
        .unwrap();
    assert_eq!(options, defaults);
}

// ---- the deployment config and the sample inputs ----

fn sample(json: &str) -> (Harness, mandi_sdk::RunInput) {
    let input: mandi_sdk::RunInput = serde_json::from_str(json).expect("sample parses");
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../config.json")).expect("config.json parses");
    let mut harness = Harness::new().config(config);
    if let Some(ctx) = input.context.clone() {
        harness = harness.context(ctx);
    }
    (harness, input)
}

#[test]
fn deployment_config_spells_out_the_defaults() {
    let deployed: Config = serde_json::from_str(include_str!("../config.json")).unwrap();
    assert_eq!(deployed, Config::default());
}

#[test]
fn shared_sample_cart() {
    let (harness, input) = sample(include_str!("../../samples/cart.json"));
    let result = harness.price::<Jiomart>(&input.cart).unwrap();
    assert_eq!(
        adjustments(result),
        [
            bulk(
                0,
                500,
                "BULK-STAPLES-5",
                "Bulk saver: 5% off for 10+ units of staples"
            ),
            bulk(
                1,
                1_000,
                "BULK-STAPLES-10",
                "Bulk saver: 10% off for 25+ units of staples"
            ),
            bulk(
                2,
                600,
                "BULK-HOUSEHOLD-6",
                "Bulk saver: 6% off for 12+ units of household"
            ),
        ]
    );

    let priced = PricedCart::unadjusted(input.cart);
    assert_eq!(harness.validate::<Jiomart>(&priced).unwrap(), []);

    let options = harness
        .fulfill::<Jiomart>(&priced, &input.nodes, &input.defaults)
        .unwrap();
    assert_eq!(options, [single("WH-BHIWANDI", 7, 0)]);
    assert!(harness.logs().is_empty());
}

#[test]
fn bulk_order_sample() {
    let (harness, input) = sample(include_str!("../../samples/jiomart-bulk-order.json"));
    let result = harness.price::<Jiomart>(&input.cart).unwrap();
    assert_eq!(
        adjustments(result),
        [
            bulk(
                0,
                1_000,
                "BULK-STAPLES-10",
                "Bulk saver: 10% off for 25+ units of staples"
            ),
            bulk(
                1,
                1_000,
                "BULK-STAPLES-10",
                "Bulk saver: 10% off for 25+ units of staples"
            ),
            bulk(
                2,
                300,
                "BULK-HOUSEHOLD-3",
                "Bulk saver: 3% off for 6+ units of household"
            ),
        ]
    );

    let priced = PricedCart::unadjusted(input.cart);
    assert_eq!(
        harness.validate::<Jiomart>(&priced).unwrap(),
        [Violation::line(
            0,
            "QTY-CAP",
            "At most 50 units of Basmati Rice 5 kg per order"
        )]
    );

    let options = harness
        .fulfill::<Jiomart>(&priced, &input.nodes, &input.defaults)
        .unwrap();
    assert_eq!(
        options,
        [DeliveryOption {
            code: "split".into(),
            method: "standard".into(),
            assignments: assign(&[(0, "ST-THANE"), (1, "WH-NASHIK"), (2, "ST-THANE")]),
            cost: Money::inr(2_900),
            eta_minutes: 2_880,
            label: "Standard delivery, split into 2 shipments".into(),
        }]
    );
    assert_eq!(
        harness.logs()[0].message,
        "no single node stocks the whole order; splitting into 2 shipments"
    );
}

#[test]
fn a_combo_pack_is_expanded_into_its_parts() {
    let combo = line("COMBO-STAPLES", 2, 99_900)
        .category("staples")
        .attribute("bundle", "RICE-BASMATI-5KG:1, ATTA-WHOLEWHEAT-10KG:2");
    let cart = CartBuilder::inr()
        .line(line("DETERGENT-2KG", 1, 38_900))
        .line(combo)
        .build();
    let ops = Harness::new().transform_cart::<Jiomart>(&cart).unwrap();
    assert_eq!(
        ops,
        [CartOperation::Expand {
            line: 1,
            parts: vec![
                BundlePart::new("RICE-BASMATI-5KG", 1),
                BundlePart::new("ATTA-WHOLEWHEAT-10KG", 2)
            ],
            code: "COMBO".into(),
            message: "COMBO-STAPLES at its combo price".into(),
        }]
    );
}

#[test]
fn a_malformed_bundle_is_a_plugin_error_and_plain_lines_are_left_alone() {
    let broken = line("COMBO-X", 1, 10_000).attribute("bundle", "RICE-BASMATI-5KG");
    let cart = CartBuilder::inr().line(broken).build();
    let err = Harness::new().transform_cart::<Jiomart>(&cart).unwrap_err();
    assert_eq!(err.code, "invalid-bundle");
    let plain = CartBuilder::inr()
        .line(line("RICE-BASMATI-5KG", 1, 64_900))
        .build();
    assert_eq!(
        Harness::new().transform_cart::<Jiomart>(&plain).unwrap(),
        []
    );
}

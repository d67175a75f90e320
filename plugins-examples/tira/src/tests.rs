use mandi_sdk::testing::{CartBuilder, Harness, LineExt, line};
use serde_json::json;

use super::*;

/// A one-line beauty cart worth `paise`.
fn cart(paise: i64) -> CartBuilder {
    CartBuilder::inr().line(line("SERUM", 1, paise).category("beauty"))
}

/// Loyalty tiers and percent coupons both take a share off the order.
fn percent_off(code: &str, bps: u32, message: &str) -> Adjustment {
    Adjustment::order(
        AdjustmentKind::PercentOff(Percent::from_bps(bps)),
        code,
        message,
    )
}

fn amount_coupon(code: &str, paise: i64, message: &str) -> Adjustment {
    Adjustment::order(AdjustmentKind::AmountOff(Money::inr(paise)), code, message)
}

fn sample_item() -> FreeItem {
    FreeItem {
        sku: "TIRA-MINI-LIPBALM".into(),
        quantity: 1,
        code: "FREE-SAMPLE".into(),
        message: "A free sample with orders of INR 1500.00 or more".into(),
    }
}

fn price(harness: &Harness, cart: CartBuilder) -> PricingResult {
    harness.price::<Tira>(&cart.build()).unwrap()
}

fn only(adjustments: Vec<Adjustment>) -> PricingResult {
    PricingResult {
        adjustments,
        free_items: Vec::new(),
    }
}

// ---- loyalty ----

#[test]
fn each_segment_gets_its_tier_case_insensitively() {
    let harness = Harness::new();
    assert_eq!(
        price(&harness, cart(10_000).segment("silver")),
        only(vec![percent_off(
            "LOYALTY-SILVER",
            500,
            "Silver member: 5% off"
        )])
    );
    assert_eq!(
        price(&harness, cart(10_000).segment("GOLD")),
        only(vec![percent_off(
            "LOYALTY-GOLD",
            1_000,
            "Gold member: 10% off"
        )])
    );
    assert_eq!(
        price(&harness, cart(10_000).segment("platinum")),
        only(vec![percent_off(
            "LOYALTY-PLATINUM",
            1_500,
            "Platinum member: 15% off"
        )])
    );
    assert_eq!(
        price(&harness, cart(10_000).segment("bronze")),
        PricingResult::default()
    );
    assert_eq!(price(&harness, cart(10_000)), PricingResult::default());
}

// ---- coupons ----

#[test]
fn a_percent_coupon_matches_case_insensitively() {
    let result = price(&Harness::new(), cart(10_000).coupon("glow15"));
    assert_eq!(
        result,
        only(vec![percent_off(
            "GLOW15",
            1_500,
            "GLOW15: 15% off your order"
        )])
    );
}

#[test]
fn an_amount_coupon_takes_its_amount_off() {
    let result = price(&Harness::new(), cart(120_000).coupon("TIRA200"));
    assert_eq!(
        result,
        only(vec![amount_coupon(
            "TIRA200",
            20_000,
            "TIRA200: INR 200.00 off your order"
        )])
    );
}

#[test]
fn unknown_coupons_are_ignored() {
    let result = price(&Harness::new(), cart(120_000).coupon("FREEFORALL"));
    assert_eq!(result, PricingResult::default());
}

#[test]
fn of_several_coupons_the_most_valuable_applies() {
    let harness = Harness::new();
    // 15% of INR 1000 is 150: the flat 200 is worth more.
    let small = price(&harness, cart(100_000).coupon("GLOW15").coupon("tira200"));
    assert_eq!(
        small,
        only(vec![amount_coupon(
            "TIRA200",
            20_000,
            "TIRA200: INR 200.00 off your order"
        )])
    );
    // 15% of INR 1400 is 210: now the percentage wins.
    let large = price(&harness, cart(140_000).coupon("GLOW15").coupon("tira200"));
    assert_eq!(
        large.adjustments,
        [percent_off("GLOW15", 1_500, "GLOW15: 15% off your order")]
    );
}

#[test]
fn an_amount_coupon_never_exceeds_the_order() {
    let harness = Harness::new().config(json!({
        "max_discount_bps": 10_000,
        "coupons": { "BIG": { "amount_off_paise": 50_000 } }
    }));
    let result = price(&harness, cart(30_000).coupon("big"));
    assert_eq!(
        result,
        only(vec![amount_coupon(
            "BIG",
            30_000,
            "BIG: INR 500.00 off your order"
        )])
    );
}

// ---- the discount cap ----

#[test]
fn loyalty_plus_coupon_over_the_cap_shrinks_the_coupon_to_exactly_the_cap() {
    // INR 1000.05: gold 10% = 100.005 -> 10_001 paise (half away from zero), the 20% cap =
    // 20_001, so the coupon may take 10_000 (it wanted 15% = 15_001).
    let harness = Harness::new();
    let result = price(&harness, cart(100_005).segment("gold").coupon("GLOW15"));
    assert_eq!(
        result,
        only(vec![
            percent_off("LOYALTY-GOLD", 1_000, "Gold member: 10% off"),
            amount_coupon(
                "GLOW15",
                10_000,
                "GLOW15: INR 100.00 off (total discount capped at 20%)"
            ),
        ])
    );
    assert_eq!(
        harness.logs()[0].message,
        "discount cap 20%: coupon GLOW15 reduced from INR 150.01 to INR 100.00"
    );
    let total = Percent::from_percent(10).of(&Money::inr(100_005)).amount + 10_000;
    assert_eq!(
        total,
        Percent::from_percent(20).of(&Money::inr(100_005)).amount
    );
}

#[test]
fn exactly_at_the_cap_the_coupon_is_untouched() {
    let harness = Harness::new();
    let result = price(&harness, cart(100_000).segment("silver").coupon("GLOW15"));
    assert_eq!(
        result,
        only(vec![
            percent_off("LOYALTY-SILVER", 500, "Silver member: 5% off"),
            percent_off("GLOW15", 1_500, "GLOW15: 15% off your order"),
        ])
    );
    assert!(harness.logs().is_empty());
}

#[test]
fn an_amount_coupon_is_capped_too() {
    // Platinum 15% of INR 1000 = 150, cap 200: the flat 200 coupon may only add 50.
    let result = price(
        &Harness::new(),
        cart(100_000).segment("platinum").coupon("TIRA200"),
    );
    assert_eq!(
        result.adjustments[1],
        amount_coupon(
            "TIRA200",
            5_000,
            "TIRA200: INR 50.00 off (total discount capped at 20%)"
        )
    );
}

#[test]
fn when_loyalty_fills_the_cap_the_coupon_is_dropped() {
    let harness = Harness::new().config(json!({
        "loyalty_bps": { "gold": 2_000 },
        "max_discount_bps": 2_000
    }));
    let result = price(&harness, cart(100_000).segment("gold").coupon("GLOW15"));
    assert_eq!(
        result,
        only(vec![percent_off(
            "LOYALTY-GOLD",
            2_000,
            "Gold member: 20% off"
        )])
    );
    assert_eq!(
        harness.logs()[0].message,
        "discount cap 20%: coupon GLOW15 not applied, loyalty already reaches it"
    );
}

// ---- free sample ----

#[test]
fn the_free_sample_starts_at_exactly_the_threshold() {
    let harness = Harness::new();
    assert_eq!(
        price(&harness, cart(150_000)),
        PricingResult {
            adjustments: Vec::new(),
            free_items: vec![sample_item()],
        }
    );
    assert_eq!(price(&harness, cart(149_999)), PricingResult::default());
}

#[test]
fn the_sample_threshold_is_on_the_subtotal_across_lines() {
    let two_lines = CartBuilder::inr()
        .line(line("KAJAL", 2, 25_000))
        .line(line("SERUM", 1, 100_000));
    assert_eq!(
        price(&Harness::new(), two_lines).free_items,
        [sample_item()]
    );
}

#[test]
fn the_sample_is_configurable_and_can_be_turned_off() {
    let other = Harness::new().config(json!({
        "free_sample": { "sku": "MINI-MASCARA", "min_subtotal_paise": 50_000 }
    }));
    assert_eq!(
        price(&other, cart(50_000)).free_items,
        [FreeItem {
            sku: "MINI-MASCARA".into(),
            quantity: 1,
            code: "FREE-SAMPLE".into(),
            message: "A free sample with orders of INR 500.00 or more".into(),
        }]
    );
    let off = Harness::new().config(json!({ "free_sample": null }));
    assert_eq!(price(&off, cart(500_000)), PricingResult::default());
}

// ---- config ----

#[test]
fn bad_config_is_invalid_config() {
    for config in [
        json!({ "max_discount": 2_000 }),
        json!({ "max_discount_bps": 10_001 }),
        json!({ "loyalty_bps": { "gold": 2_500 } }),
        json!({ "coupons": { "HALF": { "percent_off_bps": 10_001 } } }),
        json!({ "coupons": { "HALF": { "percent": 50 } } }),
        json!({ "coupons": { "": { "amount_off_paise": 100 } } }),
        json!({ "free_sample": { "sku": " ", "min_subtotal_paise": 1 } }),
        json!({ "free_sample": { "sku": "X" } }),
    ] {
        let harness = Harness::new().config(&config);
        let err = harness.price::<Tira>(&cart(10_000).build()).unwrap_err();
        assert_eq!(err.code, "invalid-config", "{config}");
    }
}

// ---- the deployment config and the sample inputs ----

fn sample(json: &str) -> (Harness, Cart) {
    let input: mandi_sdk::RunInput = serde_json::from_str(json).expect("sample parses");
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../config.json")).expect("config.json parses");
    let mut harness = Harness::new().config(config);
    if let Some(ctx) = input.context {
        harness = harness.context(ctx);
    }
    (harness, input.cart)
}

#[test]
fn deployment_config_spells_out_the_defaults() {
    let deployed: Config = serde_json::from_str(include_str!("../config.json")).unwrap();
    assert_eq!(deployed, Config::default());
}

#[test]
fn shared_sample_cart() {
    // Subtotal INR 26005.50: gold 10% = 260_055, cap 20% = 520_110, GLOW15 wanted 390_083.
    let (harness, cart) = sample(include_str!("../../samples/cart.json"));
    assert_eq!(
        harness.price::<Tira>(&cart).unwrap(),
        PricingResult {
            adjustments: vec![
                percent_off("LOYALTY-GOLD", 1_000, "Gold member: 10% off"),
                amount_coupon(
                    "GLOW15",
                    260_055,
                    "GLOW15: INR 2600.55 off (total discount capped at 20%)"
                ),
            ],
            free_items: vec![sample_item()],
        }
    );
    assert_eq!(
        harness.logs()[0].message,
        "discount cap 20%: coupon GLOW15 reduced from INR 3900.83 to INR 2600.55"
    );
}

#[test]
fn small_order_sample() {
    // INR 1448: silver 5% = 7_240 plus the flat 20_000 stays under the 28_960 cap; no sample.
    let (harness, cart) = sample(include_str!("../../samples/tira-small-order.json"));
    assert_eq!(
        harness.price::<Tira>(&cart).unwrap(),
        only(vec![
            percent_off("LOYALTY-SILVER", 500, "Silver member: 5% off"),
            amount_coupon("TIRA200", 20_000, "TIRA200: INR 200.00 off your order"),
        ])
    );
    assert!(harness.logs().is_empty());
}

fn methods() -> Vec<PaymentMethod> {
    use mandi_sdk::testing::payment_method;
    vec![
        payment_method("upi", "UPI", "upi"),
        payment_method("cod", "Cash on delivery", "cash-on-delivery"),
        payment_method("cod-card", "Card on delivery", "cash-on-delivery"),
    ]
}

#[test]
fn cash_on_delivery_is_hidden_only_above_the_limit() {
    let harness = Harness::new();
    let at_limit = harness.customize_payment::<Tira>(&cart(500_000).priced(), &methods());
    assert_eq!(at_limit.unwrap(), []);
    let over = harness.customize_payment::<Tira>(&cart(500_001).priced(), &methods());
    assert_eq!(
        over.unwrap(),
        [
            PaymentOperation::hide("cod"),
            PaymentOperation::hide("cod-card")
        ]
    );
    assert_eq!(harness.logs()[0].message, "cash on delivery hidden");
}

#[test]
fn the_cash_on_delivery_limit_is_configurable_and_can_be_turned_off() {
    let lower = Harness::new().config(json!({ "cod_limit_paise": 100_000 }));
    let hidden = lower.customize_payment::<Tira>(&cart(100_001).priced(), &methods());
    assert_eq!(hidden.unwrap().len(), 2);
    let off = Harness::new().config(json!({ "cod_limit_paise": null }));
    let shown = off.customize_payment::<Tira>(&cart(10_000_000).priced(), &methods());
    assert_eq!(shown.unwrap(), []);
}

// ---- gift sets ----

fn glow_set(sets: u32) -> CartOperation {
    CartOperation::Merge {
        parts: vec![
            BundlePart::new("SERUM-VITC-30ML", 1),
            BundlePart::new("SUNSCREEN-SPF50-50ML", 1),
        ],
        bundle_sku: "TIRA-GLOW-SET".into(),
        quantity: sets,
        code: "GIFT-SET".into(),
        message: "TIRA-GLOW-SET at its set price".into(),
    }
}

#[test]
fn every_item_of_a_gift_set_makes_as_many_sets_as_the_scarcest_allows() {
    let cart = CartBuilder::inr()
        .line(line("LIPSTICK-MATTE-RUBY", 1, 79_900))
        .line(line("SERUM-VITC-30ML", 3, 64_900))
        .line(line("SUNSCREEN-SPF50-50ML", 2, 54_900))
        .build();
    let ops = Harness::new().transform_cart::<Tira>(&cart).unwrap();
    assert_eq!(ops, [glow_set(2)]);
}

#[test]
fn a_set_missing_an_item_is_not_made_and_sets_share_no_unit() {
    let serum_only = CartBuilder::inr()
        .line(line("SERUM-VITC-30ML", 2, 64_900))
        .build();
    assert_eq!(
        Harness::new().transform_cart::<Tira>(&serum_only).unwrap(),
        []
    );

    // Two sets want the one serum: the first (by SKU) takes it.
    let config = json!({ "gift_sets": {
        "SET-A": { "SERUM-VITC-30ML": 1, "SUNSCREEN-SPF50-50ML": 1 },
        "SET-B": { "SERUM-VITC-30ML": 1 },
    }});
    let cart = CartBuilder::inr()
        .line(line("SERUM-VITC-30ML", 1, 64_900))
        .line(line("SUNSCREEN-SPF50-50ML", 1, 54_900))
        .build();
    let ops = Harness::new()
        .config(&config)
        .transform_cart::<Tira>(&cart)
        .unwrap();
    assert_eq!(ops.len(), 1);
    assert!(
        matches!(&ops[0], CartOperation::Merge { bundle_sku, quantity: 1, .. } if bundle_sku == "SET-A")
    );
}

#[test]
fn an_empty_gift_set_is_refused_as_config() {
    let config = json!({ "gift_sets": { "SET-A": {} } });
    let err = Harness::new()
        .config(&config)
        .transform_cart::<Tira>(&CartBuilder::inr().build())
        .unwrap_err();
    assert_eq!(err.code, "invalid-config");
}

// ---- config schema ----

#[test]
fn the_declared_config_schema_takes_the_deployed_config_and_names_a_wrong_field() {
    use mandi_sdk::testing::check_config;
    let deployed: serde_json::Value = serde_json::from_str(include_str!("../config.json")).unwrap();
    check_config::<Config>(&deployed).expect("config.json fits the schema");

    let wrong = check_config::<Config>(&json!({ "cod_limit_paise": "lots" })).unwrap_err();
    assert_eq!(wrong[0].path, "/cod_limit_paise");
    let nested = json!({ "gift_sets": { "SET-A": { "SERUM-VITC-30ML": -1 } } });
    let wrong = check_config::<Config>(&nested).unwrap_err();
    assert_eq!(wrong[0].path, "/gift_sets/SET-A/SERUM-VITC-30ML");
    // An unknown key is the object's fault: the path is the config itself.
    let unknown = check_config::<Config>(&json!({ "cod_limit": 1 })).unwrap_err();
    assert_eq!(unknown[0].path, "");
    assert!(unknown[0].message.contains("cod_limit"), "{unknown:?}");
}

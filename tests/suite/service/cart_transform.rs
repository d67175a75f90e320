//! The cart-transform hook through the API: jiomart's combo pack is expanded into its parts
//! before pricing, keeping the combo's price, and tira's gift set is merged from its items;
//! the order ships what the quote priced.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::TestService;
use super::orders::order;

fn combo_request(combos: u32) -> Value {
    json!({
        "lines": [
            { "sku": "DETERGENT-2KG", "quantity": 1 },
            { "sku": "COMBO-STAPLES", "quantity": combos },
        ],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "subdivision": "IN-MH", "country": "IN" },
    })
}

fn lines(quote: &Value) -> Vec<(&str, i64, i64, i64)> {
    (quote["lines"].as_array().expect("lines").iter())
        .map(|l| {
            let n = |field: &str| l[field].as_i64().expect("number");
            (
                l["sku"].as_str().expect("sku"),
                n("quantity"),
                n("subtotal"),
                n("total"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_combo_is_expanded_into_its_parts_at_the_combo_price() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let quote = svc.post("/v1/quotes", &key, combo_request(2)).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    // 2 combos at 999.00 = 1,998.00; their parts at catalog prices: 2 x 649.00 + 2 x 425.00 =
    // 2,148.00, so the combo takes 150.00 off them, shared 90.64 / 59.36.
    assert_eq!(
        lines(&quote.body),
        [
            ("DETERGENT-2KG", 1, 38_900, 38_900),
            ("RICE-BASMATI-5KG", 2, 129_800, 129_800 - 9_064),
            ("ATTA-WHOLEWHEAT-10KG", 2, 85_000, 85_000 - 5_936),
        ]
    );
    assert_eq!(quote.body["totals"]["total"], 38_900 + 199_800);
    let expanded = &quote.body["transforms"][0];
    assert_eq!(
        (&expanded["op"], &expanded["bundle_sku"], &expanded["lines"]),
        (&json!("expand"), &json!("COMBO-STAPLES"), &json!([1, 2]))
    );
    assert_eq!(
        expanded["source"]["plugin"],
        quote.body["trace"][0]["source"]["plugin"]
    );
    let combo: Vec<(&Value, &Value)> = (quote.body["adjustments"].as_array().expect("adjustments"))
        .iter()
        .filter(|a| a["code"] == "COMBO")
        .map(|a| (&a["amount"], &a["source"]["deployment_id"]))
        .collect();
    assert_eq!(combo.len(), 2, "{}", quote.body["adjustments"]);
    assert_eq!(combo[0].0, 9_064);
    let outcomes: Vec<&Value> = (quote.body["trace"].as_array().expect("trace"))
        .iter()
        .map(|t| &t["outcome"])
        .take(2)
        .collect();
    assert_eq!(outcomes, [&json!("ok"), &json!("ok")]);

    // The order ships the parts, from stock of the parts.
    let placed = order(&svc, &key, "combo", &combo_request(2)).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(
        placed.body["totals"]["total"],
        quote.body["totals"]["total"]
    );
    assert_eq!(
        placed.body["delivery"]["assignments"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn the_items_of_a_gift_set_are_merged_into_the_set_at_its_price() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let request = json!({
        "lines": [
            { "sku": "SERUM-VITC-30ML", "quantity": 1 },
            { "sku": "SUNSCREEN-SPF50-50ML", "quantity": 1 },
        ],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    });
    let quote = svc.post("/v1/quotes", &key, request.clone()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    // 649.00 + 549.00 of items become one set at its catalog price, 999.00.
    assert_eq!(lines(&quote.body), [("TIRA-GLOW-SET", 1, 99_900, 99_900)]);
    assert_eq!(quote.body["totals"]["total"], 99_900);
    let merged = &quote.body["transforms"][0];
    assert_eq!(
        (
            &merged["op"],
            &merged["bundle_sku"],
            &merged["code"],
            &merged["lines"]
        ),
        (
            &json!("merge"),
            &json!("TIRA-GLOW-SET"),
            &json!("GIFT-SET"),
            &json!([0])
        )
    );
    assert_eq!(quote.body["trace"][0]["hook"], "cart-transform");

    // The order ships the set, from stock of the set.
    let placed = order(&svc, &key, "set", &request).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(placed.body["totals"]["total"], 99_900);
    let shipped: Vec<&Value> = (placed.body["delivery"]["assignments"].as_array())
        .expect("assignments")
        .iter()
        .map(|a| &a["line"])
        .collect();
    assert_eq!(shipped, [&json!(0)]);
}

//! Payment methods through the API: a tenant configures them, the payment hook decides which a
//! checkout offers, and an order must pay with one offered. Also a 0.1.0 component and a 0.2.0
//! one serving one tenant side by side.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::orders::order;
use super::{TestService, sample_payment_methods, sample_request, small_request};

fn offered(quote: &Value) -> Vec<&str> {
    quote["payment_methods"]
        .as_array()
        .expect("payment methods")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect()
}

fn with_payment(mut request: Value, method: &str) -> Value {
    request["payment_method"] = json!(method);
    request
}

#[tokio::test]
async fn tira_hides_cash_on_delivery_above_its_limit_and_an_order_cannot_use_it() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    svc.seed_payment_methods(&key).await;
    let stored = svc.get("/v1/payment-methods", &key).await;
    assert_eq!(stored.body["payment_methods"], sample_payment_methods());

    // Rs 1,298: every method, in the tenant's order.
    let small = svc.post("/v1/quotes", &key, small_request()).await;
    assert_eq!(small.status, StatusCode::OK, "{small:?}");
    assert_eq!(small.body["totals"]["total"], 129_800);
    assert_eq!(offered(&small.body), ["upi", "card", "cod"]);

    // Over Rs 5,000: no cash on delivery, and the trace shows who decided.
    let big = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(big.status, StatusCode::OK, "{big:?}");
    assert!(big.body["totals"]["total"].as_i64().expect("total") > 500_000);
    assert_eq!(offered(&big.body), ["upi", "card"]);
    let payment = &big.body["trace"][4];
    assert_eq!(
        (&payment["hook"], &payment["outcome"]),
        (&json!("payment"), &json!("ok"))
    );

    let refused = order(&svc, &key, "cod", &with_payment(sample_request(), "cod")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.code(), "payment-method-unavailable");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`cod` is not offered")),
        "{refused:?}"
    );
    let unnamed = order(&svc, &key, "none", &sample_request()).await;
    assert_eq!(unnamed.code(), "payment-method-required", "{unnamed:?}");
    assert_eq!(
        unnamed.body["error"]["details"]["offered"],
        json!(["upi", "card"])
    );
    let unknown = order(&svc, &key, "gold", &with_payment(sample_request(), "gold")).await;
    assert_eq!(unknown.code(), "payment-method-unavailable", "{unknown:?}");
    assert_eq!(
        svc.get("/v1/orders", &key).await.body,
        json!([]),
        "nothing written"
    );

    let placed = order(&svc, &key, "upi", &with_payment(sample_request(), "upi")).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(placed.body["payment_method"]["id"], "upi");
    let cod = order(
        &svc,
        &key,
        "small-cod",
        &with_payment(small_request(), "cod"),
    )
    .await;
    assert_eq!(cod.status, StatusCode::CREATED, "{cod:?}");
    assert_eq!(cod.body["payment_method"]["name"], "Cash on delivery");
}

#[tokio::test]
async fn payment_methods_are_checked_and_replaced_as_a_whole() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    let put = |methods: Value| {
        svc.put(
            "/v1/payment-methods",
            &key,
            json!({ "payment_methods": methods }),
        )
    };
    let twice = put(json!([
        { "id": "upi", "name": "UPI", "kind": "upi" },
        { "id": "upi", "name": "UPI again", "kind": "upi" },
    ]))
    .await;
    assert_eq!(twice.code(), "duplicate-id", "{twice:?}");
    let unnamed = put(json!([{ "id": "upi", "name": " ", "kind": "upi" }])).await;
    assert_eq!(unnamed.code(), "invalid-payment-method", "{unnamed:?}");
    let bad_id = put(json!([{ "id": "u/pi", "name": "UPI", "kind": "upi" }])).await;
    assert_eq!(bad_id.code(), "invalid-id", "{bad_id:?}");
    assert_eq!(
        svc.get("/v1/payment-methods", &key).await.body,
        json!({ "payment_methods": [] }),
        "refusals change nothing"
    );

    assert_eq!(put(sample_payment_methods()).await.status, StatusCode::OK);
    assert_eq!(
        put(json!([{ "id": "card", "name": "Card", "kind": "card" }]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        svc.get("/v1/payment-methods", &key).await.body["payment_methods"],
        json!([{ "id": "card", "name": "Card", "kind": "card" }])
    );
}

#[tokio::test]
async fn a_0_1_0_component_and_a_0_2_0_component_serve_one_tenant() {
    let svc = TestService::start().await;
    let key = svc.tenant("mixed").await;
    svc.seed_catalog(&key).await;
    svc.seed_payment_methods(&key).await;
    let fixture = mandi_tests::repo_root().join("tests/fixtures/contract-0.1.0/jiomart.wasm");
    let old = svc
        .upload_bytes("mixed", std::fs::read(fixture).expect("fixture"))
        .await;
    let new = svc.upload("mixed", "tira").await;
    let plugins = svc.get("/admin/tenants/mixed/plugins", super::ADMIN).await;
    let contract_of = |digest: &str| {
        plugins
            .body
            .as_array()
            .expect("plugins")
            .iter()
            .find(|p| p["digest"] == digest)
            .map(|p| p["contract"].clone())
    };
    assert_eq!(contract_of(&old), Some(json!("mandi:commerce@0.1.0")));
    assert_eq!(contract_of(&new), Some(json!("mandi:commerce@0.2.0")));
    let jiomart = json!({ "config": super::example_config("jiomart") });
    for hook in ["pricing", "validation", "fulfillment"] {
        svc.deploy("mixed", hook, &old, jiomart.clone()).await;
    }
    svc.deploy(
        "mixed",
        "payment",
        &new,
        json!({ "config": super::example_config("tira") }),
    )
    .await;

    let quote = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    let codes: Vec<&str> = quote.body["adjustments"]
        .as_array()
        .expect("adjustments")
        .iter()
        .map(|a| a["code"].as_str().expect("code"))
        .collect();
    assert_eq!(
        codes,
        ["BULK-STAPLES-5", "BULK-STAPLES-10", "BULK-HOUSEHOLD-6"]
    );
    assert_eq!(quote.body["delivery_options"][0]["code"], "single");
    assert_eq!(offered(&quote.body), ["upi", "card"]);
    let outcomes: Vec<&str> = quote.body["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|t| t["outcome"].as_str().expect("outcome"))
        .collect();
    assert_eq!(outcomes, ["default", "ok", "ok", "ok", "ok"]);
}

#[tokio::test]
async fn netmeds_takes_prescription_orders_prepaid_only() {
    let svc = TestService::start().await;
    let key = svc.brand("netmeds").await;
    svc.seed_payment_methods(&key).await;
    let mut rx = json!({
        "lines": [{ "sku": "AMOXICILLIN-500", "quantity": 1 }],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "country": "IN" },
        "attributes": { "prescription-id": "RX-1" },
    });
    let quote = svc.post("/v1/quotes", &key, rx.clone()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    assert_eq!(offered(&quote.body), ["upi", "card"]);
    // An over-the-counter product the pharmacies stock.
    let vitamin = json!({ "sku": "VITAMIN-C-500", "title": "Vitamin C 500 mg", "price_minor": 9_900,
                          "currency": "INR", "category": "otc" });
    let put = svc.put("/v1/products/VITAMIN-C-500", &key, vitamin).await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    rx["lines"] = json!([{ "sku": "VITAMIN-C-500", "quantity": 1 }]);
    let otc = svc.post("/v1/quotes", &key, rx).await;
    assert_eq!(otc.status, StatusCode::OK, "{otc:?}");
    assert_eq!(offered(&otc.body), ["upi", "card", "cod"]);
}

//! One cart, three brands: each tenant's quote is what its own plugins say.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{TestService, sample_request};

fn adjustment_codes(quote: &Value) -> Vec<&str> {
    quote["adjustments"]
        .as_array()
        .expect("adjustments")
        .iter()
        .map(|a| a["code"].as_str().expect("code"))
        .collect()
}

#[tokio::test]
async fn the_same_cart_is_quoted_by_each_tenants_own_plugins() {
    let svc = TestService::start().await;
    let jiomart = svc.brand("jiomart").await;
    let netmeds = svc.brand("netmeds").await;
    let tira = svc.brand("tira").await;
    let plain = svc.tenant("plain").await;
    svc.seed_catalog(&plain).await;
    let request = sample_request();

    // No plugins: catalog prices, the platform's default delivery.
    let quote = svc.post("/v1/quotes", &plain, request.clone()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    assert_eq!(quote.body["totals"]["subtotal"], 2_600_550);
    assert_eq!(quote.body["totals"]["total"], 2_600_550);
    assert_eq!(quote.body["adjustments"], json!([]));
    assert_eq!(quote.body["delivery_options"][0]["code"], "standard");
    let outcomes: Vec<&Value> = quote.body["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|t| &t["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("default"); 5]);

    // jiomart: bulk discounts on staples and household, its own delivery.
    let quote = svc.post("/v1/quotes", &jiomart, request.clone()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    assert_eq!(quote.body["totals"]["subtotal"], 2_600_550);
    assert_eq!(quote.body["totals"]["total"], 2_427_352);
    assert!(!adjustment_codes(&quote.body).is_empty());
    let deployments = svc.get("/v1/deployments", &jiomart).await.body;
    let pricing = deployments
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["hook"] == "pricing")
        .expect("pricing deployment");
    for adjustment in quote.body["adjustments"].as_array().expect("adjustments") {
        assert_eq!(adjustment["source"]["deployment_id"], pricing["id"]);
        assert_eq!(adjustment["source"]["plugin"], pricing["plugin_digest"]);
    }
    assert_eq!(quote.body["violations"], json!([]));
    assert_ne!(quote.body["delivery_options"][0]["code"], "standard");

    // tira: loyalty, coupon and the max-discount guard, plus a free sample line.
    let quote = svc.post("/v1/quotes", &tira, request.clone()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    assert_eq!(quote.body["totals"]["subtotal"], 2_600_550);
    assert_eq!(quote.body["totals"]["total"], 2_080_440);
    let lines = quote.body["lines"].as_array().expect("lines");
    let sample = lines.last().expect("a line");
    assert_eq!(
        (sample["sku"].as_str(), sample["total"].as_i64()),
        (Some("TIRA-MINI-LIPBALM"), Some(0))
    );

    // netmeds: no single pharmacy can ship this mixed cart; its fulfillment plugin refuses it.
    let refused = svc.post("/v1/quotes", &netmeds, request).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.code(), "plugin-rejected");
    assert_eq!(
        refused.body["error"]["details"]["failure"]["code"],
        "no-pharmacy"
    );
    assert_eq!(refused.body["error"]["details"]["hook"], "fulfillment");
}

#[tokio::test]
async fn the_client_cannot_set_prices() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    svc.seed_catalog(&key).await;
    let reply = svc
        .post(
            "/v1/quotes",
            &key,
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1, "unit_price": 1 }] }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.code(), "invalid-body");
    let reply = svc
        .post(
            "/v1/quotes",
            &key,
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(reply.body["lines"][0]["unit_price"], 64_900);
}

#[tokio::test]
async fn a_cart_no_node_can_ship_gets_no_default_delivery_option() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    svc.seed_catalog(&key).await;
    let reply = svc
        .post(
            "/v1/quotes",
            &key,
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 9000 }] }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["delivery_options"], json!([]));
    let order = svc
        .request(
            axum::http::Request::post("/v1/orders")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "k1")
                .body(axum::body::Body::from(
                    json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 9000 }] })
                        .to_string(),
                ))
                .expect("request"),
        )
        .await;
    assert_eq!(order.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(order.code(), "not-fulfillable");
}

//! Orders: one per idempotency key, stock reserved, an event written, all or nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::{Reply, TestService, sample_request, small_request};

pub async fn order(svc: &TestService, key: &str, idempotency_key: &str, body: &Value) -> Reply {
    svc.request(
        Request::post("/v1/orders")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key)
            .body(Body::from(body.to_string()))
            .expect("request"),
    )
    .await
}

async fn stock(svc: &TestService, key: &str, node: &str, sku: &str) -> i64 {
    let node = svc.get(&format!("/v1/nodes/{node}"), key).await;
    node.body["stock"][sku].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn one_idempotency_key_places_one_order() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let body = small_request();
    let quote = svc.post("/v1/quotes", &key, body.clone()).await;
    let node = quote.body["delivery_options"][0]["assignments"][0]["node_id"]
        .as_str()
        .expect("a node")
        .to_owned();
    let before = stock(&svc, &key, &node, "RICE-BASMATI-5KG").await;

    let first = order(&svc, &key, "order-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.body["status"], "placed");
    let id = first.body["id"].as_str().expect("id").to_owned();
    // Goods at jiomart's price plus its delivery fee.
    let totals = &first.body["totals"];
    assert_eq!(
        totals["total"],
        totals["subtotal"].as_i64().unwrap() - totals["discount"].as_i64().unwrap()
            + totals["delivery"].as_i64().unwrap()
    );
    // The chosen option, its cost in minor units like the totals, as the quote offered it.
    assert_eq!(first.body["delivery"], quote.body["delivery_options"][0]);
    assert_eq!(first.body["delivery"]["cost"], totals["delivery"]);
    assert_eq!(first.body["idempotency_key"], "order-1");

    let again = order(&svc, &key, "order-1", &body).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], id.as_str());

    let mut different = body.clone();
    different["lines"][0]["quantity"] = json!(3);
    let conflict = order(&svc, &key, "order-1", &different).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.code(), "idempotency-key-reused");

    let orders = svc.get("/v1/orders", &key).await;
    assert_eq!(orders.body.as_array().map(Vec::len), Some(1));
    assert_eq!(
        svc.get(&format!("/v1/orders/{id}"), &key).await.body["id"],
        id.as_str()
    );
    assert_eq!(
        stock(&svc, &key, &node, "RICE-BASMATI-5KG").await,
        before - 2
    );
}

#[tokio::test]
async fn concurrent_duplicates_of_one_order_place_it_once() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let body = small_request();
    let replies =
        futures_util::future::join_all((0..8).map(|_| order(&svc, &key, "same-key", &body))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{replies:?}");
    let ids: std::collections::HashSet<&str> = replies
        .iter()
        .map(|r| r.body["id"].as_str().expect("an order"))
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        svc.get("/v1/orders", &key)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn an_order_needs_an_idempotency_key_and_a_clean_cart() {
    let svc = TestService::start().await;
    let key = svc.brand("netmeds").await;
    let missing = svc.post("/v1/orders", &key, small_request()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.code(), "missing-idempotency-key");

    // Prescription medicine without a prescription: netmeds' validation blocks the order.
    let rx = json!({
        "lines": [{ "sku": "AMOXICILLIN-500", "quantity": 1 }],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    });
    let blocked = order(&svc, &key, "rx-1", &rx).await;
    assert_eq!(
        blocked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{blocked:?}"
    );
    assert_eq!(blocked.code(), "order-blocked");
    assert_eq!(
        blocked.body["error"]["details"]["violations"][0]["code"],
        "RX-REQUIRED"
    );
    // Nothing was written.
    assert_eq!(svc.get("/v1/orders", &key).await.body, json!([]));

    let mut with_rx = rx.clone();
    with_rx["attributes"] = json!({ "prescription-id": "RX-2026-0042" });
    let placed = order(&svc, &key, "rx-2", &with_rx).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
}

#[tokio::test]
async fn an_order_that_would_oversell_writes_nothing() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    svc.seed_catalog(&key).await;
    // Only WH-BHIWANDI has 50 in one place (PH-BANDRA 30, PH-POWAI 12).
    let body = json!({
        "lines": [{ "sku": "AMOXICILLIN-500", "quantity": 50 }],
        "shipping_address": { "pincode": "400050", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    });
    assert_eq!(
        order(&svc, &key, "a", &body).await.status,
        StatusCode::CREATED
    );
    assert_eq!(stock(&svc, &key, "WH-BHIWANDI", "AMOXICILLIN-500").await, 0);
    // No node has 50 left: the same order again cannot be fulfilled.
    let second = order(&svc, &key, "b", &body).await;
    assert_eq!(
        second.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{second:?}"
    );
    assert_eq!(second.code(), "not-fulfillable");
    assert_eq!(
        svc.get("/v1/orders", &key)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// "Why was this order priced this way" is one call: the order names, hook by hook, the
/// deployment, plugin digest and deployment version (its config) that decided.
#[tokio::test]
async fn an_order_says_which_deployment_and_config_made_each_decision() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let placed = order(&svc, &key, "audit-1", &sample_request()).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    let id = placed.body["id"].as_str().expect("id").to_owned();
    let stored = svc.get(&format!("/v1/orders/{id}"), &key).await.body;
    let live = svc.get("/v1/deployments", &key).await.body;
    let deployment_of = |hook: &str| {
        (live.as_array().expect("deployments").iter())
            .find(|d| d["hook"] == hook)
            .unwrap_or_else(|| panic!("a {hook} deployment"))
            .clone()
    };
    let decisions = stored["decisions"].as_array().expect("decisions");
    let hooks: Vec<&Value> = decisions.iter().map(|d| &d["hook"]).collect();
    assert_eq!(
        hooks,
        [
            "cart-transform",
            "pricing",
            "validation",
            "fulfillment",
            "payment"
        ]
    );
    for decision in &decisions[..4] {
        let deployment = deployment_of(decision["hook"].as_str().expect("hook"));
        assert_eq!(decision["outcome"], "ok", "{decision}");
        assert_eq!(decision["source"]["deployment_id"], deployment["id"]);
        assert_eq!(decision["source"]["plugin"], deployment["plugin_digest"]);
        assert_eq!(decision["source"]["version"], 1);
        let digest = decision["input_digest"].as_str().expect("input digest");
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
    }
    // jiomart has no payment hook: the platform's default decided.
    assert_eq!(
        (&decisions[4]["outcome"], &decisions[4]["source"]),
        (&json!("default"), &Value::Null)
    );
    let pricing = deployment_of("pricing");
    for adjustment in stored["adjustments"].as_array().expect("adjustments") {
        assert_eq!(adjustment["source"]["deployment_id"], pricing["id"]);
        assert_eq!(adjustment["source"]["version"], 1);
    }

    // A new pricing config is version 2, and the next order says so.
    let digest = pricing["plugin_digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let mut config = mandi_tests::samples::example_config("jiomart");
    config["max_units_per_line"] = json!(500);
    svc.deploy("jiomart", "pricing", &digest, json!({ "config": config }))
        .await;
    let again = order(&svc, &key, "audit-2", &sample_request()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
    let pricing_decision = &again.body["decisions"][1];
    assert_eq!(pricing_decision["hook"], "pricing");
    assert_eq!(pricing_decision["source"]["version"], 2);
    assert_ne!(pricing_decision["source"]["deployment_id"], pricing["id"]);
    assert_eq!(again.body["decisions"][2]["source"]["version"], 1);
}

//! Authentication and tenant isolation: a tenant's key reaches only its own data, on every
//! endpoint; admin endpoints need the admin token.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::orders::order;
use super::{ADMIN, TestService, eventually, small_request};

/// Event kinds a stream delivers within `wait`, replaying from the start.
pub async fn streamed_events(svc: &TestService, key: &str, wait: Duration) -> Vec<Value> {
    let response = tower::ServiceExt::oneshot(
        svc.router.clone(),
        Request::get("/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("last-event-id", "0")
            .body(Body::empty())
            .expect("request"),
    )
    .await
    .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("event json"))
        .collect()
}

#[tokio::test]
async fn a_tenant_key_never_reaches_another_tenants_data() {
    let svc = TestService::start().await;
    let a = svc.brand("jiomart").await;
    let b = svc.tenant("other").await;
    let placed = order(&svc, &a, "a-1", &small_request()).await;
    assert_eq!(placed.status, StatusCode::CREATED);
    let order_id = placed.body["id"].as_str().expect("id").to_owned();
    eventually(|| async {
        !svc.get("/v1/runs", &a)
            .await
            .body
            .as_array()
            .expect("runs")
            .is_empty()
    })
    .await;
    let run_id = svc.get("/v1/runs", &a).await.body[0]["id"]
        .as_i64()
        .expect("run id");
    let a_product = svc.get("/v1/products/RICE-BASMATI-5KG", &a).await.body;
    let a_node = svc.get("/v1/nodes/WH-BHIWANDI", &a).await.body;

    // Reads: B sees none of A's rows, by id or in lists.
    assert_eq!(svc.get("/v1/tenant", &b).await.body["id"], "other");
    for path in [
        "/v1/products/RICE-BASMATI-5KG".to_owned(),
        "/v1/nodes/WH-BHIWANDI".to_owned(),
        format!("/v1/orders/{order_id}"),
        format!("/v1/runs/{run_id}"),
    ] {
        let reply = svc.get(&path, &b).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {reply:?}");
    }
    for path in [
        "/v1/products",
        "/v1/nodes",
        "/v1/orders",
        "/v1/runs",
        "/v1/deployments",
    ] {
        let reply = svc.get(path, &b).await;
        assert_eq!(
            (reply.status, &reply.body),
            (StatusCode::OK, &json!([])),
            "{path}"
        );
    }
    let events = streamed_events(&svc, &b, Duration::from_millis(300)).await;
    assert!(events.is_empty(), "B saw events: {events:?}");
    assert!(
        !streamed_events(&svc, &a, Duration::from_millis(300))
            .await
            .is_empty()
    );

    // Checkout: A's catalog does not exist for B.
    let quote = svc.post("/v1/quotes", &b, small_request()).await;
    assert_eq!(
        (quote.status, quote.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-sku")
    );
    let o = order(&svc, &b, "a-1", &small_request()).await;
    assert_eq!(
        (o.status, o.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-sku")
    );

    // Writes with A's ids land in B's own catalog; A's rows are untouched.
    let product = json!({ "sku": "RICE-BASMATI-5KG", "title": "B's rice", "price_minor": 1, "currency": "INR" });
    assert_eq!(
        svc.call(
            Method::PUT,
            "/v1/products/RICE-BASMATI-5KG",
            Some(&b),
            Some(product.clone())
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        svc.post("/v1/products", &b, json!({ "products": [product] }))
            .await
            .status,
        StatusCode::OK
    );
    let node = json!({ "id": "WH-BHIWANDI", "kind": "store", "pincode": "110001", "stock": { "RICE-BASMATI-5KG": 1 } });
    assert_eq!(
        svc.call(
            Method::PUT,
            "/v1/nodes/WH-BHIWANDI",
            Some(&b),
            Some(node.clone())
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        svc.post("/v1/nodes", &b, json!({ "nodes": [node] }))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        svc.get("/v1/products/RICE-BASMATI-5KG", &a).await.body,
        a_product
    );
    assert_eq!(svc.get("/v1/nodes/WH-BHIWANDI", &a).await.body, a_node);
    assert_eq!(
        svc.get("/v1/orders", &a)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Admin endpoints refuse tenant keys.
    let digest = svc.get("/v1/deployments", &a).await.body[0]["plugin_digest"].clone();
    for (method, path, body) in [
        (Method::GET, "/admin/tenants", None),
        (
            Method::POST,
            "/admin/tenants",
            Some(json!({ "id": "x1", "name": "x", "currency": "INR" })),
        ),
        (Method::POST, "/admin/tenants/jiomart/api-keys", None),
        (Method::GET, "/admin/tenants/jiomart/plugins", None),
        (Method::POST, "/admin/tenants/jiomart/plugins", None),
        (Method::GET, "/admin/tenants/jiomart/deployments", None),
        (
            Method::POST,
            "/admin/tenants/jiomart/deployments",
            Some(json!({ "hook": "pricing", "plugin": digest })),
        ),
        (
            Method::POST,
            "/admin/tenants/jiomart/deployments/pricing/rollback",
            None,
        ),
    ] {
        for key in [&a, &b] {
            let reply = svc
                .call(method.clone(), path, Some(key), body.clone())
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    let no_key = svc.call(Method::GET, "/v1/products", None, None).await;
    assert_eq!(
        (no_key.status, no_key.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let garbage = svc.get("/v1/products", "not-a-key").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    // The right key id with a wrong secret.
    let mut forged = key.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        svc.get("/v1/products", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(svc.get("/v1/products", &key).await.status, StatusCode::OK);
    // Admin: wrong token refused; unknown tenant is a clear 404.
    assert_eq!(
        svc.get("/admin/tenants", "wrong-admin-token-000")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = svc.get("/admin/tenants/nobody/plugins", ADMIN).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::NOT_FOUND, "unknown-tenant")
    );
    // A second key works alongside the first.
    let second = svc
        .post("/admin/tenants/shop/api-keys", ADMIN, json!({}))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let second = second.body["api_key"].as_str().expect("key");
    assert_eq!(svc.get("/v1/tenant", second).await.body["id"], "shop");
}

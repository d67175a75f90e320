//! Bad input gets a 4xx with a stable code, and writes nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use super::{ADMIN, TestService};

async fn raw(
    svc: &TestService,
    path: &str,
    key: &str,
    content_type: &str,
    body: Vec<u8>,
) -> super::Reply {
    svc.request(
        Request::post(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn malformed_or_invalid_carts_get_stable_codes() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    svc.seed_catalog(&key).await;
    let line = |sku: &str, quantity: serde_json::Value| json!({ "lines": [{ "sku": sku, "quantity": quantity }] });
    let cases = [
        (
            line("RICE-BASMATI-5KG", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-quantity",
        ),
        (
            line("RICE-BASMATI-5KG", json!(-3)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-quantity",
        ),
        (
            line("RICE-BASMATI-5KG", json!(10_001)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-quantity",
        ),
        (
            line("RICE-BASMATI-5KG", json!(1e30)),
            StatusCode::BAD_REQUEST,
            "invalid-body",
        ),
        (
            line("RICE-BASMATI-5KG", json!("two")),
            StatusCode::BAD_REQUEST,
            "invalid-body",
        ),
        (
            line("NO-SUCH-SKU", json!(1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-sku",
        ),
        (
            json!({ "lines": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty-cart",
        ),
        (
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1 }, { "sku": "RICE-BASMATI-5KG", "quantity": 1 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate-sku",
        ),
        (
            json!({ "items": [] }),
            StatusCode::BAD_REQUEST,
            "invalid-body",
        ),
    ];
    for (body, status, code) in cases {
        let reply = svc.post("/v1/quotes", &key, body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{body}: {reply:?}"
        );
        assert!(
            !reply.body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
    }
    let unknown = svc
        .post("/v1/quotes", &key, line("NO-SUCH-SKU", json!(1)))
        .await;
    assert_eq!(
        unknown.body["error"]["details"]["skus"],
        json!(["NO-SUCH-SKU"])
    );

    let malformed = raw(
        &svc,
        "/v1/quotes",
        &key,
        "application/json",
        b"{\"lines\": [".to_vec(),
    )
    .await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (StatusCode::BAD_REQUEST, "malformed-json")
    );
    let not_json = raw(&svc, "/v1/quotes", &key, "text/plain", b"{}".to_vec()).await;
    assert_eq!(
        (not_json.status, not_json.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
    );
    let huge = raw(
        &svc,
        "/v1/quotes",
        &key,
        "application/json",
        vec![b' '; 2 << 20],
    )
    .await;
    assert_eq!(
        (huge.status, huge.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    let nowhere = svc.get("/v1/nowhere", &key).await;
    assert_eq!(
        (nowhere.status, nowhere.code()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let wrong_method = svc
        .call(Method::DELETE, "/v1/products", Some(&key), None)
        .await;
    assert_eq!(
        (wrong_method.status, wrong_method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    let bad_query = svc.get("/v1/runs?limit=lots", &key).await;
    assert_eq!(
        (bad_query.status, bad_query.code()),
        (StatusCode::BAD_REQUEST, "invalid-query")
    );
    let bad_path = svc.get("/v1/runs/abc", &key).await;
    assert_eq!(
        (bad_path.status, bad_path.code()),
        (StatusCode::BAD_REQUEST, "invalid-path")
    );
}

#[tokio::test]
async fn a_bulk_import_with_one_bad_item_writes_none() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    let products = json!({ "products": [
        { "sku": "A-1", "title": "Good", "price_minor": 100, "currency": "INR" },
        { "sku": "A-2", "title": "Wrong currency", "price_minor": 100, "currency": "USD" },
    ]});
    let reply = svc.post("/v1/products", &key, products).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "currency-mismatch")
    );
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("products[1]")
    );
    assert_eq!(svc.get("/v1/products", &key).await.body, json!([]));
    for (product, code) in [
        (
            json!({ "sku": "A 1", "title": "Space", "price_minor": 1, "currency": "INR" }),
            "invalid-id",
        ),
        (
            json!({ "sku": "A-1", "title": "Negative", "price_minor": -1, "currency": "INR" }),
            "invalid-price",
        ),
        (
            json!({ "sku": "A-1", "title": "", "price_minor": 1, "currency": "INR" }),
            "invalid-title",
        ),
    ] {
        let reply = svc
            .post("/v1/products", &key, json!({ "products": [product] }))
            .await;
        assert_eq!(reply.code(), code);
    }
    let negative_stock = svc
        .post("/v1/nodes", &key, json!({ "nodes": [{ "id": "N1", "kind": "store", "pincode": "400001", "stock": { "A-1": -5 } }] }))
        .await;
    assert_eq!(
        (negative_stock.status, negative_stock.code()),
        (StatusCode::BAD_REQUEST, "invalid-body")
    );
    assert_eq!(svc.get("/v1/nodes", &key).await.body, json!([]));
}

#[tokio::test]
async fn bad_uploads_and_deployments_are_refused_clearly() {
    let svc = TestService::start().await;
    svc.tenant("shop").await;
    let path = "/admin/tenants/shop/plugins";
    let not_wasm = raw(&svc, path, ADMIN, "application/wasm", b"hello".to_vec()).await;
    assert_eq!(
        (not_wasm.status, not_wasm.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not-a-component")
    );
    let core_module = raw(
        &svc,
        path,
        ADMIN,
        "application/wasm",
        wat::parse_str("(module)").expect("wat"),
    )
    .await;
    assert_eq!(
        (core_module.status, core_module.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not-a-component")
    );
    let wrong_type = raw(
        &svc,
        path,
        ADMIN,
        "application/octet-stream",
        mandi_tests::plugin_bytes("tira"),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let oversize = raw(&svc, path, ADMIN, "application/wasm", vec![0; 40 << 20]).await;
    assert_eq!(
        oversize.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{oversize:?}"
    );
    assert_eq!(svc.get(path, ADMIN).await.body, json!([]));

    let digest = svc.upload("shop", "tira").await;
    let deploy = |body: serde_json::Value| svc.post("/admin/tenants/shop/deployments", ADMIN, body);
    for (body, status, code) in [
        (
            json!({ "hook": "shipping", "plugin": digest }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-hook",
        ),
        (
            json!({ "hook": "validation", "plugin": digest }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "hook-not-exported",
        ),
        (
            json!({ "hook": "pricing", "plugin": "sha256:00" }),
            StatusCode::NOT_FOUND,
            "unknown-plugin",
        ),
        (
            json!({ "hook": "pricing", "plugin": digest, "failure_policy": "sometimes" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-failure-policy",
        ),
        (
            json!({ "hook": "pricing", "plugin": digest, "limits": { "deadline_ms": 0 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-limits",
        ),
        (
            json!({ "hook": "pricing", "plugin": digest, "limits": { "deadline_ms": 60000 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-limits",
        ),
        (
            json!({ "hook": "pricing", "plugin": digest, "limits": { "speed": 1 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-limits",
        ),
        (
            json!({ "hook": "pricing", "plugin": digest, "config": [1, 2] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-config",
        ),
    ] {
        let reply = deploy(body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{body}: {reply:?}"
        );
    }
    assert_eq!(
        svc.get("/admin/tenants/shop/deployments", ADMIN).await.body,
        json!([])
    );

    let tenant = |body| svc.post("/admin/tenants", ADMIN, body);
    assert_eq!(
        tenant(json!({ "id": "Bad Id", "name": "x", "currency": "INR" }))
            .await
            .code(),
        "invalid-tenant-id"
    );
    assert_eq!(
        tenant(json!({ "id": "ok", "name": "x", "currency": "rupees" }))
            .await
            .code(),
        "invalid-currency"
    );
    let duplicate = tenant(json!({ "id": "shop", "name": "again", "currency": "INR" })).await;
    assert_eq!(
        (duplicate.status, duplicate.code()),
        (StatusCode::CONFLICT, "already-exists")
    );
}

/// PostgreSQL cannot store U+0000 in text: every way one can arrive (a JSON string, a path
/// segment, a query parameter) is refused at the edge with one code, on both backends, and
/// nothing is written.
#[tokio::test]
async fn a_nul_character_anywhere_is_refused_and_writes_nothing() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let products_before = svc.get("/v1/products", &key).await.body;
    let nodes_before = svc.get("/v1/nodes", &key).await.body;
    let tenants_before = svc.get("/admin/tenants", ADMIN).await.body;
    let product = json!({ "sku": "RICE-BASMATI-5KG", "title": "Rice\u{0}", "price_minor": 1, "currency": "INR" });
    let node = json!({ "id": "N-NUL", "kind": "store", "pincode": "4000\u{0}01" });
    let bodies = [
        (
            Method::POST,
            "/v1/quotes",
            json!({ "lines": [{ "sku": "RICE\u{0}", "quantity": 1 }] }),
        ),
        (
            Method::POST,
            "/v1/quotes",
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1 }], "shipping_address": { "pincode": "40\u{0}" } }),
        ),
        (
            Method::POST,
            "/v1/quotes",
            json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1 }], "attributes": { "k\u{0}": "v" } }),
        ),
        (
            Method::POST,
            "/v1/products",
            json!({ "products": [product] }),
        ),
        (
            Method::PUT,
            "/v1/products/RICE-BASMATI-5KG",
            product.clone(),
        ),
        (Method::POST, "/v1/nodes", json!({ "nodes": [node] })),
        (Method::PUT, "/v1/nodes/N-NUL", node.clone()),
        (
            Method::POST,
            "/admin/tenants",
            json!({ "id": "nul", "name": "N\u{0}", "currency": "INR" }),
        ),
        (
            Method::POST,
            "/admin/tenants",
            json!({ "id": "nul", "name": "N", "currency": "INR", "time_zone": "Asia/Kolkata\u{0}" }),
        ),
        (
            Method::POST,
            "/admin/tenants/jiomart/deployments",
            json!({ "hook": "pricing\u{0}", "plugin": "sha256:00" }),
        ),
    ];
    for (method, path, body) in bodies {
        let caller = if path.starts_with("/admin") {
            ADMIN
        } else {
            &key
        };
        let reply = svc
            .call(method.clone(), path, Some(caller), Some(body.clone()))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid-character"),
            "{method} {path} {body}: {reply:?}"
        );
    }
    let order = super::orders::order(
        &svc,
        &key,
        "nul-order",
        &json!({ "lines": [{ "sku": "RICE-BASMATI-5KG\u{0}", "quantity": 1 }] }),
    )
    .await;
    assert_eq!(order.code(), "invalid-character", "{order:?}");
    for path in [
        "/v1/products/RICE%00",
        "/v1/products?after=A%00",
        "/v1/nodes/N%001",
        "/v1/orders/ord_x%00y",
        "/v1/orders?before=ord_%00",
        "/v1/runs?hook=pricing%00",
        "/v1/runs?outcome=ok%00",
        "/v1/runs?deployment_id=%00",
        "/v1/runs?request_id=r%00",
        "/v1/runs/1%00",
    ] {
        let reply = svc.get(path, &key).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid-character"),
            "GET {path}: {reply:?}"
        );
    }
    for path in [
        "/admin/tenants/x%00y/plugins",
        "/admin/tenants/x%00y/deployments",
        "/admin/tenants/jiomart/deployments?hook=pricing%00",
    ] {
        let reply = svc.get(path, ADMIN).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid-character"),
            "GET {path}: {reply:?}"
        );
    }
    // Text that merely spells an escape is ordinary text.
    let mut spelled = super::small_request();
    spelled["attributes"] = json!({ "note": "\\u0000" });
    let spelled = svc.post("/v1/quotes", &key, spelled).await;
    assert_eq!(spelled.status, StatusCode::OK, "{spelled:?}");
    assert_eq!(svc.get("/v1/products", &key).await.body, products_before);
    assert_eq!(svc.get("/v1/nodes", &key).await.body, nodes_before);
    assert_eq!(svc.get("/admin/tenants", ADMIN).await.body, tenants_before);
    assert_eq!(svc.get("/v1/orders", &key).await.body, json!([]));
}

#[tokio::test]
async fn unknown_time_zones_and_stock_beyond_int32_are_refused() {
    let svc = TestService::start().await;
    for zone in ["Mars/Olympus", "", "Asia/Kolkata/../x", "UTC+5:30"] {
        let reply = svc
            .post(
                "/admin/tenants",
                ADMIN,
                json!({ "id": "mars", "name": "Mars", "currency": "INR", "time_zone": zone }),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-time-zone"),
            "{zone}: {reply:?}"
        );
    }
    let ok = svc
        .post(
            "/admin/tenants",
            ADMIN,
            json!({ "id": "paris", "name": "Paris", "currency": "EUR", "time_zone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    let key = ok.body["api_key"].as_str().expect("key").to_owned();

    let node = |stock: u64| json!({ "id": "N1", "kind": "store", "pincode": "75001", "stock": { "A": stock } });
    let over = svc.put("/v1/nodes/N1", &key, node(1 << 31)).await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::BAD_REQUEST, "invalid-body"),
        "{over:?}"
    );
    assert_eq!(svc.get("/v1/nodes", &key).await.body, json!([]));
    let most = svc.put("/v1/nodes/N1", &key, node((1 << 31) - 1)).await;
    assert_eq!(most.status, StatusCode::OK, "{most:?}");
    assert_eq!(
        svc.get("/v1/nodes/N1", &key).await.body["stock"]["A"],
        (1u64 << 31) - 1
    );
}

#[tokio::test]
async fn the_authorization_scheme_is_case_insensitive() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let reply = svc
            .request(
                Request::get("/v1/tenant")
                    .header("authorization", format!("{scheme} {key}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {reply:?}");
        let admin = svc
            .request(
                Request::get("/admin/tenants")
                    .header("authorization", format!("{scheme} {ADMIN}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(admin.status, StatusCode::OK, "{scheme}: {admin:?}");
    }
    for header in [format!("Basic {key}"), format!("Bearer{key}"), key.clone()] {
        let reply = svc
            .request(
                Request::get("/v1/tenant")
                    .header("authorization", header.as_str())
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{header}"
        );
    }
}

/// Malformed JSON is `malformed-json` on every endpoint that reads JSON; JSON of the wrong
/// shape is `invalid-body`.
#[tokio::test]
async fn malformed_json_has_one_code_everywhere() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    let endpoints = [
        (Method::POST, "/admin/tenants", ADMIN.to_owned()),
        (
            Method::POST,
            "/admin/tenants/shop/deployments",
            ADMIN.to_owned(),
        ),
        (Method::POST, "/v1/products", key.clone()),
        (Method::PUT, "/v1/products/A", key.clone()),
        (Method::POST, "/v1/nodes", key.clone()),
        (Method::PUT, "/v1/nodes/N1", key.clone()),
        (Method::POST, "/v1/quotes", key.clone()),
        (Method::POST, "/v1/orders", key.clone()),
    ];
    let malformed: [&[u8]; 8] = [
        b"",
        b"{",
        b"{\"id\": ",
        b"not json",
        b"[1,]",
        b"{} trailing",
        b"{\"a\": \"\xff\"}",
        b"{\"a\": 01}",
    ];
    for (method, path, caller) in &endpoints {
        for body in malformed {
            let reply = svc
                .request(
                    Request::builder()
                        .method(method.clone())
                        .uri(*path)
                        .header("authorization", format!("Bearer {caller}"))
                        .header("content-type", "application/json")
                        .header("idempotency-key", "k-1")
                        .body(Body::from(body.to_vec()))
                        .expect("request"),
                )
                .await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::BAD_REQUEST, "malformed-json"),
                "{method} {path} {:?}: {reply:?}",
                String::from_utf8_lossy(body)
            );
        }
        for wrong_shape in [
            json!([]),
            json!("text"),
            json!(null),
            json!({ "no": "such field" }),
        ] {
            let reply = svc
                .call(
                    method.clone(),
                    path,
                    Some(caller),
                    Some(wrong_shape.clone()),
                )
                .await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::BAD_REQUEST, "invalid-body"),
                "{method} {path} {wrong_shape}: {reply:?}"
            );
        }
    }
}

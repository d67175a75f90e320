//! Hostile input at every endpoint, on the backend the suite runs on (SQLite, or PostgreSQL):
//! each field of each JSON body, each path segment and query parameter, and the headers the
//! service reads get NUL and other control characters, overlong strings, numbers out of range
//! and values of the wrong type. Every answer is a 2xx or a 4xx with a stable JSON code, never
//! a 5xx; a refused request leaves every table as it was; an accepted one stores what was sent.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::{ADMIN, Reply, TestService, small_request};

fn strings() -> Vec<Value> {
    vec![
        json!("a\u{0}b"),
        json!("\u{1}\u{8}\u{1b}[31m\u{7f}"),
        json!("\u{202e}\u{200b}\u{feff}"),
        json!("\u{1F600}é"),
        json!(""),
        json!("x".repeat(100_000)),
        json!("'; DROP TABLE orders; --"),
    ]
}

fn numbers() -> Vec<Value> {
    vec![
        json!(-1),
        json!(2_147_483_648_i64),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e308),
        json!(0.5),
    ]
}

fn wrong_types() -> Vec<Value> {
    vec![json!(null), json!(true), json!([]), json!({}), json!("1")]
}

/// Everything the tenant and the platform can read back, to check a refusal changed nothing.
async fn snapshot(svc: &TestService, key: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for (path, caller) in [
        ("/admin/tenants", ADMIN),
        ("/admin/tenants/shop/plugins", ADMIN),
        ("/admin/tenants/shop/deployments", ADMIN),
        ("/v1/products?limit=1000", key),
        ("/v1/nodes", key),
        ("/v1/payment-methods", key),
        ("/v1/orders?limit=200", key),
    ] {
        let reply = svc.get(path, caller).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {reply:?}");
        all.push(reply.body);
    }
    all
}

/// `body` with the value at JSON pointer `at` replaced by `value`.
fn with(body: &Value, at: &str, value: &Value) -> Value {
    let mut body = body.clone();
    *body.pointer_mut(at).expect("the pointer names a field") = value.clone();
    body
}

/// Every pointer to a leaf (and to each array or object) of `body`.
fn pointers(body: &Value, prefix: String, out: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn check_answer(reply: &Reply, what: &str, value: &Value) {
    assert!(
        reply.status.is_success() || reply.status.is_client_error(),
        "{what}: {reply:?}"
    );
    if reply.status.is_client_error() {
        assert!(!reply.code().is_empty(), "{what}: no code in {reply:?}");
    }
    if value.as_str().is_some_and(|s| s.contains('\u{0}')) {
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid-character"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn hostile_input_at_every_endpoint_is_refused_cleanly_or_stored_faithfully() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    // The tenant the admin endpoints act on (its plugin gives deployments something to name).
    let shop = svc.tenant("shop").await;
    let digest = svc.upload("shop", "tira").await;
    let product = json!({ "sku": "HOSTILE-1", "title": "Rice", "price_minor": 100, "currency": "INR",
                          "category": "staples", "brand": "b", "tags": ["t"], "attributes": { "k": "v" } });
    let node = json!({ "id": "HN1", "kind": "store", "pincode": "400001", "tags": ["t"],
                       "stock": { "RICE-BASMATI-5KG": 5 } });
    let mut cart = small_request();
    cart["customer"] = json!({ "id": "c1", "segment": "gold", "tags": ["vip"] });
    cart["coupon_codes"] = json!(["SAVE10"]);
    cart["attributes"] = json!({ "note": "n" });
    cart["shipping_address"]["subdivision"] = json!("IN-MH");
    let bodies: Vec<(Method, String, String, Value)> = vec![
        (
            Method::POST,
            "/admin/tenants".into(),
            ADMIN.into(),
            json!({ "id": "hostile", "name": "H", "currency": "INR", "time_zone": "Asia/Kolkata", "utc_offset_minutes": 330 }),
        ),
        (
            Method::POST,
            "/admin/tenants/shop/deployments".into(),
            ADMIN.into(),
            json!({ "hook": "pricing", "plugin": digest, "config": { "k": "v" }, "failure_policy": "fail-open",
                 "limits": { "deadline_ms": 100, "max_fuel": 1000000 } }),
        ),
        (
            Method::POST,
            "/v1/products".into(),
            key.clone(),
            json!({ "products": [product] }),
        ),
        (
            Method::PUT,
            "/v1/products/HOSTILE-1".into(),
            key.clone(),
            product.clone(),
        ),
        (
            Method::POST,
            "/v1/nodes".into(),
            key.clone(),
            json!({ "nodes": [node] }),
        ),
        (
            Method::PUT,
            "/v1/nodes/HN1".into(),
            key.clone(),
            node.clone(),
        ),
        (Method::POST, "/v1/quotes".into(), key.clone(), cart.clone()),
        (Method::POST, "/v1/orders".into(), key.clone(), cart.clone()),
        // Last: once the tenant has payment methods, its orders must name one.
        (
            Method::PUT,
            "/v1/payment-methods".into(),
            key.clone(),
            json!({ "payment_methods": [{ "id": "upi", "name": "UPI", "kind": "upi" }] }),
        ),
    ];
    let mut requests = 0;
    let mut refused = 0;
    for (method, path, caller, base) in &bodies {
        let mut at = Vec::new();
        pointers(base, String::new(), &mut at);
        for pointer in at {
            let original = base.pointer(&pointer).expect("pointer").clone();
            let values: Vec<Value> = match original {
                Value::String(_) => strings().into_iter().chain(wrong_types()).collect(),
                Value::Number(_) => numbers().into_iter().chain(wrong_types()).collect(),
                _ => wrong_types(),
            };
            for value in values {
                let body = with(base, &pointer, &value);
                let before = snapshot(&svc, &key).await;
                let reply = svc
                    .request(
                        Request::builder()
                            .method(method.clone())
                            .uri(path.as_str())
                            .header("authorization", format!("Bearer {caller}"))
                            .header("content-type", "application/json")
                            .header("idempotency-key", format!("hostile-{requests}"))
                            .body(Body::from(body.to_string()))
                            .expect("request"),
                    )
                    .await;
                requests += 1;
                let what = format!("{method} {path} {pointer} = {}", short(&value));
                check_answer(&reply, &what, &value);
                if reply.status.is_client_error() {
                    refused += 1;
                    assert_eq!(snapshot(&svc, &key).await, before, "{what} changed data");
                } else {
                    stored_as_sent(&svc, &key, path, &body).await;
                }
            }
        }
    }
    // Path segments and query parameters.
    let segments = [
        "%00",
        "%01%1B",
        "%E2%80%AE",
        &"x".repeat(10_000),
        "..%2F..",
        "%FF",
        "-1",
        "99999999999999999999",
    ];
    let mut gets = Vec::new();
    for s in segments {
        for template in [
            "/v1/products/{}",
            "/v1/nodes/{}",
            "/v1/orders/{}",
            "/v1/runs/{}",
            "/v1/products?after={}",
            "/v1/products?limit={}",
            "/v1/orders?before={}",
            "/v1/orders?limit={}",
            "/v1/runs?hook={}",
            "/v1/runs?outcome={}",
            "/v1/runs?deployment_id={}",
            "/v1/runs?request_id={}",
            "/v1/runs?before={}",
            "/v1/runs?limit={}",
        ] {
            gets.push((template.replace("{}", s), key.clone()));
        }
        for template in [
            "/admin/tenants/{}/plugins",
            "/admin/tenants/{}/deployments",
            "/admin/tenants/shop/deployments?hook={}",
        ] {
            gets.push((template.replace("{}", s), ADMIN.to_owned()));
        }
        gets.push((
            format!("/admin/tenants/shop/deployments/{s}/rollback"),
            ADMIN.to_owned(),
        ));
    }
    let before = snapshot(&svc, &key).await;
    for (path, caller) in &gets {
        let method = if path.ends_with("/rollback") {
            Method::POST
        } else {
            Method::GET
        };
        let reply = svc.call(method, path, Some(caller), None).await;
        requests += 1;
        let what = format!("{} {}", path.len(), &path[..path.len().min(80)]);
        check_answer(&reply, &what, &json!(null));
        if path.contains("%00") {
            assert_eq!(reply.code(), "invalid-character", "{what}");
        }
    }
    assert_eq!(snapshot(&svc, &key).await, before, "reading changed data");
    // Headers the service reads.
    for value in ["a\tb", "x".repeat(300).as_str(), "k y", "ключ"] {
        let reply = svc
            .request(
                Request::post("/v1/orders")
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "application/json")
                    .header("idempotency-key", value.as_bytes())
                    .body(Body::from(small_request().to_string()))
                    .expect("request"),
            )
            .await;
        requests += 1;
        check_answer(
            &reply,
            &format!("Idempotency-Key {}", value.len()),
            &json!(null),
        );
    }
    for value in ["-1", "abc", "99999999999999999999", "1.5", ""] {
        // Only the status: an accepted stream does not end.
        let response = tower::ServiceExt::oneshot(
            svc.router.clone(),
            Request::get("/v1/events")
                .header("authorization", format!("Bearer {key}"))
                .header("last-event-id", value)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
        requests += 1;
        let status = response.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "Last-Event-ID {value}: {status}"
        );
    }
    for value in [
        "Bearer \t",
        "Bearer ",
        "Bearer mk_x_y",
        "Bearer mk_%00_y",
        "Bearer a b c",
    ] {
        let reply = svc
            .request(
                Request::get("/v1/tenant")
                    .header("authorization", value.as_bytes())
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        requests += 1;
        assert_eq!(reply.code(), "unauthorized", "{value}: {reply:?}");
    }
    let _ = shop;
    println!(
        "hostile input: {requests} requests, {refused} body variants refused with a 4xx, 0 server errors"
    );
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 60 {
        format!("{}... ({} bytes)", &text[..40], text.len())
    } else {
        text
    }
}

/// After a 2xx upsert, the catalog holds exactly what was sent.
async fn stored_as_sent(svc: &TestService, key: &str, path: &str, body: &Value) {
    let (collection, sent) = match path {
        "/v1/products/HOSTILE-1" => ("products", body.clone()),
        "/v1/products" => ("products", body["products"][0].clone()),
        "/v1/nodes/HN1" => ("nodes", body.clone()),
        "/v1/nodes" => ("nodes", body["nodes"][0].clone()),
        "/v1/payment-methods" => {
            let read = svc.get(path, key).await.body;
            assert_eq!(read, *body, "{path}: stored is not what was sent");
            return;
        }
        _ => return,
    };
    if !sent.is_object() {
        return; // an empty import (the list replaced): nothing to read back
    }
    let id = sent["sku"].as_str().or(sent["id"].as_str()).expect("an id");
    let read = svc
        .get(&format!("/v1/{collection}/{}", encoded(id)), key)
        .await
        .body;
    assert_eq!(read, sent, "{path}: stored is not what was sent");
}

/// `text` as one path segment.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

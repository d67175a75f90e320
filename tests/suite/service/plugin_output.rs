//! A plugin's output is untrusted all the way to the order: what it asks for is refused as
//! its hook's `invalid-output` when applying it would break the cart's limits or its money,
//! and its words are bounded and said once.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::orders::order;
use super::{Reply, TestService, sample_request};

/// Tenant `tenant` with the sample catalog, whose pricing hook runs the hostile plugin's
/// `attack`, fail-closed; returns its key.
async fn attacked(svc: &TestService, tenant: &str, attack: &str) -> String {
    let key = svc.tenant(tenant).await;
    svc.seed_catalog(&key).await;
    let digest = svc.upload(tenant, "hostile").await;
    svc.deploy(
        tenant,
        "pricing",
        &digest,
        json!({ "config": { "attack": attack }, "failure_policy": "fail-closed" }),
    )
    .await;
    key
}

fn failure_kind(reply: &Reply) -> &str {
    reply.body["error"]["details"]["failure"]["kind"]
        .as_str()
        .unwrap_or("")
}

async fn orders_of(svc: &TestService, key: &str) -> Vec<Value> {
    let list = svc.get("/v1/orders", key).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body.as_array().cloned().expect("a list of orders")
}

#[tokio::test]
async fn price_overrides_that_overflow_are_invalid_output_and_place_no_order() {
    let svc = TestService::start().await;
    let key = attacked(&svc, "evil", "overflow").await;
    let quote = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(quote.status, StatusCode::BAD_GATEWAY, "{quote:?}");
    assert_eq!(quote.code(), "plugin-failed");
    assert_eq!(failure_kind(&quote), "invalid-output", "{quote:?}");
    assert!(
        quote.body["error"]["details"]["failure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("overflows")),
        "{quote:?}"
    );

    let placed = order(&svc, &key, "overflow-1", &sample_request()).await;
    assert_eq!(placed.status, StatusCode::BAD_GATEWAY, "{placed:?}");
    assert!(
        orders_of(&svc, &key).await.is_empty(),
        "no order is written"
    );
}

#[tokio::test]
async fn free_items_beyond_the_cart_limits_are_invalid_output() {
    let svc = TestService::start().await;
    for (attack, says) in [
        ("free-flood", "(at most 200)"),
        ("free-units", "is over 10000"),
    ] {
        let key = attacked(&svc, attack, attack).await;
        let quote = svc.post("/v1/quotes", &key, sample_request()).await;
        assert_eq!(quote.status, StatusCode::BAD_GATEWAY, "{attack}: {quote:?}");
        assert_eq!(failure_kind(&quote), "invalid-output", "{attack}");
        let message = quote.body["error"]["details"]["failure"]["message"]
            .as_str()
            .unwrap_or("");
        assert!(message.contains(says), "{attack}: {message}");
        let placed = order(&svc, &key, attack, &sample_request()).await;
        assert_eq!(
            placed.status,
            StatusCode::BAD_GATEWAY,
            "{attack}: {placed:?}"
        );
        assert!(orders_of(&svc, &key).await.is_empty(), "{attack}");
    }
}

#[tokio::test]
async fn a_plugins_error_is_bounded_and_said_once() {
    let svc = TestService::start().await;
    let key = attacked(&svc, "long", "long-error").await;
    let reply = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
    assert_eq!(reply.code(), "plugin-rejected");
    let body = reply.body.to_string();
    assert_eq!(body.matches("cut to 1024]").count(), 1, "said once: {body}");
    assert!(body.len() < 8 << 10, "{} bytes", body.len());

    let huge = attacked(&svc, "huge", "huge-error").await;
    let reply = svc.post("/v1/quotes", &huge, sample_request()).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
    assert_eq!(failure_kind(&reply), "invalid-output");
    assert!(reply.body.to_string().len() < 8 << 10);
}

#[tokio::test]
async fn run_history_shows_fuel_used_against_the_budget_of_a_failed_call() {
    let svc = TestService::start().await;
    let key = svc.tenant("spinner").await;
    svc.seed_catalog(&key).await;
    let digest = svc.upload("spinner", "hostile").await;
    let budget = 5_000_000;
    svc.deploy(
        "spinner",
        "pricing",
        &digest,
        json!({
            "config": { "attack": "loop" },
            "failure_policy": "fail-closed",
            "limits": { "max_fuel": budget },
        }),
    )
    .await;
    let quote = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(failure_kind(&quote), "fuel-exhausted", "{quote:?}");

    super::eventually(|| async {
        svc.get("/v1/runs?outcome=failed", &key)
            .await
            .body
            .as_array()
            .is_some_and(|runs| runs.len() == 1)
    })
    .await;
    let run = &svc.get("/v1/runs?outcome=failed", &key).await.body[0];
    assert_eq!(run["error_kind"], "fuel-exhausted", "{run}");
    assert_eq!(run["fuel_budget"], budget, "{run}");
    assert_eq!(run["fuel_used"], budget, "all of it was burnt: {run}");
}

#[tokio::test]
async fn a_run_keeps_a_bounded_share_of_a_flood_of_logs() {
    let svc = TestService::start().await;
    let key = svc.tenant("flood").await;
    svc.seed_catalog(&key).await;
    let digest = svc.upload("flood", "hostile").await;
    svc.deploy(
        "flood",
        "pricing",
        &digest,
        json!({
            "config": { "attack": "flood" },
            "limits": { "max_log_bytes": 1_048_576, "max_output_bytes": 300_000 },
        }),
    )
    .await;
    let quote = svc.post("/v1/quotes", &key, sample_request()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");

    super::eventually(|| async {
        svc.get("/v1/runs", &key)
            .await
            .body
            .as_array()
            .is_some_and(|runs| runs.len() == 1)
    })
    .await;
    let run = &svc.get("/v1/runs", &key).await.body[0];
    let logs = run["logs"].as_array().expect("logs");
    let text: usize = logs
        .iter()
        .map(|l| l["message"].as_str().map_or(0, str::len))
        .sum();
    // The plugin logged 1 MiB (1,024 lines of 1 KiB); the run keeps the first 64 KiB.
    assert!(!logs.is_empty() && text <= 64 << 10, "{} bytes kept", text);
    assert!(logs.len() < 1_024, "{} lines kept", logs.len());
    assert_eq!(run["logs_truncated"], true);
}

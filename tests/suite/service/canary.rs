//! Canary deployments through the API: a candidate serves a share of the checkouts, sticky per
//! customer, and the platform rolls it back when it starts failing; until then it can be
//! promoted in one call.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ADMIN, TestService};

pub fn lipsticks_for(customer: &str) -> Value {
    json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
        "customer": { "id": customer, "segment": "gold" },
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

/// The hostile plugin's panicking pricing hook, as a canary on half of tira's checkouts.
pub fn failing_canary(hostile: &str) -> Value {
    json!({ "hook": "pricing", "plugin": hostile, "config": { "attack": "panic" },
            "mode": "canary", "sample_percent": 50, "rollback_when": { "min_calls": 4 } })
}

async fn status_of(svc: &TestService, id: &str) -> Value {
    let list = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await;
    (list.body.as_array().expect("deployments").iter())
        .find(|d| d["id"] == id)
        .map(|d| d["status"].clone())
        .expect("listed")
}

#[tokio::test]
async fn a_canary_that_starts_failing_is_rolled_back_by_the_platform() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let hostile = svc.upload("tira", "hostile").await;
    let deployed = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            failing_canary(&hostile),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{deployed:?}");
    assert_eq!(deployed.body["status"], "canary");
    assert_eq!(deployed.body["sample_percent"], 50);
    assert_eq!(
        deployed.body["canary"],
        json!({ "percent": 50, "max_failure_rate_increase": 0.05, "max_p99_ratio": 3.0, "min_calls": 4 })
    );
    let canary = deployed.body["id"].as_str().expect("id").to_owned();

    // Half the customers meet the canary, and fail; the others are served as before.
    let mut failed = 0;
    for i in 0..40 {
        let quote = svc
            .post("/v1/quotes", &key, lipsticks_for(&format!("c{i}")))
            .await;
        match quote.status {
            StatusCode::OK => assert_eq!(quote.body["totals"]["total"], 143_820),
            StatusCode::BAD_GATEWAY => failed += 1,
            other => panic!("{other}: {quote:?}"),
        }
    }
    assert!(failed > 0, "no customer met the canary");

    // The platform sees the canary failing where the live version does not, and rolls it back.
    let started = Instant::now();
    while status_of(&svc, &canary).await != "canary-rolled-back" {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not rolled back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..40 {
        let quote = svc
            .post("/v1/quotes", &key, lipsticks_for(&format!("c{i}")))
            .await;
        assert_eq!(
            quote.status,
            StatusCode::OK,
            "c{i} after the rollback: {quote:?}"
        );
    }
    let events = super::auth::streamed_events(&svc, &key, Duration::from_millis(400)).await;
    let rolled_back = (events.iter())
        .find(|e| e["kind"] == "plugin.canary-rolled-back")
        .expect("plugin.canary-rolled-back");
    assert_eq!(rolled_back["payload"]["deployment"]["id"], canary.as_str());
    let reason = rolled_back["payload"]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("calls failed, against 0.0% of the live version's"),
        "{reason}"
    );
    // Promoting it now is refused: it is no longer a canary.
    let promote = svc
        .post(
            &format!("/admin/tenants/tira/rollouts/{canary}/promote"),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(promote.status, StatusCode::CONFLICT, "{promote:?}");
}

#[tokio::test]
async fn a_healthy_canary_serves_its_share_sticky_per_customer_until_promoted() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let plugins = svc.get("/admin/tenants/tira/plugins", ADMIN).await;
    let tira = plugins.body[0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let mut config = mandi_tests::samples::example_config("tira");
    config["loyalty_bps"]["gold"] = json!(1200);
    let deployed = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            json!({ "hook": "pricing", "plugin": tira, "config": config, "mode": "canary", "sample_percent": 30 }),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{deployed:?}");
    let canary = deployed.body["id"].as_str().expect("id").to_owned();
    // Each customer gets one version, every time: 10% gold (143,820) or the canary's 12%.
    let mut on_canary = 0;
    for i in 0..30 {
        let cart = lipsticks_for(&format!("c{i}"));
        let first =
            svc.post("/v1/quotes", &key, cart.clone()).await.body["totals"]["total"].clone();
        let again = svc.post("/v1/quotes", &key, cart).await.body["totals"]["total"].clone();
        assert_eq!(first, again, "c{i} moved between versions");
        assert!(first == 143_820 || first == 140_624, "{first}");
        on_canary += usize::from(first == 140_624);
    }
    assert!(
        (1..30).contains(&on_canary),
        "{on_canary} of 30 on a 30% canary"
    );
    assert_eq!(status_of(&svc, &canary).await, "canary", "healthy: kept");

    let bad = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            json!({ "hook": "pricing", "plugin": tira, "mode": "canary", "sample_percent": 100 }),
        )
        .await;
    assert_eq!(bad.code(), "invalid-sample", "{bad:?}");
    let promoted = svc
        .post(
            &format!("/admin/tenants/tira/rollouts/{canary}/promote"),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{promoted:?}");
    for i in 0..10 {
        let quote = svc
            .post("/v1/quotes", &key, lipsticks_for(&format!("c{i}")))
            .await;
        assert_eq!(quote.body["totals"]["total"], 140_624, "promoted: everyone");
    }
}

//! Shadow deployments through the API: a candidate runs beside the live version on a sample of
//! live checkouts, off the response path; what it would have changed is summarised per
//! deployment, a shadow that loops or panics never changes or holds up a live response, and
//! promoting makes it live in one call.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ADMIN, TestService, eventually_within};

/// Shadows run on the background thread, when a core is idle: patience, not a timing.
const SHADOW_PATIENCE: Duration = Duration::from_secs(30);

fn lipsticks(segment: &str) -> Value {
    json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
        "customer": { "segment": segment },
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

async fn shadow_of(svc: &TestService, id: &str) -> Value {
    let report = svc
        .get(&format!("/admin/tenants/tira/rollouts/{id}"), ADMIN)
        .await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    report.body
}

async fn deploy_shadow(svc: &TestService, plugin: &str, config: Value, limits: Value) -> String {
    let deployed = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            json!({ "hook": "pricing", "plugin": plugin, "config": config, "limits": limits,
                    "mode": "shadow", "sample_percent": 100 }),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{deployed:?}");
    assert_eq!(deployed.body["status"], "shadow");
    assert_eq!(deployed.body["sample_percent"], 100);
    deployed.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_shadow_is_compared_on_live_checkouts_never_served_and_promoted_in_one_call() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let plugins = svc.get("/admin/tenants/tira/plugins", ADMIN).await;
    let tira = plugins.body[0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let mut config = mandi_tests::samples::example_config("tira");
    config["loyalty_bps"]["gold"] = json!(1200);
    let shadow = deploy_shadow(&svc, &tira, config, json!({})).await;

    // The live version answers: gold at 10%, as before the shadow.
    let gold = svc.post("/v1/quotes", &key, lipsticks("gold")).await;
    assert_eq!(gold.body["totals"]["total"], 143_820, "{gold:?}");
    let silver = svc.post("/v1/quotes", &key, lipsticks("silver")).await;
    assert_eq!(silver.status, StatusCode::OK, "{silver:?}");
    eventually_within(SHADOW_PATIENCE, || async {
        shadow_of(&svc, &shadow).await["runs"] == 2
    })
    .await;
    let report = shadow_of(&svc, &shadow).await;
    assert_eq!(
        (
            &report["identical"],
            &report["different"],
            &report["failed"]
        ),
        (&json!(1), &json!(1), &json!(0))
    );
    // 12% of 1,598.00 instead of 10%: 31.96 less on the gold cart.
    assert_eq!(report["total_delta"], -3196);
    let example = &report["examples"][0];
    assert_eq!(example["request_id"], gold.body["request_id"]);
    assert_eq!(
        (&example["live_total"], &example["shadow_total"]),
        (&json!(143_820), &json!(140_624))
    );

    let promoted = svc
        .post(
            &format!("/admin/tenants/tira/rollouts/{shadow}/promote"),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{promoted:?}");
    assert_eq!(promoted.body["status"], "active");
    let now = svc.post("/v1/quotes", &key, lipsticks("gold")).await;
    assert_eq!(now.body["totals"]["total"], 140_624, "promoted: live now");
    let again = svc
        .post(
            &format!("/admin/tenants/tira/rollouts/{shadow}/promote"),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "already live: {again:?}"
    );
    let events = super::auth::streamed_events(&svc, &key, Duration::from_millis(400)).await;
    let kinds: Vec<&str> = (events.iter()).filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"plugin.shadow-deployed"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"plugin.promoted"), "{kinds:?}");
}

#[tokio::test]
async fn a_shadow_that_loops_or_panics_never_changes_or_holds_up_a_live_quote() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let hostile = svc.upload("tira", "hostile").await;
    let live = svc.post("/v1/quotes", &key, lipsticks("gold")).await;
    assert_eq!(live.status, StatusCode::OK, "{live:?}");

    // A shadow that spins for up to 2 s per call.
    let looping = deploy_shadow(
        &svc,
        &hostile,
        json!({ "attack": "loop" }),
        json!({ "deadline_ms": 2000, "max_fuel": 100_000_000_000u64 }),
    )
    .await;
    let started = Instant::now();
    let quote = svc.post("/v1/quotes", &key, lipsticks("gold")).await;
    let took = started.elapsed();
    assert_eq!(quote.body["totals"], live.body["totals"], "{quote:?}");
    assert!(
        took < Duration::from_millis(1500),
        "the live quote waited for its shadow: {took:?}"
    );
    eventually_within(SHADOW_PATIENCE, || async {
        shadow_of(&svc, &looping).await["failed"] == 1
    })
    .await;
    let failure = shadow_of(&svc, &looping).await["examples"][0]["failure"].clone();
    assert!(failure.to_string().contains("pricing"), "{failure}");

    // A panicking shadow replaces it (the looping one is retired).
    let panicking = deploy_shadow(&svc, &hostile, json!({ "attack": "panic" }), json!({})).await;
    let quote = svc.post("/v1/quotes", &key, lipsticks("gold")).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    assert_eq!(quote.body["totals"], live.body["totals"]);
    assert_eq!(quote.body["degraded"], false);
    eventually_within(SHADOW_PATIENCE, || async {
        shadow_of(&svc, &panicking).await["failed"] == 1
    })
    .await;
    let history = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await;
    let statuses: Vec<(&Value, &Value)> = (history.body.as_array().expect("list").iter())
        .map(|d| (&d["id"], &d["status"]))
        .collect();
    assert!(
        statuses.contains(&(&json!(looping), &json!("retired"))),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(&json!(panicking), &json!("shadow"))),
        "{statuses:?}"
    );
}

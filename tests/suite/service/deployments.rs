//! Deployments: history, rollback, and changes that take effect on the next request without a
//! restart or a dropped request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use serde_json::{Value, json};

use mandi_tests::demo;

use super::{ADMIN, LiveService, TestService, example_config};

pub fn gold_rice() -> Value {
    json!({
        "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 2 }],
        "customer": { "segment": "gold" },
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

pub fn tira_config(gold_bps: u32) -> Value {
    let mut config = example_config("tira");
    config["loyalty_bps"]["gold"] = json!(gold_bps);
    config
}

#[tokio::test]
async fn deploy_and_rollback_change_the_next_quote_and_keep_history() {
    let svc = TestService::start().await;
    let key = svc.tenant("tira").await;
    svc.seed_catalog(&key).await;
    let digest = svc.upload("tira", "tira").await;
    // Uploading the same bytes again is recognised, not duplicated.
    assert_eq!(svc.upload("tira", "tira").await, digest);
    let total = || async {
        svc.post("/v1/quotes", &key, gold_rice()).await.body["totals"]["total"].clone()
    };

    assert_eq!(total().await, 129_800, "no deployment: catalog price");
    let v1 = svc
        .deploy(
            "tira",
            "pricing",
            &digest,
            json!({ "config": tira_config(1000) }),
        )
        .await;
    assert_eq!(total().await, 116_820, "gold 10% off");
    let v2 = svc
        .deploy(
            "tira",
            "pricing",
            &digest,
            json!({ "config": tira_config(500) }),
        )
        .await;
    assert_eq!(total().await, 123_310, "gold 5% off");

    let history = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await
        .body;
    let statuses: Vec<(&Value, &Value)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|d| (&d["version"], &d["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!(2), &json!("active")),
            (&json!(1), &json!("superseded"))
        ]
    );

    let back = svc
        .post(
            "/admin/tenants/tira/deployments/pricing/rollback",
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    assert_eq!(back.body["id"], v1["id"]);
    assert_eq!(total().await, 116_820, "rolled back to v1");
    let history = svc.get("/admin/tenants/tira/deployments", ADMIN).await.body;
    let v2_now = history
        .as_array()
        .expect("history")
        .iter()
        .find(|d| d["id"] == v2["id"])
        .expect("v2");
    assert_eq!(v2_now["status"], "rolled-back");

    let nothing = svc
        .post(
            "/admin/tenants/tira/deployments/pricing/rollback",
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(
        (nothing.status, nothing.code()),
        (StatusCode::CONFLICT, "conflict")
    );
    let none = svc
        .post(
            "/admin/tenants/tira/deployments/validation/rollback",
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deploying_under_traffic_drops_no_request() {
    let live = LiveService::start(|_| {}).await;
    let (key, digest) = live
        .client(|api| {
            let key = demo::create_tenant(&api, ADMIN, "tira").expect("tenant");
            let digest = demo::upload(&api, ADMIN, "tira", &mandi_tests::plugin_bytes("tira"))
                .expect("upload");
            (key, digest)
        })
        .await;
    let done = Arc::new(AtomicBool::new(false));
    let shoppers: Vec<_> = (0..3)
        .map(|_| {
            let (api, key, done) = (live.api.clone(), key.clone(), done.clone());
            std::thread::spawn(move || {
                let mut totals = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let (status, quote) = api
                        .post("/v1/quotes", &key, &gold_rice(), &[])
                        .expect("quote");
                    assert_eq!(status, 200, "{quote}");
                    totals.push(quote["totals"]["total"].as_i64().expect("total"));
                }
                totals
            })
        })
        .collect();
    live.client(move |api| {
        for round in 0..10 {
            let bps = if round % 2 == 0 { 1000 } else { 500 };
            let body = json!({ "hook": "pricing", "plugin": digest, "config": tira_config(bps) });
            let (status, _) = api
                .post("/admin/tenants/tira/deployments", ADMIN, &body, &[])
                .expect("deploy");
            assert_eq!(status, 201);
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        let (status, _) = api
            .post(
                "/admin/tenants/tira/deployments/pricing/rollback",
                ADMIN,
                &json!({}),
                &[],
            )
            .expect("rollback");
        assert_eq!(status, 200);
    })
    .await;
    done.store(true, Ordering::Relaxed);
    // Joined off the executor: the service answering the shoppers runs on this test's runtime.
    let totals: Vec<i64> = tokio::task::spawn_blocking(move || {
        shoppers
            .into_iter()
            .flat_map(|s| s.join().expect("no failed request"))
            .collect()
    })
    .await
    .expect("joins");
    assert!(totals.len() > 10, "only {} quotes ran", totals.len());
    // Every quote saw one whole deployment: no deployment, 10% or 5% off.
    assert!(
        totals
            .iter()
            .all(|t| [129_800, 116_820, 123_310].contains(t)),
        "{totals:?}"
    );
    assert!(totals.contains(&116_820) && totals.contains(&123_310));
    live.shutdown().await;
}

/// jiomart's component with a custom section naming `tenant`: the same code under another
/// digest, as each brand's own build would be.
fn distinct_jiomart(tenant: &str) -> Vec<u8> {
    let mut bytes = mandi_tests::plugin_bytes("jiomart");
    wasm_encoder::ComponentSection::append_to_component(
        &wasm_encoder::CustomSection {
            name: "tenant".into(),
            data: tenant.as_bytes().into(),
        },
        &mut bytes,
    );
    bytes
}

/// A node with more tenants than its budget for compiled code keeps within the budget, and
/// each tenant whose hooks were dropped is served exactly as before on its next request (its
/// component mapped back from the cache directory).
#[tokio::test]
async fn tenants_beyond_the_loaded_code_budget_are_served_from_the_cache_directory() {
    const BUDGET: u64 = 16 << 20;
    let svc = TestService::start_with(|config| config.max_loaded_code_bytes = BUDGET).await;
    let mut keys = Vec::new();
    let mut code_bytes = 0;
    for i in 0..30 {
        let id = format!("budget-{i:02}");
        let key = svc.tenant(&id).await;
        svc.seed_catalog(&key).await;
        let request = axum::http::Request::post(format!("/admin/tenants/{id}/plugins"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/wasm")
            .body(axum::body::Body::from(distinct_jiomart(&id)))
            .expect("request");
        let reply = svc.request(request).await;
        assert!(reply.status.is_success(), "{reply:?}");
        let digest = reply.body["digest"].as_str().expect("digest").to_owned();
        for hook in ["pricing", "validation", "fulfillment"] {
            svc.deploy(
                &id,
                hook,
                &digest,
                json!({ "config": example_config("jiomart") }),
            )
            .await;
        }
        let runtime = svc.service.state().checkout().deployments().runtime();
        code_bytes += runtime
            .loaded(&digest.parse().expect("a digest"))
            .map_or(0, |plugin| plugin.code_bytes() as u64);
        keys.push(key);
    }
    let runtime = svc.service.state().checkout().deployments().runtime();
    assert!(
        code_bytes > BUDGET,
        "the tenants' code ({code_bytes} bytes) must not fit the budget for this test to mean anything"
    );
    let request = mandi_tests::samples::sample_request();
    let mut totals = Vec::new();
    // Twice round: the second pass finds most tenants' hooks dropped by the others'.
    for _ in 0..2 {
        for key in &keys {
            let reply = svc.post("/v1/quotes", key, request.clone()).await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            assert_eq!(reply.body["degraded"], json!(false), "{reply:?}");
            totals.push(reply.body["totals"].clone());
        }
        assert!(runtime.loaded_code_bytes() <= BUDGET);
    }
    assert!(
        totals.iter().all(|t| *t == totals[0]),
        "every tenant runs the same rules on the same cart: {totals:?}"
    );
    assert!(
        totals[0]["discount"].as_i64().expect("discount") > 0,
        "jiomart's rules ran"
    );
}

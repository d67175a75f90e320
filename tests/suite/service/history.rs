//! Run history is kept per tenant whatever a plugin writes: text no backend can store is made
//! storable, and a run the database still refuses costs only itself, never the other runs or
//! tenants of its batch.

use axum::http::StatusCode;
use mandi_host::store::RunRecord;
use serde_json::{Value, json};

use super::{TestService, eventually, small_request};

async fn runs_of(svc: &TestService, key: &str) -> Vec<Value> {
    let reply = svc.get("/v1/runs?limit=500", key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body.as_array().cloned().expect("a list of runs")
}

#[tokio::test]
async fn a_plugin_writing_nul_keeps_its_own_and_other_tenants_history() {
    let svc = TestService::start().await;
    let good = svc.brand("jiomart").await;
    let evil = svc.tenant("evil").await;
    svc.seed_catalog(&evil).await;
    let digest = svc.upload("evil", "hostile").await;
    svc.deploy(
        "evil",
        "pricing",
        &digest,
        json!({ "config": { "attack": "nul-text" }, "failure_policy": "fail-open" }),
    )
    .await;

    // Interleaved, so the two tenants' runs share the writer's batches.
    const ROUNDS: usize = 15;
    for _ in 0..ROUNDS {
        let (a, b) = tokio::join!(
            svc.post("/v1/quotes", &good, small_request()),
            svc.post("/v1/quotes", &evil, small_request()),
        );
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert_eq!(b.status, StatusCode::OK, "{b:?}");
        assert_eq!(b.body["degraded"], true, "{b:?}");
    }
    // jiomart runs four hooks per quote, evil one.
    eventually(|| async { runs_of(&svc, &good).await.len() == 4 * ROUNDS }).await;
    eventually(|| async { runs_of(&svc, &evil).await.len() == ROUNDS }).await;
    for run in runs_of(&svc, &evil).await {
        assert_eq!(run["error_kind"], "plugin-error", "{run}");
        let error = run["error"].as_str().expect("error text");
        assert!(error.contains("a message with a \u{FFFD} inside"), "{run}");
        assert_eq!(run["logs"][0]["message"], "before\u{FFFD}after", "{run}");
    }
}

fn run(tenant: &str, error: &str) -> RunRecord {
    RunRecord {
        id: 0,
        tenant_id: tenant.into(),
        request_id: "req-1".into(),
        hook: "pricing".into(),
        deployment_id: "d1".into(),
        plugin_digest: "sha256:00".into(),
        outcome: "skipped".into(),
        error_kind: Some("plugin-error".into()),
        error: Some(error.into()),
        duration_us: 1,
        fuel_used: 1,
        fuel_budget: Some(1),
        peak_memory_bytes: 1,
        input_digest: "sha256:00".into(),
        logs: json!([]),
        logs_truncated: false,
        created_at: mandi_host::store::now_ms(),
    }
}

/// Below the sanitizing: a batch the database refuses is written run by run.
#[tokio::test]
async fn a_run_the_database_refuses_costs_only_itself() {
    let svc = TestService::start().await;
    svc.tenant("victim").await;
    svc.tenant("evil").await;
    let store = svc.service.state().store();
    let batch = [
        run("victim", "first"),
        run("evil", "raw \u{0} byte"),
        run("victim", "second"),
    ];
    let written = store.insert_runs(&batch, &[]).await;
    let victim = store
        .runs("victim", &Default::default())
        .await
        .expect("runs");
    let errors: Vec<_> = victim.iter().filter_map(|r| r.error.clone()).collect();
    assert_eq!(errors, ["second", "first"], "newest first");
    let evil = store.runs("evil", &Default::default()).await.expect("runs");
    if svc.database.is_postgres() {
        // PostgreSQL cannot store the NUL: only that run is lost, and it is reported.
        let lost = written.expect_err("the NUL run is refused");
        assert_eq!(lost.runs, [1]);
        assert!(evil.is_empty());
    } else {
        assert!(written.is_ok());
        assert_eq!(evil.len(), 1);
    }
}

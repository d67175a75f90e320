//! The ids a tenant sees count only its own activity: its event ids (SSE `id`,
//! `Last-Event-ID`) and run ids go 1, 2, 3, ... however busy other tenants are, so no tenant
//! can measure another's volume from them.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt as _;
use serde_json::Value;

use super::orders::order;
use super::{TestService, eventually, small_request};

/// The events a stream resuming after `last_event_id` replays: each SSE id with its data.
async fn replayed(svc: &TestService, key: &str, last_event_id: &str) -> Vec<(i64, Value)> {
    let response = tower::ServiceExt::oneshot(
        svc.router.clone(),
        Request::get("/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("last-event-id", last_event_id)
            .body(Body::empty())
            .expect("request"),
    )
    .await
    .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let mut events = Vec::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("id: ") {
            id = Some(value.parse().expect("a numeric id"));
        } else if let Some(data) = line.strip_prefix("data: ") {
            let data: Value = serde_json::from_str(data).expect("event json");
            events.push((id.take().expect("an id before the data"), data));
        }
    }
    events
}

async fn run_ids(svc: &TestService, key: &str) -> Vec<i64> {
    let runs = svc.get("/v1/runs?limit=500", key).await;
    let mut ids: Vec<i64> = (runs.body.as_array().expect("runs").iter())
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_tenants_event_and_run_ids_do_not_move_with_other_tenants_activity() {
    let svc = TestService::start().await;
    let busy = svc.brand("tira").await;
    let quiet = svc.brand("jiomart").await;
    // The busy tenant orders and quotes between each of the quiet tenant's.
    for round in 0..4 {
        for n in 0..3 {
            let placed = order(&svc, &busy, &format!("busy-{round}-{n}"), &small_request()).await;
            assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
        }
        let placed = order(&svc, &quiet, &format!("quiet-{round}"), &small_request()).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    }

    // Events: uploaded, four deployed, four orders; numbered 1..=9 with no gap.
    let events = replayed(&svc, &quiet, "0").await;
    let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (1..=9).collect::<Vec<_>>(), "{events:?}");
    assert!(events.iter().all(|(id, data)| data["seq"] == *id));
    assert!(
        events
            .iter()
            .all(|(_, data)| data["tenant_id"] == "jiomart")
    );
    // Resuming after one of them gives exactly the rest.
    let rest: Vec<i64> = (replayed(&svc, &quiet, "6").await.iter())
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(rest, [7, 8, 9]);
    let busy_ids: Vec<i64> = (replayed(&svc, &busy, "0").await.iter())
        .map(|(id, _)| *id)
        .collect();
    // Uploaded, three deployed (cart-transform, pricing, payment), twelve orders.
    assert_eq!(busy_ids, (1..=16).collect::<Vec<_>>());

    // Runs: the quiet tenant's four hooks per order (orders re-run the pipeline), 1..=16.
    eventually(|| async { run_ids(&svc, &quiet).await.len() == 16 }).await;
    assert_eq!(run_ids(&svc, &quiet).await, (1..=16).collect::<Vec<_>>());
    // The busy tenant's cart transform and pricing per order (no payment methods: no payment run).
    eventually(|| async { run_ids(&svc, &busy).await.len() == 24 }).await;
    assert_eq!(run_ids(&svc, &busy).await, (1..=24).collect::<Vec<_>>());
    // A run is found by its tenant's number, and paging goes by it.
    let run = svc.get("/v1/runs/12", &quiet).await;
    assert_eq!(run.status, StatusCode::OK, "{run:?}");
    assert_eq!(run.body["id"], 12);
    let page = svc.get("/v1/runs?before=4", &quiet).await;
    let paged: Vec<i64> = (page.body.as_array().expect("runs").iter())
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(paged, [3, 2, 1]);
}

/// A database from before per-tenant numbers gets its existing events and runs numbered per
/// tenant, in their order, and the counters continue from there.
#[tokio::test]
async fn the_migration_numbers_existing_events_and_runs_per_tenant() {
    use sqlx::Row as _;

    let database = mandi_tests::database::TestDatabase::fresh().await;
    sqlx::any::install_default_drivers();
    let (url, mut migrator) = match &database.migration_url {
        Some(owner) => (owner.clone(), sqlx::migrate!("../host/migrations/postgres")),
        None => (
            format!("{}?mode=rwc", database.url),
            sqlx::migrate!("../host/migrations/sqlite"),
        ),
    };
    let pool = sqlx::AnyPool::connect(&url).await.expect("connects");
    let all = migrator.migrations.clone();
    let before: Vec<_> = (all.iter()).filter(|m| m.version < 4).cloned().collect();
    migrator.migrations = before.into();
    migrator.run(&pool).await.expect("migrates to 0003");
    // Two tenants' events and runs, interleaved, as the shared sequences numbered them.
    let mut tx = pool.begin().await.expect("tx");
    if database.is_postgres() {
        sqlx::query("SELECT set_config('app.scope', 'system', true)")
            .execute(&mut *tx)
            .await
            .expect("scope");
    }
    for (n, tenant) in ["a", "b", "a", "a", "b"].iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox (id, tenant_id, kind, payload, created_at)
             VALUES ($1, $2, 'order.placed', '{}', 0)",
        )
        .bind(format!("event-{n}"))
        .bind(*tenant)
        .execute(&mut *tx)
        .await
        .expect("event");
        sqlx::query(
            "INSERT INTO plugin_runs (tenant_id, request_id, hook, deployment_id, plugin_digest,
               outcome, duration_us, fuel_used, peak_memory_bytes, input_digest, logs,
               logs_truncated, created_at)
             VALUES ($1, $2, 'pricing', 'd', 'p', 'ok', 0, 0, 0, '', '[]', 0, 0)",
        )
        .bind(*tenant)
        .bind(format!("req-{n}"))
        .execute(&mut *tx)
        .await
        .expect("run");
    }
    tx.commit().await.expect("commits");
    migrator.migrations = all;
    migrator.run(&pool).await.expect("migrates to the latest");

    // Read as the service's cross-tenant work does.
    let reader = match &database.system_url {
        Some(system) => sqlx::AnyPool::connect(system).await.expect("connects"),
        None => pool.clone(),
    };
    let mut tx = reader.begin().await.expect("tx");
    let numbered = |sql: &'static str| sqlx::query(sql);
    let events: Vec<(String, String, i64)> =
        numbered("SELECT id, tenant_id, tenant_seq FROM outbox ORDER BY seq")
            .fetch_all(&mut *tx)
            .await
            .expect("events")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    let want = |prefix: &str| {
        [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
            .iter()
            .enumerate()
            .map(|(n, (t, seq))| (format!("{prefix}-{n}"), (*t).to_owned(), *seq))
            .collect::<Vec<_>>()
    };
    assert_eq!(events, want("event"));
    let runs: Vec<(String, String, i64)> =
        numbered("SELECT request_id, tenant_id, number FROM plugin_runs ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .expect("runs")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(runs, want("req"));
    let counters: Vec<(String, String, i64)> =
        numbered("SELECT tenant_id, name, value FROM tenant_counters ORDER BY tenant_id, name")
            .fetch_all(&mut *tx)
            .await
            .expect("counters")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    let counter = |t: &str, name: &str, value| (t.to_owned(), name.to_owned(), value);
    assert_eq!(
        counters,
        [
            counter("a", "event", 3),
            counter("a", "run", 3),
            counter("b", "event", 2),
            counter("b", "run", 2)
        ]
    );
    tx.commit().await.expect("commits");
    reader.close().await;
    pool.close().await;
}

//! Run history, metrics, health, the OpenAPI document, the event stream and a clean shutdown.

use std::time::Duration;

use axum::http::StatusCode;
use mandi_tests::demo;
use serde_json::{Value, json};

use super::auth::streamed_events;
use super::orders::order;
use super::{ADMIN, LiveService, TestService, eventually, small_request};

#[tokio::test]
async fn every_hook_call_is_recorded_filterable_and_pruned() {
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let quote = svc.post("/v1/quotes", &key, small_request()).await;
    let request_id = quote.headers["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert_eq!(quote.body["request_id"], request_id.as_str());
    eventually(|| async {
        svc.get("/v1/runs", &key)
            .await
            .body
            .as_array()
            .map(Vec::len)
            == Some(4)
    })
    .await;

    let runs = svc
        .get(&format!("/v1/runs?request_id={request_id}"), &key)
        .await
        .body;
    let hooks: Vec<&Value> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| &r["hook"])
        .collect();
    assert_eq!(
        hooks,
        [
            &json!("fulfillment"),
            &json!("validation"),
            &json!("pricing"),
            &json!("cart-transform")
        ]
    );
    let pricing = &runs[2];
    assert_eq!(pricing["outcome"], "ok");
    assert!(
        pricing["input_digest"]
            .as_str()
            .expect("digest")
            .starts_with("sha256:")
    );
    assert!(pricing["duration_us"].as_i64().expect("us") > 0);
    let fuel_used = pricing["fuel_used"].as_i64().expect("fuel");
    let fuel_budget = pricing["fuel_budget"].as_i64().expect("budget");
    assert!(0 < fuel_used && fuel_used < fuel_budget, "{pricing}");
    assert_eq!(
        svc.get(&format!("/v1/runs/{}", pricing["id"]), &key)
            .await
            .body,
        *pricing
    );
    let only_pricing = svc.get("/v1/runs?hook=pricing", &key).await.body;
    assert_eq!(only_pricing.as_array().map(Vec::len), Some(1));
    assert_eq!(
        svc.get("/v1/runs?outcome=failed", &key).await.body,
        json!([])
    );

    // Retention: runs older than the cutoff are deleted.
    let store = svc.service.state().store();
    assert_eq!(
        store
            .prune_runs(mandi_host::store::now_ms() - 60_000)
            .await
            .expect("prune"),
        0
    );
    assert_eq!(
        store
            .prune_runs(mandi_host::store::now_ms() + 1)
            .await
            .expect("prune"),
        4
    );
    assert_eq!(svc.get("/v1/runs", &key).await.body, json!([]));
}

#[tokio::test]
async fn a_failing_plugin_is_recorded_with_its_logs_and_error() {
    let svc = TestService::start().await;
    let key = svc.tenant("shop").await;
    svc.seed_catalog(&key).await;
    let digest = svc.upload("shop", "hostile").await;
    svc.deploy(
        "shop",
        "pricing",
        &digest,
        json!({ "config": { "attack": "panic" }, "failure_policy": "fail-open" }),
    )
    .await;
    let quote = svc.post("/v1/quotes", &key, small_request()).await;
    assert_eq!(quote.status, StatusCode::OK);
    assert_eq!(quote.body["degraded"], true);
    eventually(|| async {
        !svc.get("/v1/runs?outcome=skipped", &key)
            .await
            .body
            .as_array()
            .expect("runs")
            .is_empty()
    })
    .await;
    let run = &svc.get("/v1/runs?outcome=skipped", &key).await.body[0];
    assert_eq!(run["error_kind"], "trap");
    assert!(
        run["error"]
            .as_str()
            .expect("error")
            .contains("panicked on purpose"),
        "{run}"
    );
    assert!(
        !run["logs"].as_array().expect("logs").is_empty(),
        "the panic message is captured"
    );
}

#[tokio::test]
async fn metrics_health_and_the_openapi_document() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    svc.post("/v1/quotes", &key, small_request()).await;

    assert_eq!(svc.get("/healthz", "").await.status, StatusCode::OK);
    assert_eq!(svc.get("/readyz", "").await.body["status"], "ready");
    let metrics = tower::ServiceExt::oneshot(
        svc.router.clone(),
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await
    .expect("infallible");
    let text = String::from_utf8(
        axum::body::to_bytes(metrics.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("utf-8");
    for series in [
        "mandi_hook_duration_seconds_bucket{tenant=\"tira\",hook=\"pricing\",outcome=\"ok\"",
        "mandi_circuit_state{tenant=\"tira\",hook=\"pricing\"",
        "mandi_hook_fuel_budget_used_ratio_bucket{tenant=\"tira\",hook=\"pricing\",le=\"0.001\"}",
        "mandi_checkout_duration_seconds_count{tenant=\"tira\",operation=\"quote\",result=\"ok\"}",
        "mandi_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/quotes\",status=\"200\"}",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }

    let spec = svc.get("/openapi.json", "").await.body;
    assert!(spec["openapi"].as_str().expect("version").starts_with("3."));
    let paths = spec["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/admin/tenants", "post"),
        ("/admin/tenants", "get"),
        ("/admin/tenants/{tenant}/api-keys", "post"),
        ("/admin/tenants/{tenant}/plugins", "post"),
        ("/admin/tenants/{tenant}/plugins", "get"),
        ("/admin/tenants/{tenant}/deployments", "post"),
        ("/admin/tenants/{tenant}/deployments", "get"),
        (
            "/admin/tenants/{tenant}/deployments/{hook}/rollback",
            "post",
        ),
        ("/v1/tenant", "get"),
        ("/v1/products", "get"),
        ("/v1/products", "post"),
        ("/v1/products/{sku}", "get"),
        ("/v1/products/{sku}", "put"),
        ("/v1/nodes", "get"),
        ("/v1/nodes", "post"),
        ("/v1/nodes/{id}", "get"),
        ("/v1/nodes/{id}", "put"),
        ("/v1/quotes", "post"),
        ("/v1/orders", "post"),
        ("/v1/orders", "get"),
        ("/v1/orders/{id}", "get"),
        ("/v1/deployments", "get"),
        ("/v1/runs", "get"),
        ("/v1/runs/{id}", "get"),
        ("/v1/events", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(
            operation["responses"].is_object(),
            "{method} {path} undocumented"
        );
    }
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "CheckoutRequest",
        "QuoteView",
        "Product",
        "Node",
        "DeploymentRecord",
        "RunRecord",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}

#[tokio::test]
async fn the_event_stream_replays_then_delivers_live_events() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let events = streamed_events(&svc, &key, Duration::from_millis(400)).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "plugin.uploaded",
            "plugin.deployed",
            "plugin.deployed",
            "plugin.deployed"
        ]
    );
    assert!(events.iter().all(|e| e["tenant_id"] == "tira"));

    // Live: a stream resuming after the last event gets the order placed after it connected.
    let last = events.last().expect("events")["seq"].to_string();
    let response = tower::ServiceExt::oneshot(
        svc.router.clone(),
        axum::http::Request::get("/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("last-event-id", last)
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await
    .expect("infallible");
    let listener = tokio::spawn(async move {
        use futures_util::StreamExt as _;
        let mut body = response.into_body().into_data_stream();
        let mut text = String::new();
        while let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(Duration::from_secs(5), body.next()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: order.placed") {
                break;
            }
        }
        text
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let placed = order(&svc, &key, "live-1", &small_request()).await;
    let text = listener.await.expect("listener");
    assert!(text.contains("event: order.placed"), "{text}");
    assert!(text.contains(placed.body["id"].as_str().expect("id")));
    assert!(
        !text.contains("event: plugin.deployed"),
        "replayed what it had seen: {text}"
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_work_and_keeps_runs_and_events() {
    let live = LiveService::start(|_| {}).await;
    let key = live
        .client(|api| {
            let key = demo::create_tenant(&api, ADMIN, "tira").expect("tenant");
            let digest = demo::upload(&api, ADMIN, "tira", &mandi_tests::plugin_bytes("tira"))
                .expect("upload");
            let body = json!({ "hook": "pricing", "plugin": digest });
            demo::deploy(&api, ADMIN, "tira", &body).expect("deploy");
            for i in 0..20 {
                let (status, _) = api
                    .post(
                        "/v1/orders",
                        &key,
                        &small_request(),
                        &[("idempotency-key", &format!("k{i}"))],
                    )
                    .expect("order");
                assert_eq!(status, 201);
            }
            key
        })
        .await;
    let database = live.shutdown().await;
    // Reopen the database: every run was flushed and every event relayed.
    let store = mandi_host::store::Store::connect(&super::urls(&database))
        .await
        .expect("reopens");
    let runs = store.runs("tira", &Default::default()).await.expect("runs");
    assert_eq!(runs.len(), 20, "one pricing run per order");
    assert_eq!(store.pending_events(100).await.expect("events"), []);
    let placed = store
        .events_after("tira", 0, i64::MAX, 100)
        .await
        .expect("events");
    assert_eq!(
        placed.iter().filter(|e| e.kind == "order.placed").count(),
        20
    );
    let _ = key;
}

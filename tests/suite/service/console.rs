//! The console's data: every tenant's health by the minute from the service's own counts, a
//! run's recorded input, and the page itself, compiled into the binary.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::{ADMIN, TestService, eventually, sample_request, small_request};

fn tenant<'a>(report: &'a Value, id: &str) -> &'a Value {
    (report["tenants"].as_array().expect("tenants").iter())
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{id} is in the report: {report}"))
}

#[tokio::test]
async fn health_counts_each_tenants_quotes_and_hook_calls_by_the_minute() {
    let svc = TestService::start().await;
    let tira = svc.brand("tira").await;
    let plain = svc.tenant("plain").await;
    svc.seed_catalog(&plain).await;
    for _ in 0..3 {
        let quote = svc.post("/v1/quotes", &tira, small_request()).await;
        assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    }
    let quote = svc.post("/v1/quotes", &plain, small_request()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    // netmeds's rule refuses the sample cart (no pharmacy fills it): a rejection, not a failure.
    let netmeds = svc.brand("netmeds").await;
    let refused = svc.post("/v1/quotes", &netmeds, sample_request()).await;
    assert_eq!(refused.code(), "plugin-rejected", "{refused:?}");

    let report = svc.get("/admin/health?minutes=5", ADMIN).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    let report = report.body;
    assert_eq!(report["minutes"], 5);

    let tira_health = tenant(&report, "tira");
    assert_eq!(tira_health["quotes"]["count"], 3);
    assert_eq!(tira_health["quotes"]["failed"], 0);
    assert!(
        tira_health["quotes"]["p99_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0)
    );
    let series = tira_health["series"].as_array().expect("series");
    assert_eq!(series.len(), 5, "one entry a minute");
    let counted: u64 = series.iter().map(|m| m["count"].as_u64().expect("n")).sum();
    assert_eq!(counted, 3);
    let pricing = (tira_health["hooks"].as_array().expect("hooks").iter())
        .find(|h| h["hook"] == "pricing")
        .expect("pricing");
    assert_eq!(pricing["count"], 3);
    assert_eq!(pricing["failure_rate"], 0.0);
    assert_eq!(pricing["live"]["version"], 1);
    assert_eq!(pricing["breaker"], "closed");
    let deployments = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await;
    assert_eq!(pricing["live"]["deployment_id"], deployments.body[0]["id"]);

    let netmeds_health = tenant(&report, "netmeds");
    assert_eq!(netmeds_health["quotes"]["rejected"], 1);
    assert_eq!(netmeds_health["quotes"]["failed"], 0);
    let fulfillment = (netmeds_health["hooks"].as_array().expect("hooks").iter())
        .find(|h| h["hook"] == "fulfillment")
        .expect("fulfillment");
    assert_eq!(fulfillment["rejected"], 1);
    assert_eq!(fulfillment["rejection_rate"], 1.0);
    assert_eq!(fulfillment["failure_rate"], 0.0);

    // Without plugins: its quotes, and no hooks.
    let plain_health = tenant(&report, "plain");
    assert_eq!(plain_health["quotes"]["count"], 1);
    assert_eq!(plain_health["hooks"], json!([]));

    let bad = svc.get("/admin/health?minutes=0", ADMIN).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
    assert_eq!(bad.code(), "invalid-query");
    let tenant_key = svc.get("/admin/health", &tira).await;
    assert_eq!(tenant_key.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_runs_checkout_input_is_readable_with_the_admin_token() {
    let svc = TestService::start().await;
    let tira = svc.brand("tira").await;
    let quote = svc.post("/v1/quotes", &tira, small_request()).await;
    assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
    let runs = || async { svc.get("/admin/tenants/tira/runs", ADMIN).await.body };
    eventually(|| async { runs().await.as_array().is_some_and(|r| !r.is_empty()) }).await;
    let runs = runs().await;
    let id = runs[0]["id"].as_i64().expect("id");
    let input = svc
        .get(&format!("/admin/tenants/tira/runs/{id}/input"), ADMIN)
        .await;
    assert_eq!(input.status, StatusCode::OK, "{input:?}");
    assert_eq!(
        input.body["input"]["context"]["request_id"],
        quote.body["request_id"]
    );
    assert_eq!(
        input.body["input"]["cart"]["lines"][0]["sku"],
        small_request()["lines"][0]["sku"]
    );
    let missing = svc.get("/admin/tenants/tira/runs/9999/input", ADMIN).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
}

#[tokio::test]
async fn the_console_is_served_from_the_binary() {
    let svc = TestService::start().await;
    for (path, kind, holds) in [
        ("/console", "text/html", "/console/console.js"),
        ("/console/console.js", "text/javascript", "/admin/health"),
        ("/console/console.css", "text/css", "{"),
    ] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = tower::ServiceExt::oneshot(svc.router.clone(), request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"].to_str().expect("ascii");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(text.contains(holds), "{path} holds {holds}");
    }
}

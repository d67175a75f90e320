//! Replay through the API: every checkout that called a plugin keeps its input; a candidate
//! version of a hook re-runs the recorded checkouts beside the live version and reports exactly
//! those whose outcome it changes. The export is what `mandi plugin replay` reads offline.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ADMIN, TestService, eventually};

fn lipsticks(quantity: u32, segment: Option<&str>) -> Value {
    let mut cart = json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": quantity }],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    });
    if let Some(segment) = segment {
        cart["customer"] = json!({ "segment": segment });
    }
    cart
}

/// tira with four recorded checkouts: request id -> total. Two are gold members'.
async fn tira_with_recorded_checkouts(svc: &TestService) -> (String, BTreeMap<String, i64>) {
    let key = svc.brand("tira").await;
    let mut quoted = BTreeMap::new();
    for cart in [
        lipsticks(2, Some("gold")),
        lipsticks(2, Some("silver")),
        lipsticks(1, None),
        lipsticks(1, Some("gold")),
    ] {
        let quote = svc.post("/v1/quotes", &key, cart).await;
        assert_eq!(quote.status, StatusCode::OK, "{quote:?}");
        let id = quote.body["request_id"].as_str().expect("id").to_owned();
        quoted.insert(id, quote.body["totals"]["total"].as_i64().expect("total"));
    }
    eventually(|| async {
        let recorded = svc
            .get("/admin/tenants/tira/recorded-runs?hook=pricing", ADMIN)
            .await;
        let runs = recorded.body["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        runs.len() == 4 && runs.iter().all(|r| r["input"].is_object())
    })
    .await;
    let plugins = svc.get("/admin/tenants/tira/plugins", ADMIN).await;
    let digest = plugins.body[0]["digest"].as_str().expect("digest");
    (digest.to_owned(), quoted)
}

#[tokio::test]
async fn a_replay_reports_exactly_the_checkouts_a_changed_rule_alters() {
    let svc = TestService::start().await;
    let (digest, quoted) = tira_with_recorded_checkouts(&svc).await;
    let replay = |config: Value| json!({ "hook": "pricing", "plugin": digest, "config": config });

    // The live version itself: every checkout is identical (same input, same clock).
    let same = svc
        .post(
            "/admin/tenants/tira/replays",
            ADMIN,
            replay(mandi_tests::samples::example_config("tira")),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{same:?}");
    assert_eq!(
        same.body["summary"],
        json!({ "runs": 4, "identical": 4, "different": 0, "failed": 0, "not_kept": 0, "total_delta": 0 })
    );

    // Gold loyalty from 10% to 12%: only the two gold members' checkouts change.
    let mut config = mandi_tests::samples::example_config("tira");
    config["loyalty_bps"]["gold"] = json!(1200);
    let report = svc
        .post("/admin/tenants/tira/replays", ADMIN, replay(config))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    // 2 x 799.00: 191.76 off instead of 159.80; 1 x 799.00: 95.88 instead of 79.90.
    assert_eq!(
        report.body["summary"],
        json!({ "runs": 4, "identical": 2, "different": 2, "failed": 0, "not_kept": 0, "total_delta": -3196 - 1598 })
    );
    let runs = report.body["runs"].as_array().expect("runs");
    let mut different = Vec::new();
    for run in runs {
        let id = run["request_id"].as_str().expect("id");
        assert_eq!(
            run["totals"]["live"], quoted[id],
            "the live side is what was quoted"
        );
        if run["status"] == "different" {
            different.push((run["totals"]["delta"].clone(), run["changes"].clone()));
        } else {
            assert_eq!(run["status"], "identical", "{run}");
            assert_eq!(run["changes"], json!([]));
        }
    }
    different.sort_by_key(|(delta, _)| delta.as_i64());
    assert_eq!(different[0].0, -3196);
    assert_eq!(different[1].0, -1598);
    let paths: Vec<&str> = (different[1].1.as_array().expect("changes").iter())
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert!(paths.contains(&"/totals/total"), "{paths:?}");
    let total = (different[1].1.as_array().expect("changes").iter())
        .find(|c| c["path"] == "/totals/total")
        .expect("total changed");
    assert_eq!(
        (&total["live"], &total["candidate"]),
        (&json!(71_910), &json!(70_312))
    );
}

#[tokio::test]
async fn a_replay_reports_a_failing_candidate_and_refuses_bad_input() {
    let svc = TestService::start().await;
    let (_, _) = tira_with_recorded_checkouts(&svc).await;
    let hostile = svc.upload("tira", "hostile").await;
    // The hostile plugin's pricing hook fails as its config asks: every run fails.
    let report = svc
        .post(
            "/admin/tenants/tira/replays",
            ADMIN,
            json!({ "hook": "pricing", "plugin": hostile, "config": { "attack": "panic" }, "last": 3 }),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    assert_eq!(report.body["summary"]["runs"], 3, "the newest 3");
    assert_eq!(report.body["summary"]["failed"], 3, "{report:?}");
    let failure = report.body["runs"][0]["failure"].as_str().expect("why");
    assert!(failure.contains("pricing"), "{failure}");

    let bad = [
        (
            json!({ "hook": "pricing", "plugin": hostile, "last": 0 }),
            "invalid-window",
        ),
        (
            json!({ "hook": "pricing", "plugin": hostile, "since": 5, "until": 5 }),
            "invalid-window",
        ),
        (
            json!({ "hook": "checkout", "plugin": hostile }),
            "unknown-hook",
        ),
        (
            json!({ "hook": "pricing", "plugin": "sha256:00" }),
            "unknown-plugin",
        ),
    ];
    for (body, code) in bad {
        let refused = svc.post("/admin/tenants/tira/replays", ADMIN, body).await;
        assert_eq!(refused.code(), code, "{refused:?}");
    }
    // Recorded inputs belong to their tenant: another tenant has none of tira's.
    svc.brand("jiomart").await;
    let other = svc
        .get("/admin/tenants/jiomart/recorded-runs?hook=pricing", ADMIN)
        .await;
    assert_eq!(other.body["runs"], json!([]), "{other:?}");
}

#[tokio::test]
async fn recorded_runs_export_to_a_file_mandi_plugin_replay_compares_offline() {
    let svc = TestService::start().await;
    let (_, quoted) = tira_with_recorded_checkouts(&svc).await;
    let export = svc
        .get(
            "/admin/tenants/tira/recorded-runs?hook=pricing&last=10",
            ADMIN,
        )
        .await;
    assert_eq!(export.status, StatusCode::OK, "{export:?}");
    assert_eq!(export.body["hook"], "pricing");
    // Each keeps its checkout's context: the recorded clock and request id.
    let first = &export.body["runs"][0];
    assert_eq!(first["input"]["context"]["request_id"], first["request_id"]);
    assert!(quoted.contains_key(first["request_id"].as_str().expect("id")));

    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).expect("write");
        path
    };
    let runs = write("runs.json", &export.body);
    let live = write("live.json", &mandi_tests::samples::example_config("tira"));
    let mut changed = mandi_tests::samples::example_config("tira");
    changed["loyalty_bps"]["gold"] = json!(1200);
    let candidate = write("candidate.json", &changed);
    let tira = mandi_tests::plugin_path("tira");
    let replay = |candidate_config: &std::path::Path| {
        std::process::Command::new(mandi_tests::mandi_bin())
            .arg("plugin")
            .arg("replay")
            .arg("--runs")
            .arg(&runs)
            .arg("--baseline")
            .arg(&tira)
            .arg("--baseline-config")
            .arg(&live)
            .arg("--config")
            .arg(candidate_config)
            .arg(&tira)
            .output()
            .expect("runs mandi")
    };
    let same = replay(&live);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    let out = replay(&candidate);
    assert_eq!(out.status.code(), Some(4), "some differ: {out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(
        report["summary"],
        json!({ "runs": 4, "identical": 2, "different": 2, "failed": 0, "not_kept": 0, "total_delta": -3196 - 1598 })
    );
}

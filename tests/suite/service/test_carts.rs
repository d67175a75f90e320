//! Test carts through the API: carts a tenant keeps with the outcome each must have, tried on
//! every deploy. A deploy that changes an outcome is refused with each mismatch listed, unless
//! forced; what the check found is recorded with the deployment.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ADMIN, TestService, sample_request};

/// A gold member's two lipsticks: loyalty and the free sample apply.
fn gold_cart() -> Value {
    json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
        "customer": { "segment": "gold" },
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

/// The expectation a platform engineer records from a quote that is right today.
fn expect_as_quoted(quote: &Value) -> Value {
    let adjustments: Vec<Value> = (quote["adjustments"].as_array().expect("adjustments").iter())
        .map(|a| json!({ "code": a["code"], "amount": a["amount"] }))
        .collect();
    json!({
        "adjustments": adjustments,
        "violations": [],
        "delivery": quote["delivery_options"][0]["code"],
        "total": quote["totals"]["total"],
    })
}

async fn pricing_deployments(svc: &TestService) -> usize {
    let list = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await;
    list.body.as_array().expect("deployments").len()
}

async fn put_cart(svc: &TestService, tenant: &str, name: &str, body: Value) -> super::Reply {
    let request = axum::http::Request::put(format!("/admin/tenants/{tenant}/test-carts/{name}"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    svc.request(request).await
}

#[tokio::test]
async fn a_deploy_that_changes_a_test_carts_outcome_is_refused_unless_forced() {
    let svc = TestService::start().await;
    let key = svc.brand("tira").await;
    let live = svc.post("/v1/quotes", &key, gold_cart()).await;
    assert_eq!(live.status, StatusCode::OK, "{live:?}");
    // Two lipsticks at 799.00: 10% gold loyalty, and the free sample given away in full.
    assert_eq!(
        expect_as_quoted(&live.body)["adjustments"],
        json!([
            { "code": "FREE-SAMPLE", "amount": 29_900 },
            { "code": "LOYALTY-GOLD", "amount": 15_980 },
        ])
    );
    assert_eq!(live.body["totals"]["total"], 143_820);

    let saved = put_cart(
        &svc,
        "tira",
        "gold-lipsticks",
        json!({ "cart": gold_cart(), "expect": expect_as_quoted(&live.body) }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{saved:?}");
    // "Any outcome, as long as nothing fails": no expectation beyond being quoted.
    let any = put_cart(&svc, "tira", "sample", json!({ "cart": sample_request() })).await;
    assert_eq!(any.status, StatusCode::CREATED, "{any:?}");
    let listed = svc.get("/admin/tenants/tira/test-carts", ADMIN).await;
    let names: Vec<&Value> = (listed.body.as_array().expect("carts").iter())
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("gold-lipsticks"), &json!("sample")]);

    let plugins = svc.get("/admin/tenants/tira/plugins", ADMIN).await;
    let digest = plugins.body[0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let mut config = mandi_tests::samples::example_config("tira");
    let deploy = |config: &Value, force: bool| json!({ "hook": "pricing", "plugin": digest, "config": config, "force": force });
    let before = pricing_deployments(&svc).await;

    // Gold goes from 10% to 12%: the gold cart's loyalty discount and total change.
    config["loyalty_bps"]["gold"] = json!(1200);
    let refused = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(&config, false),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.code(), "test-carts-failed");
    let details = &refused.body["error"]["details"];
    assert_eq!(
        (&details["run"], &details["passed"]),
        (&json!(2), &json!(1))
    );
    let failure = &details["failures"][0];
    assert_eq!(failure["cart"], "gold-lipsticks");
    let mismatches: Vec<&str> = (failure["mismatches"].as_array().expect("mismatches").iter())
        .filter_map(Value::as_str)
        .collect();
    // 12% of 1,598.00 is 191.76 off, so 1,406.24.
    assert_eq!(
        mismatches,
        [
            "adjustments [FREE-SAMPLE 29900, LOYALTY-GOLD 19176], expected [FREE-SAMPLE 29900, \
             LOYALTY-GOLD 15980]",
            "total 140624, expected 143820",
        ]
    );
    assert_eq!(
        pricing_deployments(&svc).await,
        before,
        "a refused deploy deploys nothing"
    );
    // The live quote did not move.
    let again = svc.post("/v1/quotes", &key, gold_cart()).await;
    assert_eq!(again.body["totals"], live.body["totals"]);

    // Forced: deployed, and the deployment says what it was deployed over.
    let forced = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(&config, true),
        )
        .await;
    assert_eq!(forced.status, StatusCode::CREATED, "{forced:?}");
    let check = &forced.body["test_carts"];
    assert_eq!(
        (&check["run"], &check["passed"], &check["forced"]),
        (&json!(2), &json!(1), &json!(true))
    );
    assert_eq!(check["failures"][0]["cart"], "gold-lipsticks");
    let listed = svc
        .get("/admin/tenants/tira/deployments?hook=pricing", ADMIN)
        .await;
    assert_eq!(listed.body[0]["test_carts"], *check);

    // Back to the config the carts were recorded with: every cart passes.
    let passing = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(&mandi_tests::samples::example_config("tira"), false),
        )
        .await;
    assert_eq!(passing.status, StatusCode::CREATED, "{passing:?}");
    assert_eq!(
        passing.body["test_carts"],
        json!({ "run": 2, "passed": 2, "failures": [], "forced": false })
    );
}

#[tokio::test]
async fn a_test_cart_may_expect_a_rejection_and_a_failing_hook_never_passes() {
    let svc = TestService::start().await;
    let key = svc.brand("netmeds").await;
    // netmeds' fulfillment refuses the sample cart: no single pharmacy has every line.
    let rejected = json!({
        "cart": sample_request(),
        "expect": { "outcome": "rejected", "rejection_code": "no-pharmacy" },
    });
    let saved = put_cart(&svc, "netmeds", "no-pharmacy", rejected).await;
    assert_eq!(saved.status, StatusCode::CREATED, "{saved:?}");
    let plugins = svc.get("/admin/tenants/netmeds/plugins", ADMIN).await;
    let digest = plugins.body[0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let config = mandi_tests::samples::example_config("netmeds");
    let same = svc
        .post(
            "/admin/tenants/netmeds/deployments",
            ADMIN,
            json!({ "hook": "fulfillment", "plugin": digest, "config": config }),
        )
        .await;
    assert_eq!(same.status, StatusCode::CREATED, "{same:?}");
    assert_eq!(same.body["test_carts"]["passed"], 1);

    // A pricing plugin that panics, deployed fail-open: the carts still quote, but a test cart
    // never passes over a failing hook.
    let pharmacy = json!({
        "lines": [{ "sku": "AMOXICILLIN-500", "quantity": 1 }, { "sku": "INSULIN-GLARGINE-PEN", "quantity": 2 }],
        "shipping_address": sample_request()["shipping_address"],
        "attributes": { "prescription-id": "RX-2026-0042" },
    });
    let live = svc.post("/v1/quotes", &key, pharmacy.clone()).await;
    assert_eq!(live.status, StatusCode::OK, "{live:?}");
    assert_eq!(
        put_cart(&svc, "netmeds", "pharmacy", json!({ "cart": pharmacy }))
            .await
            .status,
        StatusCode::CREATED
    );
    let hostile = svc.upload("netmeds", "hostile").await;
    let panicking = svc
        .post(
            "/admin/tenants/netmeds/deployments",
            ADMIN,
            json!({ "hook": "pricing", "plugin": hostile, "config": { "attack": "panic" },
                    "failure_policy": "fail-open" }),
        )
        .await;
    assert_eq!(
        panicking.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{panicking:?}"
    );
    let failures = &panicking.body["error"]["details"]["failures"];
    assert_eq!(failures.as_array().map(Vec::len), Some(1), "{failures}");
    assert_eq!(failures[0]["cart"], "pharmacy");
    assert_eq!(
        failures[0]["mismatches"],
        json!(["the pricing hook failed (trap) and was skipped"])
    );
}

#[tokio::test]
async fn test_carts_are_checked_when_saved_and_can_be_deleted() {
    let svc = TestService::start().await;
    svc.tenant("shop").await;
    let cart = json!({ "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 1 }] });
    let bad_name = put_cart(&svc, "shop", "no%20spaces", json!({ "cart": cart })).await;
    assert_eq!(bad_name.code(), "invalid-name", "{bad_name:?}");
    let empty = put_cart(&svc, "shop", "empty", json!({ "cart": { "lines": [] } })).await;
    assert_eq!(empty.code(), "empty-cart", "{empty:?}");
    let contradiction = json!({ "cart": cart, "expect": { "outcome": "rejected", "total": 100 } });
    let refused = put_cart(&svc, "shop", "odd", contradiction).await;
    assert_eq!(refused.code(), "invalid-expectation", "{refused:?}");
    let unknown = put_cart(
        &svc,
        "shop",
        "odd",
        json!({ "cart": cart, "expect": { "totl": 1 } }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{unknown:?}");
    assert_eq!(
        svc.get("/admin/tenants/shop/test-carts", ADMIN).await.body,
        json!([])
    );

    assert_eq!(
        put_cart(&svc, "shop", "rice", json!({ "cart": cart }))
            .await
            .status,
        StatusCode::CREATED
    );
    let replaced = put_cart(
        &svc,
        "shop",
        "rice",
        json!({ "cart": cart, "expect": { "total": 64_900 } }),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    assert_eq!(replaced.body["expect"]["total"], 64_900);
    let delete = |name: &str| {
        axum::http::Request::delete(format!("/admin/tenants/shop/test-carts/{name}"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(axum::body::Body::empty())
            .expect("request")
    };
    assert_eq!(
        svc.request(delete("rice")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        svc.request(delete("rice")).await.status,
        StatusCode::NOT_FOUND
    );
}

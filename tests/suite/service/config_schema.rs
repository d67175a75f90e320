//! Typed config through the API: a component that declares its config's JSON Schema has every
//! deployment's config checked against it, and a config that does not fit is refused with the
//! field named, before anything is deployed.

use axum::http::StatusCode;
use serde_json::json;

use super::{ADMIN, TestService};

#[tokio::test]
async fn a_config_that_does_not_fit_the_declared_schema_is_refused_naming_the_field() {
    let svc = TestService::start().await;
    svc.tenant("tira").await;
    let digest = svc.upload("tira", "tira").await;
    let plugins = svc.get("/admin/tenants/tira/plugins", ADMIN).await;
    let schema = &plugins.body[0]["config_schema"];
    assert_eq!(schema["type"], "object", "{schema}");
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    assert!(
        schema["properties"]["cod_limit_paise"].is_object(),
        "{schema}"
    );

    let deploy = |config| json!({ "hook": "payment", "plugin": digest, "config": config });
    let wrong = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(json!({ "cod_limit_paise": "lots" })),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong:?}");
    assert_eq!(wrong.code(), "invalid-config");
    let message = wrong.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("/cod_limit_paise"), "{message}");
    assert_eq!(
        wrong.body["error"]["details"]["fields"][0]["path"],
        "/cod_limit_paise"
    );

    // A key the plugin does not read is refused too (its Config denies unknown fields).
    let unknown = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(json!({ "cod_limit": 100_000 })),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{unknown:?}"
    );
    assert_eq!(unknown.body["error"]["details"]["fields"][0]["path"], "");

    // Nothing was deployed by the refusals; a config that fits is.
    let history = svc.get("/admin/tenants/tira/deployments", ADMIN).await;
    assert_eq!(history.body, json!([]));
    let fits = svc
        .post(
            "/admin/tenants/tira/deployments",
            ADMIN,
            deploy(json!({ "cod_limit_paise": 100_000 })),
        )
        .await;
    assert_eq!(fits.status, StatusCode::CREATED, "{fits:?}");
}

#[tokio::test]
async fn a_component_without_a_schema_takes_any_config_object_as_before() {
    let svc = TestService::start().await;
    svc.tenant("jiomart").await;
    let digest = svc.upload("jiomart", "jiomart").await;
    let plugins = svc.get("/admin/tenants/jiomart/plugins", ADMIN).await;
    assert_eq!(plugins.body[0]["config_schema"], json!(null));
    svc.deploy(
        "jiomart",
        "pricing",
        &digest,
        json!({ "config": { "anything": [1, 2, 3] } }),
    )
    .await;
}

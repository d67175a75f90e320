//! The OpenAPI document says what the server does: every operation is walked, its parameters
//! checked against its path, and the responses it documents checked against what the server
//! answers to a request without credentials, without a JSON content type, or with a method the
//! path does not take. Every body has a schema a client can validate it with.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::TestService;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn documented(op: &Value, status: StatusCode) -> bool {
    op["responses"].get(status.as_str()).is_some()
}

/// `path` with each `{param}` filled with a plausible value.
fn concrete(path: &str) -> String {
    path.replace("{tenant}", "shop")
        .replace("{hook}", "pricing")
        .replace("{sku}", "SKU-1")
        .replace("{id}", "1")
}

#[tokio::test]
async fn every_operation_documents_what_the_server_answers() {
    let svc = TestService::start().await;
    svc.tenant("shop").await;
    let spec = svc.get("/openapi.json", "").await.body;
    let codes: Vec<&str> =
        spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
            .as_array()
            .expect("error codes are an enum")
            .iter()
            .map(|c| c.as_str().expect("a code"))
            .collect();
    for code in [
        "unknown-hook",
        "id-mismatch",
        "empty-cart",
        "invalid-character",
    ] {
        assert!(codes.contains(&code), "{code} is not in the error schema");
    }
    let paths = spec["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for method in METHODS {
            let Some(op) = item.get(method) else {
                // A method the path does not take: 405 with its code.
                let reply = svc
                    .call(
                        Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                        &concrete(path),
                        Some(super::ADMIN),
                        None,
                    )
                    .await;
                assert_eq!(
                    (reply.status, reply.code()),
                    (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
                    "{method} {path}"
                );
                continue;
            };
            operations += 1;
            let name = format!("{method} {path}");
            // Parameters: exactly the path's placeholders are in the path, all required;
            // nothing else claims to be.
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().expect("name"))
                .collect();
            assert_eq!(in_path, placeholders, "{name}: path parameters");
            for p in &params {
                match p["in"].as_str() {
                    Some("path") => assert_eq!(p["required"], true, "{name}: {p}"),
                    Some("query") => assert_ne!(p["required"], true, "{name}: {p}"),
                    Some("header") => {}
                    other => panic!("{name}: parameter in {other:?}"),
                }
            }
            // Every error response is the error body.
            for (status, response) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{name} {status}: {response}"
                    );
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(concrete(path));
            if secured {
                // Without credentials: 401, documented.
                let reply = svc
                    .request(request.body(Body::empty()).expect("request"))
                    .await;
                assert_eq!(
                    (reply.status, reply.code()),
                    (StatusCode::UNAUTHORIZED, "unauthorized"),
                    "{name}"
                );
                assert!(documented(op, StatusCode::UNAUTHORIZED), "{name}: 401");
                assert!(documented(op, StatusCode::BAD_REQUEST), "{name}: 400");
            }
            let content = &op["requestBody"]["content"];
            if content.get("application/json").is_some() {
                for status in [
                    StatusCode::BAD_REQUEST,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ] {
                    assert!(documented(op, status), "{name}: {status}");
                }
                let caller = if path.starts_with("/admin") {
                    super::ADMIN.to_owned()
                } else {
                    // A tenant endpoint: any tenant's key will do for the media type check.
                    svc.tenant(&format!("t{operations}")).await
                };
                let reply = svc
                    .request(
                        Request::builder()
                            .method(method.to_uppercase().as_str())
                            .uri(concrete(path))
                            .header("authorization", format!("Bearer {caller}"))
                            .header("content-type", "text/plain")
                            .header("idempotency-key", "k")
                            .body(Body::from("{}"))
                            .expect("request"),
                    )
                    .await;
                assert_eq!(
                    (reply.status, reply.code()),
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
                    "{name}"
                );
            }
            if let Some(wasm) = content.get("application/wasm") {
                let schema = &spec["components"]["schemas"]["WasmComponent"];
                assert_eq!(wasm["schema"]["$ref"], "#/components/schemas/WasmComponent");
                assert_eq!(
                    (&schema["type"], &schema["format"]),
                    (&"string".into(), &"binary".into())
                );
                assert!(
                    documented(op, StatusCode::NOT_FOUND),
                    "{name}: unknown tenant"
                );
            }
        }
    }
    assert_eq!(operations, 42, "every operation was walked");
    // Business rules a schema can say, it says.
    let schemas = &spec["components"]["schemas"];
    assert_eq!(
        schemas["CheckoutRequest"]["properties"]["lines"]["minItems"],
        1
    );
    assert_eq!(
        schemas["RequestLine"]["properties"]["quantity"]["minimum"],
        1
    );
    assert_eq!(
        schemas["HookName"]["enum"],
        serde_json::json!([
            "cart-transform",
            "pricing",
            "validation",
            "fulfillment",
            "payment"
        ])
    );
    assert_eq!(
        schemas["Node"]["properties"]["stock"]["additionalProperties"]["format"],
        "int32"
    );
}

/// Whether `schema` says what its values are: a type, a reference, properties, items, a
/// composition or an enum. An object without properties must be a map (its values have a
/// schema) or say it is free-form (`additionalProperties: true`) and describe what it holds.
fn untyped(schema: &Value) -> Option<&'static str> {
    const SAYS_WHAT: [&str; 9] = [
        "type",
        "$ref",
        "properties",
        "items",
        "oneOf",
        "allOf",
        "anyOf",
        "enum",
        "const",
    ];
    if !SAYS_WHAT.iter().any(|key| schema.get(key).is_some()) {
        return Some("no type");
    }
    let types = match &schema["type"] {
        Value::Array(types) => types.clone(),
        one => vec![one.clone()],
    };
    if !types.contains(&json!("object")) || schema.get("properties").is_some() {
        return None;
    }
    let map = schema["additionalProperties"].is_object();
    let described = schema["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty());
    let free_form = schema["additionalProperties"] == true && described;
    (!map && !free_form).then_some("an object of unknown shape, not marked free-form")
}

#[tokio::test]
async fn every_body_has_a_schema_that_says_what_it_holds() {
    let svc = TestService::start().await;
    let spec = svc.get("/openapi.json", "").await.body;
    // (where, schema): every request and response body, then whatever they lead to.
    let mut pending: Vec<(String, &Value)> = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let responses = op["responses"].as_object().expect("responses");
            let bodies = std::iter::once(("request", &op["requestBody"]))
                .chain(responses.iter().map(|(status, r)| (status.as_str(), r)));
            for (what, body) in bodies {
                for (media, content) in body["content"].as_object().into_iter().flatten() {
                    let at = format!("{method} {path} {what} {media}");
                    pending.push((at, &content["schema"]));
                }
            }
        }
    }
    let mut reached = HashSet::new();
    while let Some((at, schema)) = pending.pop() {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{at}: {reference} is not a component"));
            let component = &spec["components"]["schemas"][name];
            assert!(component.is_object(), "{at}: {reference} does not resolve");
            if reached.insert(name) {
                pending.push((name.to_owned(), component));
            }
            continue;
        }
        if let Some(why) = untyped(schema) {
            panic!("{at}: {why}: {schema}");
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            pending.push((format!("{at}.{name}"), property));
        }
        for key in ["items", "additionalProperties", "contentSchema"] {
            if schema[key].is_object() {
                pending.push((format!("{at}.{key}"), &schema[key]));
            }
        }
        for key in ["oneOf", "allOf", "anyOf", "prefixItems"] {
            for (i, part) in schema[key].as_array().into_iter().flatten().enumerate() {
                pending.push((format!("{at}.{key}[{i}]"), part));
            }
        }
    }
    for name in [
        "QuoteView",
        "OrderView",
        "RunRecord",
        "EventRecord",
        "DeploymentRecord",
    ] {
        assert!(reached.contains(name), "{name} was not reached");
    }
    // The check catches what it is meant to: an object of unknown shape, or no type at all.
    assert!(untyped(&json!({ "type": "object" })).is_some());
    assert!(untyped(&json!({ "description": "anything" })).is_some());
    let free_form = json!({ "type": "object", "additionalProperties": true, "description": "x" });
    assert_eq!(untyped(&free_form), None);
    // Amounts in a quote or an order are minor units, as in its totals.
    let schemas = &spec["components"]["schemas"];
    assert_eq!(
        schemas["DeliveryOptionView"]["properties"]["cost"]["type"],
        "integer"
    );
}

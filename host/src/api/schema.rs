//! The OpenAPI document's shared parts: the stable error codes, the names a request may use
//! (hooks, failure policies), and the responses every operation of a kind can give, added to
//! the generated document in one place so no handler can forget them.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, RefOr, ResponseBuilder, Schema};

/// Every stable error code the API answers with. `ApiError::new` refuses (in debug builds) a
/// code missing here, so the document cannot fall behind the server.
pub const ERROR_CODES: &[&str] = &[
    "already-exists",
    "body-too-large",
    "cart-out-of-limits",
    "component-too-complex",
    "component-too-large",
    "conflict",
    "currency-mismatch",
    "database-unavailable",
    "draining",
    "duplicate-id",
    "duplicate-sku",
    "empty-body",
    "empty-cart",
    "hook-not-exported",
    "id-mismatch",
    "idempotency-key-reused",
    "internal",
    "invalid-body",
    "invalid-character",
    "invalid-component",
    "invalid-config",
    "invalid-config-schema",
    "invalid-currency",
    "invalid-expectation",
    "invalid-failure-policy",
    "invalid-id",
    "invalid-idempotency-key",
    "invalid-kind",
    "invalid-last-event-id",
    "invalid-limits",
    "invalid-name",
    "invalid-path",
    "invalid-payment-method",
    "invalid-price",
    "invalid-quantity",
    "invalid-query",
    "invalid-sample",
    "invalid-sku",
    "invalid-subdivision",
    "invalid-tenant-id",
    "invalid-time-zone",
    "invalid-title",
    "invalid-utc-offset",
    "invalid-window",
    "malformed-json",
    "method-not-allowed",
    "missing-idempotency-key",
    "not-a-component",
    "not-found",
    "not-fulfillable",
    "order-blocked",
    "out-of-stock",
    "payment-method-required",
    "payment-method-unavailable",
    "plugin-failed",
    "plugin-rejected",
    "sku-mismatch",
    "tenant-busy",
    "test-carts-failed",
    "text-too-long",
    "too-many-items",
    "too-many-lines",
    "too-many-test-carts",
    "unauthorized",
    "unknown-delivery-option",
    "unknown-deployment",
    "unknown-hook",
    "unknown-plugin",
    "unknown-sku",
    "unknown-tenant",
    "unsupported-contract",
    "unsupported-media-type",
];

/// The schema of `error.code`: one of [`ERROR_CODES`].
pub fn error_code() -> Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ERROR_CODES.iter().copied()))
        .description(Some("Stable, machine-readable: what went wrong"))
        .into()
}

/// A JSON object whose fields the API leaves open (a plugin's config, an error's details):
/// `type: object`, any properties allowed, and said so, with `description` saying what it holds.
pub fn free_form_object(description: &str, nullable: bool) -> Schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    let schema_type = match nullable {
        true => SchemaType::from_iter([Type::Object, Type::Null]),
        false => SchemaType::new(Type::Object),
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
        .description(Some(description))
        .into()
}

pub use crate::pipeline::views::HookName;

/// What to do when a deployment's hook fails.
#[derive(Debug, utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes request text in the OpenAPI document only"
)]
#[schema(rename_all = "kebab-case")]
pub enum FailurePolicyName {
    /// Reject the checkout.
    FailClosed,
    /// Skip the hook and mark the quote degraded.
    FailOpen,
}

/// An uploaded component: the raw bytes of a WebAssembly component (a binary string, not the
/// array of integers a `Vec<u8>` would be described as).
#[derive(Debug)]
pub struct WasmComponent;

impl utoipa::PartialSchema for WasmComponent {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type("application/wasm")
            .description(Some(
                "The component's bytes, as `cargo build --target wasm32-wasip2` writes them",
            ))
            .into()
    }
}

impl utoipa::ToSchema for WasmComponent {}

/// One server-sent event of a tenant's stream, as the frame carries it: its `id` (the event's
/// `seq`), `event` (its kind) and `data`, an [`crate::store::EventRecord`] as JSON.
#[derive(Debug)]
pub struct EventFrame;

impl utoipa::PartialSchema for EventFrame {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "id",
                text("The event's `seq`: send it back as `Last-Event-ID` to resume"),
            )
            .property("event", text("The event's kind, e.g. `plugin.deployed`"))
            .property(
                "data",
                text("The event as JSON: an `EventRecord`")
                    .content_media_type("application/json")
                    // JSON Schema's own keyword (not an `x-` extension): what the JSON text
                    // holds, which validators such as schemathesis check.
                    .extensions(Some(utoipa::openapi::extensions::Extensions::from_iter([
                        (
                            "contentSchema",
                            serde_json::json!({ "$ref": "#/components/schemas/EventRecord" }),
                        ),
                    ]))),
            )
            .required("data")
            .description(Some("One server-sent event"))
            .into()
    }
}

impl utoipa::ToSchema for EventFrame {}

/// Adds the responses every operation of a kind can give: 401 where a key or token is
/// needed; 400 (`invalid-character`, `invalid-path`, `invalid-query`, malformed or wrongly
/// shaped JSON) where parameters or a body are read; 404 where the path names something; 413,
/// 415 and 422 where a body is read; 503 wherever the database is read.
pub struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                add_common(path, op);
            }
        }
    }
}

fn add_common(path: &str, op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let has_body = op.request_body.is_some();
    let has_params = path.contains('{') || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let ops_route = matches!(path, "/healthz" | "/metrics" | "/readyz");
    let mut add = |status: &str, description: &str| {
        let responses = &mut op.responses.responses;
        if !responses.contains_key(status) {
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", Content::new(Some(error_ref())))
                .build();
            responses.insert(status.to_owned(), RefOr::T(response));
        }
    };
    if secured {
        add("401", "Missing or invalid credentials (`unauthorized`)");
    }
    if has_body || has_params || secured {
        add(
            "400",
            "Input the service does not accept: a NUL character (`invalid-character`), a bad \
             path or query parameter, malformed JSON (`malformed-json`) or JSON of the wrong \
             shape (`invalid-body`)",
        );
    }
    if path.contains('{') {
        add(
            "404",
            "Nothing with that id (`not-found`, `unknown-tenant`)",
        );
    }
    if has_body {
        add("413", "The body is too large");
        add(
            "415",
            "The body's Content-Type is not the one this operation takes",
        );
    }
    if json_body {
        add(
            "422",
            "The request breaks a business rule; `error.code` says which",
        );
    }
    if !ops_route {
        add(
            "503",
            "The database is unreachable (`database-unavailable`): retry after `Retry-After`",
        );
    }
}

fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))
}

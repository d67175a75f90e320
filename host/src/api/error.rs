//! The API's one error type: every failure leaves as JSON `{"error": {"code", "message"}}` with
//! a stable code; internal details are logged once and never shown.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::pipeline::views::{HookErrorView, HookTraceView, SourceView};
use crate::pipeline::{CheckoutError, HookFailed};
use crate::runtime::LoadError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
    retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The error body, as documented in the OpenAPI spec.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: e.g. `unknown-sku`, `invalid-quantity`, `plugin-failed`.
    #[schema(schema_with = super::schema::error_code)]
    pub code: String,
    /// For people.
    pub message: String,
    /// More about some errors; its fields depend on `code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = details_schema)]
    pub details: Option<serde_json::Value>,
}

/// Error details: their fields depend on the error, so the schema leaves them open.
fn details_schema() -> utoipa::openapi::Schema {
    super::schema::free_form_object(
        "More about some errors, as an object whose fields depend on `code`: `skus` \
         (`unknown-sku`), `violations` (`order-blocked`), `offered` (`payment-method-required`), \
         `hook`, `deployment`, `failure` and `trace` (`plugin-failed`, `plugin-rejected`). \
         Absent for the others.",
        false,
    )
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            super::schema::ERROR_CODES.contains(&code),
            "error code `{code}` is not listed in api::schema::ERROR_CODES"
        );
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// The database is unreachable: worth retrying shortly, so 503 with `Retry-After`. Logged
    /// as a warning, once per request; the cause is the database's, not a bug here.
    pub fn unavailable(err: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %err, "database unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is unreachable; retry shortly",
        );
        e.retry_after_secs = Some(1);
        e
    }

    /// A server-side failure: logged here, once, and reported without internals.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AlreadyExists(what) => Self::new(
                StatusCode::CONFLICT,
                "already-exists",
                format!("{what} already exists"),
            ),
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            StoreError::OutOfStock { node_id, sku } => Self::new(
                StatusCode::CONFLICT,
                "out-of-stock",
                format!("not enough stock of {sku} at {node_id}"),
            ),
            err if err.is_unavailable() => Self::unavailable(&err),
            err @ (StoreError::Database(_) | StoreError::Corrupt(_)) => Self::internal(err),
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(err: LoadError) -> Self {
        let code = match &err {
            LoadError::TooLarge { .. } => {
                return Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "component-too-large",
                    err.to_string(),
                );
            }
            LoadError::TooComplex { .. } => {
                return Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "component-too-complex",
                    err.to_string(),
                );
            }
            LoadError::NotWasm | LoadError::CoreModule => "not-a-component",
            LoadError::UnsupportedContract { .. }
            | LoadError::MixedContracts(_)
            | LoadError::NoHooks => "unsupported-contract",
            LoadError::Invalid(_)
            | LoadError::UnsatisfiedImport(_)
            | LoadError::HookSignature { .. }
            | LoadError::Instantiation(_) => "invalid-component",
            LoadError::ConfigSchema(_) => "invalid-config-schema",
        };
        Self::unprocessable(code, err.to_string())
    }
}

impl From<CheckoutError> for ApiError {
    fn from(err: CheckoutError) -> Self {
        let message = err.to_string();
        match err {
            CheckoutError::InvalidCart { code, message } => Self::unprocessable(code, message),
            CheckoutError::UnknownSkus(skus) => Self::unprocessable("unknown-sku", message)
                .with_details(serde_json::json!({ "skus": skus })),
            CheckoutError::HookFailed(failed) => {
                // A plugin's business refusal is about this cart (422); anything else is the
                // plugin failing (502), under a fail-closed policy.
                let (status, code) = match &failed.failure {
                    crate::runtime::HookFailure::PluginError { .. } => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "plugin-rejected")
                    }
                    _ => (StatusCode::BAD_GATEWAY, "plugin-failed"),
                };
                // The plugin's own words appear once, in `details.failure`: the message names
                // the hook and kind, and the failed hook's trace entry leaves its error out.
                let message = format!(
                    "the checkout could not complete: the {} hook of deployment {} failed ({}); \
                     details.failure says why",
                    failed.hook,
                    failed.deployment.deployment_id,
                    failed.failure.kind()
                );
                let HookFailed {
                    hook,
                    deployment,
                    failure,
                    mut trace,
                } = *failed;
                if let Some(last) = trace.last_mut().filter(|t| t.hook == hook) {
                    last.error = None;
                }
                // In the shapes the quote gives them, so a client reads both alike.
                let trace: Vec<HookTraceView> = trace.into_iter().map(Into::into).collect();
                Self::new(status, code, message).with_details(serde_json::json!({
                    "hook": hook,
                    "deployment": SourceView::from(deployment),
                    "failure": HookErrorView::from(failure),
                    "trace": trace,
                }))
            }
            CheckoutError::Busy(busy) => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tenant-busy",
                    busy.to_string(),
                );
                e.retry_after_secs = Some(1);
                e
            }
            CheckoutError::IdempotencyConflict(_) => {
                Self::new(StatusCode::CONFLICT, "idempotency-key-reused", message)
            }
            CheckoutError::Blocked(violations) => Self::unprocessable("order-blocked", message)
                .with_details(serde_json::json!({ "violations": violations })),
            CheckoutError::NotFulfillable => Self::unprocessable("not-fulfillable", message),
            CheckoutError::UnknownDeliveryOption(_) => {
                Self::unprocessable("unknown-delivery-option", message)
            }
            CheckoutError::PaymentMethodRequired { offered } => {
                Self::unprocessable("payment-method-required", message)
                    .with_details(serde_json::json!({ "offered": offered }))
            }
            CheckoutError::PaymentMethodUnavailable { .. } => {
                Self::unprocessable("payment-method-unavailable", message)
            }
            CheckoutError::OutOfStock { .. } => {
                Self::new(StatusCode::CONFLICT, "out-of-stock", message)
            }
            CheckoutError::Store(err) => err.into(),
            CheckoutError::Deployment(crate::pipeline::DeploymentError::Store(err)) => err.into(),
            CheckoutError::Deployment(err) => Self::internal(err),
            err @ CheckoutError::InconsistentTotals(_) => Self::internal(err),
        }
    }
}

fn rejection(status: StatusCode, body_text: String, code: &'static str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "body-too-large", body_text);
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::new(status, "unsupported-media-type", body_text);
    }
    ApiError::new(status, code, body_text)
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let code = match r {
            JsonRejection::JsonDataError(_) => "invalid-body",
            _ => "malformed-json",
        };
        let status = match r.status() {
            // A well-formed body of the wrong shape is a 400 here like any malformed body.
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        rejection(status, r.body_text(), code)
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        rejection(r.status(), r.body_text(), "invalid-body")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request("invalid-query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request("invalid-path", r.body_text())
    }
}

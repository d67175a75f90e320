//! Health, readiness, metrics and the API's own description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::OpenApi as _;

use super::{ApiDoc, ApiError, AppState, ErrorBody};

/// How the service is: `ok` from /healthz, `ready` from /readyz.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready for traffic", body = Health), (status = 503, description = "Draining or the database is unreachable", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the service is shutting down",
        ));
    }
    if let Err(err) = state.store().ping().await {
        tracing::warn!(error = %err, "readiness: database unreachable");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is unreachable",
        ));
    }
    Ok(Json(Health { status: "ready" }))
}

#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

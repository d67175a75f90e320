//! The platform team's console: a page of tenant health served by the service itself (its
//! assets are compiled into the binary), and the admin endpoints it reads beyond the rest of
//! the admin API: every tenant's health by the minute, and a run's recorded checkout input.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::admin::require_tenant;
use super::{Admin, ApiError, ApiPath, ApiResult, AppState, ErrorBody};
use crate::pipeline::{BreakerState, HealthInputs, HealthReport, health};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HealthQuery {
    /// The window, in minutes up to now [default: 60, at most 1440].
    #[param(minimum = 1, maximum = 1440)]
    pub minutes: Option<u32>,
}

#[utoipa::path(get, path = "/admin/health", tag = "admin", security(("admin_token" = [])),
    params(HealthQuery),
    responses((status = 200, description = "Every tenant's quotes and hook calls over the window, by the minute, summed over the nodes: rates, p50/p99, the live version of each hook and its breaker on this node", body = HealthReport),
              (status = 400, body = ErrorBody)))]
pub async fn health_report(
    _: Admin,
    State(state): State<AppState>,
    query: Result<Query<HealthQuery>, QueryRejection>,
) -> ApiResult<Json<HealthReport>> {
    let Query(query) = query?;
    let minutes = super::page_limit(query.minutes, 60, 1440)?;
    // This node's latest counts first, so the answer includes the quotes it just served.
    state.checkout().write_stats().await;
    let now_ms = crate::store::now_ms();
    let since = now_ms - now_ms.rem_euclid(60_000) - 60_000 * (i64::from(minutes) - 1);
    let store = state.store();
    let (tenants, serving, stats) = (
        store.tenants().await?,
        store.serving_deployments().await?,
        store.minute_stats_since(since).await?,
    );
    let deployments = state.checkout().deployments();
    let breakers = (serving.iter())
        .filter_map(|(_, d)| {
            let state = match deployments.breaker_state(&d.id)? {
                BreakerState::Closed => "closed",
                BreakerState::Open => "open",
                BreakerState::HalfOpen => "half-open",
            };
            Some((d.id.clone(), state.to_owned()))
        })
        .collect();
    Ok(Json(health(HealthInputs {
        now_ms,
        minutes,
        tenants: &tenants,
        serving: &serving,
        stats: &stats,
        breakers: &breakers,
    })))
}

/// A run's checkout input.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RunInputView {
    #[schema(schema_with = recorded_input)]
    pub input: serde_json::Value,
}

fn recorded_input() -> utoipa::openapi::Schema {
    super::schema::free_form_object(
        "The checkout's input as recorded (context, the cart at catalog prices, the stock of its \
         skus, catalog look-ups, payment methods): a `mandi plugin quote` input.",
        false,
    )
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/runs/{id}/input", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "The input of the checkout the run belonged to", body = RunInputView),
              (status = 404, description = "No such run, or its input was not kept (larger than 64 KiB)", body = ErrorBody)))]
pub async fn run_input(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<RunInputView>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let input = (state.store().run_input(&tenant.id, id).await?)
        .ok_or_else(|| ApiError::not_found(format!("a kept input of run {id}")))?;
    let input = serde_json::from_str(&input)
        .map_err(|err| ApiError::internal(format!("a recorded input is not JSON: {err}")))?;
    Ok(Json(RunInputView { input }))
}

/// The console's page and assets, compiled in: serving it needs no files and no Node.js.
const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");

pub async fn page() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX)
}

pub async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            // The page holds no data (it reads the API with the token the user types), so it
            // may be cached briefly; a new binary serves new assets.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

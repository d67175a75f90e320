//! A tenant's view of its plugins at work: its deployments and the run history of every hook
//! call, with logs; and the same run history for the platform team, by tenant.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};

use super::admin::require_tenant;
use super::{Admin, ApiError, ApiPath, ApiResult, AppState, ErrorBody, TenantAuth};
use crate::store::{DeploymentRecord, RunFilter, RunRecord};

#[utoipa::path(get, path = "/v1/deployments", tag = "plugins", security(("api_key" = [])),
    responses((status = 200, description = "This tenant's deployments with history", body = Vec<DeploymentRecord>)))]
pub async fn list_deployments(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<DeploymentRecord>>> {
    Ok(Json(state.store().deployments(&tenant.id, None).await?))
}

#[utoipa::path(get, path = "/v1/runs", tag = "plugins", security(("api_key" = [])), params(RunFilter),
    responses((status = 200, description = "Newest first", body = Vec<RunRecord>), (status = 400, body = ErrorBody)))]
pub async fn list_runs(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    filter: Result<Query<RunFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    runs_of(&state, &tenant.id, filter).await
}

#[utoipa::path(get, path = "/v1/runs/{id}", tag = "plugins", security(("api_key" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = RunRecord), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RunRecord>> {
    run_of(&state, &tenant.id, id).await
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/runs", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), RunFilter),
    responses((status = 200, description = "The tenant's plugin runs, newest first", body = Vec<RunRecord>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn admin_list_runs(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    filter: Result<Query<RunFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    runs_of(&state, &tenant.id, filter).await
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/runs/{id}", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = RunRecord), (status = 404, body = ErrorBody)))]
pub async fn admin_get_run(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<RunRecord>> {
    let tenant = require_tenant(&state, &tenant).await?;
    run_of(&state, &tenant.id, id).await
}

async fn runs_of(
    state: &AppState,
    tenant: &str,
    filter: Result<Query<RunFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    let Query(filter) = filter?;
    super::page_limit(filter.limit, 50, 500)?;
    Ok(Json(state.store().runs(tenant, &filter).await?))
}

async fn run_of(state: &AppState, tenant: &str, id: i64) -> ApiResult<Json<RunRecord>> {
    state
        .store()
        .run(tenant, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("run {id}")))
}

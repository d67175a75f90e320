//! Replays (admin token): a candidate version of a hook re-runs the tenant's recorded checkouts
//! beside the live version, and the recorded checkouts export for `mandi plugin replay`
//! (see `pipeline::replay`).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::admin::{Candidate, require_tenant};
use super::schema::{FailurePolicyName, HookName};
use super::{Admin, ApiError, ApiJson, ApiPath, ApiResult, AppState, ErrorBody};
use crate::pipeline::{MAX_REPLAY_RUNS, RecordedRuns, ReplayReport};
use crate::runtime::{Hook, Limits};
use crate::store::RunWindow;

/// Which recorded runs of the hook to take: the newest `last` of those in the window, as a
/// request names them.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: Option<i64>,
    until: Option<i64>,
    last: Option<u32>,
}

impl Window {
    fn check(self) -> ApiResult<RunWindow> {
        let last = self.last.unwrap_or(100);
        if !(1..=MAX_REPLAY_RUNS).contains(&last) {
            return Err(ApiError::unprocessable(
                "invalid-window",
                format!("`last` is 1 to {MAX_REPLAY_RUNS}, not {last}"),
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err(ApiError::unprocessable(
                "invalid-window",
                "`since` must be before `until`",
            ));
        }
        Ok(RunWindow {
            since: self.since,
            until: self.until,
            last,
        })
    }
}

/// A candidate deployment of one hook, named as a deploy names it, and the recorded runs to
/// replay it on.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The hook whose recorded runs to replay (else 422 `unknown-hook`).
    #[schema(value_type = HookName)]
    pub hook: String,
    /// Digest of an uploaded component exporting the hook, `sha256:...`.
    pub plugin: String,
    /// The candidate's config [default: {}]; checked against the component's schema as a
    /// deploy checks it.
    #[serde(default)]
    #[schema(schema_with = super::admin::config_schema)]
    pub config: Option<serde_json::Value>,
    /// [default: fail-closed]
    #[serde(default)]
    #[schema(value_type = Option<FailurePolicyName>)]
    pub failure_policy: Option<String>,
    /// Per-call limits, as a deploy takes them.
    #[serde(default)]
    #[schema(value_type = Option<Limits>)]
    pub limits: Option<serde_json::Value>,
    /// Only runs recorded at or after this time, Unix ms.
    #[serde(default)]
    pub since: Option<i64>,
    /// Only runs recorded before this time, Unix ms.
    #[serde(default)]
    pub until: Option<i64>,
    /// The newest this many runs [default: 100, at most 1000].
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub last: Option<u32>,
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/replays", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)), request_body = ReplayRequest,
    responses((status = 200, description = "Each recorded run replayed with the candidate beside the live version: identical, different (what changed, the totals' delta) or failed; and a summary", body = ReplayReport),
              (status = 404, body = ErrorBody),
              (status = 422, description = "Bad input, as for a deploy, or a bad window (`invalid-window`)", body = ErrorBody)))]
pub async fn replay(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<ReplayRequest>,
) -> ApiResult<Json<ReplayReport>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let window = Window {
        since: body.since,
        until: body.until,
        last: body.last,
    }
    .check()?;
    let candidate = Candidate {
        hook: &body.hook,
        plugin: &body.plugin,
        config: body.config,
        failure_policy: body.failure_policy.as_deref(),
        limits: body.limits,
    };
    let (hook, new) = candidate.check(&state, &tenant).await?;
    let report = (state.checkout())
        .replay(&tenant, hook, &new.candidate(), window)
        .await?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordedQuery {
    /// The hook whose runs to export (required, else 422 `unknown-hook`).
    #[param(value_type = Option<HookName>)]
    pub hook: Option<String>,
    #[serde(default)]
    pub since: Option<i64>,
    #[serde(default)]
    pub until: Option<i64>,
    /// [default: 100, at most 1000]
    #[serde(default)]
    pub last: Option<u32>,
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/recorded-runs", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), RecordedQuery),
    responses((status = 200, description = "The tenant's recorded checkouts that ran the hook, newest first, each with its input: the file `mandi plugin replay --runs` reads", body = RecordedRuns),
              (status = 404, body = ErrorBody),
              (status = 422, description = "Not a hook (`unknown-hook`) or a bad window (`invalid-window`)", body = ErrorBody)))]
pub async fn recorded_runs(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    query: Result<Query<RecordedQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RecordedRuns>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let Query(query) = query?;
    let hook: Hook = (query.hook.as_deref())
        .ok_or_else(|| "name the hook: `?hook=pricing`".to_owned())
        .and_then(str::parse)
        .map_err(|e: String| ApiError::unprocessable("unknown-hook", e))?;
    let window = Window {
        since: query.since,
        until: query.until,
        last: query.last,
    }
    .check()?;
    let runs = (state.checkout())
        .recorded_checkouts(&tenant, hook, window)
        .await?;
    Ok(Json(RecordedRuns { hook, runs }))
}

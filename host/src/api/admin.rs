//! The platform admin API: tenants and their keys, plugin uploads, deployments and rollbacks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::schema::{FailurePolicyName, HookName, WasmComponent};
use super::{Admin, ApiError, ApiJson, ApiPath, ApiResult, AppState, ErrorBody};
use crate::pipeline::{parse_policy, tally};
use crate::runtime::{Hook, Limits, PluginConfig};
use crate::store::{
    CanaryRules, DeploymentRecord, NewDeployment, PluginRecord, ShadowSummary, Tenant,
};
use crate::tenants::generate_api_key;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Lowercase letters, digits and dashes, 2 to 63 characters: e.g. `jiomart`.
    pub id: String,
    pub name: String,
    /// ISO 4217, e.g. `INR`.
    pub currency: String,
    /// IANA time zone given to plugins [default: Asia/Kolkata] (else 422 `invalid-time-zone`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The zone's offset from UTC, minutes [default: 330].
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// A new tenant and its API key. The key is shown only here.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub api_key: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub tenant_id: String,
    pub api_key: String,
}

#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// One of the hooks (else 422 `unknown-hook`).
    #[schema(value_type = HookName)]
    pub hook: String,
    /// Digest of an uploaded component, `sha256:...`.
    pub plugin: String,
    /// The JSON object the plugin reads as its config [default: {}].
    #[serde(default)]
    #[schema(schema_with = config_schema)]
    pub config: Option<serde_json::Value>,
    /// `fail-closed` (reject the checkout) or `fail-open` (skip the hook) [default: fail-closed].
    #[serde(default)]
    #[schema(value_type = Option<FailurePolicyName>)]
    pub failure_policy: Option<String>,
    /// Per-call limits, any subset; each within the runtime's ceiling and at least 1 (else 422
    /// `invalid-limits`), the runtime's default for those left out.
    #[serde(default)]
    #[schema(value_type = Option<Limits>)]
    pub limits: Option<serde_json::Value>,
    /// Deploy even when the tenant's test carts do not all quote as expected (recorded as
    /// forced) [default: false; then such a deploy is 422 `test-carts-failed`].
    #[serde(default)]
    pub force: bool,
    /// `live` (serve the hook now), `shadow` (run beside the live version on a sample of live
    /// checkouts, compared and never served, until promoted) or `canary` (serve a share of the
    /// checkouts, rolled back by the platform if it does worse than the live version, until
    /// promoted) [default: live].
    #[serde(default)]
    pub mode: DeployMode,
    /// With `shadow`: the percent of live checkouts it runs on, 1 to 100 [default: 10]; with
    /// `canary`: the percent it serves, 1 to 99 [default: 10] (else 422 `invalid-sample`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub sample_percent: Option<u8>,
    /// With `canary`: when the platform rolls it back (each field has a default).
    #[serde(default)]
    pub rollback_when: Option<RollbackWhen>,
}

/// When a canary is rolled back: its recorded calls against the live version's since it was
/// deployed, once it has made `min_calls`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackWhen {
    /// Its share of failed calls exceeds the live version's by more than this (0.05: five
    /// points) [default: 0.05].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub failure_rate_increase_above: Option<f64>,
    /// Its p99 call duration exceeds the live version's by more than this factor
    /// [default: 3.0].
    #[schema(minimum = 1.0)]
    pub p99_ratio_above: Option<f64>,
    /// Calls it makes before it is judged [default: 20].
    #[schema(minimum = 1)]
    pub min_calls: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeployMode {
    #[default]
    Live,
    Shadow,
    Canary,
}

/// A config that does not fit the schema its component declares is 422 `invalid-config`,
/// naming the first field that does not fit; `details.fields` lists every one.
fn check_config_against(schema: &serde_json::Value, config: &serde_json::Value) -> ApiResult<()> {
    let Err(mismatches) = mandi_sdk::check_config(schema, config) else {
        return Ok(());
    };
    let first = mismatches
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let fields: Vec<serde_json::Value> = (mismatches.iter())
        .map(|m| serde_json::json!({ "path": m.path, "message": m.message }))
        .collect();
    Err(ApiError::unprocessable(
        "invalid-config",
        format!("the config does not fit the plugin's config schema: {first}"),
    )
    .with_details(serde_json::json!({ "fields": fields })))
}

/// A deployment's config: whatever object its plugin reads, so its fields are the plugin's.
pub(super) fn config_schema() -> utoipa::openapi::Schema {
    super::schema::free_form_object(
        "The JSON object the plugin reads as its config [default: {}]: any fields, which only \
         the plugin gives a meaning (at most 64 KiB, else 422 `invalid-config`). When the \
         component declares a config schema (its `config_schema`), the config must fit it, \
         else 422 `invalid-config` naming the field.",
        true,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeploymentQuery {
    /// Only this hook's history.
    pub hook: Option<String>,
}

const MAX_CONFIG_BYTES: usize = 64 << 10;

#[utoipa::path(post, path = "/admin/tenants", tag = "admin", security(("admin_token" = [])),
    request_body = CreateTenant,
    responses((status = 201, body = CreatedTenant), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<CreatedTenant>)> {
    let id_ok = (2..=63).contains(&body.id.len())
        && body
            .id
            .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && body
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(ApiError::unprocessable(
            "invalid-tenant-id",
            "a tenant id is 2 to 63 lowercase letters, digits and dashes",
        ));
    }
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(ApiError::unprocessable(
            "invalid-name",
            "a tenant needs a name of up to 200 bytes",
        ));
    }
    if body.currency.len() != 3 || !body.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::unprocessable(
            "invalid-currency",
            "currency is an ISO 4217 code such as INR",
        ));
    }
    let time_zone = body.time_zone.unwrap_or_else(|| "Asia/Kolkata".into());
    // Plugins get this name to read local time with: it must be one the IANA database knows.
    if time_zone.len() > 64 || jiff::tz::TimeZone::get(&time_zone).is_err() {
        return Err(ApiError::unprocessable(
            "invalid-time-zone",
            format!("`{time_zone}` is not an IANA time zone name such as Asia/Kolkata"),
        ));
    }
    let offset = body.utc_offset_minutes.unwrap_or(330);
    if !(-720..=840).contains(&offset) {
        return Err(ApiError::unprocessable(
            "invalid-utc-offset",
            "utc_offset_minutes must be -720 to 840",
        ));
    }
    let tenant = Tenant {
        id: body.id,
        name: body.name,
        currency: body.currency,
        time_zone,
        utc_offset_minutes: offset,
        created_at: crate::store::now_ms(),
    };
    let key = generate_api_key(&tenant.id);
    state.store().create_tenant(&tenant, &key.record).await?;
    tracing::info!(tenant = %tenant.id, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedTenant {
            tenant,
            api_key: key.secret_text,
        }),
    ))
}

#[utoipa::path(get, path = "/admin/tenants", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = Vec<Tenant>)))]
pub async fn list_tenants(_: Admin, State(state): State<AppState>) -> ApiResult<Json<Vec<Tenant>>> {
    Ok(Json(state.store().tenants().await?))
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/api-keys", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)),
    responses((status = 201, body = CreatedKey), (status = 404, body = ErrorBody)))]
pub async fn create_api_key(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let tenant = require_tenant(&state, &tenant).await?;
    let key = generate_api_key(&tenant.id);
    state.store().add_api_key(&key.record).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            tenant_id: tenant.id,
            api_key: key.secret_text,
        }),
    ))
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/plugins", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)),
    request_body(content = WasmComponent, content_type = "application/wasm"),
    responses((status = 201, description = "Uploaded", body = PluginRecord),
              (status = 200, description = "Already uploaded", body = PluginRecord),
              (status = 400, description = "An empty upload (`empty-body`)", body = ErrorBody),
              (status = 404, description = "No such tenant (`unknown-tenant`)", body = ErrorBody),
              (status = 413, description = "Larger than the component size limit", body = ErrorBody),
              (status = 415, body = ErrorBody),
              (status = 422, description = "Not a component, or an unsupported contract", body = ErrorBody)))]
pub async fn upload_plugin(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<PluginRecord>)> {
    let tenant = require_tenant(&state, &tenant).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != "application/wasm" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "upload the component as raw bytes with Content-Type: application/wasm",
        ));
    }
    let wasm = body?;
    if wasm.is_empty() {
        return Err(ApiError::bad_request("empty-body", "the upload is empty"));
    }
    // Compiles (off the executor) unless a node sharing the database already did; then the
    // other nodes load what this one compiled.
    let plugin = state
        .checkout()
        .deployments()
        .load_component(wasm.clone())
        .await?;
    // Runs the component's `config` export, if it has one: a sandboxed call, off the executor.
    let config_schema = {
        let plugin = plugin.clone();
        tokio::task::spawn_blocking(move || plugin.config_schema())
            .await
            .map_err(|e| ApiError::internal(format!("reading the config schema: {e}")))??
    };
    let record = PluginRecord {
        digest: plugin.digest().to_string(),
        contract: plugin.inspection().contract.to_string(),
        hooks: plugin
            .inspection()
            .hooks
            .iter()
            .map(|h| h.as_str().to_owned())
            .collect(),
        size_bytes: wasm.len() as i64,
        uploaded_at: crate::store::now_ms(),
        config_schema,
    };
    let created = state
        .store()
        .insert_plugin(&tenant.id, &record, &wasm)
        .await?;
    if created {
        state.events().wake();
        tracing::info!(tenant = %tenant.id, digest = %record.digest, "plugin uploaded");
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record)))
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/plugins", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<PluginRecord>), (status = 404, body = ErrorBody)))]
pub async fn list_plugins(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<Json<Vec<PluginRecord>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    Ok(Json(state.store().plugins(&tenant.id).await?))
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/deployments", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)), request_body = Deploy,
    responses((status = 201, description = "Deployed; `test_carts` says what trying it on the tenant's test carts found", body = DeploymentRecord),
              (status = 404, body = ErrorBody),
              (status = 422, description = "Bad input, a config its schema refuses (`invalid-config`), or test carts it quotes otherwise than expected (`test-carts-failed`, `details` lists each cart and how)", body = ErrorBody)))]
pub async fn deploy(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<Deploy>,
) -> ApiResult<(StatusCode, Json<DeploymentRecord>)> {
    let tenant = require_tenant(&state, &tenant).await?;
    let candidate = Candidate {
        hook: &body.hook,
        plugin: &body.plugin,
        config: body.config,
        failure_policy: body.failure_policy.as_deref(),
        limits: body.limits,
    };
    let (hook, mut new) = candidate.check(&state, &tenant).await?;
    (new.shadow_percent, new.canary) = rollout(body.mode, body.sample_percent, body.rollback_when)?;
    // The candidate quotes every test cart, beside the tenant's other hooks, before it is made.
    let results = (state.checkout())
        .try_test_carts(&tenant, hook, &new.candidate())
        .await?;
    let check = tally(results, body.force);
    if !check.failures.is_empty() && !body.force {
        return Err(ApiError::unprocessable(
            "test-carts-failed",
            format!(
                "{} of {} test carts do not quote as expected with this deployment (send \
                 `\"force\": true` to deploy anyway): {}",
                check.failures.len(),
                check.run,
                check.failures[0].cart
            ),
        )
        .with_details(serde_json::to_value(&check).expect("plain data")));
    }
    new.test_carts = Some(check);
    let record = state.store().deploy(&tenant.id, &new).await?;
    state.checkout().deployments().invalidate(&tenant.id);
    state.events().wake();
    tracing::info!(tenant = %tenant.id, %hook, deployment = %record.id, plugin = %record.plugin_digest, "deployed");
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/deployments", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), DeploymentQuery),
    responses((status = 200, description = "Every deployment, newest first per hook", body = Vec<DeploymentRecord>)))]
pub async fn list_deployments(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    query: Result<Query<DeploymentQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<DeploymentRecord>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let Query(query) = query?;
    Ok(Json(
        state
            .store()
            .deployments(&tenant.id, query.hook.as_deref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/deployments/{hook}/rollback", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("hook" = HookName, Path)),
    responses((status = 200, description = "The deployment active again", body = DeploymentRecord),
              (status = 404, body = ErrorBody), (status = 409, description = "Nothing to roll back to", body = ErrorBody),
              (status = 422, description = "Not a hook (`unknown-hook`)", body = ErrorBody)))]
pub async fn rollback(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, hook)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeploymentRecord>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let hook: Hook = hook
        .parse()
        .map_err(|e: String| ApiError::unprocessable("unknown-hook", e))?;
    let record = state.store().rollback(&tenant.id, hook.as_str()).await?;
    state.checkout().deployments().invalidate(&tenant.id);
    state.events().wake();
    tracing::info!(tenant = %tenant.id, %hook, deployment = %record.id, "rolled back");
    Ok(Json(record))
}

/// How a deploy rolls out: as a shadow with its sample, as a canary with its rules, or live.
fn rollout(
    mode: DeployMode,
    percent: Option<u8>,
    rollback_when: Option<RollbackWhen>,
) -> ApiResult<(Option<u8>, Option<CanaryRules>)> {
    let invalid = |message: String| Err(ApiError::unprocessable("invalid-sample", message));
    if mode != DeployMode::Canary && rollback_when.is_some() {
        return invalid("`rollback_when` goes with `\"mode\": \"canary\"`".into());
    }
    match (mode, percent.unwrap_or(10)) {
        (DeployMode::Live, _) if percent.is_some() => {
            invalid("`sample_percent` goes with `\"mode\": \"shadow\"` or `\"canary\"`".into())
        }
        (DeployMode::Live, _) => Ok((None, None)),
        (DeployMode::Shadow, percent @ 1..=100) => Ok((Some(percent), None)),
        (DeployMode::Canary, percent @ 1..=99) => {
            let when = rollback_when.unwrap_or_default();
            let rules = CanaryRules {
                percent,
                max_failure_rate_increase: when.failure_rate_increase_above.unwrap_or(0.05),
                max_p99_ratio: when.p99_ratio_above.unwrap_or(3.0),
                min_calls: when.min_calls.unwrap_or(20),
            };
            let sane = (0.0..=1.0).contains(&rules.max_failure_rate_increase)
                && rules.max_p99_ratio >= 1.0
                && rules.min_calls >= 1;
            if !sane {
                return invalid(
                    "`rollback_when`: failure_rate_increase_above is 0 to 1, p99_ratio_above at \
                     least 1, min_calls at least 1"
                        .into(),
                );
            }
            Ok((None, Some(rules)))
        }
        (DeployMode::Shadow, other) => {
            invalid(format!("`sample_percent` is 1 to 100, not {other}"))
        }
        (DeployMode::Canary, other) => invalid(format!(
            "a canary's `sample_percent` is 1 to 99, not {other}"
        )),
    }
}

/// A deployment not yet made, as a deploy (or a replay) names it.
pub(super) struct Candidate<'a> {
    pub hook: &'a str,
    pub plugin: &'a str,
    pub config: Option<serde_json::Value>,
    pub failure_policy: Option<&'a str>,
    pub limits: Option<serde_json::Value>,
}

impl Candidate<'_> {
    /// Checks the candidate as a deploy does: a hook the uploaded plugin exports, a config
    /// within its size and schema, a failure policy, limits within the runtime's ceilings.
    pub(super) async fn check(
        self,
        state: &AppState,
        tenant: &Tenant,
    ) -> ApiResult<(Hook, NewDeployment)> {
        let hook: Hook =
            (self.hook.parse()).map_err(|e: String| ApiError::unprocessable("unknown-hook", e))?;
        let policy = self.failure_policy.unwrap_or("fail-closed");
        parse_policy(policy).map_err(|e| ApiError::unprocessable("invalid-failure-policy", e))?;
        let ceilings = &state.checkout().deployments().runtime().config().ceilings;
        let limits = check_limits(self.limits, ceilings)?;
        let config = self.config.unwrap_or_else(|| serde_json::json!({}));
        let config_text = config.to_string();
        if config_text.len() > MAX_CONFIG_BYTES {
            return Err(ApiError::unprocessable(
                "invalid-config",
                format!("a config is at most {MAX_CONFIG_BYTES} bytes"),
            ));
        }
        PluginConfig::from_json(&config_text)
            .map_err(|e| ApiError::unprocessable("invalid-config", e.to_string()))?;
        let plugins = state.store().plugins(&tenant.id).await?;
        let plugin = (plugins.iter())
            .find(|p| p.digest == self.plugin)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown-plugin",
                    format!(
                        "tenant {} has no uploaded plugin {}",
                        tenant.id, self.plugin
                    ),
                )
            })?;
        if !plugin.hooks.iter().any(|h| h == hook.as_str()) {
            return Err(ApiError::unprocessable(
                "hook-not-exported",
                format!(
                    "plugin {} does not export the {hook} hook (it exports: {})",
                    plugin.digest,
                    plugin.hooks.join(", ")
                ),
            ));
        }
        if let Some(schema) = &plugin.config_schema {
            check_config_against(schema, &config)?;
        }
        let new = NewDeployment {
            hook: hook.as_str().to_owned(),
            plugin_digest: plugin.digest.clone(),
            config,
            failure_policy: policy.to_owned(),
            limits: serde_json::to_value(limits).expect("limits serialize"),
            test_carts: None,
            shadow_percent: None,
            canary: None,
        };
        Ok((hook, new))
    }
}

#[utoipa::path(post, path = "/admin/tenants/{tenant}/rollouts/{id}/promote", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "The shadow or canary deployment, now serving its hook (`plugin.promoted`)", body = DeploymentRecord),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Not a shadow or canary deployment", body = ErrorBody)))]
pub async fn promote(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeploymentRecord>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let record = state.store().promote(&tenant.id, &id).await?;
    state.checkout().deployments().invalidate(&tenant.id);
    state.events().wake();
    tracing::info!(tenant = %tenant.id, hook = %record.hook, deployment = %record.id, "promoted");
    Ok(Json(record))
}

/// A shadow or canary deployment, and what a shadow found so far (zero for a canary: its
/// calls are in run history).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RolloutReport {
    pub deployment: DeploymentRecord,
    #[serde(flatten)]
    pub summary: ShadowSummary,
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/rollouts/{id}", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "What the shadow deployment found on the live checkouts it ran beside: counts, the total price delta, the latest differences and failures", body = RolloutReport),
              (status = 404, body = ErrorBody)))]
pub async fn get_rollout(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<RolloutReport>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let deployment = (state.store().deployments(&tenant.id, None).await?)
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-deployment",
                format!("tenant {} has no deployment {id}", tenant.id),
            )
        })?;
    let summary = state.store().shadow_summary(&tenant.id, &id).await?;
    Ok(Json(RolloutReport {
        deployment,
        summary,
    }))
}

pub(super) async fn require_tenant(state: &AppState, id: &str) -> ApiResult<Tenant> {
    state.store().tenant(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-tenant",
            format!("no tenant `{id}`"),
        )
    })
}

/// A deployment's limits: any subset of the fields, within the runtime's ceilings.
fn check_limits(limits: Option<serde_json::Value>, ceilings: &Limits) -> ApiResult<Limits> {
    let limits: Limits = match limits {
        None => Limits::default(),
        Some(value) => serde_json::from_value(value)
            .map_err(|e| ApiError::unprocessable("invalid-limits", e.to_string()))?,
    };
    limits
        .check_within(ceilings)
        .map_err(|e| ApiError::unprocessable("invalid-limits", e.to_string()))?;
    Ok(limits)
}

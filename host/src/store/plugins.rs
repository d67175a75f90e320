//! The plugin registry (uploaded components, content-addressed per tenant) and deployments
//! (which component runs at which hook, with what config, policy and limits), with history.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::TestCartCheck;
use super::outbox::insert_event;
use super::{NewEvent, Result, Store, StoreError, Tx, from_json, json, parse};

/// An uploaded component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginRecord {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// The contract it was built against, e.g. `mandi:commerce@0.1.0`.
    pub contract: String,
    /// The hooks it exports.
    pub hooks: Vec<String>,
    pub size_bytes: i64,
    pub uploaded_at: i64,
    /// The JSON Schema the component declares for its config; deployments' configs are checked
    /// against it. `null` when it declares none.
    #[schema(schema_with = json_schema_document)]
    pub config_schema: Option<serde_json::Value>,
}

/// A JSON Schema document: an object whose keywords are JSON Schema's, not the API's.
fn json_schema_document() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(
            AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(true),
        ))
        .description(Some(
            "The JSON Schema (draft 2020-12) the component declares for its config; \
             deployments' configs are checked against it. `null` when it declares none.",
        ))
        .into()
}

/// Where a deployment stands in its hook's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentStatus {
    /// Serving the hook now.
    Active,
    /// Replaced by a later deployment; a rollback can bring it back.
    Superseded,
    /// Was active and was rolled back.
    RolledBack,
    /// Runs beside the active deployment on a sampled share of live checkouts, off the
    /// response path, its outcomes compared and never served; promoting makes it active.
    Shadow,
    /// A shadow or canary replaced by a later one of its hook.
    Retired,
    /// Serves a share of its hook's checkouts beside the active deployment, rolled back by
    /// the platform when it does worse than the active one; promoting makes it active.
    Canary,
    /// A canary the platform (or a rollback) took off its share.
    CanaryRolledBack,
}

impl std::str::FromStr for DeploymentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(Self::Active),
            "superseded" => Ok(Self::Superseded),
            "rolled-back" => Ok(Self::RolledBack),
            "shadow" => Ok(Self::Shadow),
            "retired" => Ok(Self::Retired),
            "canary" => Ok(Self::Canary),
            "canary-rolled-back" => Ok(Self::CanaryRolledBack),
            _ => Err(()),
        }
    }
}

/// A deployment to make; the caller has validated hook, policy and limits.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub hook: String,
    pub plugin_digest: String,
    pub config: serde_json::Value,
    pub failure_policy: String,
    pub limits: serde_json::Value,
    /// What trying it on the tenant's test carts found.
    pub test_carts: Option<TestCartCheck>,
    /// Deployed in shadow, on this percent of live checkouts; `None`: live.
    pub shadow_percent: Option<u8>,
    /// Deployed as a canary with these rules; `None`: live.
    pub canary: Option<CanaryRules>,
}

/// A canary's share of checkouts and when the platform rolls it back: both compare the
/// canary's recorded calls with the active deployment's since the canary was made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryRules {
    /// Percent of the hook's checkouts the canary serves, 1 to 99, sticky per customer (or,
    /// without one, per cart).
    #[schema(minimum = 1, maximum = 99)]
    pub percent: u8,
    /// Rolled back when its share of failed calls exceeds the active deployment's by more than
    /// this (0.05: five points) [default: 0.05].
    #[serde(default = "CanaryRules::default_failure_margin")]
    pub max_failure_rate_increase: f64,
    /// Rolled back when its p99 call duration exceeds this multiple of the active
    /// deployment's [default: 3.0].
    #[serde(default = "CanaryRules::default_p99_ratio")]
    pub max_p99_ratio: f64,
    /// Calls the canary makes before it is judged [default: 20].
    #[serde(default = "CanaryRules::default_min_calls")]
    pub min_calls: u32,
}

impl CanaryRules {
    fn default_failure_margin() -> f64 {
        0.05
    }
    fn default_p99_ratio() -> f64 {
        3.0
    }
    fn default_min_calls() -> u32 {
        20
    }
}

impl NewDeployment {
    /// The deployment as it would be once made, for trying it before it is.
    pub fn candidate(&self) -> DeploymentRecord {
        DeploymentRecord {
            id: "candidate".into(),
            hook: self.hook.clone(),
            plugin_digest: self.plugin_digest.clone(),
            config: self.config.clone(),
            failure_policy: self.failure_policy.clone(),
            limits: self.limits.clone(),
            status: DeploymentStatus::Active,
            version: 0,
            created_at: super::now_ms(),
            test_carts: None,
            sample_percent: None,
            canary: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentRecord {
    pub id: String,
    pub hook: String,
    pub plugin_digest: String,
    /// The JSON object the plugin reads as its config.
    #[schema(schema_with = config_schema)]
    pub config: serde_json::Value,
    /// `fail-closed` or `fail-open`.
    pub failure_policy: String,
    /// Per-call limits (any subset of the runtime's limit fields).
    #[schema(value_type = crate::runtime::Limits)]
    pub limits: serde_json::Value,
    pub status: DeploymentStatus,
    /// Position in this hook's history, from 1.
    pub version: i64,
    pub created_at: i64,
    /// What trying it on the tenant's test carts found before it was made; null for
    /// deployments made before test carts existed.
    pub test_carts: Option<TestCartCheck>,
    /// A shadow's or canary's share of live checkouts, percent; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_percent: Option<i64>,
    /// A canary's rules; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryRules>,
}

/// A deployment's config: whatever object its plugin reads, so its fields are the plugin's.
fn config_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::Schema;
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
        .description(Some(
            "The JSON object the plugin reads as its config: any fields, which only the plugin \
             gives a meaning.",
        ))
        .into()
}

/// What a `plugin.canary-rolled-back` event carries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CanaryRolledBack {
    /// The canary, as rolled back.
    pub deployment: DeploymentRecord,
    /// How it did worse than the live version.
    pub reason: String,
}

/// What a `plugin.rolled-back` event carries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RolledBack {
    /// The deployment that was rolled back.
    pub rolled_back: String,
    /// The deployment active again.
    pub deployment: DeploymentRecord,
}

impl Store {
    /// Records an upload. Returns false when the tenant already had this exact component.
    pub async fn insert_plugin(
        &self,
        tenant: &str,
        record: &PluginRecord,
        wasm: &[u8],
    ) -> Result<bool> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        let inserted = sqlx::query(
            "INSERT INTO plugins
                 (tenant_id, digest, contract, hooks, size_bytes, wasm, uploaded_at, config_schema)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, digest) DO NOTHING",
        )
        .bind(tenant)
        .bind(&record.digest)
        .bind(&record.contract)
        .bind(json(&record.hooks))
        .bind(record.size_bytes)
        .bind(wasm)
        .bind(record.uploaded_at)
        .bind(record.config_schema.as_ref().map(json))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let event = NewEvent {
                kind: "plugin.uploaded",
                payload: serde_json::to_value(record).expect("plain data"),
            };
            insert_event(&mut tx, tenant, &event).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn plugins(&self, tenant: &str) -> Result<Vec<PluginRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT digest, contract, hooks, size_bytes, uploaded_at, config_schema FROM plugins
             WHERE tenant_id = $1 ORDER BY uploaded_at, digest",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(PluginRecord {
                    digest: r.try_get("digest")?,
                    contract: r.try_get("contract")?,
                    hooks: from_json(r.try_get("hooks")?, "plugin hooks")?,
                    size_bytes: r.try_get("size_bytes")?,
                    uploaded_at: r.try_get("uploaded_at")?,
                    config_schema: (r.try_get::<Option<String>, _>("config_schema")?)
                        .map(|text| from_json(&text, "plugin config schema"))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The component's bytes, if this tenant uploaded it.
    pub async fn plugin_wasm(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query("SELECT wasm FROM plugins WHERE tenant_id = $1 AND digest = $2")
            .bind(tenant)
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.try_get("wasm")).transpose()?)
    }

    /// Makes `new` the hook's active deployment, superseding the current one; or, with
    /// `shadow_percent`, its shadow, retiring the current shadow and leaving the active one.
    pub async fn deploy(&self, tenant: &str, new: &NewDeployment) -> Result<DeploymentRecord> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        // The next version is read, then written: concurrent deploys must take turns.
        self.lock_tenant(&mut tx, tenant).await?;
        let known = sqlx::query("SELECT 1 FROM plugins WHERE tenant_id = $1 AND digest = $2")
            .bind(tenant)
            .bind(&new.plugin_digest)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!(
                "plugin {}",
                new.plugin_digest
            )));
        }
        let (status, replaced, replaced_by) = match (new.shadow_percent, new.canary) {
            (Some(_), _) => (DeploymentStatus::Shadow, "shadow", "retired"),
            (None, Some(_)) => (DeploymentStatus::Canary, "canary", "retired"),
            (None, None) => (DeploymentStatus::Active, "active", "superseded"),
        };
        sqlx::query(
            "UPDATE deployments SET status = $3
             WHERE tenant_id = $1 AND hook = $2 AND status = $4",
        )
        .bind(tenant)
        .bind(&new.hook)
        .bind(replaced_by)
        .bind(replaced)
        .execute(&mut *tx)
        .await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM deployments WHERE tenant_id = $1 AND hook = $2",
        )
        .bind(tenant)
        .bind(&new.hook)
        .fetch_one(&mut *tx)
        .await?;
        let record = DeploymentRecord {
            id: uuid::Uuid::now_v7().to_string(),
            hook: new.hook.clone(),
            plugin_digest: new.plugin_digest.clone(),
            config: new.config.clone(),
            failure_policy: new.failure_policy.clone(),
            limits: new.limits.clone(),
            status,
            version,
            created_at: super::now_ms(),
            test_carts: new.test_carts.clone(),
            sample_percent: (new.shadow_percent.or(new.canary.map(|c| c.percent))).map(i64::from),
            canary: new.canary,
        };
        sqlx::query(
            "INSERT INTO deployments (tenant_id, id, hook, plugin_digest, config, failure_policy,
                                      limits, status, seq, created_at, test_carts, sample_percent,
                                      canary)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $11, $8, $9, $10, $12, $13)",
        )
        .bind(tenant)
        .bind(&record.id)
        .bind(&record.hook)
        .bind(&record.plugin_digest)
        .bind(json(&record.config))
        .bind(&record.failure_policy)
        .bind(json(&record.limits))
        .bind(record.version)
        .bind(record.created_at)
        .bind(record.test_carts.as_ref().map(json))
        .bind(replaced)
        .bind(record.sample_percent)
        .bind(record.canary.as_ref().map(json))
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            kind: match status {
                DeploymentStatus::Shadow => "plugin.shadow-deployed",
                DeploymentStatus::Canary => "plugin.canary-deployed",
                _ => "plugin.deployed",
            },
            payload: serde_json::to_value(&record).expect("plain data"),
        };
        insert_event(&mut tx, tenant, &event).await?;
        self.notify_deployment(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Retires the hook's active deployment and re-activates the one it replaced.
    pub async fn rollback(&self, tenant: &str, hook: &str) -> Result<DeploymentRecord> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        self.lock_tenant(&mut tx, tenant).await?;
        let active: Option<(String, i64)> = sqlx::query_as(
            "SELECT id, seq FROM deployments
             WHERE tenant_id = $1 AND hook = $2 AND status = 'active'",
        )
        .bind(tenant)
        .bind(hook)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((active_id, active_seq)) = active else {
            return Err(StoreError::NotFound(format!("an active {hook} deployment")));
        };
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT id FROM deployments WHERE tenant_id = $1 AND hook = $2
             AND status = 'superseded' AND seq < $3 ORDER BY seq DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(hook)
        .bind(active_seq)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(previous_id) = previous else {
            return Err(StoreError::Conflict(format!(
                "the {hook} hook has no earlier deployment to roll back to"
            )));
        };
        for (id, status) in [(&active_id, "rolled-back"), (&previous_id, "active")] {
            sqlx::query("UPDATE deployments SET status = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(status)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let record = deployment_where(&mut tx, tenant, &previous_id).await?;
        let event = NewEvent {
            kind: "plugin.rolled-back",
            payload: serde_json::to_value(RolledBack {
                rolled_back: active_id,
                deployment: record.clone(),
            })
            .expect("plain data"),
        };
        insert_event(&mut tx, tenant, &event).await?;
        self.notify_deployment(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Makes the shadow or canary deployment `id` its hook's active deployment, superseding the
    /// active one; announced as `plugin.promoted`.
    pub async fn promote(&self, tenant: &str, id: &str) -> Result<DeploymentRecord> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        self.lock_tenant(&mut tx, tenant).await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM deployments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(StoreError::NotFound(format!("deployment {id}"))),
            Some("shadow" | "canary") => {}
            Some(other) => {
                return Err(StoreError::Conflict(format!(
                    "deployment {id} is {other}: only a shadow or canary deployment is promoted"
                )));
            }
        }
        let record = deployment_where(&mut tx, tenant, id).await?;
        sqlx::query(
            "UPDATE deployments SET status = 'superseded'
             WHERE tenant_id = $1 AND hook = $2 AND status = 'active'",
        )
        .bind(tenant)
        .bind(&record.hook)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE deployments SET status = 'active' WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let record = deployment_where(&mut tx, tenant, id).await?;
        let event = NewEvent {
            kind: "plugin.promoted",
            payload: serde_json::to_value(&record).expect("plain data"),
        };
        insert_event(&mut tx, tenant, &event).await?;
        self.notify_deployment(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Every tenant's active, shadow and canary deployments (the system role): the console's
    /// view of what serves each hook.
    pub async fn serving_deployments(&self) -> Result<Vec<(String, DeploymentRecord)>> {
        let mut tx = self.system_tx(false).await?;
        let rows = sqlx::query(
            "SELECT * FROM deployments WHERE status IN ('active', 'shadow', 'canary')
             ORDER BY tenant_id, hook, seq",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| Ok((row.try_get("tenant_id")?, deployment_from(row)?)))
            .collect()
    }

    /// Every tenant's canary deployments (the system role): what the canary watch judges.
    pub async fn canaries(&self) -> Result<Vec<(String, DeploymentRecord)>> {
        let mut tx = self.system_tx(false).await?;
        let rows = sqlx::query("SELECT * FROM deployments WHERE status = 'canary'")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| Ok((row.try_get("tenant_id")?, deployment_from(row)?)))
            .collect()
    }

    /// Takes the canary `id` off its share, if it is still a canary: `plugin.canary-rolled-back`
    /// says why. `None` when it no longer was (promoted, replaced, or rolled back by another
    /// node first).
    pub async fn roll_back_canary(
        &self,
        tenant: &str,
        id: &str,
        reason: &str,
    ) -> Result<Option<DeploymentRecord>> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        self.lock_tenant(&mut tx, tenant).await?;
        let changed = sqlx::query(
            "UPDATE deployments SET status = 'canary-rolled-back'
             WHERE tenant_id = $1 AND id = $2 AND status = 'canary'",
        )
        .bind(tenant)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let record = deployment_where(&mut tx, tenant, id).await?;
        let event = NewEvent {
            kind: "plugin.canary-rolled-back",
            payload: serde_json::to_value(CanaryRolledBack {
                deployment: record.clone(),
                reason: reason.to_owned(),
            })
            .expect("plain data"),
        };
        insert_event(&mut tx, tenant, &event).await?;
        self.notify_deployment(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    /// The tenant's deployments, newest first, optionally of one hook.
    pub async fn deployments(
        &self,
        tenant: &str,
        hook: Option<&str>,
    ) -> Result<Vec<DeploymentRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM deployments
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR hook = $2)
             ORDER BY hook, seq DESC",
        )
        .bind(tenant)
        .bind(hook)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(deployment_from).collect()
    }

    /// The deployments serving the tenant's hooks now, and their shadows and canaries.
    pub async fn active_deployments(&self, tenant: &str) -> Result<Vec<DeploymentRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM deployments WHERE tenant_id = $1
               AND status IN ('active', 'shadow', 'canary')
             ORDER BY hook, seq",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(deployment_from).collect()
    }
}

async fn deployment_where(tx: &mut Tx, tenant: &str, id: &str) -> Result<DeploymentRecord> {
    let row = sqlx::query("SELECT * FROM deployments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    deployment_from(&row)
}

fn deployment_from(row: &AnyRow) -> Result<DeploymentRecord> {
    Ok(DeploymentRecord {
        id: row.try_get("id")?,
        hook: row.try_get("hook")?,
        plugin_digest: row.try_get("plugin_digest")?,
        config: from_json(row.try_get("config")?, "deployment config")?,
        failure_policy: row.try_get("failure_policy")?,
        limits: from_json(row.try_get("limits")?, "deployment limits")?,
        status: parse(row.try_get("status")?, "deployment status")?,
        version: row.try_get("seq")?,
        created_at: row.try_get("created_at")?,
        test_carts: (row.try_get::<Option<String>, _>("test_carts")?)
            .map(|text| from_json(&text, "deployment test carts"))
            .transpose()?,
        sample_percent: row.try_get("sample_percent")?,
        canary: (row.try_get::<Option<String>, _>("canary")?)
            .map(|text| from_json(&text, "deployment canary rules"))
            .transpose()?,
    })
}

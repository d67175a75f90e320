//! What shadow deployments found: one row per sampled checkout, the shadow's outcome against
//! the live one's, kept for the run retention and summarised per deployment.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Result, Store, from_json, json};

/// A value that differs between two versions' outcomes of one checkout: where (a JSON pointer
/// into the outcome: `/totals/total`, `/adjustments/1/amount`, ...), and its value on each side
/// (absent on a side that lacks it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub path: String,
    #[schema(schema_with = any_json_value)]
    pub live: Option<serde_json::Value>,
    #[schema(schema_with = any_json_value)]
    pub candidate: Option<serde_json::Value>,
}

/// Any JSON value: a part of a quote, whatever its shape there.
fn any_json_value() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Array,
            Type::String,
            Type::Number,
            Type::Integer,
            Type::Boolean,
            Type::Null,
        ]))
        .additional_properties(Some(
            AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(true),
        ))
        .description(Some(
            "The value at `path` on this side, as the quote shows it; absent when this side \
             has none there.",
        ))
        .into()
}

/// One sampled checkout of a shadow deployment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShadowRun {
    #[serde(skip)]
    pub tenant_id: String,
    #[serde(skip)]
    pub deployment_id: String,
    pub request_id: String,
    /// `identical`, `different` or `failed`.
    pub status: String,
    /// The quote's total, live and with the shadow, when both quoted.
    pub live_total: Option<i64>,
    pub shadow_total: Option<i64>,
    /// `shadow_total - live_total` (0 unless both quoted).
    pub delta: i64,
    /// Where the shadow's outcome differs (`candidate` is the shadow's side).
    pub changes: Vec<Change>,
    /// With `failed`: why.
    pub failure: Option<String>,
    pub created_at: i64,
}

/// A shadow deployment's results so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShadowSummary {
    /// Sampled checkouts compared.
    pub runs: i64,
    pub identical: i64,
    pub different: i64,
    pub failed: i64,
    /// The sum of the quotes' total deltas, minor units: what the shadow would have charged
    /// more (negative: less) over these checkouts.
    pub total_delta: i64,
    /// The latest differences and failures, newest first (at most 10).
    pub examples: Vec<ShadowRun>,
}

const EXAMPLES: i64 = 10;

impl Store {
    /// Records shadow runs, which may be of several tenants (the system role), in one
    /// transaction: they come from the run-history writer, in its batches.
    pub async fn insert_shadow_runs(&self, runs: &[ShadowRun]) -> Result<()> {
        /// Rows a statement inserts: 64 x 10 parameters is under every backend's limit.
        const CHUNK: usize = 64;
        if runs.is_empty() {
            return Ok(());
        }
        let mut tx = self.system_tx(true).await?;
        for chunk in runs.chunks(CHUNK) {
            let sql = super::runs::multi_row_insert(
                "INSERT INTO shadow_runs (tenant_id, deployment_id, request_id, status, live_total,
                                          shadow_total, delta, changes, failure, created_at) VALUES ",
                10,
                chunk.len(),
                self.backend,
            );
            let mut insert = sqlx::query(&sql);
            for run in chunk {
                insert = insert
                    .bind(&run.tenant_id)
                    .bind(&run.deployment_id)
                    .bind(&run.request_id)
                    .bind(&run.status)
                    .bind(run.live_total)
                    .bind(run.shadow_total)
                    .bind(run.delta)
                    .bind(json(&run.changes))
                    .bind(&run.failure)
                    .bind(run.created_at);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What the shadow deployment `deployment_id` found so far.
    pub async fn shadow_summary(&self, tenant: &str, deployment_id: &str) -> Result<ShadowSummary> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let totals = sqlx::query(
            "SELECT COUNT(*) AS runs,
                    CAST(COALESCE(SUM(CASE WHEN status = 'identical' THEN 1 ELSE 0 END), 0) AS BIGINT) AS identical,
                    CAST(COALESCE(SUM(CASE WHEN status = 'different' THEN 1 ELSE 0 END), 0) AS BIGINT) AS different,
                    CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
                    CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS total_delta
               FROM shadow_runs WHERE tenant_id = $1 AND deployment_id = $2",
        )
        .bind(tenant)
        .bind(deployment_id)
        .fetch_one(&mut *tx)
        .await?;
        let examples = sqlx::query(
            "SELECT * FROM shadow_runs WHERE tenant_id = $1 AND deployment_id = $2
               AND status <> 'identical' ORDER BY created_at DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(deployment_id)
        .bind(EXAMPLES)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ShadowSummary {
            runs: totals.try_get("runs")?,
            identical: totals.try_get("identical")?,
            different: totals.try_get("different")?,
            failed: totals.try_get("failed")?,
            total_delta: totals.try_get("total_delta")?,
            examples: examples
                .iter()
                .map(|row| {
                    Ok(ShadowRun {
                        tenant_id: row.try_get("tenant_id")?,
                        deployment_id: row.try_get("deployment_id")?,
                        request_id: row.try_get("request_id")?,
                        status: row.try_get("status")?,
                        live_total: row.try_get("live_total")?,
                        shadow_total: row.try_get("shadow_total")?,
                        delta: row.try_get("delta")?,
                        changes: from_json(row.try_get("changes")?, "shadow changes")?,
                        failure: row.try_get("failure")?,
                        created_at: row.try_get("created_at")?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

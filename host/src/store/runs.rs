//! Plugin run history: one row per hook call, kept for the retention period.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Result, Store, StoreError, flag, from_json, json, take_numbers};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RunRecord {
    /// The tenant's own run number, 1, 2, 3, ..., assigned on insert (0 before): other
    /// tenants' runs never show in it.
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: String,
    /// The checkout request the call belonged to.
    pub request_id: String,
    pub hook: String,
    pub deployment_id: String,
    pub plugin_digest: String,
    /// `ok`, `skipped` (failed, fail-open) or `failed` (failed, fail-closed).
    pub outcome: String,
    /// The failure kind, e.g. `timeout`, when the call failed.
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub duration_us: i64,
    pub fuel_used: i64,
    /// The fuel the call was allowed (absent on runs recorded before budgets were kept).
    pub fuel_budget: Option<i64>,
    pub peak_memory_bytes: i64,
    /// SHA-256 of the hook's input, to find identical calls and replay them.
    pub input_digest: String,
    /// What the plugin logged, capped by its log limit.
    #[schema(value_type = Vec<RunLog>)]
    pub logs: serde_json::Value,
    pub logs_truncated: bool,
    pub created_at: i64,
}

/// One line a plugin logged (through `host.log`, or printed), as run history keeps it.
#[derive(Debug, utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the stored JSON in the OpenAPI document only"
)]
pub struct RunLog {
    pub level: RunLogLevel,
    pub message: String,
    /// The structured fields logged with it, as `[key, value]` pairs; absent when none.
    #[schema(required = false, schema_with = log_fields)]
    pub fields: Vec<(String, String)>,
}

/// How severe a logged line is.
#[derive(Debug, utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the stored JSON in the OpenAPI document only"
)]
#[schema(rename_all = "lowercase")]
pub enum RunLogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// `[["key", "value"], ...]`: a pair is an array of two strings, as the runtime writes it.
fn log_fields() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let pair = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .items(pair)
        .description(Some(
            "The structured fields logged with it, as `[key, value]` pairs; absent when none",
        ))
        .build()
}

/// Which runs to list; every field narrows the result.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunFilter {
    pub hook: Option<String>,
    pub outcome: Option<String>,
    pub deployment_id: Option<String>,
    pub request_id: Option<String>,
    /// Only runs with an id below this (page back from the last id seen).
    pub before: Option<i64>,
    /// At most this many, newest first [default: 50].
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// What a checkout that called a plugin gave the pipeline, kept beside its runs for replays.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutInputRecord {
    pub tenant_id: String,
    pub request_id: String,
    /// The input as JSON (a `mandi plugin quote` input file).
    pub input: String,
    /// The same time as the request's runs: together with the request id, it finds them.
    pub created_at: i64,
}

/// A tenant's recorded run of a hook, with the input of its checkout when it was kept.
#[derive(Debug, Clone)]
pub struct RecordedRun {
    /// The run's number in the tenant's history.
    pub run: i64,
    pub request_id: String,
    pub created_at: i64,
    /// The checkout's input (JSON), absent when it was too large to keep.
    pub input: Option<String>,
}

/// Which recorded runs of a hook to take, newest first.
#[derive(Debug, Clone, Copy)]
pub struct RunWindow {
    /// Only runs recorded at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only runs recorded before this time (Unix ms).
    pub until: Option<i64>,
    /// At most this many.
    pub last: u32,
}

/// Runs and checkout inputs a batch could not store, and why.
#[derive(Debug)]
pub struct RunsNotStored {
    /// Positions in the batch of the runs that were not stored.
    pub runs: Vec<usize>,
    /// Positions in the batch of the checkout inputs that were not stored.
    pub inputs: Vec<usize>,
    /// The last error met.
    pub cause: StoreError,
}

/// Runs a statement inserts: 48 x 17 parameters stays under the 999 of older SQLite builds
/// as well as the limits of current SQLite and PostgreSQL.
const INSERT_CHUNK: usize = 48;
const RUN_COLUMNS: usize = 17;

/// `INSERT INTO plugin_runs (...) VALUES (...), (...)` for `rows` runs.
fn insert_runs_sql(rows: usize, backend: Backend) -> String {
    multi_row_insert(
        "INSERT INTO plugin_runs (tenant_id, number, request_id, hook, deployment_id,
           plugin_digest, outcome, error_kind, error, duration_us, fuel_used, fuel_budget,
           peak_memory_bytes, input_digest, logs, logs_truncated, created_at) VALUES ",
        RUN_COLUMNS,
        rows,
        backend,
    )
}

/// `head` followed by `rows` tuples of `columns` parameters. PostgreSQL gets numbered
/// parameters (`$1 .. $17, $18 ..`); SQLite gets anonymous `?`s, bound in order: it looks a
/// numbered parameter's name up in a list as long as the statement's parameters, for each one
/// bound, so a 48-row INSERT cost 816 x ~400 steps just to bind (2% of a busy node's CPU under
/// load).
pub(super) fn multi_row_insert(
    head: &str,
    columns: usize,
    rows: usize,
    backend: Backend,
) -> String {
    let mut sql = String::from(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Postgres => {
                    sql.push_str(&format!("${}", row * columns + column + 1));
                }
                Backend::Sqlite => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// Records a batch of runs and checkout inputs, which may be of several tenants (the
    /// system role), in one transaction. When the database refuses the batch (a value it cannot
    /// store, a constraint), each record is tried on its own, so the one at fault costs only
    /// itself and never the other records or tenants of its batch. A database that cannot be
    /// reached loses the batch whole.
    pub async fn insert_runs(
        &self,
        runs: &[RunRecord],
        inputs: &[CheckoutInputRecord],
    ) -> Result<(), RunsNotStored> {
        let refused = match self.insert_run_batch(runs, inputs).await {
            Ok(()) => return Ok(()),
            Err(err) if err.is_refusal() => err,
            Err(cause) => {
                return Err(RunsNotStored {
                    runs: (0..runs.len()).collect(),
                    inputs: (0..inputs.len()).collect(),
                    cause,
                });
            }
        };
        let mut lost = RunsNotStored {
            runs: Vec::new(),
            inputs: Vec::new(),
            cause: refused,
        };
        let one_by_one = (0..runs.len())
            .map(|i| (false, i))
            .chain((0..inputs.len()).map(|i| (true, i)));
        let mut unreachable = false;
        for (is_input, i) in one_by_one {
            let lost_list = if is_input {
                &mut lost.inputs
            } else {
                &mut lost.runs
            };
            if unreachable {
                lost_list.push(i);
                continue;
            }
            let result = if is_input {
                self.insert_run_batch(&[], std::slice::from_ref(&inputs[i]))
                    .await
            } else {
                self.insert_run_batch(std::slice::from_ref(&runs[i]), &[])
                    .await
            };
            if let Err(err) = result {
                unreachable = !err.is_refusal();
                lost_list.push(i);
                lost.cause = err;
            }
        }
        if lost.runs.is_empty() && lost.inputs.is_empty() {
            Ok(())
        } else {
            Err(lost)
        }
    }

    async fn insert_run_batch(
        &self,
        runs: &[RunRecord],
        inputs: &[CheckoutInputRecord],
    ) -> Result<()> {
        if runs.is_empty() && inputs.is_empty() {
            return Ok(());
        }
        let mut tx = self.system_tx(true).await?;
        // Each tenant's runs take the next numbers of its own counter, in batch order.
        let mut per_tenant: BTreeMap<&str, i64> = BTreeMap::new();
        for r in runs {
            *per_tenant.entry(&r.tenant_id).or_default() += 1;
        }
        let mut next = BTreeMap::new();
        for (tenant, count) in per_tenant {
            let last = take_numbers(&mut tx, tenant, "run", count).await?;
            next.insert(tenant, last - count + 1);
        }
        // One multi-row INSERT a chunk: a statement per run would be a database round trip
        // per run, and the batches come at the rate of checkouts.
        for chunk in runs.chunks(INSERT_CHUNK) {
            let sql = insert_runs_sql(chunk.len(), self.backend);
            let mut insert = sqlx::query(&sql);
            for r in chunk {
                let number = next.get_mut(r.tenant_id.as_str()).expect("counted above");
                insert = insert
                    .bind(&r.tenant_id)
                    .bind(*number)
                    .bind(&r.request_id)
                    .bind(&r.hook)
                    .bind(&r.deployment_id)
                    .bind(&r.plugin_digest)
                    .bind(&r.outcome)
                    .bind(&r.error_kind)
                    .bind(&r.error)
                    .bind(r.duration_us)
                    .bind(r.fuel_used)
                    .bind(r.fuel_budget)
                    .bind(r.peak_memory_bytes)
                    .bind(&r.input_digest)
                    .bind(json(&r.logs))
                    .bind(i64::from(r.logs_truncated))
                    .bind(r.created_at);
                *number += 1;
            }
            insert.execute(&mut *tx).await?;
        }
        for input in inputs {
            sqlx::query(
                "INSERT INTO checkout_inputs (tenant_id, request_id, input, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&input.tenant_id)
            .bind(&input.request_id)
            .bind(&input.input)
            .bind(input.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's recorded runs of `hook` in `window`, newest first, each with its checkout's
    /// input when it was kept.
    pub async fn recorded_runs(
        &self,
        tenant: &str,
        hook: &str,
        window: RunWindow,
    ) -> Result<Vec<RecordedRun>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT r.number, r.request_id, r.created_at,
                    (SELECT i.input FROM checkout_inputs i
                      WHERE i.tenant_id = r.tenant_id AND i.request_id = r.request_id
                        AND i.created_at = r.created_at LIMIT 1) AS input
               FROM plugin_runs r
              WHERE r.tenant_id = $1 AND r.hook = $2
                AND (CAST($3 AS BIGINT) IS NULL OR r.created_at >= $3)
                AND (CAST($4 AS BIGINT) IS NULL OR r.created_at < $4)
              ORDER BY r.number DESC LIMIT $5",
        )
        .bind(tenant)
        .bind(hook)
        .bind(window.since)
        .bind(window.until)
        .bind(i64::from(window.last))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(RecordedRun {
                    run: row.try_get("number")?,
                    request_id: row.try_get("request_id")?,
                    created_at: row.try_get("created_at")?,
                    input: row.try_get("input")?,
                })
            })
            .collect()
    }

    pub async fn runs(&self, tenant: &str, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let limit = filter.limit.unwrap_or(50).clamp(1, 500);
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM plugin_runs WHERE tenant_id = $1
               AND (CAST($2 AS TEXT) IS NULL OR hook = $2)
               AND (CAST($3 AS TEXT) IS NULL OR outcome = $3)
               AND (CAST($4 AS TEXT) IS NULL OR deployment_id = $4)
               AND (CAST($5 AS TEXT) IS NULL OR request_id = $5)
               AND (CAST($6 AS BIGINT) IS NULL OR number < $6)
             ORDER BY number DESC LIMIT $7",
        )
        .bind(tenant)
        .bind(&filter.hook)
        .bind(&filter.outcome)
        .bind(&filter.deployment_id)
        .bind(&filter.request_id)
        .bind(filter.before)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(run_from).collect()
    }

    pub async fn run(&self, tenant: &str, id: i64) -> Result<Option<RunRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query("SELECT * FROM plugin_runs WHERE tenant_id = $1 AND number = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| run_from(&r)).transpose()
    }

    /// The input (JSON) of the checkout run `id` belonged to, when it was kept; `None` when
    /// there is no such run or its input was not kept.
    pub async fn run_input(&self, tenant: &str, id: i64) -> Result<Option<String>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let input = sqlx::query_scalar(
            "SELECT i.input FROM plugin_runs r JOIN checkout_inputs i
                ON i.tenant_id = r.tenant_id AND i.request_id = r.request_id
               AND i.created_at = r.created_at
             WHERE r.tenant_id = $1 AND r.number = $2 LIMIT 1",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(input)
    }

    /// How the newest (at most `last`) calls of a deployment since `since_ms` went: whether
    /// each was `ok`, and its duration in µs.
    pub async fn deployment_calls(
        &self,
        tenant: &str,
        deployment_id: &str,
        since_ms: i64,
        last: u32,
    ) -> Result<Vec<(bool, i64)>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT outcome, duration_us FROM plugin_runs
              WHERE tenant_id = $1 AND deployment_id = $2 AND created_at >= $3
              ORDER BY number DESC LIMIT $4",
        )
        .bind(tenant)
        .bind(deployment_id)
        .bind(since_ms)
        .bind(i64::from(last))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                Ok((outcome == "ok", row.try_get("duration_us")?))
            })
            .collect()
    }

    /// Deletes runs of every tenant recorded before `cutoff_ms`, with their checkout inputs,
    /// shadow runs and minute figures; returns how many runs.
    pub async fn prune_runs(&self, cutoff_ms: i64) -> Result<u64> {
        let mut tx = self.system_tx(true).await?;
        let deleted = sqlx::query("DELETE FROM plugin_runs WHERE created_at < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["checkout_inputs", "shadow_runs"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE created_at < $1"))
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM minute_stats WHERE minute < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

fn run_from(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("number")?,
        tenant_id: row.try_get("tenant_id")?,
        request_id: row.try_get("request_id")?,
        hook: row.try_get("hook")?,
        deployment_id: row.try_get("deployment_id")?,
        plugin_digest: row.try_get("plugin_digest")?,
        outcome: row.try_get("outcome")?,
        error_kind: row.try_get("error_kind")?,
        error: row.try_get("error")?,
        duration_us: row.try_get("duration_us")?,
        fuel_used: row.try_get("fuel_used")?,
        fuel_budget: row.try_get("fuel_budget")?,
        peak_memory_bytes: row.try_get("peak_memory_bytes")?,
        input_digest: row.try_get("input_digest")?,
        logs: from_json(row.try_get("logs")?, "run logs")?,
        logs_truncated: flag(row, "logs_truncated")?,
        created_at: row.try_get("created_at")?,
    })
}

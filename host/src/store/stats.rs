//! Each tenant's quotes and hook calls by the minute: what the console plots. Every node
//! writes its own row per tenant, hook and minute, replacing it with its running totals, so
//! nodes never contend for a row and a repeated write is harmless; readers sum the nodes.

use sqlx::Row;

use super::{Result, Store, from_json, json};

/// One node's figures for a tenant's hook (or its whole quotes) in one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteStat {
    pub tenant_id: String,
    /// A hook's name, or `quote` for whole quotes.
    pub hook: String,
    /// Unix ms at the minute's start.
    pub minute: i64,
    pub calls: i64,
    /// Failures of the plugin: timeouts, traps, limits, invalid output.
    pub failed: i64,
    /// Refusals the plugin chose (its error): its business rules at work, not failures.
    pub rejected: i64,
    /// Failed and skipped (fail-open): the quote went on without the hook.
    pub degraded: i64,
    /// Counts by duration bucket (see `pipeline::stats::Histogram`), as `[bucket, count]`.
    pub durations: Vec<(u16, u64)>,
}

impl Store {
    /// Writes this node's current figures, replacing what it wrote before for the same
    /// tenant, hook and minute (the system role: a batch spans tenants), a multi-row upsert a
    /// chunk.
    pub async fn write_minute_stats(&self, node: &str, stats: &[MinuteStat]) -> Result<()> {
        if stats.is_empty() {
            return Ok(());
        }
        /// Rows a statement writes: 64 x 9 parameters is under every backend's limit.
        const CHUNK: usize = 64;
        let mut tx = self.system_tx(true).await?;
        for chunk in stats.chunks(CHUNK) {
            let mut sql = super::runs::multi_row_insert(
                "INSERT INTO minute_stats
                   (tenant_id, hook, minute, node, calls, failed, rejected, degraded, durations)
                 VALUES ",
                9,
                chunk.len(),
                self.backend,
            );
            sql.push_str(
                " ON CONFLICT (tenant_id, hook, minute, node) DO UPDATE SET
                   calls = excluded.calls, failed = excluded.failed,
                   rejected = excluded.rejected, degraded = excluded.degraded,
                   durations = excluded.durations",
            );
            let mut upsert = sqlx::query(&sql);
            for stat in chunk {
                upsert = upsert
                    .bind(&stat.tenant_id)
                    .bind(&stat.hook)
                    .bind(stat.minute)
                    .bind(node)
                    .bind(stat.calls)
                    .bind(stat.failed)
                    .bind(stat.rejected)
                    .bind(stat.degraded)
                    .bind(json(&stat.durations));
            }
            upsert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every tenant's figures from `since_minute` on, each node's row as written (the system
    /// role: the console's view across tenants).
    pub async fn minute_stats_since(&self, since_minute: i64) -> Result<Vec<MinuteStat>> {
        let mut tx = self.system_tx(false).await?;
        let rows = sqlx::query(
            "SELECT tenant_id, hook, minute, calls, failed, rejected, degraded, durations
             FROM minute_stats WHERE minute >= $1",
        )
        .bind(since_minute)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(MinuteStat {
                    tenant_id: row.try_get("tenant_id")?,
                    hook: row.try_get("hook")?,
                    minute: row.try_get("minute")?,
                    calls: row.try_get("calls")?,
                    failed: row.try_get("failed")?,
                    rejected: row.try_get("rejected")?,
                    degraded: row.try_get("degraded")?,
                    durations: from_json(row.try_get("durations")?, "minute durations")?,
                })
            })
            .collect()
    }
}

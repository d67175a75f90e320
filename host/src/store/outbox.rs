//! The outbox: domain events written in the transaction of the change they describe, then
//! relayed to subscribers by the event relay, in order.

use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, from_json, json};

/// An event about to be written with its change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// e.g. `order.placed`, `plugin.deployed`.
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

/// An event as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// Position in the outbox: increasing, so a consumer resumes after the last it saw.
    pub seq: i64,
    /// Unique id, stable across redeliveries.
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: i64,
}

pub(super) async fn insert_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    tenant: &str,
    event: &NewEvent,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant)
    .bind(event.kind)
    .bind(json(&event.payload))
    .bind(super::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Events not yet relayed, oldest first.
    pub async fn pending_events(&self, limit: u32) -> Result<Vec<EventRecord>> {
        let rows =
            sqlx::query("SELECT * FROM outbox WHERE relayed_at IS NULL ORDER BY seq LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(event_from).collect()
    }

    /// Marks events relayed up to and including `seq`.
    pub async fn mark_relayed(&self, up_to_seq: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET relayed_at = ? WHERE relayed_at IS NULL AND seq <= ?")
            .bind(super::now_ms())
            .bind(up_to_seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant's relayed events after `seq`, oldest first: what a reconnecting stream replays.
    pub async fn events_after(
        &self,
        tenant: &str,
        seq: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE tenant_id = ? AND seq > ? AND relayed_at IS NOT NULL
             ORDER BY seq LIMIT ?",
        )
        .bind(tenant)
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from).collect()
    }
}

fn event_from(row: &sqlx::sqlite::SqliteRow) -> Result<EventRecord> {
    Ok(EventRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: row.try_get("kind")?,
        payload: from_json(row.try_get("payload")?, "event payload")?,
        created_at: row.try_get("created_at")?,
    })
}

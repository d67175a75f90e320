//! The outbox: domain events written in the transaction of the change they describe, then
//! relayed to subscribers by the event relay, in order.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::plugins::{CanaryRolledBack, RolledBack};
use super::{
    Backend, DeploymentRecord, PluginRecord, Result, Store, Tx, from_json, json, take_numbers,
};

/// An event about to be written with its change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// e.g. `order.placed`, `plugin.deployed`.
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

/// An event as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// The tenant's own event number, 1, 2, 3, ...: a consumer resumes after the last it saw
    /// (the SSE id), and other tenants' events never show in it.
    pub seq: i64,
    /// Position in the outbox across tenants: what the relay and the tail follow. Internal.
    #[serde(skip)]
    #[schema(ignore)]
    pub position: i64,
    /// Unique id, stable across redeliveries.
    pub id: String,
    pub tenant_id: String,
    /// `order.placed`, `plugin.uploaded`, `plugin.deployed`, `plugin.shadow-deployed`,
    /// `plugin.canary-deployed`, `plugin.promoted`, `plugin.canary-rolled-back` or
    /// `plugin.rolled-back`.
    pub kind: String,
    #[schema(schema_with = event_payload)]
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// An event's payload: its shape follows its kind.
fn event_payload() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::OneOfBuilder;
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    let named = |name: &str| RefOr::Ref(Ref::from_schema_name(name));
    OneOfBuilder::new()
        .description(Some(
            "By kind: `order.placed` carries the order as placed, `plugin.uploaded` the plugin, \
             `plugin.deployed`, `plugin.shadow-deployed`, `plugin.canary-deployed` and \
             `plugin.promoted` the deployment, `plugin.canary-rolled-back` the canary and why, \
             `plugin.rolled-back` the deployment rolled back and the one active again",
        ))
        // The order is the API's document (`OrderBody`); the store keeps it as the JSON it was
        // given, so it is named here rather than typed.
        .item(named("OrderBody"))
        .item(named(&PluginRecord::name()))
        .item(named(&DeploymentRecord::name()))
        .item(RolledBack::schema())
        .item(CanaryRolledBack::schema())
        .into()
}

pub(super) async fn insert_event(tx: &mut Tx, tenant: &str, event: &NewEvent) -> Result<()> {
    let tenant_seq = take_numbers(tx, tenant, "event", 1).await?;
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, tenant_seq, kind, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant)
    .bind(tenant_seq)
    .bind(event.kind)
    .bind(json(&event.payload))
    .bind(super::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Events not yet relayed, oldest first, of every tenant (the relay's work, as the system role).
    pub async fn pending_events(&self, limit: u32) -> Result<Vec<EventRecord>> {
        // The relay then marks everything up to the last seq it read: it must not skip one.
        let mut tx = self.gap_free_outbox_tx().await?;
        let rows =
            sqlx::query("SELECT * FROM outbox WHERE relayed_at IS NULL ORDER BY seq LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        rows.iter().map(event_from).collect()
    }

    /// A system transaction in which reading the outbox by seq skips nothing: a reader that
    /// then moves past the last seq it read must not pass one that commits later. PostgreSQL
    /// hands out seqs before commit, so a lower seq could still commit after the read; SHARE
    /// waits for every transaction that wrote the outbox to end, so seqs given out later are all
    /// above what the read sees. SQLite serializes writers and needs nothing.
    async fn gap_free_outbox_tx(&self) -> Result<Tx> {
        let mut tx = self.system_tx(false).await?;
        if self.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE outbox IN SHARE MODE")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Marks events relayed up to and including outbox position `up_to`, of every tenant.
    pub async fn mark_relayed(&self, up_to: i64) -> Result<()> {
        let mut tx = self.system_tx(true).await?;
        sqlx::query("UPDATE outbox SET relayed_at = $1 WHERE relayed_at IS NULL AND seq <= $2")
            .bind(super::now_ms())
            .bind(up_to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's events after its event number `seq`, up to and including outbox position
    /// `up_to`, oldest first: what a reconnecting stream replays.
    pub async fn events_after(
        &self,
        tenant: &str,
        seq: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE tenant_id = $1 AND tenant_seq > $2 AND seq <= $3
             ORDER BY tenant_seq LIMIT $4",
        )
        .bind(tenant)
        .bind(seq)
        .bind(up_to)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(event_from).collect()
    }

    /// Every tenant's events after outbox position `position`, oldest first, with no gap: what
    /// a node's event streams are fed from, whichever node wrote them.
    pub async fn events_since(&self, position: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let mut tx = self.gap_free_outbox_tx().await?;
        let rows = sqlx::query("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(position)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(event_from).collect()
    }

    /// The highest outbox position written so far (0 for none).
    pub async fn last_event_seq(&self) -> Result<i64> {
        let mut tx = self.system_tx(false).await?;
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM outbox")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seq.unwrap_or(0))
    }
}

fn event_from(row: &AnyRow) -> Result<EventRecord> {
    Ok(EventRecord {
        seq: row.try_get("tenant_seq")?,
        position: row.try_get("seq")?,
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: row.try_get("kind")?,
        payload: from_json(row.try_get("payload")?, "event payload")?,
        created_at: row.try_get("created_at")?,
    })
}

//! Orders: written with their stock reservations and an `order.placed` event in one
//! transaction, unique per (tenant, idempotency key).

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::outbox::insert_event;
use super::{NewEvent, Result, Store, StoreError, from_json, int, is_unique_violation, json};

/// An order to write. `body` is the order document the API returns.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: String,
    pub idempotency_key: String,
    /// Digest of the request that placed it: a repeat with another body is refused.
    pub request_hash: String,
    pub currency: String,
    pub total_minor: i64,
    pub body: serde_json::Value,
    pub reservations: Vec<Reservation>,
}

/// Units of a sku taken from a node's stock for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub node_id: String,
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub status: String,
    pub body: serde_json::Value,
    pub created_at: i64,
}

/// What placing did.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    Created(OrderRecord),
    /// An order with this idempotency key already existed; nothing was written.
    Existing(OrderRecord),
}

impl Store {
    pub async fn order_by_key(&self, tenant: &str, key: &str) -> Result<Option<OrderRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND idempotency_key = $2")
            .bind(tenant)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| order_from(&r)).transpose()
    }

    /// Writes the order, takes its stock and records `order.placed`, all or nothing. A
    /// concurrent duplicate finds the first one's order: on SQLite because writers hold the
    /// write lock; on PostgreSQL the unique (tenant, idempotency key) index makes the second
    /// insert wait for the first transaction and then fail, and the order it lost to is read.
    pub async fn place_order(&self, tenant: &str, order: &NewOrder) -> Result<Placed> {
        match self.try_place_order(tenant, order).await {
            Err(StoreError::Database(err)) if is_unique_violation(&err) => {
                // The failed transaction is gone; read in a new one, which sees the winner.
                match self.order_by_key(tenant, &order.idempotency_key).await? {
                    Some(existing) => Ok(Placed::Existing(existing)),
                    None => Err(StoreError::Database(err)),
                }
            }
            other => other,
        }
    }

    async fn try_place_order(&self, tenant: &str, order: &NewOrder) -> Result<Placed> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        let existing =
            sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND idempotency_key = $2")
                .bind(tenant)
                .bind(&order.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = existing {
            return Ok(Placed::Existing(order_from(&row)?));
        }
        let created_at = super::now_ms();
        sqlx::query(
            "INSERT INTO orders (tenant_id, id, idempotency_key, request_hash, status, currency,
                                 total_minor, body, created_at)
             VALUES ($1, $2, $3, $4, 'placed', $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(&order.id)
        .bind(&order.idempotency_key)
        .bind(&order.request_hash)
        .bind(&order.currency)
        .bind(order.total_minor)
        .bind(json(&order.body))
        .bind(created_at)
        .execute(&mut *tx)
        .await?;

        let mut taken: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for r in &order.reservations {
            *taken.entry((&r.node_id, &r.sku)).or_default() += r.quantity;
        }
        for ((node_id, sku), quantity) in taken {
            let updated = sqlx::query(
                "UPDATE stock SET quantity = quantity - $1
                 WHERE tenant_id = $2 AND node_id = $3 AND sku = $4 AND quantity >= $1",
            )
            .bind(i64::from(quantity))
            .bind(tenant)
            .bind(node_id)
            .bind(sku)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                // Dropping the transaction rolls back the order row too.
                return Err(StoreError::OutOfStock {
                    node_id: node_id.to_owned(),
                    sku: sku.to_owned(),
                });
            }
            sqlx::query(
                "INSERT INTO reservations (tenant_id, order_id, node_id, sku, quantity)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(&order.id)
            .bind(node_id)
            .bind(sku)
            .bind(i64::from(quantity))
            .execute(&mut *tx)
            .await?;
        }
        let event = NewEvent {
            kind: "order.placed",
            payload: order.body.clone(),
        };
        insert_event(&mut tx, tenant, &event).await?;
        tx.commit().await?;
        Ok(Placed::Created(OrderRecord {
            id: order.id.clone(),
            idempotency_key: order.idempotency_key.clone(),
            request_hash: order.request_hash.clone(),
            status: "placed".into(),
            body: order.body.clone(),
            created_at,
        }))
    }

    pub async fn order(&self, tenant: &str, id: &str) -> Result<Option<OrderRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| order_from(&r)).transpose()
    }

    /// Newest first; ids are time-ordered, so `before` pages back through them.
    pub async fn orders(
        &self,
        tenant: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM orders WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(order_from).collect()
    }

    /// Units of `sku` on hand at `node_id` (for tests and the admin view).
    pub async fn stock_level(&self, tenant: &str, node_id: &str, sku: &str) -> Result<Option<u32>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query(
            "SELECT quantity FROM stock WHERE tenant_id = $1 AND node_id = $2 AND sku = $3",
        )
        .bind(tenant)
        .bind(node_id)
        .bind(sku)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| int(&r, "quantity")).transpose()
    }
}

fn order_from(row: &AnyRow) -> Result<OrderRecord> {
    Ok(OrderRecord {
        id: row.try_get("id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        status: row.try_get("status")?,
        body: from_json(row.try_get("body")?, "order body")?,
        created_at: row.try_get("created_at")?,
    })
}

//! Catalog and inventory: products with their prices, fulfillment nodes with stock per sku.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, from_json, int, json};

/// A product as the catalog knows it; its price is what every checkout uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub sku: String,
    pub title: String,
    /// Unit price in minor units of `currency` (paise for INR).
    pub price_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form attributes plugins read, e.g. `rx-required: "true"`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A warehouse, store, dark store or pharmacy that can ship, with its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    /// e.g. `warehouse`, `store`, `dark-store`, `pharmacy`.
    pub kind: String,
    pub pincode: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Units on hand per sku, 0 to 2^31 - 1. Replaces the node's whole stock on upsert.
    #[serde(default, deserialize_with = "stock_levels")]
    #[schema(value_type = BTreeMap<String, i32>)]
    pub stock: BTreeMap<String, u32>,
}

/// The largest stock level, as the API documents it (a 32-bit signed integer): what every
/// client can hold, with room for any real warehouse.
pub const MAX_STOCK: u32 = i32::MAX as u32;

/// Stock levels from 0 to [`MAX_STOCK`]; anything else is a malformed body.
fn stock_levels<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u32>, D::Error> {
    let levels = BTreeMap::<String, u32>::deserialize(d)?;
    if let Some((sku, n)) = levels.iter().find(|(_, n)| **n > MAX_STOCK) {
        return Err(serde::de::Error::custom(format!(
            "stock of {sku}: {n} is above the largest level, {MAX_STOCK}"
        )));
    }
    Ok(levels)
}

impl Store {
    /// Inserts or replaces products, all or none.
    pub async fn upsert_products(&self, tenant: &str, products: &[Product]) -> Result<()> {
        let now = super::now_ms();
        let mut tx = self.tenant_tx(tenant, true).await?;
        for p in products {
            sqlx::query(
                "INSERT INTO products
                   (tenant_id, sku, title, price_minor, currency, category, brand, tags, attributes, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (tenant_id, sku) DO UPDATE SET
                   title = excluded.title, price_minor = excluded.price_minor,
                   currency = excluded.currency, category = excluded.category,
                   brand = excluded.brand, tags = excluded.tags,
                   attributes = excluded.attributes, updated_at = excluded.updated_at",
            )
            .bind(tenant)
            .bind(&p.sku)
            .bind(&p.title)
            .bind(p.price_minor)
            .bind(&p.currency)
            .bind(&p.category)
            .bind(&p.brand)
            .bind(json(&p.tags))
            .bind(json(&p.attributes))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn product(&self, tenant: &str, sku: &str) -> Result<Option<Product>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let row = sqlx::query("SELECT * FROM products WHERE tenant_id = $1 AND sku = $2")
            .bind(tenant)
            .bind(sku)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| product_from(&r)).transpose()
    }

    /// Products in sku order, starting after `after`.
    pub async fn products(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Product>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM products WHERE tenant_id = $1 AND sku > $2 ORDER BY sku LIMIT $3",
        )
        .bind(tenant)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(product_from).collect()
    }

    /// The products with these skus (missing ones are simply absent from the map).
    pub async fn products_by_sku(
        &self,
        tenant: &str,
        skus: &[&str],
    ) -> Result<HashMap<String, Product>> {
        let mut found = HashMap::with_capacity(skus.len());
        let mut tx = self.tenant_tx(tenant, false).await?;
        // SQLite binds at most 32k parameters; carts are far smaller, chunk anyway.
        for chunk in skus.chunks(500) {
            let placeholders = (2..chunk.len() + 2)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql =
                format!("SELECT * FROM products WHERE tenant_id = $1 AND sku IN ({placeholders})");
            let mut query = sqlx::query(&sql).bind(tenant);
            for sku in chunk {
                query = query.bind(*sku);
            }
            for row in query.fetch_all(&mut *tx).await? {
                let product = product_from(&row)?;
                found.insert(product.sku.clone(), product);
            }
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Inserts or replaces nodes with their whole stock, all or none.
    pub async fn upsert_nodes(&self, tenant: &str, nodes: &[Node]) -> Result<()> {
        let now = super::now_ms();
        let mut tx = self.tenant_tx(tenant, true).await?;
        // Replacing the stock deletes then inserts: two concurrent upserts must not interleave.
        self.lock_tenant(&mut tx, tenant).await?;
        for node in nodes {
            sqlx::query(
                "INSERT INTO nodes (tenant_id, id, kind, pincode, tags, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET
                   kind = excluded.kind, pincode = excluded.pincode,
                   tags = excluded.tags, updated_at = excluded.updated_at",
            )
            .bind(tenant)
            .bind(&node.id)
            .bind(&node.kind)
            .bind(&node.pincode)
            .bind(json(&node.tags))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM stock WHERE tenant_id = $1 AND node_id = $2")
                .bind(tenant)
                .bind(&node.id)
                .execute(&mut *tx)
                .await?;
            for (sku, quantity) in &node.stock {
                sqlx::query(
                    "INSERT INTO stock (tenant_id, node_id, sku, quantity)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant)
                .bind(&node.id)
                .bind(sku)
                .bind(i64::from(*quantity))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn node(&self, tenant: &str, id: &str) -> Result<Option<Node>> {
        Ok(self.nodes_where(tenant, Some(id)).await?.into_iter().next())
    }

    /// Every node of the tenant with its stock, by id.
    pub async fn nodes(&self, tenant: &str) -> Result<Vec<Node>> {
        self.nodes_where(tenant, None).await
    }

    /// What a checkout needs besides the cart, in one transaction: every node with its stock,
    /// and the tenant's payment methods (one more SELECT, not a transaction of its own with
    /// its BEGIN, tenant setting and COMMIT).
    pub async fn nodes_and_payment_methods(
        &self,
        tenant: &str,
    ) -> Result<(Vec<Node>, Vec<super::PaymentMethod>)> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let nodes = nodes_in(&mut tx, tenant, None).await?;
        let methods = super::payments::payment_methods_in(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok((nodes, methods))
    }

    async fn nodes_where(&self, tenant: &str, id: Option<&str>) -> Result<Vec<Node>> {
        // One transaction: the nodes and their stock from the same snapshot.
        let mut tx = self.tenant_tx(tenant, false).await?;
        let nodes = nodes_in(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(nodes)
    }
}

async fn nodes_in(tx: &mut super::Tx, tenant: &str, id: Option<&str>) -> Result<Vec<Node>> {
    let rows = sqlx::query(
        "SELECT id, kind, pincode, tags FROM nodes
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id = $2) ORDER BY id",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut nodes = Vec::with_capacity(rows.len());
    let mut index = HashMap::new();
    for row in rows {
        let node = Node {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            pincode: row.try_get("pincode")?,
            tags: from_json(row.try_get("tags")?, "node tags")?,
            stock: BTreeMap::new(),
        };
        index.insert(node.id.clone(), nodes.len());
        nodes.push(node);
    }
    let stock = sqlx::query(
        "SELECT node_id, sku, quantity FROM stock
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR node_id = $2)",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for row in stock {
        let node_id: String = row.try_get("node_id")?;
        if let Some(&i) = index.get(&node_id) {
            nodes[i]
                .stock
                .insert(row.try_get("sku")?, int(&row, "quantity")?);
        }
    }
    Ok(nodes)
}

fn product_from(row: &AnyRow) -> Result<Product> {
    Ok(Product {
        sku: row.try_get("sku")?,
        title: row.try_get("title")?,
        price_minor: row.try_get("price_minor")?,
        currency: row.try_get("currency")?,
        category: row.try_get("category")?,
        brand: row.try_get("brand")?,
        tags: from_json(row.try_get("tags")?, "product tags")?,
        attributes: from_json(row.try_get("attributes")?, "product attributes")?,
    })
}

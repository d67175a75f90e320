//! Tenants and their API keys (only the secret's hash is stored).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, Tx, int, is_unique_violation};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Short stable id, e.g. `jiomart`.
    pub id: String,
    pub name: String,
    /// ISO 4217 code every price of this tenant is in.
    pub currency: String,
    /// IANA name, passed to plugins in their context.
    pub time_zone: String,
    pub utc_offset_minutes: i32,
    pub created_at: i64,
}

/// A stored API key: its public id and the SHA-256 of its secret.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub tenant_id: String,
    pub secret_hash: Vec<u8>,
}

impl Store {
    /// Creates a tenant with its first API key, both or neither.
    pub async fn create_tenant(&self, tenant: &Tenant, key: &ApiKeyRecord) -> Result<()> {
        // As the system role: the tenant does not exist yet, and its id is checked against all.
        let mut tx = self.system_tx(true).await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, currency, time_zone, utc_offset_minutes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(&tenant.currency)
        .bind(&tenant.time_zone)
        .bind(i64::from(tenant.utc_offset_minutes))
        .bind(tenant.created_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::AlreadyExists(format!("tenant `{}`", tenant.id)));
            }
            other => other?,
        };
        insert_key(&mut tx, key, tenant.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        let mut tx = self.tenant_tx(&key.tenant_id, true).await?;
        insert_key(&mut tx, key, super::now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        let mut tx = self.tenant_tx(id, false).await?;
        let row = sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| tenant_from(&r)).transpose()
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let mut tx = self.system_tx(false).await?;
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(tenant_from).collect()
    }

    /// Looks a key up by its public id: as the system role, since which tenant it belongs to is what
    /// the lookup finds out.
    pub async fn api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>> {
        let mut tx = self.system_tx(false).await?;
        let row =
            sqlx::query("SELECT key_id, tenant_id, secret_hash FROM api_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        row.map(|r| {
            Ok(ApiKeyRecord {
                key_id: r.try_get("key_id")?,
                tenant_id: r.try_get("tenant_id")?,
                secret_hash: r.try_get("secret_hash")?,
            })
        })
        .transpose()
    }
}

async fn insert_key(tx: &mut Tx, key: &ApiKeyRecord, created_at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (key_id, tenant_id, secret_hash, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.key_id)
    .bind(&key.tenant_id)
    .bind(&key.secret_hash)
    .bind(created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn tenant_from(row: &AnyRow) -> Result<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        currency: row.try_get("currency")?,
        time_zone: row.try_get("time_zone")?,
        utc_offset_minutes: int(row, "utc_offset_minutes")?,
        created_at: row.try_get("created_at")?,
    })
}

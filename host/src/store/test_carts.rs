//! Each tenant's test carts, kept as the JSON of the pipeline's typed form (the store does not
//! read them), and what trying a deployment on them found, kept with the deployment.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Result, Store, from_json, json};

/// A stored test cart: its name, its body (`T`, the pipeline's test cart) and when it was saved.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestCartRecord<T> {
    /// Unique within the tenant.
    pub name: String,
    #[serde(flatten)]
    pub body: T,
    /// Unix milliseconds of the last save.
    pub updated_at: i64,
}

/// What trying a deployment on the tenant's test carts found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestCartCheck {
    /// Test carts tried.
    pub run: usize,
    /// Those whose quote was as expected.
    pub passed: usize,
    /// Those whose quote was not, with how.
    pub failures: Vec<TestCartFailure>,
    /// The deployment was made despite failures (`force`).
    pub forced: bool,
}

/// A test cart whose quote was not as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestCartFailure {
    pub cart: String,
    /// Each way the quote differs, e.g. `total 129800, expected 116820`.
    pub mismatches: Vec<String>,
}

impl Store {
    /// The names of the tenant's test carts, in order.
    pub async fn test_cart_names(&self, tenant: &str) -> Result<Vec<String>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let names =
            sqlx::query_scalar("SELECT name FROM test_carts WHERE tenant_id = $1 ORDER BY name")
                .bind(tenant)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(names)
    }

    /// Saves test cart `name` (replacing one of that name): whether it is new, and the time it
    /// was saved at (its `updated_at`).
    pub async fn put_test_cart<T: Serialize>(
        &self,
        tenant: &str,
        name: &str,
        body: &T,
    ) -> Result<(bool, i64)> {
        let updated_at = super::now_ms();
        let mut tx = self.tenant_tx(tenant, true).await?;
        let existed = sqlx::query("SELECT 1 FROM test_carts WHERE tenant_id = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        sqlx::query(
            "INSERT INTO test_carts (tenant_id, name, body, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, name)
             DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(name)
        .bind(json(body))
        .bind(updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((!existed, updated_at))
    }

    /// The tenant's test carts, by name.
    pub async fn test_carts<T: DeserializeOwned>(
        &self,
        tenant: &str,
    ) -> Result<Vec<TestCartRecord<T>>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let rows = sqlx::query(
            "SELECT name, body, updated_at FROM test_carts WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(TestCartRecord {
                    name: r.try_get("name")?,
                    body: from_json(r.try_get("body")?, "test cart")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Deletes test cart `name`; false when there was none.
    pub async fn delete_test_cart(&self, tenant: &str, name: &str) -> Result<bool> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        let deleted = sqlx::query("DELETE FROM test_carts WHERE tenant_id = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(deleted)
    }
}

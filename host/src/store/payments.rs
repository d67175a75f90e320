//! A tenant's payment methods, in the order shoppers are offered them.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Result, Store, Tx};

/// A way to pay that the tenant offers, as configured through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    /// Stable identifier an order names, e.g. `cod`.
    pub id: String,
    /// What the shopper is shown, e.g. `Cash on delivery`.
    pub name: String,
    /// e.g. `card`, `upi`, `netbanking`, `wallet`, `cash-on-delivery`.
    pub kind: String,
}

impl Store {
    /// The tenant's payment methods, in their order.
    pub async fn payment_methods(&self, tenant: &str) -> Result<Vec<PaymentMethod>> {
        let mut tx = self.tenant_tx(tenant, false).await?;
        let methods = payment_methods_in(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(methods)
    }

    /// Replaces the tenant's payment methods with `methods`, in this order, all or none.
    pub async fn set_payment_methods(&self, tenant: &str, methods: &[PaymentMethod]) -> Result<()> {
        let mut tx = self.tenant_tx(tenant, true).await?;
        sqlx::query("DELETE FROM payment_methods WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        for (position, m) in (0i64..).zip(methods) {
            sqlx::query(
                "INSERT INTO payment_methods (tenant_id, position, id, name, kind)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(position)
            .bind(&m.id)
            .bind(&m.name)
            .bind(&m.kind)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(super) async fn payment_methods_in(tx: &mut Tx, tenant: &str) -> Result<Vec<PaymentMethod>> {
    let rows = sqlx::query(
        "SELECT id, name, kind FROM payment_methods WHERE tenant_id = $1 ORDER BY position",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PaymentMethod {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
            })
        })
        .collect()
}

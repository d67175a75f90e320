//! Row-level security, checked at the database: the service's role owns nothing and cannot
//! bypass RLS, and a transaction scoped to one tenant sees and writes only that tenant's rows,
//! whatever its queries forget to filter. Runs when the suite runs on PostgreSQL.

use axum::http::StatusCode;
use sqlx::{Connection as _, Row as _};

use super::orders::order;
use super::{TestService, small_request};

/// Every table that holds tenants' rows, with its tenant column.
const TENANT_TABLES: [(&str, &str); 11] = [
    ("tenants", "id"),
    ("api_keys", "tenant_id"),
    ("products", "tenant_id"),
    ("nodes", "tenant_id"),
    ("stock", "tenant_id"),
    ("plugins", "tenant_id"),
    ("deployments", "tenant_id"),
    ("orders", "tenant_id"),
    ("reservations", "tenant_id"),
    ("outbox", "tenant_id"),
    ("plugin_runs", "tenant_id"),
];

#[tokio::test]
#[ignore = "needs PostgreSQL: `cargo xtask test` runs it with MANDI_TEST_POSTGRES_URL"]
async fn a_tenant_transaction_sees_and_writes_only_its_own_rows() {
    let svc = TestService::start().await;
    assert!(
        svc.database.is_postgres(),
        "set MANDI_TEST_POSTGRES_URL to an administrator's URL (cargo xtask test does)"
    );
    // Two tenants with a catalog, a deployed plugin, an order, events and plugin runs each.
    for brand in ["jiomart", "tira"] {
        let key = svc.brand(brand).await;
        let placed = order(&svc, &key, "k1", &small_request()).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    }
    super::eventually(|| async {
        svc.service
            .state()
            .store()
            .pending_events(10)
            .await
            .expect("outbox")
            .is_empty()
    })
    .await;

    // Connect as the service does: the non-owner application role.
    let mut db = sqlx::PgConnection::connect(&svc.database.url)
        .await
        .expect("connects");
    let role = sqlx::query(
        "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut db)
    .await
    .expect("role");
    let name: String = role.get("name");
    assert_eq!(name, "mandi_app");
    assert!(!role.get::<bool, _>("rolsuper") && !role.get::<bool, _>("rolbypassrls"));
    for (table, _) in TENANT_TABLES {
        let (owner, rls, forced): (String, bool, bool) = sqlx::query_as(
            "SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity
             FROM pg_class WHERE relname = $1 AND relkind = 'r'",
        )
        .bind(table)
        .fetch_one(&mut db)
        .await
        .expect("table");
        assert_ne!(owner, "mandi_app", "{table}");
        assert!(rls && forced, "{table}: RLS enabled {rls}, forced {forced}");
    }

    // With no tenant set, nothing is visible.
    for (table, _) in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut db)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} without a tenant");
    }

    // In tira's transaction, unfiltered queries see tira's rows and none of jiomart's.
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', 'tira', true)")
        .execute(&mut *tx)
        .await
        .expect("set tenant");
    for (table, column) in TENANT_TABLES {
        let tenants: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT {column} FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .expect("select");
        assert_eq!(tenants, ["tira"], "{table}");
    }
    // ... cannot change jiomart's rows ...
    let updated = sqlx::query("UPDATE products SET price_minor = 1 WHERE tenant_id = 'jiomart'")
        .execute(&mut *tx)
        .await
        .expect("update runs")
        .rows_affected();
    assert_eq!(updated, 0);
    // ... and cannot write a row for jiomart.
    let refused = sqlx::query(
        "INSERT INTO products (tenant_id, sku, title, price_minor, currency, category, brand,
                               tags, attributes, updated_at)
         VALUES ('jiomart', 'SNEAKY', 'x', 1, 'INR', '', '', '[]', '{}', 0)",
    )
    .execute(&mut *tx)
    .await
    .expect_err("a jiomart row from tira's transaction");
    assert!(
        refused.to_string().contains("row-level security"),
        "{refused}"
    );
    drop(tx);

    // The service still sees both catalogs whole.
    let jiomart_rice = svc
        .service
        .state()
        .store()
        .product("jiomart", "RICE-BASMATI-5KG")
        .await;
    assert_eq!(
        jiomart_rice.expect("reads").map(|p| p.price_minor),
        Some(64_900)
    );
}

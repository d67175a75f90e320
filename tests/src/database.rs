//! Which database the service tests run on. By default each test gets a fresh SQLite file; with
//! `MANDI_TEST_POSTGRES_URL` set (an administrator's URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), each test gets a fresh PostgreSQL database
//! owned by `mandi_owner`, migrated as that owner and served as `mandi_app`, the non-owner,
//! non-superuser role row-level security applies to, with `mandi_system` for the work across
//! tenants. `cargo xtask test` runs the suite both ways.

use anyhow::Context as _;
use sqlx::Connection as _;

/// The environment variable that switches the suite to PostgreSQL.
pub const POSTGRES_ENV: &str = "MANDI_TEST_POSTGRES_URL";
/// The role that owns the schema and runs migrations.
pub const OWNER_ROLE: &str = "mandi_owner";
/// The role the service connects as for a tenant's work.
pub const APP_ROLE: &str = "mandi_app";
/// The role the service connects as for work across tenants.
pub const SYSTEM_ROLE: &str = "mandi_system";
/// Prefix of the databases tests create (dropped by the next `cargo xtask test`).
pub const DATABASE_PREFIX: &str = "mandi_test_";

/// A database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// What the service connects to.
    pub url: String,
    /// The schema owner's URL (PostgreSQL only).
    pub migration_url: Option<String>,
    /// The system role's URL, for work across tenants (PostgreSQL only).
    pub system_url: Option<String>,
    /// Holds the SQLite file (kept until the test ends).
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    /// A fresh, empty database of the backend the environment selects.
    pub async fn fresh() -> Self {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin) if !admin.is_empty() => Self::on_postgres(&admin).await,
            _ => {
                let dir = tempfile::tempdir().expect("tempdir");
                Self {
                    url: format!("sqlite://{}", dir.path().join("mandi.db").display()),
                    migration_url: None,
                    system_url: None,
                    _dir: dir,
                }
            }
        }
    }

    /// A fresh database on the PostgreSQL server `admin` administers, with the suite's roles.
    pub async fn on_postgres(admin: &str) -> Self {
        let name = format!("{DATABASE_PREFIX}{}", uuid_like());
        // Once per server (a test may bring its own server beside the suite's).
        static ROLES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let known = ROLES.lock().expect("roles").contains(&admin.to_owned());
        if !known {
            ensure_roles(admin)
                .await
                .unwrap_or_else(|e| panic!("creating the suite's roles: {e:#}"));
            ROLES.lock().expect("roles").push(admin.to_owned());
        }
        create_database(admin, &name)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e:#}"));
        Self {
            url: role_url(admin, APP_ROLE, &name),
            migration_url: Some(role_url(admin, OWNER_ROLE, &name)),
            system_url: Some(role_url(admin, SYSTEM_ROLE, &name)),
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.migration_url.is_some()
    }
}

/// Creates the roles the suite needs, if missing, and drops databases earlier runs left.
pub async fn provision(admin: &str) -> anyhow::Result<()> {
    ensure_roles(admin).await?;
    drop_test_databases(admin).await
}

/// Creates the roles the suite needs, if missing (a fresh server has none of them).
pub async fn ensure_roles(admin: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    for (role, attributes) in [
        (OWNER_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS"),
        (
            APP_ROLE,
            "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
        ),
        (
            SYSTEM_ROLE,
            "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
        ),
    ] {
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut conn)
            .await?;
        if exists.is_none() {
            let created = sqlx::query(&format!("CREATE ROLE {role} {attributes}"))
                .execute(&mut conn)
                .await;
            // Another test process may have created it meanwhile: fine if it exists now.
            if let Err(err) = created {
                let exists: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
                        .bind(role)
                        .fetch_optional(&mut conn)
                        .await?;
                if exists.is_none() {
                    return Err(err).with_context(|| format!("creating role {role}"));
                }
            }
        }
    }
    Ok(())
}

/// Drops the databases the suite created that nobody is connected to: a database in use may
/// belong to another run of the suite on the same server, and is left for a later cleanup.
pub async fn drop_test_databases(admin: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database d WHERE datname LIKE $1
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
    )
    .bind(format!("{DATABASE_PREFIX}%"))
    .fetch_all(&mut conn)
    .await?;
    for name in stale {
        // Someone may have connected since: then it stays, and that is fine.
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&mut conn)
            .await;
        if let Err(err) = dropped {
            eprintln!("kept test database {name}: {err}");
        }
    }
    Ok(())
}

async fn create_database(admin: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\" OWNER {OWNER_ROLE}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// `admin` with another user and database: `postgres://postgres@h:5432/postgres` ->
/// `postgres://ROLE@h:5432/DB` (trust or peer authentication, as on a test machine).
fn role_url(admin: &str, role: &str, database: &str) -> String {
    let (scheme, rest) = admin.split_once("://").unwrap_or(("postgres", admin));
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split_once('/').map_or(host, |(h, _)| h);
    format!("{scheme}://{role}@{host}/{database}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}_{:x}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::role_url;

    #[test]
    fn role_urls_keep_host_and_swap_user_and_database() {
        assert_eq!(
            role_url(
                "postgres://postgres@127.0.0.1:5432/postgres",
                "mandi_app",
                "db1"
            ),
            "postgres://mandi_app@127.0.0.1:5432/db1"
        );
        assert_eq!(
            role_url("postgresql://localhost", "mandi_owner", "db2"),
            "postgresql://mandi_owner@localhost/db2"
        );
    }
}

//! Storage: every table the service keeps, behind one [`Store`] handle, on SQLite (embedded,
//! created and migrated on open) or PostgreSQL, through sqlx's `Any` driver with one copy of each
//! statement. Each method takes the tenant it acts for, filters on it and runs in a transaction
//! scoped to it: on PostgreSQL the transaction sets `app.tenant_id`, which row-level security
//! checks, so a query that forgot its filter still sees one tenant's rows. The few operations
//! that span tenants (the tenant registry, API-key lookup, the outbox relay and tail, run-history
//! batches and pruning) and the compiled artifacts the nodes share, which belong to no tenant,
//! run on a second pool connected as the system role (`mandi_system`), which the policies let
//! through by role: the tenant-serving role cannot switch itself into seeing every tenant. A
//! change and the domain event describing it are written in one transaction.
//!
//! The SQL is the common subset of both dialects: `$N` placeholders, `CAST(.. AS ..)` where
//! PostgreSQL must be told a parameter's type, `ON CONFLICT` upserts. Integers are read as i64
//! and flags stored as 0/1, the only forms `Any` decodes alike from both.

mod artifacts;
mod catalog;
mod orders;
mod outbox;
mod payments;
mod plugins;
mod runs;
mod shadows;
mod stats;
mod tenants;
mod test_carts;
mod watch;

use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use artifacts::SignedArtifact;
pub use catalog::{Node, Product};
pub use orders::{NewOrder, OrderRecord, Placed, Reservation};
pub use outbox::{EventRecord, NewEvent};
pub use payments::PaymentMethod;
pub use plugins::{CanaryRules, DeploymentRecord, DeploymentStatus, NewDeployment, PluginRecord};
pub use runs::{CheckoutInputRecord, RecordedRun, RunFilter, RunRecord, RunWindow, RunsNotStored};
pub use shadows::{Change, ShadowRun, ShadowSummary};
pub use stats::MinuteStat;
pub use tenants::{ApiKeyRecord, Tenant};
pub use test_carts::{TestCartCheck, TestCartFailure, TestCartRecord};
pub use watch::{DeploymentChange, DeploymentWatch};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("not enough stock of {sku} at node {node_id}")]
    OutOfStock { node_id: String, sku: String },
    // Not marked as the source: the message already carries sqlx's, and error reports that
    // print the whole chain would say it three times.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// True when the database answered and refused the statement (a value it cannot store, a
    /// constraint), as opposed to not answering at all: retrying the same statement is futile,
    /// retrying others is not.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(db)) if !unreachable_code(db.code().as_deref()))
    }

    /// True when the database could not be reached or is going away (down, restarting, out of
    /// connections, no connection free in time): the request may well succeed if retried
    /// shortly, and the service should say so rather than report an internal error.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(err) => match err {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => unreachable_code(db.code().as_deref()),
                _ => false,
            },
            _ => false,
        }
    }
}

/// PostgreSQL error codes that mean the server is unreachable or going away rather than
/// refusing the statement: class 08 (connection exception), 57P01-57P03 (shutting down,
/// crashed, not accepting connections yet), 53300 (too many connections).
fn unreachable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300"))
}

/// Takes the next `count` numbers of the tenant's counter `name` (`event`, `run`) in `tx`;
/// returns the last of them (the first is `last - count + 1`). Numbers are the tenant's own:
/// another tenant's activity never shows in them. On PostgreSQL the counter row stays locked
/// until `tx` ends, so the tenant's writers take their numbers in turn and none is skipped.
async fn take_numbers(tx: &mut Tx, tenant: &str, name: &str, count: i64) -> Result<i64> {
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO tenant_counters (tenant_id, name, value) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, name) DO UPDATE SET value = tenant_counters.value + excluded.value
         RETURNING value",
    )
    .bind(tenant)
    .bind(name)
    .bind(count)
    .fetch_one(&mut **tx)
    .await?;
    Ok(last)
}

/// `text` as every backend can store it: PostgreSQL's text types cannot hold U+0000, so each is
/// replaced by U+FFFD (the replacement character). For text the service does not control, such
/// as what plugins log or say in their errors.
pub fn storable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

/// Which database a [`Store`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Tenant work: on PostgreSQL a role row-level security holds to one tenant per transaction.
    pool: AnyPool,
    /// Work across tenants: on PostgreSQL the system role; on SQLite the same pool.
    system_pool: AnyPool,
    backend: Backend,
    /// PostgreSQL only: where other nodes' deployment notifications are listened for.
    listen_url: Option<std::sync::Arc<str>>,
}

/// A transaction on the store's pool.
type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Connections per pool: quotes read concurrently; SQLite writers queue on its lock anyway.
const MAX_CONNECTIONS: u32 = 8;
/// Connections for cross-tenant work: a few background loops and the admin API.
const SYSTEM_CONNECTIONS: u32 = 4;
/// How long a request waits for a connection before it fails: a database that has gone away
/// makes requests fail fast (503, retry later) instead of holding them for sqlx's default 30 s.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The role cross-tenant work runs as on PostgreSQL.
pub const SYSTEM_ROLE: &str = "mandi_system";

/// Where a store connects. On SQLite only `url` matters.
#[derive(Debug, Clone, Default)]
pub struct DatabaseUrls {
    /// The service's own connection: `sqlite://PATH`, or PostgreSQL as a role that owns
    /// nothing (tenant work).
    pub url: String,
    /// PostgreSQL: the schema owner, used once to apply migrations [default: `url`].
    pub migration_url: Option<String>,
    /// PostgreSQL: the connection for work across tenants, as `mandi_system` or a member of it
    /// (then `SET ROLE mandi_system`) [default: `migration_url`, else `url`].
    pub system_url: Option<String>,
}

impl DatabaseUrls {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// Run on every new SQLite connection (the `Any` driver takes a URL, not connect options).
const SQLITE_PRAGMAS: [&str; 4] = [
    // First, so that the switch to WAL below waits for other connections instead of failing.
    "PRAGMA busy_timeout = 5000",
    // WAL lets quotes read while an order commits; NORMAL is durable across process crashes (a
    // power loss may lose the last transactions, never corrupt the file). The journal mode is
    // kept in the file, so after the first connection this is a no-op.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
];

impl Store {
    /// Opens (creating if missing) the SQLite database at `path` and applies pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        // Idempotent: sqlx guards it with a `Once` of its own.
        sqlx::any::install_default_drivers();
        let url = sqlite_url(path)?;
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.into()))?;
        Ok(Self {
            system_pool: pool.clone(),
            pool,
            backend: Backend::Sqlite,
            listen_url: None,
        })
    }

    /// Opens a PostgreSQL database and applies pending migrations, over `migration_url` when
    /// given (the schema owner; the service itself connects as a role that owns nothing, so
    /// row-level security holds for it), else over the service's own connection.
    async fn open_postgres(urls: &DatabaseUrls) -> Result<Self> {
        let (url, migration_url) = (urls.url.as_str(), urls.migration_url.as_deref());
        sqlx::any::install_default_drivers();
        let migrator = sqlx::migrate!("migrations/postgres");
        if let Some(owner_url) = migration_url {
            let owner = AnyPoolOptions::new()
                .max_connections(1)
                .connect(owner_url)
                .await?;
            let migrated = migrator.run(&owner).await;
            owner.close().await;
            migrated.map_err(|e| StoreError::Database(e.into()))?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        if migration_url.is_none() {
            migrator
                .run(&pool)
                .await
                .map_err(|e| StoreError::Database(e.into()))?;
        }
        let system_url = (urls.system_url.as_deref())
            .or(migration_url)
            .unwrap_or(url);
        let system_pool = AnyPoolOptions::new()
            .max_connections(SYSTEM_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| Box::pin(become_system_role(conn)))
            .connect(system_url)
            .await?;
        Ok(Self {
            system_pool,
            pool,
            backend: Backend::Postgres,
            listen_url: Some(url.into()),
        })
    }

    /// Opens a database URL: `sqlite://PATH` (or a bare path), or `postgres://...` (also
    /// `postgresql://`), migrating it over the same connection.
    pub async fn open(url: &str) -> Result<Self> {
        Self::connect(&DatabaseUrls::new(url)).await
    }

    /// Opens the database `urls` names, migrating it; on PostgreSQL with a role for each kind
    /// of work (see [`DatabaseUrls`]). SQLite has no roles and ignores the others.
    pub async fn connect(urls: &DatabaseUrls) -> Result<Self> {
        let url = urls.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(urls).await;
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Self::open_sqlite(Path::new(path)).await
    }

    /// Round-trips a trivial query: what readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.system_pool.close().await;
    }

    /// On SQLite, a write transaction takes the write lock up front, so two writers queue on
    /// the busy timeout instead of one failing when it upgrades from reading. PostgreSQL locks
    /// rows as they are written and needs nothing up front.
    async fn begin(&self, pool: &AnyPool, write: bool) -> Result<Tx> {
        let tx = if write && self.backend == Backend::Sqlite {
            pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            pool.begin().await?
        };
        Ok(tx)
    }

    /// A transaction acting for `tenant`. On PostgreSQL it sets `app.tenant_id`, so row-level
    /// security shows and accepts that tenant's rows only; the queries keep their own
    /// `tenant_id` filter (SQLite has no such policies).
    async fn tenant_tx(&self, tenant: &str, write: bool) -> Result<Tx> {
        let mut tx = self.begin(&self.pool, write).await?;
        if self.backend == Backend::Postgres {
            // `true`: local to the transaction, so the pooled connection forgets it at the end.
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// A transaction for work that spans tenants: on PostgreSQL on the system role's pool,
    /// which the row-level security policies let through by role.
    async fn system_tx(&self, write: bool) -> Result<Tx> {
        self.begin(&self.system_pool, write).await
    }

    /// Serializes a tenant's read-then-write changes (deployment history, a node's stock). On
    /// SQLite `BEGIN IMMEDIATE` already serializes every writer; on PostgreSQL this locks the
    /// tenant's row, which the foreign-key checks of other writes (key-share locks) do not wait
    /// on. Only ever run on PostgreSQL, so the locking clause need not be SQLite's.
    async fn lock_tenant(&self, tx: &mut Tx, tenant: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
                .bind(tenant)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Makes a new system connection act as [`SYSTEM_ROLE`]: connected as it, nothing to do;
/// connected as a member of it (e.g. the schema owner), `SET ROLE`. A role that is neither
/// cannot do the service's cross-tenant work, and start-up says so.
async fn become_system_role(conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
    let user: String = sqlx::query_scalar("SELECT CAST(current_user AS TEXT)")
        .fetch_one(&mut *conn)
        .await?;
    if user != SYSTEM_ROLE {
        sqlx::query(&format!("SET ROLE {SYSTEM_ROLE}"))
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                sqlx::Error::Configuration(
                    format!(
                        "cross-tenant work needs the {SYSTEM_ROLE} role, and {user} cannot take \
                         it ({e}): pass --system-database-url with a {SYSTEM_ROLE} login, or \
                         GRANT {SYSTEM_ROLE} TO {user}"
                    )
                    .into(),
                )
            })?;
    }
    Ok(())
}

/// The `sqlite://` URL of `path`, creating the file if missing. A URL drops `.` and `..`
/// segments as text, so the directory is resolved first, as opening the file would; everything
/// but unreserved characters is percent-encoded (SQLite decodes the path back).
fn sqlite_url(path: &Path) -> Result<String> {
    let absolute = std::path::absolute(path).map_err(sqlx::Error::Io)?;
    let resolved = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map_err(sqlx::Error::Io)?
            .join(name),
        _ => absolute,
    };
    let mut url = String::from("sqlite://");
    for &byte in resolved.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serializing plain data cannot fail")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn parse<T: FromStr>(text: &str, what: &str) -> Result<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: unexpected value `{text}`")))
}

/// An integer column, read as the i64 both backends store and converted to `T`.
fn int<T: TryFrom<i64>>(row: &AnyRow, column: &str) -> Result<T> {
    let value: i64 = row.try_get(column)?;
    T::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{column}: {value} is out of range")))
}

/// A flag column, stored as 0 or 1.
fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    match row.try_get::<i64, _>(column)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt(format!(
            "{column}: {other} is not a flag (0 or 1)"
        ))),
    }
}

/// True for a UNIQUE or PRIMARY KEY violation, on either backend: `Any` hands back the
/// driver's own error, whose kind maps SQLite's constraint codes and PostgreSQL's 23505 alike.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

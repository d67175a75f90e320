//! `mandi serve` configuration: flags, environment variables (`MANDI_*`) and an optional TOML
//! file, in that order of precedence, validated at start-up with messages that name the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::pipeline::{BreakerConfig, SchedulerConfig};

/// Flags of `mandi serve`; each also reads `MANDI_<NAME>` and the TOML file's `<name>`.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "MANDI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MANDI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where state lives: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`
    /// (USER: a role that owns nothing, e.g. `mandi_app`) [default: sqlite://mandi.db].
    #[arg(long, env = "MANDI_DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL only: the schema owner's URL, used once at start-up to apply migrations
    /// [default: the database URL].
    #[arg(long, env = "MANDI_MIGRATION_DATABASE_URL", hide_env_values = true)]
    pub migration_database_url: Option<String>,
    /// PostgreSQL only: the connection for work across tenants (tenant registry, key lookup,
    /// event relay, run history), as `mandi_system` or a member of it, so the role that serves
    /// tenants never needs to see them all [default: the migration URL, else the database URL;
    /// either must then be a member of mandi_system].
    #[arg(long, env = "MANDI_SYSTEM_DATABASE_URL", hide_env_values = true)]
    pub system_database_url: Option<String>,
    /// Bearer token of the platform admin API (at least 16 characters). Required.
    #[arg(long, env = "MANDI_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// NATS server with JetStream (`nats://HOST:4222`): every event is also published there,
    /// exactly once, on `mandi.events.<tenant>.<kind>` in stream MANDI_EVENTS [default: none].
    #[arg(long, env = "MANDI_NATS_URL")]
    pub nats_url: Option<String>,
    /// Where compiled components are cached [default: the user cache directory, `mandi/`].
    #[arg(long, env = "MANDI_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compiled plugin code kept in memory, in MiB: components beyond it, least recently used
    /// first, are dropped and mapped again from the cache directory when next called
    /// [default: 256].
    #[arg(long, env = "MANDI_LOADED_CODE_MIB")]
    pub loaded_code_mib: Option<u64>,
    /// How long plugin run history is kept, in hours [default: 168].
    #[arg(long, env = "MANDI_RUN_RETENTION_HOURS")]
    pub run_retention_hours: Option<u64>,
    /// Checkouts of one tenant that may run plugins at once [default: 4].
    #[arg(long, env = "MANDI_TENANT_CONCURRENCY")]
    pub tenant_concurrency: Option<u32>,
    /// How long a checkout waits for its tenant's turn before a 429, in ms [default: 2000].
    #[arg(long, env = "MANDI_QUEUE_TIMEOUT_MS")]
    pub queue_timeout_ms: Option<u64>,
    /// Largest JSON request body, in bytes [default: 1048576].
    #[arg(long, env = "MANDI_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    migration_database_url: Option<String>,
    system_database_url: Option<String>,
    nats_url: Option<String>,
    admin_token: Option<String>,
    cache_dir: Option<PathBuf>,
    loaded_code_mib: Option<u64>,
    run_retention_hours: Option<u64>,
    tenant_concurrency: Option<u32>,
    queue_timeout_ms: Option<u64>,
    max_body_bytes: Option<usize>,
}

/// The service's settings, resolved and checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    pub migration_database_url: Option<String>,
    pub system_database_url: Option<String>,
    pub nats_url: Option<String>,
    pub admin_token: String,
    pub cache_dir: Option<PathBuf>,
    /// Compiled plugin code kept in memory, in bytes.
    pub max_loaded_code_bytes: u64,
    pub run_retention: Duration,
    pub scheduler: SchedulerConfig,
    pub breaker: BreakerConfig,
    pub max_body_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting `{setting}`: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

const MIN_ADMIN_TOKEN: usize = 16;
const MIN_LOADED_CODE_BYTES: u64 = 16 << 20;

impl ServeConfig {
    /// A configuration with every default, for embedding and tests.
    pub fn new(database_url: impl Into<String>, admin_token: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: database_url.into(),
            migration_database_url: None,
            system_database_url: None,
            nats_url: None,
            admin_token: admin_token.into(),
            cache_dir: None,
            max_loaded_code_bytes: 256 << 20,
            run_retention: Duration::from_secs(168 * 3600),
            scheduler: SchedulerConfig::default(),
            breaker: BreakerConfig::default(),
            max_body_bytes: 1 << 20,
        }
    }

    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let admin_token = args.admin_token.or(file.admin_token).ok_or(ConfigError::Invalid {
            setting: "admin_token",
            message: "required: pass --admin-token, set MANDI_ADMIN_TOKEN or admin_token in the config file".into(),
        })?;
        let mut config = Self::new(
            args.database_url
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://mandi.db".into()),
            admin_token,
        );
        config.migration_database_url = args.migration_database_url.or(file.migration_database_url);
        config.system_database_url = args.system_database_url.or(file.system_database_url);
        config.nats_url = args.nats_url.or(file.nats_url);
        if let Some(listen) = args.listen.or(file.listen) {
            config.listen = listen;
        }
        config.cache_dir = args.cache_dir.or(file.cache_dir).or_else(default_cache_dir);
        if let Some(mib) = args.loaded_code_mib.or(file.loaded_code_mib) {
            config.max_loaded_code_bytes = mib.saturating_mul(1 << 20);
        }
        let hours = args
            .run_retention_hours
            .or(file.run_retention_hours)
            .unwrap_or(168);
        config.run_retention = Duration::from_secs(hours.saturating_mul(3600));
        if let Some(n) = args.tenant_concurrency.or(file.tenant_concurrency) {
            config.scheduler.per_tenant = n;
        }
        if let Some(ms) = args.queue_timeout_ms.or(file.queue_timeout_ms) {
            config.scheduler.queue_timeout = Duration::from_millis(ms);
        }
        if let Some(bytes) = args.max_body_bytes.or(file.max_body_bytes) {
            config.max_body_bytes = bytes;
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, message: &str| {
            Err(ConfigError::Invalid {
                setting,
                message: message.to_owned(),
            })
        };
        if self.admin_token.trim().len() < MIN_ADMIN_TOKEN {
            return invalid("admin_token", "must be at least 16 characters");
        }
        if self.max_loaded_code_bytes < MIN_LOADED_CODE_BYTES {
            return invalid(
                "loaded_code_mib",
                "must be at least 16: below it even a few tenants' plugins are reloaded on every call",
            );
        }
        let postgres = is_postgres(&self.database_url);
        if !postgres && !self.database_url.starts_with("sqlite://") {
            return invalid(
                "database_url",
                "must be a sqlite:// or postgres:// URL (e.g. sqlite://mandi.db)",
            );
        }
        if self.database_url == "sqlite://" {
            return invalid("database_url", "names no file");
        }
        if let Some(url) = &self.migration_database_url
            && !(postgres && is_postgres(url))
        {
            return invalid(
                "migration_database_url",
                "is for PostgreSQL only: a postgres:// URL beside a postgres:// database_url",
            );
        }
        if let Some(url) = &self.system_database_url
            && !(postgres && is_postgres(url))
        {
            return invalid(
                "system_database_url",
                "is for PostgreSQL only: a postgres:// URL beside a postgres:// database_url",
            );
        }
        if let Some(url) = &self.nats_url
            && !(url.starts_with("nats://") || url.starts_with("tls://"))
        {
            return invalid("nats_url", "must be a nats:// (or tls://) URL");
        }
        if self.run_retention < Duration::from_secs(3600) {
            return invalid("run_retention_hours", "must be at least 1");
        }
        if !(1..=1024).contains(&self.scheduler.per_tenant) {
            return invalid("tenant_concurrency", "must be 1 to 1024");
        }
        if self.scheduler.queue_timeout > Duration::from_secs(60) {
            return invalid("queue_timeout_ms", "must be at most 60000");
        }
        if !(1024..=64 << 20).contains(&self.max_body_bytes) {
            return invalid("max_body_bytes", "must be 1 KiB to 64 MiB");
        }
        Ok(())
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// `$XDG_CACHE_HOME/mandi`, else `~/.cache/mandi`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("mandi"))
}

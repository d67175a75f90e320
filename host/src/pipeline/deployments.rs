//! Which deployment serves each hook of each tenant, loaded from the store and kept in memory.
//!
//! A tenant's hooks are built once (components come compiled from the runtime's cache) and
//! shared by its requests as an `Arc`. A deploy or rollback invalidates the tenant's entry: the
//! next request builds the new set while requests in flight finish on the old one, so a
//! deployment takes effect with no restart and no dropped request. Circuit breakers are kept per
//! deployment id, so rebuilding the set does not forget a failing deployment's record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    BreakerConfig, CircuitBreaker, Deployed, FailurePolicy, HookDeployment, Source, TenantHooks,
};
use crate::runtime::{Hook, Limits, LoadError, PluginConfig, Runtime};
use crate::store::{DeploymentChange, DeploymentRecord, DeploymentWatch, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("deployment {deployment}: its component {digest} is missing from the registry")]
    MissingComponent { deployment: String, digest: String },
    #[error("deployment {deployment}: {message}")]
    Corrupt { deployment: String, message: String },
    #[error("deployment {deployment}: component failed to load: {source}")]
    Load {
        deployment: String,
        #[source]
        source: LoadError,
    },
}

#[derive(Debug)]
pub struct Deployments {
    store: Store,
    runtime: Runtime,
    breaker_config: BreakerConfig,
    tenants: Mutex<HashMap<String, Entry>>,
    breakers: moka::sync::Cache<String, Arc<CircuitBreaker>>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Bumped by every invalidation, so a build that raced one is not kept.
    generation: u64,
    hooks: Option<Arc<TenantHooks>>,
}

/// Breakers of deployments not called for this long are forgotten (a fresh one is closed).
const BREAKER_CAPACITY: u64 = 100_000;

impl Deployments {
    pub fn new(store: Store, runtime: Runtime, breaker_config: BreakerConfig) -> Self {
        Self {
            store,
            runtime,
            breaker_config,
            tenants: Mutex::default(),
            breakers: moka::sync::Cache::new(BREAKER_CAPACITY),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The tenant's current hooks.
    pub async fn for_tenant(&self, tenant: &str) -> Result<Arc<TenantHooks>, DeploymentError> {
        let generation = {
            let mut tenants = self.lock();
            let entry = tenants.entry(tenant.to_owned()).or_default();
            if let Some(hooks) = &entry.hooks {
                return Ok(hooks.clone());
            }
            entry.generation
        };
        let hooks = Arc::new(self.build(tenant).await?);
        let mut tenants = self.lock();
        let entry = tenants.entry(tenant.to_owned()).or_default();
        if entry.generation == generation {
            entry.hooks = Some(hooks.clone());
        }
        Ok(hooks)
    }

    /// Forgets the tenant's hooks: the next request reads its deployments again.
    pub fn invalidate(&self, tenant: &str) {
        let mut tenants = self.lock();
        let entry = tenants.entry(tenant.to_owned()).or_default();
        entry.generation += 1;
        entry.hooks = None;
    }

    /// Forgets every tenant's hooks (after missing notifications, any may be stale).
    pub fn invalidate_all(&self) {
        for entry in self.lock().values_mut() {
            entry.generation += 1;
            entry.hooks = None;
        }
    }

    /// Applies deployment changes made on any node until `stop` resolves: a deploy or rollback
    /// through another node is live here as soon as its notification arrives.
    pub async fn follow(&self, mut watch: DeploymentWatch, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let change = tokio::select! {
                () = &mut stop => return,
                change = watch.next() => change,
            };
            match change {
                Ok(DeploymentChange::Tenant(tenant)) => self.invalidate(&tenant),
                Ok(DeploymentChange::Unknown) => self.invalidate_all(),
                Err(err) => {
                    tracing::error!(error = %err, "lost the deployment notifications; retrying");
                    self.invalidate_all();
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// The breaker of a deployment, created closed on first use.
    pub fn breaker(&self, deployment_id: &str) -> Arc<CircuitBreaker> {
        self.breakers.get_with_by_ref(deployment_id, || {
            Arc::new(CircuitBreaker::new(self.breaker_config))
        })
    }

    async fn build(&self, tenant: &str) -> Result<TenantHooks, DeploymentError> {
        let mut hooks = TenantHooks::default();
        for record in self.store.active_deployments(tenant).await? {
            let corrupt = |message: String| DeploymentError::Corrupt {
                deployment: record.id.clone(),
                message,
            };
            let hook: Hook = record.hook.parse().map_err(corrupt)?;
            let deployment = self.hook_deployment(tenant, &record).await?;
            match hook {
                Hook::Pricing => hooks.pricing = Some(deployment),
                Hook::Validation => hooks.validation = Some(deployment),
                Hook::Fulfillment => hooks.fulfillment = Some(deployment),
            }
        }
        Ok(hooks)
    }

    async fn hook_deployment(
        &self,
        tenant: &str,
        record: &DeploymentRecord,
    ) -> Result<HookDeployment, DeploymentError> {
        let corrupt = |message: String| DeploymentError::Corrupt {
            deployment: record.id.clone(),
            message,
        };
        let policy: FailurePolicy = parse_policy(&record.failure_policy).map_err(corrupt)?;
        let limits: Limits =
            serde_json::from_value(record.limits.clone()).map_err(|e| corrupt(e.to_string()))?;
        let config = PluginConfig::from_json(&record.config.to_string())
            .map_err(|e| corrupt(e.to_string()))?;
        let wasm = self
            .store
            .plugin_wasm(tenant, &record.plugin_digest)
            .await?
            .ok_or_else(|| DeploymentError::MissingComponent {
                deployment: record.id.clone(),
                digest: record.plugin_digest.clone(),
            })?;
        let runtime = self.runtime.clone();
        // Usually a cache hit; a cold start compiles (tens of ms), off the async executor.
        let plugin = tokio::task::spawn_blocking(move || runtime.load(&wasm))
            .await
            .expect("loading a component does not panic")
            .map_err(|source| DeploymentError::Load {
                deployment: record.id.clone(),
                source,
            })?;
        Ok(HookDeployment {
            source: Source {
                deployment_id: record.id.clone(),
                plugin: record.plugin_digest.clone(),
            },
            policy,
            invoker: Arc::new(Deployed {
                plugin,
                config: Arc::new(config),
                limits,
            }),
            breaker: self.breaker(&record.id),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // The map is only ever left consistent (single inserts and assignments).
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Parses `fail-closed` / `fail-open`.
pub fn parse_policy(text: &str) -> Result<FailurePolicy, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown failure policy `{text}`: expected fail-closed or fail-open"))
}

//! Which deployment serves each hook of each tenant, loaded from the store and kept in memory.
//!
//! A tenant's hooks are built once (components come compiled from the runtime's cache) and
//! shared by its requests as an `Arc`. A deploy or rollback invalidates the tenant's entry: the
//! next request builds the new set while requests in flight finish on the old one, so a
//! deployment takes effect with no restart and no dropped request. Circuit breakers are kept per
//! deployment id, so rebuilding the set does not forget a failing deployment's record.
//!
//! Compiled code is shared between nodes too: the artifact of a component one node compiled is
//! stored in the database under the component's digest and the engine's fingerprint, and every
//! other node with that engine loads it instead of compiling the component again. An artifact is
//! native code, so it is signed (HMAC-SHA256) with a key the nodes share and checked before it
//! is loaded: write access to the database alone cannot make a node run forged code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    BreakerConfig, CircuitBreaker, Deployed, FailurePolicy, HookDeployment, SampledDeployment,
    Source, TenantHooks,
};
use crate::runtime::{Hook, Limits, LoadError, Plugin, PluginConfig, PluginDigest, Runtime};
use crate::store::{
    DeploymentChange, DeploymentRecord, DeploymentStatus, DeploymentWatch, SignedArtifact, Store,
    StoreError,
};

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
    /// Each tenant's generation, bumped by every invalidation, so a build that raced one is
    /// not kept. (A few bytes a tenant; the hooks themselves are in `hooks`, bounded.)
    generations: Mutex<HashMap<String, u64>>,
    /// Tenants' built hooks, weighed by the compiled code they hold and bounded like the
    /// runtime's loaded components: a tenant not quoting lately is rebuilt on its next request.
    hooks: moka::sync::Cache<String, Arc<TenantHooks>>,
    /// Signs and checks shared artifacts; without one, nothing is shared.
    artifact_key: Option<ArtifactKey>,
    breakers: moka::sync::Cache<String, Arc<CircuitBreaker>>,
    /// One compile at a time per node: compiling takes a core for up to seconds, and hook
    /// calls must keep the others.
    compiles: tokio::sync::Semaphore,
}

/// Breakers of deployments not called for this long are forgotten (a fresh one is closed).
const BREAKER_CAPACITY: u64 = 100_000;

impl Deployments {
    pub fn new(store: Store, runtime: Runtime, breaker_config: BreakerConfig) -> Self {
        let hooks = moka::sync::Cache::builder()
            .max_capacity(runtime.config().max_loaded_code_bytes)
            .weigher(|_, hooks: &Arc<TenantHooks>| {
                u32::try_from(hooks.code_bytes()).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            store,
            runtime,
            breaker_config,
            generations: Mutex::default(),
            hooks,
            artifact_key: None,
            breakers: moka::sync::Cache::new(BREAKER_CAPACITY),
            compiles: tokio::sync::Semaphore::new(1),
        }
    }

    /// Shares compiled artifacts with the other nodes on the database, signed with `key`
    /// (every node must have the same).
    pub fn share_artifacts(mut self, key: ArtifactKey) -> Self {
        self.artifact_key = Some(key);
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The tenant's current hooks.
    pub async fn for_tenant(&self, tenant: &str) -> Result<Arc<TenantHooks>, DeploymentError> {
        if let Some(hooks) = self.hooks.get(tenant) {
            return Ok(hooks);
        }
        let generation = *self.lock().entry(tenant.to_owned()).or_default();
        let hooks = Arc::new(self.build(tenant).await?);
        // Kept only if no invalidation came meanwhile; both happen under the lock.
        let generations = self.lock();
        if generations.get(tenant) == Some(&generation) {
            self.hooks.insert(tenant.to_owned(), hooks.clone());
        }
        drop(generations);
        crate::telemetry::loaded_code_bytes(self.runtime.loaded_code_bytes());
        Ok(hooks)
    }

    /// The tenant's live hooks for a trial: every deployment gets a circuit breaker of its own
    /// (closed, as a new deployment's is), so trying moves nothing of the live breakers, and an
    /// open live breaker does not hide a hook from the trial.
    pub async fn trial_live(&self, tenant: &str) -> Result<Arc<TenantHooks>, DeploymentError> {
        Ok(Arc::new(
            self.own_breakers(&*self.for_tenant(tenant).await?),
        ))
    }

    /// The tenant's hooks with `candidate` serving `hook` instead of its live deployment: what
    /// the tenant's checkouts would run if it were deployed, with breakers of their own as in
    /// [`Self::trial_live`].
    pub async fn with_candidate(
        &self,
        tenant: &str,
        hook: Hook,
        candidate: &DeploymentRecord,
    ) -> Result<Arc<TenantHooks>, DeploymentError> {
        let live = self.for_tenant(tenant).await?;
        let candidate = self.hook_deployment(tenant, candidate).await?;
        let hooks = self.own_breakers(&live.as_ref().clone().with(hook, candidate));
        Ok(Arc::new(hooks))
    }

    /// `hooks` (without shadows or canaries) with a fresh breaker for every deployment.
    pub(super) fn own_breakers(&self, hooks: &TenantHooks) -> TenantHooks {
        let mut trial = TenantHooks::default();
        for (hook, deployment) in hooks.iter() {
            trial.set(
                hook,
                HookDeployment {
                    breaker: Arc::new(CircuitBreaker::new(self.breaker_config)),
                    ..deployment.clone()
                },
            );
        }
        trial
    }

    /// Forgets the tenant's hooks: the next request reads its deployments again.
    pub fn invalidate(&self, tenant: &str) {
        let mut generations = self.lock();
        *generations.entry(tenant.to_owned()).or_default() += 1;
        self.hooks.invalidate(tenant);
    }

    /// Forgets every tenant's hooks (after missing notifications, any may be stale).
    pub fn invalidate_all(&self) {
        let mut generations = self.lock();
        for generation in generations.values_mut() {
            *generation += 1;
        }
        self.hooks.invalidate_all();
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

    /// A deployment's breaker state on this node; `None` when this node has not run it lately.
    pub fn breaker_state(&self, deployment_id: &str) -> Option<super::BreakerState> {
        (self.breakers.get(deployment_id)).map(|b| b.state(std::time::Instant::now()))
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
            let sampled = |percent: Option<i64>| match percent {
                Some(percent) => Ok(SampledDeployment {
                    deployment: deployment.clone(),
                    sample_percent: u8::try_from(percent.clamp(1, 100)).expect("in range"),
                }),
                None => Err(corrupt(
                    "a shadow or canary deployment without its share".into(),
                )),
            };
            match record.status {
                DeploymentStatus::Shadow => hooks.set_shadow(hook, sampled(record.sample_percent)?),
                DeploymentStatus::Canary => hooks.set_canary(hook, sampled(record.sample_percent)?),
                _ => hooks.set(hook, deployment),
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
        // Usually loaded already, and then neither the bytes nor an artifact are read. (The
        // record's digest is its upload's content address; a malformed one takes the long way.)
        let digest = record.plugin_digest.parse::<PluginDigest>().ok();
        let plugin = match digest {
            Some(digest) => self.loaded_or_compiled(digest).await,
            None => None,
        };
        let plugin = match plugin {
            Some(plugin) => plugin,
            None => {
                let wasm = self
                    .store
                    .plugin_wasm(tenant, &record.plugin_digest)
                    .await?
                    .ok_or_else(|| DeploymentError::MissingComponent {
                        deployment: record.id.clone(),
                        digest: record.plugin_digest.clone(),
                    })?;
                self.load_component(wasm)
                    .await
                    .map_err(|source| DeploymentError::Load {
                        deployment: record.id.clone(),
                        source,
                    })?
            }
        };
        Ok(HookDeployment {
            source: Source {
                deployment_id: record.id.clone(),
                plugin: record.plugin_digest.clone(),
                version: record.version,
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

    /// The component if it is loaded, else loaded from this node's compiled artifact alone:
    /// a restart or an eviction reads neither the component's bytes nor the database.
    async fn loaded_or_compiled(&self, digest: PluginDigest) -> Option<Plugin> {
        if let Some(plugin) = self.runtime.loaded(&digest) {
            return Some(plugin);
        }
        if !self.runtime.has_cached_artifact(&digest) {
            return None;
        }
        let runtime = self.runtime.clone();
        // Maps the artifact and links it (no compile), off the async executor.
        tokio::task::spawn_blocking(move || runtime.load_compiled(&digest))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
    }

    /// Loads a component, sharing compiled code with the other nodes on the database: an
    /// artifact another node compiled for this engine is loaded instead of compiling, and one
    /// compiled here is stored for the others. Sharing is best-effort: when the database cannot
    /// give or take an artifact, the component still loads, compiled here.
    pub async fn load_component<B>(&self, wasm: B) -> Result<Plugin, LoadError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        // Hashed off the async executor like the load itself: a component may be megabytes.
        let (wasm, digest) = tokio::task::spawn_blocking(move || {
            let digest = PluginDigest::of(wasm.as_ref());
            (wasm, digest)
        })
        .await
        .expect("hashing does not panic");
        if let Some(plugin) = self.runtime.loaded(&digest) {
            return Ok(plugin);
        }
        let digest_text = digest.to_string();
        let engine = self.runtime.engine_fingerprint().to_owned();
        // This node's cache directory first: its artifact is mapped from the file (pages shared
        // with the page cache, read as they are used), where one read from the database would
        // be copied whole into memory, after reading it over the connection.
        let on_disk = self.runtime.has_cached_artifact(&digest);
        let artifact = match &self.artifact_key {
            Some(_) if on_disk => None,
            Some(key) => match self.store.artifact(&digest_text, &engine).await {
                Ok(Some(stored)) if key.verifies(&digest_text, &engine, &stored) => {
                    Some(stored.bytes)
                }
                Ok(Some(_)) => {
                    tracing::warn!(%digest, "shared artifact has a bad signature; compiling");
                    None
                }
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!(%digest, error = %err, "could not read the shared artifact");
                    None
                }
            },
            None => None,
        };
        let runtime = self.runtime.clone();
        let precompiled = artifact.is_some() || on_disk;
        let (plugin, fresh_artifact) = if precompiled {
            // Compiled code at hand (a restart, another node's work): loading it maps the
            // artifact and links it, about a millisecond, so it waits for no compile turn.
            // An artifact that proves unusable is compiled here after all: rare, and bounded
            // by the same size checks.
            tokio::task::spawn_blocking(move || {
                runtime.load_with_artifact(wasm.as_ref(), artifact.as_deref())
            })
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?
        } else {
            // Compiling takes tens of ms, seconds for a large component: never on the async
            // executor, one at a time, and on a thread at the lowest priority, so other
            // tenants' hook calls (normal priority) get the CPU first.
            let _turn = self
                .compiles
                .acquire()
                .await
                .expect("the compile semaphore is never closed");
            let loaded = super::scheduler::run_at_low_priority(move || {
                runtime.load_with_artifact(wasm.as_ref(), artifact.as_deref())
            })
            .await;
            match loaded {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        };
        // Only an artifact this node just compiled comes back; it is shared for the others.
        if let (Some(key), Some(bytes)) = (&self.artifact_key, fresh_artifact) {
            let signed = key.sign(&digest_text, &engine, bytes);
            if let Err(err) = self
                .store
                .put_artifact(&digest_text, &engine, &signed)
                .await
            {
                tracing::warn!(%digest, error = %err, "could not share the compiled artifact");
            }
        }
        Ok(plugin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // The map is only ever left consistent (single inserts and assignments).
        self.generations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Parses `fail-closed` / `fail-open`.
pub fn parse_policy(text: &str) -> Result<FailurePolicy, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown failure policy `{text}`: expected fail-closed or fail-open"))
}

/// The key nodes sign shared artifacts with.
#[derive(Clone)]
pub struct ArtifactKey([u8; 32]);

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArtifactKey(..)")
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl ArtifactKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// A key derived from a secret every node of a deployment already shares.
    pub fn derive(secret: &str) -> Self {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"mandi artifact signing v1\0");
        hasher.update(secret.as_bytes());
        Self(hasher.finalize().into())
    }

    fn mac(&self, digest: &str, engine: &str, bytes: &[u8]) -> HmacSha256 {
        use hmac::Mac as _;
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        // Length-prefixed, so no two (digest, engine) pairs sign the same message.
        for part in [digest.as_bytes(), engine.as_bytes()] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.update(bytes);
        mac
    }

    pub fn sign(&self, digest: &str, engine: &str, bytes: Vec<u8>) -> SignedArtifact {
        use hmac::Mac as _;
        let signature = self
            .mac(digest, engine, &bytes)
            .finalize()
            .into_bytes()
            .to_vec();
        SignedArtifact { bytes, signature }
    }

    /// Checks in constant time that `artifact` was signed with this key for this component
    /// and engine.
    pub fn verifies(&self, digest: &str, engine: &str, artifact: &SignedArtifact) -> bool {
        use hmac::Mac as _;
        self.mac(digest, engine, &artifact.bytes)
            .verify_slice(&artifact.signature)
            .is_ok()
    }
}

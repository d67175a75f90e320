//! The plugin runtime: loads components (compiled once, cached), and runs one hook call in a
//! fresh, capability-less instance under per-call limits, returning a classified outcome.
//!
//! Compiled code is cached in memory, optionally in a directory, and can be handed in and out as
//! bytes ([`Runtime::load_with_artifact`]) for a cache the runtime knows nothing about: the
//! pipeline keeps those in the database, so the nodes sharing it compile each component once.
//!
//! A call's life: [`Plugin::price`] (or `validate`, `fulfill`) checks the input size, builds a
//! new store with the deployment's config and limits, instantiates from the component's
//! pre-linked `InstancePre` (pooling allocator), calls the export, classifies any trap, checks the
//! output against the contract, and drops the instance.

mod bindings;
mod cache;
mod compile_cache;
mod config_schema;
mod engine;
mod guard;
mod hooks;
mod inspect;
mod limits;
mod outcome;
mod state;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mandi_sdk::Context;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

pub use engine::RuntimeConfig;
pub use hooks::Hook;
pub use inspect::{Contract, Inspection, LoadError, SUPPORTED_CONTRACTS};
pub use limits::{Limits, LimitsError};
pub use outcome::{HookFailure, HookRun, LogLevel, LogRecord, Outcome, RunStats};
pub use state::{ConfigError, PluginConfig};

use config_schema::ConfigExport;
use guard::WireSize;
use hooks::HookExports;
use state::CallState;

/// Content address of a component: the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginDigest([u8; 32]);

impl PluginDigest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for PluginDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

/// A string that is not `sha256:` followed by 64 hex digits.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{0}` is not a component digest (sha256:<64 hex digits>)")]
pub struct InvalidDigest(String);

impl FromStr for PluginDigest {
    type Err = InvalidDigest;

    /// Parses the [`Display`](fmt::Display) form, `sha256:<hex>`.
    fn from_str(s: &str) -> Result<Self, InvalidDigest> {
        let mut bytes = [0; 32];
        s.strip_prefix("sha256:")
            .and_then(|hex| hex::decode_to_slice(hex, &mut bytes).ok())
            .ok_or_else(|| InvalidDigest(s.to_owned()))?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for PluginDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Owns the engine, the linker with the host's imports, and the compiled-component caches.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<CallState>>,
    artifacts: cache::ArtifactCache,
    loaded: moka::sync::Cache<PluginDigest, Plugin>,
    compiled_functions: Option<Arc<compile_cache::CompiledFunctions>>,
    config: Arc<RuntimeConfig>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        let (engine, compiled_functions) = engine::build_engine(&config)?;
        engine::spawn_epoch_ticker(&engine, config.epoch_tick);
        let mut linker = Linker::new(&engine);
        // WASI is linked so components built with std instantiate, but the context grants
        // nothing: no files, environment, arguments, sockets or real clock (see state.rs).
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::add_to_linker(&mut linker)?;
        Ok(Self {
            artifacts: cache::ArtifactCache::new(&engine, config.cache_dir.clone()),
            engine,
            linker: Arc::new(linker),
            // Weighed by compiled code, the bulk of a loaded component's memory; the cache
            // directory backs what is dropped.
            loaded: moka::sync::Cache::builder()
                .max_capacity(config.max_loaded_code_bytes)
                .weigher(|_, plugin: &Plugin| {
                    u32::try_from(plugin.code_bytes()).unwrap_or(u32::MAX)
                })
                .build(),
            compiled_functions,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The engine's compatibility fingerprint: an artifact from
    /// [`load_with_artifact`](Self::load_with_artifact) is only usable by a runtime with the same
    /// one (same wasmtime version, configuration and CPU features), so it is part of its key.
    pub fn engine_fingerprint(&self) -> &str {
        self.artifacts.fingerprint()
    }

    /// Compiles (or fetches from cache), inspects and links a component. Everything a plugin
    /// could get wrong about its shape is reported here, not at its first call.
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        self.load_cached(wasm, None).map(|(plugin, _)| plugin)
    }

    /// Like [`load`](Self::load), but tries `artifact` (a compiled artifact this method returned
    /// earlier, in any process with the same [`engine_fingerprint`](Self::engine_fingerprint))
    /// before the cache directory and the compiler. An unusable artifact is discarded with a
    /// warning and the component compiled, never an error. Alongside the plugin, returns the
    /// serialized artifact when this call compiled the component, for the caller to keep; `None`
    /// when `artifact` or the cache directory was used, or the component was already loaded.
    pub fn load_with_artifact(
        &self,
        wasm: &[u8],
        artifact: Option<&[u8]>,
    ) -> Result<(Plugin, Option<Vec<u8>>), LoadError> {
        let (plugin, fresh) = self.load_cached(wasm, artifact)?;
        // Only code compiled by this call is new to the caller: one from the cache directory
        // was handed out when it was compiled, and serializing it again costs a full copy.
        if !fresh || plugin.artifact_source() != ArtifactSource::Compiled {
            return Ok((plugin, None));
        }
        // Exporting is only an optimisation for the caller: failing it must not fail the load.
        match plugin.inner.pre.component().serialize() {
            Ok(bytes) => Ok((plugin, Some(bytes))),
            Err(err) => {
                tracing::warn!(digest = %plugin.digest(), error = %err, "could not serialize artifact");
                Ok((plugin, None))
            }
        }
    }

    /// How many functions compiles took from the compiled-function cache instead of compiling
    /// them, since the runtime started.
    pub fn reused_compiled_functions(&self) -> u64 {
        self.compiled_functions.as_ref().map_or(0, |f| f.hits())
    }

    /// Whether loading this component would find compiled code in the cache directory rather
    /// than compile it (the artifact is checked when loaded; a bad one is compiled after all).
    pub fn has_cached_artifact(&self, digest: &PluginDigest) -> bool {
        self.artifacts.has(digest)
    }

    /// Loads a component from its artifact in the cache directory alone, without its bytes:
    /// how a node brings back a component it compiled before (after a restart, or after the
    /// component was dropped from memory). Its size and shape were checked when it was
    /// compiled. `None` when the directory has no usable artifact: load it from its bytes.
    pub fn load_compiled(&self, digest: &PluginDigest) -> Option<Plugin> {
        self.loaded
            .try_get_with_by_ref(digest, || {
                let component = self
                    .artifacts
                    .load(&self.engine, digest)
                    .ok_or(LoadError::Invalid("no usable artifact".into()))?;
                self.link(digest.clone(), component, ArtifactSource::CacheDir)
            })
            .ok()
    }

    /// Compiled code of the components loaded in memory, in bytes (at most
    /// [`RuntimeConfig::max_loaded_code_bytes`] once evictions have run).
    pub fn loaded_code_bytes(&self) -> u64 {
        self.loaded.run_pending_tasks();
        self.loaded.weighted_size()
    }

    /// The component with this digest, if it is loaded in memory: no bytes needed.
    pub fn loaded(&self, digest: &PluginDigest) -> Option<Plugin> {
        self.loaded.get(digest)
    }

    /// Loads through the in-memory cache; true alongside the plugin when this call loaded it
    /// (rather than finding it loaded, or waiting for a concurrent load of it).
    fn load_cached(
        &self,
        wasm: &[u8],
        artifact: Option<&[u8]>,
    ) -> Result<(Plugin, bool), LoadError> {
        let limit = self.config.max_component_bytes;
        if wasm.len() > limit {
            return Err(LoadError::TooLarge {
                size: wasm.len(),
                limit,
            });
        }
        let (functions, code_bytes) = inspect::code_size(wasm);
        let (max_functions, max_code_bytes) =
            (self.config.max_functions, self.config.max_code_bytes);
        if functions > max_functions || code_bytes > max_code_bytes {
            return Err(LoadError::TooComplex {
                functions,
                code_bytes,
                max_functions,
                max_code_bytes,
            });
        }
        let digest = PluginDigest::of(wasm);
        let mut fresh = false;
        // Concurrent loads of one component compile it once; the others wait for that result.
        let plugin = self
            .loaded
            .try_get_with(digest.clone(), || {
                fresh = true;
                self.compile_and_link(digest, wasm, artifact)
            })
            .map_err(|err| (*err).clone())?;
        Ok((plugin, fresh))
    }

    fn compile_and_link(
        &self,
        digest: PluginDigest,
        wasm: &[u8],
        artifact: Option<&[u8]>,
    ) -> Result<Plugin, LoadError> {
        inspect::check_header(wasm)?;
        let (component, source) = self
            .artifacts
            .compile(&self.engine, &digest, wasm, artifact)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        self.link(digest, component, source)
    }

    /// Inspects and links compiled code, and checks its hooks against the contract.
    fn link(
        &self,
        digest: PluginDigest,
        component: Component,
        source: ArtifactSource,
    ) -> Result<Plugin, LoadError> {
        let started = Instant::now();
        let inspection = inspect::inspect(&self.engine, &component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::UnsatisfiedImport(format!("{e:#}")))?;
        let plugin = Plugin::link(
            digest,
            inspection,
            pre,
            LinkInfo {
                source,
                epoch_tick: self.config.epoch_tick,
                ceilings: self.config.ceilings,
            },
        )?;
        tracing::info!(
            digest = %plugin.digest(), ?source, hooks = ?plugin.inspection().hooks,
            elapsed_ms = started.elapsed().as_millis() as u64, "plugin loaded"
        );
        Ok(plugin)
    }

    /// Inspects a component without keeping it.
    pub fn inspect(&self, wasm: &[u8]) -> Result<Inspection, LoadError> {
        self.load(wasm).map(|p| p.inspection().clone())
    }
}

/// A loaded component, ready to be instantiated per call. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    digest: PluginDigest,
    inspection: Inspection,
    info: LinkInfo,
    pre: InstancePre<CallState>,
    hooks: HookExports,
    config_export: Option<ConfigExport>,
}

/// Where a plugin's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Compiled from the component by this runtime.
    Compiled,
    /// The runtime's cache directory.
    CacheDir,
    /// The artifact given to [`Runtime::load_with_artifact`] (for the service: compiled by
    /// whichever node sharing the database loaded the component first).
    Supplied,
}

/// Facts about how a plugin was loaded.
#[derive(Debug, Clone, Copy)]
struct LinkInfo {
    source: ArtifactSource,
    epoch_tick: Duration,
    ceilings: Limits,
}

impl PluginInner {
    /// A store for one call under `limits` (clamped to the runtime's ceilings).
    fn store(&self, limits: &Limits, state: impl FnOnce(&Limits) -> CallState) -> Store<CallState> {
        let info = &self.info;
        state::new_store(
            self.pre.engine(),
            limits,
            &info.ceilings,
            info.epoch_tick,
            state,
        )
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("digest", &self.inner.digest)
            .field("inspection", &self.inner.inspection)
            .finish_non_exhaustive()
    }
}

/// Everything one call needs besides its input: the deployment's config and limits.
#[derive(Debug, Clone, Copy)]
pub struct CallSettings<'a> {
    pub config: &'a Arc<PluginConfig>,
    pub limits: &'a Limits,
    /// The checkout this call belongs to, whose sandbox a call of the same component (with
    /// the same config and limits) reuses; `None`: a sandbox of the call's own.
    pub checkout: Option<&'a CheckoutSandbox>,
}

impl<'a> CallSettings<'a> {
    /// A call in a sandbox of its own.
    pub fn new(config: &'a Arc<PluginConfig>, limits: &'a Limits) -> Self {
        Self {
            config,
            limits,
            checkout: None,
        }
    }
}

/// The sandbox of one checkout: consecutive hook calls of one component (same config and
/// limits) share one instance, so a checkout pays for instantiating it and for resetting its
/// memory once rather than once per hook. Nothing outlives the checkout: the instance is
/// dropped with this value, so every checkout still starts from fresh sandbox state. A call
/// that fails does not hand its instance on (a trapped instance cannot be entered again, and
/// the next hook deserves a clean one). Fuel, deadline and log capture are per call; what the
/// plugin prints to stdout/stderr is capped per instance.
#[derive(Default)]
pub struct CheckoutSandbox {
    // One thread runs a checkout's hooks in turn; only the last instance is kept, so a
    // checkout holds at most one pooled slot at a time, as when every call had its own.
    live: std::cell::RefCell<Option<LiveInstance>>,
}

struct LiveInstance {
    plugin: Arc<PluginInner>,
    config: Arc<PluginConfig>,
    limits: Limits,
    store: Store<CallState>,
    instance: wasmtime::component::Instance,
}

impl fmt::Debug for CheckoutSandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.live.try_borrow().ok();
        f.debug_struct("CheckoutSandbox")
            .field(
                "live",
                &live
                    .as_ref()
                    .and_then(|l| l.as_ref())
                    .map(|l| &l.plugin.digest),
            )
            .finish()
    }
}

impl CheckoutSandbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// The live instance, if it is of this plugin, config and limits.
    fn take(
        &self,
        plugin: &Arc<PluginInner>,
        call: &CallSettings<'_>,
    ) -> Option<(Store<CallState>, wasmtime::component::Instance)> {
        let live = self.live.borrow_mut().take()?;
        let same = Arc::ptr_eq(&live.plugin, plugin)
            && *call.limits == live.limits
            && (Arc::ptr_eq(call.config, &live.config)
                || call.config.as_json() == live.config.as_json());
        same.then_some((live.store, live.instance))
    }

    fn keep(&self, live: LiveInstance) {
        *self.live.borrow_mut() = Some(live);
    }
}

impl Plugin {
    fn link(
        digest: PluginDigest,
        inspection: Inspection,
        pre: InstancePre<CallState>,
        info: LinkInfo,
    ) -> Result<Self, LoadError> {
        let hooks = HookExports::find(inspection.contract, &pre, &inspection.hooks)?;
        let config_export = ConfigExport::find(&inspection, &pre)?;
        let plugin = Self {
            inner: Arc::new(PluginInner {
                digest,
                inspection,
                info,
                pre,
                hooks,
                config_export,
            }),
        };
        plugin.check_signatures()?;
        Ok(plugin)
    }

    /// Instantiates once and type-checks every exported hook against the contract, so a
    /// mismatched component is refused at load time rather than failing every call.
    fn check_signatures(&self) -> Result<(), LoadError> {
        let inner = &self.inner;
        // A start function runs here: bound it like any call, or a hostile upload hangs the loader.
        let mut store = inner.store(&Limits::default(), |limits| {
            CallState::new(limits, Arc::new(PluginConfig::empty()), 0, "load")
        });
        let instance = inner
            .pre
            .instantiate(&mut store)
            .map_err(|e| LoadError::Instantiation(format!("{e:#}")))?;
        inner.hooks.check(&mut store, &instance)?;
        match &inner.config_export {
            Some(config) => config.check(&mut store, &instance),
            None => Ok(()),
        }
    }

    pub fn digest(&self) -> &PluginDigest {
        &self.inner.digest
    }

    pub fn inspection(&self) -> &Inspection {
        &self.inner.inspection
    }

    /// Bytes of compiled code (and its metadata) this plugin holds in memory while loaded.
    pub fn code_bytes(&self) -> usize {
        let image = self.inner.pre.component().image_range();
        image.end.addr() - image.start.addr()
    }

    /// True when the compiled artifact came from a cache (the directory, or one supplied by the
    /// caller) rather than the compiler.
    pub fn loaded_from_cache(&self) -> bool {
        self.inner.info.source != ArtifactSource::Compiled
    }

    /// Where the compiled code came from.
    pub fn artifact_source(&self) -> ArtifactSource {
        self.inner.info.source
    }

    pub fn has_hook(&self, hook: Hook) -> bool {
        self.inner.inspection.hooks.contains(&hook)
    }

    /// The shared life of a call: fresh store, limits, instantiate, call, classify, check.
    fn run<T: WireSize>(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        input: InputCheck,
        invoke: impl FnOnce(
            &mut Store<CallState>,
            &wasmtime::component::Instance,
        ) -> wasmtime::Result<Result<T, mandi_sdk::PluginError>>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> HookRun<T> {
        let started = Instant::now();
        let reused = call
            .checkout
            .and_then(|checkout| checkout.take(&self.inner, &call));
        let (mut store, mut instance) = match reused {
            Some((mut store, instance)) => {
                state::begin_call(&mut store, self.inner.info.epoch_tick);
                (store, Some(instance))
            }
            None => {
                let store = self.inner.store(call.limits, |limits| {
                    CallState::new(
                        limits,
                        call.config.clone(),
                        ctx.now_unix_ms,
                        &ctx.request_id,
                    )
                });
                (store, None)
            }
        };
        let limits = &{ store.data().limits };

        let outcome = if input.size > limits.max_input_bytes {
            Err(HookFailure::InputTooLarge {
                bytes: input.size,
                limit_bytes: limits.max_input_bytes,
            })
        } else if let Err(message) = input.currencies {
            Err(HookFailure::InvalidInput { message })
        } else {
            let ready = match instance {
                Some(instance) => Ok(instance),
                None => self.inner.pre.instantiate(&mut store),
            };
            match ready {
                Err(err) => Err(classify_instantiation(err, store.data(), limits)),
                Ok(ready) => {
                    let outcome = match invoke(&mut store, &ready) {
                        Err(err) => Err(classify(err, store.data(), limits)),
                        Ok(Err(e)) => Err(plugin_error(e, limits)),
                        Ok(Ok(output)) => check_output(&output, limits, check).map(|()| output),
                    };
                    // Only an instance whose call succeeded is handed to the next hook.
                    instance = outcome.is_ok().then_some(ready);
                    outcome
                }
            }
        };
        let fuel_used = limits
            .max_fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let duration = started.elapsed();
        let state = store.data_mut();
        let peak_memory_bytes = state.limiter.peak;
        let (logs, logs_truncated) = state.finish_logs();
        if let (Some(checkout), Some(instance)) = (call.checkout, instance) {
            checkout.keep(LiveInstance {
                plugin: self.inner.clone(),
                config: call.config.clone(),
                limits: *call.limits,
                store,
                instance,
            });
        }
        HookRun {
            outcome: match outcome {
                Ok(output) => Outcome::Ok { output },
                Err(error) => Outcome::Failed { error },
            },
            stats: RunStats {
                duration,
                fuel_used,
                fuel_budget: limits.max_fuel,
                peak_memory_bytes,
            },
            logs,
            logs_truncated,
        }
    }
}

/// A plugin's business error, bounded: it counts toward the output limit, and its code and
/// message are cut to the length any plugin text may have.
fn plugin_error(error: mandi_sdk::PluginError, limits: &Limits) -> HookFailure {
    let size = error.code.len() + error.message.len();
    if size > limits.max_output_bytes {
        return HookFailure::InvalidOutput {
            message: format!(
                "error of {size} bytes exceeds the {} byte output limit",
                limits.max_output_bytes
            ),
        };
    }
    HookFailure::PluginError {
        code: guard::truncated(error.code),
        message: guard::truncated(error.message),
    }
}

/// What the host checked about a call's input before running it.
pub(crate) struct InputCheck {
    size: usize,
    currencies: Result<(), String>,
}

fn check_output<T: WireSize>(
    output: &T,
    limits: &Limits,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), HookFailure> {
    let size = output.wire_size();
    if size > limits.max_output_bytes {
        return Err(HookFailure::InvalidOutput {
            message: format!(
                "output of {size} bytes exceeds the {} byte limit",
                limits.max_output_bytes
            ),
        });
    }
    check(output).map_err(|message| HookFailure::InvalidOutput { message })
}

/// Turns a trap or host error from a call into the failure the caller is told about.
fn classify(err: wasmtime::Error, state: &CallState, limits: &Limits) -> HookFailure {
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            return HookFailure::Timeout {
                deadline_ms: limits.deadline_ms,
            };
        }
        Some(Trap::OutOfFuel) => {
            return HookFailure::FuelExhausted {
                max_fuel: limits.max_fuel,
            };
        }
        _ => {}
    }
    if state.limiter.refused {
        return HookFailure::MemoryLimit {
            limit_bytes: state.limiter.limit(),
        };
    }
    let cause = err.root_cause().to_string();
    // wasmtime's own words when a value the guest hands over exceeds the store's copy budget
    // (its error type is private); pinned by the hostile suite's oversized-output tests.
    if cause.contains("fuel allocated for hostcalls has been exhausted") {
        return HookFailure::InvalidOutput {
            message: format!(
                "output exceeds the {} byte limit (refused before copying it)",
                limits.max_output_bytes
            ),
        };
    }
    let cause = if cause.contains("MemoryOutputPipe") {
        format!(
            "printed more than the {} byte log limit",
            limits.max_log_bytes
        )
    } else {
        cause
    };
    let message = match state.logs.panic_message() {
        Some(panic) => format!("{panic} ({cause})"),
        None => cause,
    };
    HookFailure::Trap { message }
}

fn classify_instantiation(err: wasmtime::Error, state: &CallState, limits: &Limits) -> HookFailure {
    // Every pooled slot taken: back-pressure, not a plugin bug.
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return HookFailure::Overloaded {
            message: err.to_string(),
        };
    }
    classify(err, state, limits)
}

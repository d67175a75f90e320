//! The per-call store state: a WASI context with no capabilities, the memory limiter, the log
//! capture and the deployment's config. A new one is built for every hook call and dropped after.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
};

use super::limits::Limits;
use super::outcome::{LogLevel, LogRecord};

/// A deployment's JSON configuration, validated (an object) and indexed once, shared by calls.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    json: String,
    values: HashMap<String, String>,
}

/// The configuration was not a JSON object.
#[derive(Debug, thiserror::Error)]
#[error("plugin config must be a JSON object: {0}")]
pub struct ConfigError(String);

impl PluginConfig {
    pub fn empty() -> Self {
        Self {
            json: "{}".into(),
            values: HashMap::new(),
        }
    }

    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ConfigError(e.to_string()))?;
        let serde_json::Value::Object(map) = &value else {
            return Err(ConfigError(
                "found a JSON value that is not an object".into(),
            ));
        };
        let values = map
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        Ok(Self {
            json: value.to_string(),
            values,
        })
    }

    pub fn as_json(&self) -> &str {
        &self.json
    }
}

/// How many bytes the host may copy out of the sandbox per unit of `max_output_bytes` (or of
/// `max_log_bytes`, for one log call), before refusing. Lifted values take more room on the
/// host than on the wire (`WireSize` counts 8 bytes a field; a host record is larger), so the
/// bound is a multiple; what matters is that it is proportional, not the whole guest memory.
const HOST_COPY_FACTOR: usize = 8;

/// Builds the store for one call, or for a checkout's calls of one component: with
/// [`begin_call`], the only place a call's limits become wasmtime settings. `limits` are
/// clamped to `ceilings` here, so a deployment stored under older, higher
/// ceilings still gets no more than the runtime allows.
pub(crate) fn new_store(
    engine: &Engine,
    limits: &Limits,
    ceilings: &Limits,
    epoch_tick: Duration,
    state: impl FnOnce(&Limits) -> CallState,
) -> Store<CallState> {
    let limits = limits.clamped_to(ceilings);
    let mut store = Store::new(engine, state(&limits));
    store.limiter(|s| &mut s.limiter);
    begin_call(&mut store, epoch_tick);
    store
}

/// Readies a store for its next call under its limits: full fuel, copy budget and deadline,
/// and a fresh log capture. Every call gets these, whether its store is new or a checkout's.
pub(crate) fn begin_call(store: &mut Store<CallState>, epoch_tick: Duration) {
    let limits = store.data().limits;
    store.data_mut().begin_call();
    if store.set_fuel(limits.max_fuel).is_err() {
        unreachable!("fuel is enabled on the engine");
    }
    // Every value the plugin hands the host (its output, a business error, a log line) is
    // copied under this budget, checked before each copy: a 30 MB output costs the host at
    // most this much work and memory before it is refused as invalid output.
    let copy_budget = limits.max_output_bytes.max(limits.max_log_bytes);
    store.set_hostcall_fuel(copy_budget.saturating_mul(HOST_COPY_FACTOR));
    // The deadline is checked against the clock, not only counted in ticks: a tick can land
    // just after the call starts, or the ticker can catch up after a late wake-up, and a
    // deadline must never fire before it is due.
    let due = Instant::now() + limits.deadline();
    store.set_epoch_deadline(ticks(limits.deadline(), epoch_tick));
    store.epoch_deadline_callback(move |_| {
        let now = Instant::now();
        if now >= due {
            return Err(Trap::Interrupt.into());
        }
        Ok(UpdateDeadline::Continue(ticks(due - now, epoch_tick)))
    });
}

/// Epoch ticks covering `span`, at least one.
fn ticks(span: Duration, tick: Duration) -> u64 {
    let tick_ns = tick.as_nanos().max(1);
    u64::try_from(span.as_nanos().div_ceil(tick_ns))
        .unwrap_or(u64::MAX / 2)
        .max(1)
}

pub(crate) struct CallState {
    /// The call's limits, as clamped to the runtime's ceilings.
    pub(crate) limits: Limits,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: LogCapture,
    config: Arc<PluginConfig>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    /// Bytes of stdout and stderr already moved into an earlier call's log.
    printed: [usize; 2],
}

impl CallState {
    /// `now_unix_ms` and `seed` make the guest's clock and randomness a function of the call's
    /// inputs: the same input replays to the same output.
    pub(crate) fn new(
        limits: &Limits,
        config: Arc<PluginConfig>,
        now_unix_ms: i64,
        seed: &str,
    ) -> Self {
        let stdout = MemoryOutputPipe::new(limits.max_log_bytes);
        let stderr = MemoryOutputPipe::new(limits.max_log_bytes);
        let seed_bytes = Sha256::digest(seed.as_bytes()).to_vec();
        let seed_u128 = u128::from_le_bytes(seed_bytes[..16].try_into().unwrap_or_default());
        // No preopens, no environment, no arguments, no network: the builder grants nothing by
        // default, and we only replace the clocks and randomness with deterministic ones.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock(now_unix_ms))
            .monotonic_clock(FrozenClock(now_unix_ms))
            .secure_random(Deterministic::new(seed_bytes.clone()))
            .insecure_random(Deterministic::new(seed_bytes))
            .insecure_random_seed(seed_u128)
            .build();
        Self {
            limits: *limits,
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.max_memory_bytes),
            logs: LogCapture::new(limits.max_log_bytes),
            config,
            stdout,
            stderr,
            printed: [0, 0],
        }
    }

    /// Forgets the previous call's logs and refusals (a checkout's instance serves several).
    fn begin_call(&mut self) {
        self.logs = LogCapture::new(self.limits.max_log_bytes);
        self.limiter.refused = false;
    }

    /// Moves what the plugin printed into the log, after the log lines it wrote via the import.
    pub(crate) fn finish_logs(&mut self) -> (Vec<LogRecord>, bool) {
        let [stdout_printed, stderr_printed] = &mut self.printed;
        for (pipe, level, printed) in [
            (&self.stdout, LogLevel::Info, stdout_printed),
            (&self.stderr, LogLevel::Warn, stderr_printed),
        ] {
            let bytes = pipe.contents();
            let new = bytes.get(*printed..).unwrap_or_default();
            *printed = bytes.len();
            for line in String::from_utf8_lossy(new)
                .lines()
                .filter(|l| !l.is_empty())
            {
                self.logs.push(level, line.to_owned(), Vec::new());
            }
        }
        (std::mem::take(&mut self.logs.records), self.logs.truncated)
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The host imports, whatever contract version the plugin calls them through (each version's
/// `Host` impl in `bindings` converts its arguments and calls these).
impl CallState {
    pub(super) fn record_log(
        &mut self,
        level: LogLevel,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        if message.starts_with(PANIC_PREFIX) {
            // Kept apart from the capped log so the failure can say why even when the log is full.
            self.logs.panic = Some(message.chars().take(2048).collect());
            // A plugin that lived on to panic handled any refused memory grow before this:
            // the panic, not the memory limit, is why the call fails.
            self.limiter.refused = false;
        }
        self.logs.push(level, message, fields);
    }

    pub(super) fn config_json(&self) -> String {
        self.config.json.clone()
    }

    pub(super) fn config_entry(&self, key: &str) -> Option<String> {
        self.config.values.get(key).cloned()
    }
}

/// Log lines of one call, capped in bytes; the first line that does not fit ends the capture.
/// How the SDK's panic hook starts the line it logs before the panic traps.
const PANIC_PREFIX: &str = "plugin panicked";

pub(crate) struct LogCapture {
    records: Vec<LogRecord>,
    panic: Option<String>,
    bytes: usize,
    limit: usize,
    truncated: bool,
}

impl LogCapture {
    fn new(limit: usize) -> Self {
        Self {
            records: Vec::new(),
            panic: None,
            bytes: 0,
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, level: LogLevel, message: String, fields: Vec<(String, String)>) {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.truncated || self.bytes + size > self.limit {
            self.truncated = true;
            return;
        }
        self.bytes += size;
        self.records.push(LogRecord {
            level,
            message,
            fields,
        });
    }

    /// The last panic message the plugin logged (the SDK logs one before a panic traps).
    pub(crate) fn panic_message(&self) -> Option<&str> {
        self.panic.as_deref()
    }
}

/// Caps linear memory and table growth, and remembers the peak and whether it had to refuse.
pub(crate) struct MemoryLimiter {
    limit: u64,
    pub(crate) peak: u64,
    pub(crate) refused: bool,
}

impl MemoryLimiter {
    fn new(limit: u64) -> Self {
        Self {
            limit,
            peak: 0,
            refused: false,
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

/// Tables only hold function references in Rust plugins; this is generous.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.limit {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Wall and monotonic clock that always read the call's `now`: plugins get no clock of their own.
struct FrozenClock(i64);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0).unwrap_or(0))
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0).unwrap_or(0).saturating_mul(1_000_000)
    }
}

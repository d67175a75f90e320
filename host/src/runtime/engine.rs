//! The one wasmtime engine: pooling allocator, epoch interruption for deadlines, fuel for
//! deterministic metering, and a ticker thread that advances the epoch.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::Limits;
use super::compile_cache::CompiledFunctions;

/// Process-wide runtime settings: ceilings that every deployment's [`Limits`] must stay within,
/// and how many plugin instances may be live at once.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Instances that may run at the same time (pooling allocator slots).
    pub max_concurrent_instances: u32,
    /// The highest limits any call gets (the pooling allocator reserves
    /// `ceilings.max_memory_bytes` per memory slot).
    pub ceilings: Limits,
    /// Largest component accepted for loading.
    pub max_component_bytes: usize,
    /// Most functions, and bytes of function bodies, a component's core modules may hold:
    /// what bounds its compile time, which grows with its code, not its file size.
    pub max_functions: u64,
    pub max_code_bytes: u64,
    /// Wasm stack per call; deep recursion traps here instead of harming the host.
    pub max_wasm_stack_bytes: usize,
    /// Epoch tick: the granularity of deadlines.
    pub epoch_tick: Duration,
    /// Directory for compiled artifacts; `None` compiles in memory every time.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Compiled code kept loaded in memory, in bytes: components used least recently beyond
    /// it are dropped, and loaded again from the cache directory (mapped and linked, not
    /// compiled) when next called. What bounds a node's memory as its tenants grow.
    pub max_loaded_code_bytes: u64,
    /// Bytes of compiled functions kept for later compiles to reuse (0 turns reuse off).
    pub compiled_function_cache_bytes: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_concurrent_instances: 256,
            ceilings: Limits::CEILINGS,
            max_component_bytes: 16 << 20,
            max_functions: MAX_FUNCTIONS,
            max_code_bytes: MAX_CODE_BYTES,
            max_wasm_stack_bytes: 512 << 10,
            epoch_tick: Duration::from_millis(1),
            cache_dir: None,
            max_loaded_code_bytes: 256 << 20,
            compiled_function_cache_bytes: 64 << 20,
        }
    }
}

/// The example plugins have about 400 functions and 150-190 KiB of code; these allow some 25
/// times that. Compile time grows with both (cranelift spends a fixed cost per function besides
/// its size): at the limits a compile takes seconds, not minutes, on one low-priority core.
const MAX_FUNCTIONS: u64 = 10_000;
const MAX_CODE_BYTES: u64 = 4 << 20;

/// A typical plugin touches ~1 MiB (mostly its shadow stack); keep that resident between calls.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Core instances a Rust component needs (its module plus wit-component's shims), with headroom.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Builds the engine, and the compiled-function cache it shares between compiles (when on).
pub(crate) fn build_engine(
    config: &RuntimeConfig,
) -> wasmtime::Result<(Engine, Option<Arc<CompiledFunctions>>)> {
    let n = config.max_concurrent_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n * 2)
        .total_tables(n * CORE_INSTANCES_PER_COMPONENT)
        .total_stacks(n)
        .max_memories_per_component(4)
        .max_tables_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT * 2)
        .max_memory_size(usize::try_from(config.ceilings.max_memory_bytes).unwrap_or(usize::MAX))
        // Instances are short-lived and reuse slots constantly. Resetting the pages a call
        // dirtied in place (PAGEMAP_SCAN finds them, memset clears them) is cheaper than
        // madvise plus a page fault per page on the next call. Falls back to madvise on
        // kernels older than 6.7.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);

    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        // One thread per compile: the caller runs it on a low-priority thread of its own, so a
        // large upload takes what CPU the hook calls leave rather than every core beside them.
        .parallel_compilation(false)
        .epoch_interruption(true)
        .consume_fuel(true)
        .max_wasm_stack(config.max_wasm_stack_bytes)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let functions = (config.compiled_function_cache_bytes > 0)
        .then(|| Arc::new(CompiledFunctions::new(config.compiled_function_cache_bytes)));
    if let Some(functions) = &functions {
        wasm.enable_incremental_compilation(functions.clone())?;
    }
    Ok((Engine::new(&wasm)?, functions))
}

/// Advances the engine's epoch every tick until the engine is dropped.
pub(crate) fn spawn_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("mandi-epoch".into())
        .spawn(move || {
            // Ticks are scheduled on absolute instants so sleep overshoot does not accumulate
            // into deadlines that run late.
            let mut next = std::time::Instant::now();
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                next += tick;
                let now = std::time::Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        })
        .expect("spawning the epoch thread");
}

//! Per-call limits: what one hook invocation may use before the host stops it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits applied to every call of a deployment's hook. Serializable so a deployment can carry
/// its own (within the runtime's ceilings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline, enforced by epoch interruption.
    pub deadline_ms: u64,
    /// Fuel (roughly, wasm instructions) a call may burn; deterministic, unlike the deadline.
    /// The default is far above what the default deadline allows (a tight loop burns about
    /// 10 G/s here), so the deadline is what normally stops a runaway call.
    pub max_fuel: u64,
    /// Linear memory a call's instance may grow to.
    pub max_memory_bytes: u64,
    /// Size of the hook's input as the plugin receives it (strings and records).
    pub max_input_bytes: usize,
    /// Size of what the plugin returns.
    pub max_output_bytes: usize,
    /// Log lines, stdout and stderr captured per call; anything past this is dropped.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline_ms: 50,
            max_fuel: 4_000_000_000,
            max_memory_bytes: 64 << 20,
            max_input_bytes: 1 << 20,
            max_output_bytes: 256 << 10,
            max_log_bytes: 16 << 10,
        }
    }
}

impl Limits {
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }
}

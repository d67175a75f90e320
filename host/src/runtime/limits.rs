//! Per-call limits: what one hook invocation may use before the host stops it, and the
//! process-wide ceilings every deployment's limits must stay within. This module is the one
//! place that owns those rules: the admin API, the CLI and the store builder all ask it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits applied to every call of a deployment's hook. Serializable so a deployment can carry
/// its own (within the runtime's [ceilings](Limits::CEILINGS)).
///
/// Fuel is the primary budget: it counts wasm instructions, so the same input always gets the
/// same outcome, however busy the node is. The wall-clock deadline is a backstop for what fuel
/// cannot see (a bulk memory operation costs one unit of fuel whatever its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock backstop, enforced by epoch interruption; never fires before it is due.
    pub deadline_ms: u64,
    /// Fuel (wasm instructions, roughly) a call may burn: the deterministic budget.
    pub max_fuel: u64,
    /// Linear memory a call's instance may grow to.
    pub max_memory_bytes: u64,
    /// Size of the hook's input as the plugin receives it (strings and records).
    pub max_input_bytes: usize,
    /// Size of what the plugin returns, a business error included. The host copies at most a
    /// small multiple of this out of the sandbox before refusing the output.
    pub max_output_bytes: usize,
    /// Log lines, stdout and stderr captured per call; anything past this is dropped.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline_ms: 200,
            // About 1,000x what the example brands' hooks use on a 20-line cart (20-200 k),
            // and some 20-40 ms of a tight loop on a 2020s core.
            max_fuel: 200_000_000,
            max_memory_bytes: 64 << 20,
            max_input_bytes: 1 << 20,
            max_output_bytes: 256 << 10,
            max_log_bytes: 16 << 10,
        }
    }
}

/// A limit outside what the runtime allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be 1 to {max}, not {value}")]
pub struct LimitsError {
    pub field: &'static str,
    pub value: u64,
    pub max: u64,
}

impl Limits {
    /// The highest value of each limit any deployment may ask for.
    pub const CEILINGS: Limits = Limits {
        deadline_ms: 2_000,
        max_fuel: 100_000_000_000,
        max_memory_bytes: 256 << 20,
        max_input_bytes: 16 << 20,
        max_output_bytes: 16 << 20,
        max_log_bytes: 1 << 20,
    };

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("deadline_ms", self.deadline_ms),
            ("max_fuel", self.max_fuel),
            ("max_memory_bytes", self.max_memory_bytes),
            ("max_input_bytes", self.max_input_bytes as u64),
            ("max_output_bytes", self.max_output_bytes as u64),
            ("max_log_bytes", self.max_log_bytes as u64),
        ]
    }

    /// Checks every limit is at least 1 and at most its ceiling.
    pub fn check_within(&self, ceilings: &Limits) -> Result<(), LimitsError> {
        for ((field, value), (_, max)) in self.fields().into_iter().zip(ceilings.fields()) {
            if value == 0 || value > max {
                return Err(LimitsError { field, value, max });
            }
        }
        Ok(())
    }

    /// Each limit, lowered to its ceiling where above it: what a call actually gets, even when a
    /// stored deployment predates a lower ceiling.
    pub(crate) fn clamped_to(&self, ceilings: &Limits) -> Limits {
        Limits {
            deadline_ms: self.deadline_ms.min(ceilings.deadline_ms),
            max_fuel: self.max_fuel.min(ceilings.max_fuel),
            max_memory_bytes: self.max_memory_bytes.min(ceilings.max_memory_bytes),
            max_input_bytes: self.max_input_bytes.min(ceilings.max_input_bytes),
            max_output_bytes: self.max_output_bytes.min(ceilings.max_output_bytes),
            max_log_bytes: self.max_log_bytes.min(ceilings.max_log_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_the_ceilings() {
        assert_eq!(Limits::default().check_within(&Limits::CEILINGS), Ok(()));
    }

    #[test]
    fn a_limit_above_its_ceiling_or_zero_is_named() {
        let over = Limits {
            max_memory_bytes: 300 << 20,
            ..Limits::default()
        };
        let err = over.check_within(&Limits::CEILINGS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "max_memory_bytes must be 1 to 268435456, not 314572800"
        );
        let zero = Limits {
            deadline_ms: 0,
            ..Limits::default()
        };
        assert_eq!(
            zero.check_within(&Limits::CEILINGS).unwrap_err().field,
            "deadline_ms"
        );
        assert_eq!(
            over.clamped_to(&Limits::CEILINGS).max_memory_bytes,
            256 << 20
        );
    }
}

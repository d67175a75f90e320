//! What a hook call produced: the output or a classified failure, plus what it cost.

use std::time::Duration;

use serde::Serialize;

/// Why a hook call did not produce a usable output. The `kind` tags are stable: they appear in
/// run history, metrics and `mandi plugin run` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HookFailure {
    #[error("exceeded its {deadline_ms} ms deadline")]
    Timeout { deadline_ms: u64 },
    #[error("used up its fuel budget of {max_fuel}")]
    FuelExhausted { max_fuel: u64 },
    #[error("tried to grow memory past its {limit_bytes} byte limit")]
    MemoryLimit { limit_bytes: u64 },
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("returned invalid output: {message}")]
    InvalidOutput { message: String },
    #[error("reported an error: {code}: {message}")]
    PluginError { code: String, message: String },
    #[error("was given invalid input: {message}")]
    InvalidInput { message: String },
    #[error("input of {bytes} bytes exceeds the {limit_bytes} byte limit")]
    InputTooLarge { bytes: usize, limit_bytes: usize },
    #[error("no instance slot free: {message}")]
    Overloaded { message: String },
    #[error("is not called: its deployment failed repeatedly (retry in {retry_after_ms} ms)")]
    CircuitOpen { retry_after_ms: u64 },
}

impl HookFailure {
    /// A fault of the plugin or its limits, as opposed to a business failure it reported
    /// (`plugin-error`) or a refusal before it ran: what a circuit breaker counts.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::FuelExhausted { .. }
                | Self::MemoryLimit { .. }
                | Self::Trap { .. }
                | Self::InvalidOutput { .. }
        )
    }

    /// The stable kind tag, e.g. `timeout`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::FuelExhausted { .. } => "fuel-exhausted",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::Trap { .. } => "trap",
            Self::InvalidOutput { .. } => "invalid-output",
            Self::PluginError { .. } => "plugin-error",
            Self::InvalidInput { .. } => "invalid-input",
            Self::InputTooLarge { .. } => "input-too-large",
            Self::Overloaded { .. } => "overloaded",
            Self::CircuitOpen { .. } => "circuit-open",
        }
    }
}

/// One captured log line: from the `host.log` import, or a line the plugin printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    pub level: LogLevel,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// What a call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunStats {
    #[serde(rename = "duration_us", serialize_with = "as_micros")]
    pub duration: Duration,
    /// Fuel burnt. Exact, except for a call stopped by the wall-clock backstop: wasmtime
    /// flushes a running function's count at calls and returns, so there it is a lower bound.
    pub fuel_used: u64,
    /// The call's fuel budget (its deployment's `max_fuel`): the headroom is the difference.
    pub fuel_budget: u64,
    pub peak_memory_bytes: u64,
}

fn as_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The full record of one hook call.
#[derive(Debug, Clone, Serialize)]
pub struct HookRun<T> {
    #[serde(flatten)]
    pub outcome: Outcome<T>,
    #[serde(flatten)]
    pub stats: RunStats,
    pub logs: Vec<LogRecord>,
    /// True when logs were dropped because the call exceeded its log limit.
    pub logs_truncated: bool,
}

/// Output or failure, serialized as `{"status":"ok","output":..}` or
/// `{"status":"failed","error":{"kind":..}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok { output: T },
    Failed { error: HookFailure },
}

impl<T> HookRun<T> {
    pub fn output(&self) -> Result<&T, &HookFailure> {
        match &self.outcome {
            Outcome::Ok { output } => Ok(output),
            Outcome::Failed { error } => Err(error),
        }
    }

    pub fn into_result(self) -> Result<T, HookFailure> {
        self.outcome.into_result()
    }

    /// Checks or converts a successful output with a rule of the caller's (one the sandbox
    /// cannot know, such as what applying it would do); an `Err` makes the run that failure.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, HookFailure>) -> HookRun<U> {
        let outcome = match self.outcome.into_result().and_then(f) {
            Ok(output) => Outcome::Ok { output },
            Err(error) => Outcome::Failed { error },
        };
        HookRun {
            outcome,
            stats: self.stats,
            logs: self.logs,
            logs_truncated: self.logs_truncated,
        }
    }
}

impl<T> Outcome<T> {
    pub fn into_result(self) -> Result<T, HookFailure> {
        match self {
            Self::Ok { output } => Ok(output),
            Self::Failed { error } => Err(error),
        }
    }
}

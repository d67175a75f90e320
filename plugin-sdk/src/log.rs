//! Structured logging into the run's history. The host captures these lines per run (size
//! capped) and shows them in `mandi plugin run` and the plugin run history.
//!
//! ```
//! use mandi_sdk::log::{self, Level};
//!
//! log::info("bulk discount applied");
//! log::log_with(Level::Debug, "line skipped", &[("sku", "RICE-5KG"), ("reason", "excluded")]);
//! ```
//!
//! Lines past the call's cap (16 KiB of messages and fields by default) are dropped, so log
//! decisions rather than every line of a large cart. In `cargo test`, `testing::Harness`
//! captures the lines of the hooks it calls; outside a harness call they are dropped.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Step-by-step detail of a rule's evaluation.
    Trace,
    /// What a rule decided and why.
    Debug,
    /// Noteworthy events, such as an offer being applied.
    Info,
    /// Something unexpected the plugin worked around, such as a config key it ignored.
    Warn,
    /// A failure; the SDK also logs a panic's message at this level before the component traps.
    Error,
}

/// Log a message with key/value fields (the sku a rule looked at, the threshold it used), kept
/// as pairs beside the message in the run's history.
pub fn log_with(level: Level, message: impl AsRef<str>, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    crate::__private::host::log(level, message.as_ref(), &fields);
}

/// Log a message at [`Level::Trace`].
pub fn trace(message: impl AsRef<str>) {
    log_with(Level::Trace, message, &[]);
}

/// Log a message at [`Level::Debug`].
pub fn debug(message: impl AsRef<str>) {
    log_with(Level::Debug, message, &[]);
}

/// Log a message at [`Level::Info`].
pub fn info(message: impl AsRef<str>) {
    log_with(Level::Info, message, &[]);
}

/// Log a message at [`Level::Warn`].
pub fn warn(message: impl AsRef<str>) {
    log_with(Level::Warn, message, &[]);
}

/// Log a message at [`Level::Error`].
pub fn error(message: impl AsRef<str>) {
    log_with(Level::Error, message, &[]);
}

//! Structured logging into the run's history. The host captures these lines per run (size
//! capped) and shows them in `mandi plugin run` and the plugin run history.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Log a message with key/value fields.
pub fn log_with(level: Level, message: impl AsRef<str>, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    crate::__private::host::log(level, message.as_ref(), &fields);
}

pub fn trace(message: impl AsRef<str>) {
    log_with(Level::Trace, message, &[]);
}

pub fn debug(message: impl AsRef<str>) {
    log_with(Level::Debug, message, &[]);
}

pub fn info(message: impl AsRef<str>) {
    log_with(Level::Info, message, &[]);
}

pub fn warn(message: impl AsRef<str>) {
    log_with(Level::Warn, message, &[]);
}

pub fn error(message: impl AsRef<str>) {
    log_with(Level::Error, message, &[]);
}

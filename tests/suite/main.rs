//! End-to-end tests: real components, built from source, run through the real host.

mod cli;
mod console_browser;
mod examples;
mod hostile;
mod isolation;
mod loading;
mod nats;
mod pipeline;
mod service;

use std::sync::{Arc, OnceLock};

use mandi_host::runtime::{Runtime, RuntimeConfig};
use mandi_sdk::Context;

/// One runtime shared by the tests of this process, like one server process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(RuntimeConfig::default()).expect("runtime starts"))
}

/// 2026-01-01T06:30:00Z, 12:00 in Asia/Kolkata.
pub const NOW_UNIX_MS: i64 = 1_767_249_000_000;

pub fn context(tenant: &str) -> Context {
    Context {
        tenant_id: tenant.into(),
        request_id: format!("{tenant}-req-1"),
        now_unix_ms: NOW_UNIX_MS,
        time_zone: "Asia/Kolkata".into(),
        utc_offset_minutes: 330,
    }
}

pub fn config(json: serde_json::Value) -> Arc<mandi_host::runtime::PluginConfig> {
    Arc::new(
        mandi_host::runtime::PluginConfig::from_json(&json.to_string())
            .expect("config is an object"),
    )
}

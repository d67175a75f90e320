//! Glue between the contract's generated bindings and the SDK's types. Plugins reach this only
//! through [`export_plugin!`](crate::export_plugin); nothing here is a stable API.

pub mod bindings;
mod convert;
mod exports;

/// The host's side of logging and configuration: the real imports inside a component, the test
/// harness natively.
pub(crate) mod host {
    #[cfg(target_arch = "wasm32")]
    pub(crate) use super::bindings::wasm_host::*;

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) use crate::testing::native_host::*;
}

/// Runs at the start of every hook call: routes panics to the run log so the host can say *why*
/// a plugin trapped instead of only that it did.
pub(crate) fn enter_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                crate::log::error(format!("plugin panicked: {info}"));
            }));
        });
    }
}

//! The only place that sees wit-bindgen. One `generate!` per hook world so that a plugin
//! exports exactly the hooks it implements; the shared `types` and `host` interfaces are
//! generated once (with the pricing world) and reused by the others.

#![allow(missing_debug_implementations, unused_qualifications, unsafe_code)]

pub mod pricing_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/pricing-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_pricing",
        default_bindings_module: "mandi_sdk::__private::bindings::pricing_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
        generate_all,
    });
}

pub mod validation_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/validation-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_validation",
        default_bindings_module: "mandi_sdk::__private::bindings::validation_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
        with: {
            "mandi:commerce/types@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::types,
            "mandi:commerce/host@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::host,
        },
    });
}

pub mod fulfillment_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/fulfillment-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_fulfillment",
        default_bindings_module: "mandi_sdk::__private::bindings::fulfillment_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
        with: {
            "mandi:commerce/types@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::types,
            "mandi:commerce/host@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::host,
        },
    });
}

pub mod payment_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/payment-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_payment",
        default_bindings_module: "mandi_sdk::__private::bindings::payment_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
        with: {
            "mandi:commerce/types@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::types,
            "mandi:commerce/host@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::host,
        },
    });
}

pub mod cart_transform_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/cart-transform-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_cart_transform",
        default_bindings_module: "mandi_sdk::__private::bindings::cart_transform_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
        with: {
            "mandi:commerce/types@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::types,
            "mandi:commerce/host@0.2.0": crate::__private::bindings::pricing_world::mandi::commerce::host,
        },
    });
}

pub mod config_world {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/config-plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_config",
        default_bindings_module: "mandi_sdk::__private::bindings::config_world",
        runtime_path: "mandi_sdk::__private::bindings::rt",
    });
}

pub use wit_bindgen::rt;

pub(crate) use pricing_world::exports::mandi::commerce::pricing as wit_pricing;
pub(crate) use pricing_world::mandi::commerce::types as wit;

/// Logging and configuration through the real host imports.
#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm_host {
    use super::pricing_world::mandi::commerce::host as wit_host;
    use crate::log::Level;

    pub(crate) fn log(level: Level, message: &str, fields: &[(String, String)]) {
        let level = match level {
            Level::Trace => wit_host::LogLevel::Trace,
            Level::Debug => wit_host::LogLevel::Debug,
            Level::Info => wit_host::LogLevel::Info,
            Level::Warn => wit_host::LogLevel::Warn,
            Level::Error => wit_host::LogLevel::Error,
        };
        wit_host::log(level, message, fields);
    }

    pub(crate) fn config() -> String {
        wit_host::config()
    }

    pub(crate) fn config_value(key: &str) -> Option<String> {
        wit_host::config_value(key)
    }
}

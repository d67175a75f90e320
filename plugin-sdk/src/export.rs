//! `export_plugin!`: turns a type that implements hook traits into a component's exports.

/// Export a plugin type's hooks from the component:
///
/// ```
/// # use mandi_sdk::prelude::*;
/// # struct MyBrand;
/// # impl Pricing for MyBrand {
/// #     fn price(_: &Context, _: &Cart) -> Result<PricingResult> { Ok(PricingResult::default()) }
/// # }
/// # impl Fulfillment for MyBrand {
/// #     fn fulfill(_: &Context, _: &PricedCart, _: &[FulfillmentNode], defaults: &[DeliveryOption])
/// #         -> Result<Vec<DeliveryOption>> { Ok(defaults.to_vec()) }
/// # }
/// mandi_sdk::export_plugin!(MyBrand: pricing, fulfillment);
/// # fn main() {}
/// ```
///
/// Name exactly the hooks the type implements (`cart_transform`, `pricing`, `validation`,
/// `fulfillment`, `payment`); the
/// component then exports those and nothing else.
///
/// `; config = Config` after the hooks declares the shape of the plugin's config, derived from
/// its config type (which derives `schemars::JsonSchema` beside `Deserialize`): every
/// deployment's config is then checked against it, and a wrong field is refused with a 422 that
/// names it (see [`config_schema`](crate::config_schema)). The schema travels in the component
/// as text, from `config.schema.json` beside the crate's `Cargo.toml`, which `cargo test`
/// writes and keeps current (a test the macro adds fails, and rewrites the file, when it no
/// longer matches the type); commit it with the code:
///
/// ```
/// # use mandi_sdk::prelude::*;
/// # struct MyBrand;
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Config {
///     /// Percent off every order.
///     discount: Percent,
/// }
/// # impl Pricing for MyBrand {
/// #     fn price(_: &Context, _: &Cart) -> Result<PricingResult> { Ok(PricingResult::default()) }
/// # }
/// mandi_sdk::export_plugin!(MyBrand: pricing; config = Config);
/// # fn main() {}
/// ```
///
/// Off wasm32 the macro expands to nothing: a native build (tests, benchmarks, several brands
/// linked into one binary) is a plain library, and component export names are not valid
/// native symbol names anyway.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ident : $($hook:ident),+ ; config = $config:ty $(,)?) => {
        $crate::export_plugin!($plugin: $($hook),+);

        // The component returns the schema as text, read from the crate's `config.schema.json`:
        // deriving it at run time would put a JSON Schema generator in every component.
        #[cfg(target_arch = "wasm32")]
        struct __MandiConfigSchema;
        #[cfg(target_arch = "wasm32")]
        impl $crate::__private::bindings::config_world::exports::mandi::commerce::config::Guest
            for __MandiConfigSchema
        {
            fn schema() -> String {
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.schema.json")).into()
            }
        }
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::config_world::export_config!(
            __MandiConfigSchema with_types_in $crate::__private::bindings::config_world
        );

        /// `cargo test` keeps `config.schema.json` the schema of the config type.
        #[cfg(all(test, not(target_arch = "wasm32")))]
        #[test]
        fn mandi_config_schema_json_is_current() {
            $crate::testing::assert_config_schema_file::<$config>(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config.schema.json"
            ));
        }
    };
    ($plugin:ident : $($hook:ident),+ $(,)?) => {
        $( $crate::export_plugin!(@hook $plugin $hook); )+
    };
    (@hook $plugin:ident pricing) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::pricing_world::export_pricing!(
            $plugin with_types_in $crate::__private::bindings::pricing_world
        );
    };
    (@hook $plugin:ident validation) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::validation_world::export_validation!(
            $plugin with_types_in $crate::__private::bindings::validation_world
        );
    };
    (@hook $plugin:ident fulfillment) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::fulfillment_world::export_fulfillment!(
            $plugin with_types_in $crate::__private::bindings::fulfillment_world
        );
    };
    (@hook $plugin:ident payment) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::payment_world::export_payment!(
            $plugin with_types_in $crate::__private::bindings::payment_world
        );
    };
    (@hook $plugin:ident cart_transform) => {
        #[cfg(target_arch = "wasm32")]
        $crate::__private::bindings::cart_transform_world::export_cart_transform!(
            $plugin with_types_in $crate::__private::bindings::cart_transform_world
        );
    };
    (@hook $plugin:ident $other:ident) => {
        compile_error!(concat!(
            "unknown hook `", stringify!($other),
            "`: expected cart_transform, pricing, validation, fulfillment or payment"
        ));
    };
}

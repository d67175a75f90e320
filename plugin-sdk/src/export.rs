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
/// Off wasm32 the macro expands to nothing: a native build (tests, benchmarks, several brands
/// linked into one binary) is a plain library, and component export names are not valid
/// native symbol names anyway.
#[macro_export]
macro_rules! export_plugin {
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

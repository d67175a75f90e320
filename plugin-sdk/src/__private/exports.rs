//! Every type that implements an SDK hook trait implements the matching generated `Guest`
//! trait, so `export_plugin!` can hand the plugin's own type straight to wit-bindgen.

use super::bindings::{
    cart_transform_world, fulfillment_world, payment_world, validation_world, wit, wit_pricing,
};
use super::{convert, enter_hook};

impl<T: crate::Pricing> wit_pricing::Guest for T {
    fn price(
        ctx: wit::Context,
        cart: wit::Cart,
    ) -> Result<wit_pricing::PricingResult, wit::PluginError> {
        enter_hook();
        let cart = convert::cart(cart);
        T::price(&ctx.into(), &cart)
            .and_then(|result| convert::pricing_result_out(result, &cart.currency))
            .map_err(Into::into)
    }
}

impl<T: crate::Validation> validation_world::exports::mandi::commerce::validation::Guest for T {
    fn validate(
        ctx: wit::Context,
        cart: wit::PricedCart,
    ) -> Result<Vec<wit::Violation>, wit::PluginError> {
        enter_hook();
        T::validate(&ctx.into(), &convert::priced_cart(cart))
            .map(|violations| violations.into_iter().map(Into::into).collect())
            .map_err(Into::into)
    }
}

impl<T: crate::Fulfillment> fulfillment_world::exports::mandi::commerce::fulfillment::Guest for T {
    fn fulfill(
        ctx: wit::Context,
        cart: wit::PricedCart,
        nodes: Vec<wit::FulfillmentNode>,
        defaults: Vec<wit::DeliveryOption>,
    ) -> Result<Vec<wit::DeliveryOption>, wit::PluginError> {
        enter_hook();
        let cart = convert::priced_cart(cart);
        let currency = cart.cart.currency.clone();
        let nodes: Vec<crate::FulfillmentNode> = nodes.into_iter().map(Into::into).collect();
        let defaults: Vec<crate::DeliveryOption> = defaults
            .into_iter()
            .map(|o| convert::delivery_option(o, &currency))
            .collect();
        T::fulfill(&ctx.into(), &cart, &nodes, &defaults)
            .and_then(|options| {
                options
                    .into_iter()
                    .map(|o| convert::delivery_option_out(o, &currency))
                    .collect()
            })
            .map_err(Into::into)
    }
}

impl<T: crate::Payment> payment_world::exports::mandi::commerce::payment::Guest for T {
    fn customize(
        ctx: wit::Context,
        cart: wit::PricedCart,
        methods: Vec<payment_world::exports::mandi::commerce::payment::PaymentMethod>,
    ) -> Result<
        Vec<payment_world::exports::mandi::commerce::payment::PaymentOperation>,
        wit::PluginError,
    > {
        enter_hook();
        let methods: Vec<crate::PaymentMethod> =
            methods.into_iter().map(convert::payment_method).collect();
        T::customize(&ctx.into(), &convert::priced_cart(cart), &methods)
            .map(|ops| {
                ops.into_iter()
                    .map(convert::payment_operation_out)
                    .collect()
            })
            .map_err(Into::into)
    }
}

impl<T: crate::CartTransform> cart_transform_world::exports::mandi::commerce::cart_transform::Guest
    for T
{
    fn transform(
        ctx: wit::Context,
        cart: wit::Cart,
    ) -> Result<
        Vec<cart_transform_world::exports::mandi::commerce::cart_transform::CartOperation>,
        wit::PluginError,
    > {
        enter_hook();
        T::transform(&ctx.into(), &convert::cart(cart))
            .map(|ops| ops.into_iter().map(convert::cart_operation_out).collect())
            .map_err(Into::into)
    }
}

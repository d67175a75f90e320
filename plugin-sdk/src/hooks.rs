//! The hooks a plugin can implement. Implement any subset on one type and list them in
//! [`export_plugin!`](crate::export_plugin); the host discovers which ones the component exports.

use crate::{
    Cart, CartOperation, Context, DeliveryOption, FulfillmentNode, PaymentMethod, PaymentOperation,
    PricedCart, PricingResult, Result, Violation,
};

/// Propose price adjustments for a cart. The host applies them with guardrails (no line below
/// zero, total discount at most the subtotal) and attributes each one to this plugin.
pub trait Pricing {
    /// Adjustments and free items for `cart`, which is at catalog prices (after any cart
    /// transform). Line targets are indexes into `cart.lines`; amounts must be in
    /// `cart.currency`. Return [`PricingResult::default()`] to leave the prices as they are.
    fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult>;
}

/// Check a priced cart. Any violation blocks the order.
///
/// ```
/// # use mandi_sdk::prelude::*;
/// struct MyBrand;
///
/// impl Validation for MyBrand {
///     fn validate(_: &Context, cart: &PricedCart) -> Result<Vec<Violation>> {
///         if cart.cart.attribute("prescription-id").is_some() {
///             return Ok(Vec::new());
///         }
///         Ok(cart.cart.indexed_lines()
///             .filter(|(_, line)| line.product.has_tag("rx"))
///             .map(|(i, line)| {
///                 let message = format!("{} needs a prescription", line.display_name());
///                 Violation::line(i, "RX-REQUIRED", message)
///             })
///             .collect())
///     }
/// }
/// ```
pub trait Validation {
    /// The violations `cart` breaks; an empty list lets the order through. A violation's
    /// `line`, when set, is an index into `cart.cart.lines`.
    fn validate(ctx: &Context, cart: &PricedCart) -> Result<Vec<Violation>>;
}

/// Choose delivery options: each assigns every line to exactly one node that has its stock.
/// `defaults` are the platform's own options; returning them unchanged is a valid answer.
pub trait Fulfillment {
    /// The delivery options the shopper may choose from. `nodes` are the candidate nodes with
    /// their stock; the host checks that every option assigns each line of `cart.cart.lines`
    /// exactly once, to one of `nodes` that holds the units, and that costs are non-negative.
    fn fulfill(
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> Result<Vec<DeliveryOption>>;
}

/// Decide which of the tenant's payment methods the shopper is offered for this cart, under
/// which names and in which order. `methods` are the tenant's, in the tenant's order; return
/// no operations to offer them unchanged. An order naming a hidden method is refused.
pub trait Payment {
    /// Operations on `methods`, applied by the host in order. Each must name a method in
    /// `methods`; a move's index must be within the list.
    fn customize(
        ctx: &Context,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> Result<Vec<PaymentOperation>>;
}

/// Turn bundle lines into their parts, or parts into bundles, before pricing. Pricing and the
/// later hooks see the transformed cart. Return no operations to leave the cart as it is.
pub trait CartTransform {
    /// Operations on `cart`, which is at catalog prices. The host checks the line indexes and
    /// parts, then looks the skus up in its catalog when it applies them.
    fn transform(ctx: &Context, cart: &Cart) -> Result<Vec<CartOperation>>;
}

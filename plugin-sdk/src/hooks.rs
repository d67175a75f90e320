//! The hooks a plugin can implement. Implement any subset on one type and list them in
//! [`export_plugin!`](crate::export_plugin); the host discovers which ones the component exports.

use crate::{
    Cart, Context, DeliveryOption, FulfillmentNode, PaymentMethod, PaymentOperation, PricedCart,
    PricingResult, Result, Violation,
};

/// Propose price adjustments for a cart. The host applies them with guardrails (no line below
/// zero, total discount at most the subtotal) and attributes each one to this plugin.
pub trait Pricing {
    fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult>;
}

/// Check a priced cart. Any violation blocks the order.
pub trait Validation {
    fn validate(ctx: &Context, cart: &PricedCart) -> Result<Vec<Violation>>;
}

/// Choose delivery options: each assigns every line to exactly one node that has its stock.
/// `defaults` are the platform's own options; returning them unchanged is a valid answer.
pub trait Fulfillment {
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
    fn customize(
        ctx: &Context,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> Result<Vec<PaymentOperation>>;
}

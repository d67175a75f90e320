//! The input file of `mandi plugin run` and `mandi plugin quote`, as a type: a sample input is
//! a test fixture too (`serde_json::from_str::<RunInput>(include_str!("../samples/cart.json"))`),
//! read exactly as the CLI reads it.

use serde::{Deserialize, Serialize};

use crate::{Cart, CartLine, Context, DeliveryOption, FulfillmentNode, PaymentMethod, PricedCart};

/// One shape serves every hook; each reads the fields it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// The checkout's context; the CLI uses a local context at the current time when omitted.
    #[serde(default)]
    pub context: Option<Context>,
    /// The cart, at catalog prices.
    pub cart: Cart,
    /// For validation and fulfillment; the cart at catalog prices when omitted.
    #[serde(default)]
    pub priced_cart: Option<PricedCart>,
    /// Candidate fulfillment nodes with their stock, for fulfillment.
    #[serde(default)]
    pub nodes: Vec<FulfillmentNode>,
    /// The platform's delivery options offered to a fulfillment hook (`plugin run`); `plugin
    /// quote` computes them after pricing, as the service does, and ignores these.
    #[serde(default)]
    pub defaults: Vec<DeliveryOption>,
    /// Catalog entries for skus a pricing plugin may add as free items, and for the parts and
    /// bundles a cart-transform plugin names (`plugin quote`).
    #[serde(default)]
    pub catalog: Vec<CartLine>,
    /// The tenant's payment methods, in its order, for the payment hook.
    #[serde(default)]
    pub payment_methods: Vec<PaymentMethod>,
}

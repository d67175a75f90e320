//! # mandi-sdk
//!
//! Write a Mandi commerce plugin — pricing, validation or fulfillment rules for one brand — as a
//! plain Rust crate. Implement the hook traits you need on one type, export it, and build for
//! `wasm32-wasip2`:
//!
//! ```
//! use mandi_sdk::prelude::*;
//!
//! struct MyBrand;
//!
//! impl Pricing for MyBrand {
//!     fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
//!         let mut result = PricingResult::default();
//!         if cart.coupon_codes.iter().any(|c| c == "WELCOME") {
//!             result.adjust(Adjustment::order(
//!                 AdjustmentKind::PercentOff(Percent::from_percent(5)),
//!                 "WELCOME-5",
//!                 "5% off your first order",
//!             ));
//!         }
//!         Ok(result)
//!     }
//! }
//!
//! mandi_sdk::export_plugin!(MyBrand: pricing);
//! # fn main() {}
//! ```
//!
//! `cargo test` runs the same code natively through [`testing::Harness`]; no wasm needed.

#![warn(missing_docs)]

mod config_schema;
mod context;
#[cfg(feature = "guest")]
mod export;
mod hooks;
mod money;
mod run_input;
mod types;

#[cfg(feature = "guest")]
pub mod log;
pub mod pincode;
#[cfg(all(feature = "guest", not(target_arch = "wasm32")))]
pub mod testing;

#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod __private;

pub use config_schema::{ConfigMismatch, InvalidSchema, config_schema};
#[cfg(not(target_arch = "wasm32"))]
pub use config_schema::{check_config, check_schema};
pub use context::Context;
pub use hooks::{CartTransform, Fulfillment, Payment, Pricing, Validation};
pub use money::{Money, MoneyError, Percent};
pub use run_input::RunInput;
pub use types::{
    Address, Adjustment, AdjustmentKind, Attribute, BundlePart, Cart, CartLine, CartOperation,
    Customer, DeliveryOption, FreeItem, FulfillmentNode, LineAssignment, PaymentMethod,
    PaymentOperation, PluginError, PricedCart, PricedLine, PricingResult, Product, StockLevel,
    Target, Violation,
};

/// The result every hook returns: a business failure is a [`PluginError`], never a panic.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Address, Adjustment, AdjustmentKind, Attribute, BundlePart, Cart, CartLine, CartOperation,
        CartTransform, Context, Customer, DeliveryOption, FreeItem, Fulfillment, FulfillmentNode,
        LineAssignment, Money, Payment, PaymentMethod, PaymentOperation, Percent, PluginError,
        PricedCart, PricedLine, Pricing, PricingResult, Product, Result, StockLevel, Target,
        Validation, Violation,
    };
}

// Lets the export macros name this crate as `mandi_sdk` from inside it and from plugins alike.
extern crate self as mandi_sdk;

/// Compiles the README's examples as doctests, so the guide cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

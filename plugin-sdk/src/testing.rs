//! Run a plugin's hooks natively in `cargo test`, with the same configuration and logging the
//! host gives it, and build carts without ceremony.
//!
//! ```
//! use mandi_sdk::prelude::*;
//! use mandi_sdk::testing::{line, CartBuilder, Harness, LineExt};
//!
//! struct MyBrand;
//! impl Pricing for MyBrand {
//!     fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
//!         let percent: u32 = ctx.config_value("percent")?.unwrap_or(0);
//!         let mut result = PricingResult::default();
//!         for (i, line) in cart.indexed_lines() {
//!             if line.product.category == "staples" {
//!                 let kind = AdjustmentKind::PercentOff(Percent::from_percent(percent));
//!                 result.adjust(Adjustment::line(i, kind, "STAPLES", "Staples offer"));
//!             }
//!         }
//!         Ok(result)
//!     }
//! }
//!
//! let cart = CartBuilder::inr().line(line("RICE-5KG", 12, 45_000).category("staples")).build();
//! let harness = Harness::new().config(serde_json::json!({ "percent": 5 }));
//! let result = harness.price::<MyBrand>(&cart).unwrap();
//! assert_eq!(result.adjustments[0].kind, AdjustmentKind::PercentOff(Percent::from_bps(500)));
//! ```

use std::cell::RefCell;

use serde::Serialize;

use crate::log::Level;
use crate::{
    Address, Attribute, Cart, CartLine, CartOperation, CartTransform, Context, Customer,
    DeliveryOption, Fulfillment, FulfillmentNode, Money, Payment, PaymentMethod, PaymentOperation,
    PricedCart, Pricing, PricingResult, Product, Result, Validation, Violation,
};

/// 2026-01-01T06:30:00Z (noon in Asia/Kolkata): the default `now` of a test run.
pub const TEST_NOW_UNIX_MS: i64 = 1_767_249_000_000;

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its severity.
    pub level: Level,
    /// The message as logged.
    pub message: String,
    /// The key/value fields passed to [`log_with`](crate::log::log_with), in order.
    pub fields: Vec<(String, String)>,
}

#[derive(Default)]
struct Active {
    config: String,
    logs: Vec<LogLine>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// Calls hooks the way the host does, natively: a context, a JSON config, captured logs.
#[derive(Debug)]
pub struct Harness {
    context: Context,
    config: String,
    logs: RefCell<Vec<LogLine>>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A harness with config `{}` and a fixed context: tenant `test-tenant`, request
    /// `test-request`, now [`TEST_NOW_UNIX_MS`], time zone `Asia/Kolkata` (UTC+5:30).
    pub fn new() -> Self {
        Self {
            context: Context {
                tenant_id: "test-tenant".into(),
                request_id: "test-request".into(),
                now_unix_ms: TEST_NOW_UNIX_MS,
                time_zone: "Asia/Kolkata".into(),
                utc_offset_minutes: 330,
            },
            config: "{}".into(),
            logs: RefCell::default(),
        }
    }

    /// The deployment configuration the hooks will see.
    pub fn config(mut self, config: impl Serialize) -> Self {
        self.config = serde_json::to_string(&config).expect("config serializes to JSON");
        self
    }

    /// The context the hooks will see instead of the default one, e.g. another time of day
    /// for a time rule.
    ///
    /// ```
    /// use mandi_sdk::Context;
    /// use mandi_sdk::testing::Harness;
    ///
    /// let late_night = Context {
    ///     tenant_id: "test-tenant".into(),
    ///     request_id: "test-request".into(),
    ///     now_unix_ms: 1_767_288_600_000, // 2026-01-01T17:30:00Z, 23:00 in Kolkata
    ///     time_zone: "Asia/Kolkata".into(),
    ///     utc_offset_minutes: 330,
    /// };
    /// assert_eq!(late_night.local_minute_of_day(), 23 * 60);
    /// let harness = Harness::new().context(late_night);
    /// ```
    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// Log lines captured so far, across calls.
    pub fn logs(&self) -> Vec<LogLine> {
        self.logs.borrow().clone()
    }

    /// Call `P`'s pricing hook on `cart`.
    ///
    /// The result is what the plugin proposed, before the host's checks and guardrails: assert
    /// on the adjustments, not on prices.
    pub fn price<P: Pricing>(&self, cart: &Cart) -> Result<PricingResult> {
        self.run(|| P::price(&self.context, cart))
    }

    /// Call `P`'s validation hook on `cart`; [`CartBuilder::priced`] builds one at catalog
    /// prices.
    pub fn validate<P: Validation>(&self, cart: &PricedCart) -> Result<Vec<Violation>> {
        self.run(|| P::validate(&self.context, cart))
    }

    /// Call `P`'s fulfillment hook with candidate `nodes` (see [`node`]) and the platform's
    /// `defaults`. The host's check that every option delivers each line once from stock is not
    /// run here.
    pub fn fulfill<P: Fulfillment>(
        &self,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> Result<Vec<DeliveryOption>> {
        self.run(|| P::fulfill(&self.context, cart, nodes, defaults))
    }

    /// Call `P`'s cart-transform hook on `cart`; the operations are returned as proposed, not
    /// applied.
    pub fn transform_cart<P: CartTransform>(&self, cart: &Cart) -> Result<Vec<CartOperation>> {
        self.run(|| P::transform(&self.context, cart))
    }

    /// Call `P`'s payment hook with the tenant's `methods` (see [`payment_method`]); the
    /// operations are returned as proposed, not applied.
    pub fn customize_payment<P: Payment>(
        &self,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> Result<Vec<PaymentOperation>> {
        self.run(|| P::customize(&self.context, cart, methods))
    }

    fn run<T>(&self, hook: impl FnOnce() -> Result<T>) -> Result<T> {
        ACTIVE.with(|a| {
            *a.borrow_mut() = Some(Active {
                config: self.config.clone(),
                logs: Vec::new(),
            })
        });
        let result = hook();
        let active = ACTIVE.with(|a| a.borrow_mut().take()).unwrap_or_default();
        self.logs.borrow_mut().extend(active.logs);
        result
    }
}

/// The host functions as the harness provides them natively.
#[doc(hidden)]
pub mod native_host {
    use super::{ACTIVE, LogLine};
    use crate::log::Level;

    pub(crate) fn log(level: Level, message: &str, fields: &[(String, String)]) {
        ACTIVE.with(|a| {
            if let Some(active) = a.borrow_mut().as_mut() {
                active.logs.push(LogLine {
                    level,
                    message: message.to_owned(),
                    fields: fields.to_vec(),
                });
            }
        });
    }

    pub(crate) fn config() -> String {
        ACTIVE.with(|a| {
            a.borrow()
                .as_ref()
                .map_or_else(|| "{}".to_owned(), |active| active.config.clone())
        })
    }

    pub(crate) fn config_value(key: &str) -> Option<String> {
        let config: serde_json::Value = serde_json::from_str(&config()).ok()?;
        config.get(key).map(|v| v.to_string())
    }
}

/// A cart line at a catalog price in paise; refine it with the [`LineExt`] methods.
pub fn line(sku: &str, quantity: u32, unit_price_paise: i64) -> CartLine {
    CartLine {
        sku: sku.into(),
        quantity,
        unit_price: Money::inr(unit_price_paise),
        product: Product::default(),
    }
}

/// Builder-style refinements of a test cart line.
///
/// ```
/// use mandi_sdk::testing::{line, LineExt};
///
/// let lipstick = line("LIP-RED", 1, 79_900).category("beauty").brand("Lakme").tag("new");
/// assert!(lipstick.product.has_tag("new"));
/// ```
pub trait LineExt {
    /// Set the product's category.
    fn category(self, category: &str) -> Self;
    /// Set the product's brand.
    fn brand(self, brand: &str) -> Self;
    /// Add a product tag.
    fn tag(self, tag: &str) -> Self;
    /// Add a product attribute.
    fn attribute(self, key: &str, value: &str) -> Self;
}

impl LineExt for CartLine {
    fn category(mut self, category: &str) -> Self {
        self.product.category = category.into();
        self
    }

    fn brand(mut self, brand: &str) -> Self {
        self.product.brand = brand.into();
        self
    }

    fn tag(mut self, tag: &str) -> Self {
        self.product.tags.push(tag.into());
        self
    }

    fn attribute(mut self, key: &str, value: &str) -> Self {
        self.product.attributes.push(Attribute {
            key: key.into(),
            value: value.into(),
        });
        self
    }
}

/// Builds a test cart.
#[derive(Debug, Clone)]
pub struct CartBuilder {
    cart: Cart,
}

impl CartBuilder {
    /// An empty INR cart with no customer details.
    pub fn inr() -> Self {
        Self {
            cart: Cart {
                currency: "INR".into(),
                lines: Vec::new(),
                customer: Customer::default(),
                shipping_address: None,
                coupon_codes: Vec::new(),
                attributes: Vec::new(),
            },
        }
    }

    /// Add a line (see [`line`](fn@line)); its index is the number of lines added before it.
    pub fn line(mut self, line: CartLine) -> Self {
        self.cart.lines.push(line);
        self
    }

    /// Set the customer's segment, e.g. `gold`.
    pub fn segment(mut self, segment: &str) -> Self {
        self.cart.customer.segment = Some(segment.into());
        self
    }

    /// Add a coupon code, as the shopper entered it.
    pub fn coupon(mut self, code: &str) -> Self {
        self.cart.coupon_codes.push(code.into());
        self
    }

    /// Add a cart attribute, e.g. `prescription-id`.
    pub fn attribute(mut self, key: &str, value: &str) -> Self {
        self.cart.attributes.push(Attribute {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Ship to this pincode (with [`city`](Self::city) and [`state`](Self::state) for the rest).
    pub fn pincode(mut self, pincode: &str) -> Self {
        self.address().pincode = pincode.into();
        self
    }

    /// The shipping address's city.
    pub fn city(mut self, city: &str) -> Self {
        self.address().city = city.into();
        self
    }

    /// The shipping address's state, as the customer wrote it (e.g. `Maharashtra`).
    pub fn state(mut self, state: &str) -> Self {
        self.address().state = state.into();
        self
    }

    /// The shipping address's ISO 3166-2 state code (e.g. `IN-MH`), which rules about regions
    /// should match rather than the free-form [`state`](Self::state).
    pub fn subdivision(mut self, code: &str) -> Self {
        self.address().subdivision = Some(code.into());
        self
    }

    /// The shipping address, created (in India) by the first address setter.
    fn address(&mut self) -> &mut Address {
        self.cart.shipping_address.get_or_insert_with(|| Address {
            country: "IN".into(),
            ..Address::default()
        })
    }

    /// The cart at catalog prices, as cart-transform and pricing receive it.
    pub fn build(self) -> Cart {
        self.cart
    }

    /// The cart at catalog prices, as validation and fulfillment receive it.
    pub fn priced(self) -> PricedCart {
        PricedCart::unadjusted(self.cart)
    }
}

/// Keeps the file at `path` (a crate's `config.schema.json`) the JSON Schema of config type
/// `C`: writes it when missing; when it differs, rewrites it and panics, since a component
/// built before the rewrite declares the old schema. `export_plugin!(...; config = C)` adds a
/// test that calls this.
pub fn assert_config_schema_file<C: schemars::JsonSchema>(path: &str) {
    let schema = serde_json::to_string_pretty(&crate::config_schema::<C>())
        .expect("a schema is plain JSON")
        + "\n";
    match std::fs::read_to_string(path) {
        Ok(on_disk) if on_disk == schema => {}
        Ok(_) => {
            std::fs::write(path, &schema).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
            panic!(
                "{path} did not match the config type's schema and has been rewritten: rebuild \
                 the component so it declares the new schema, and commit the file"
            );
        }
        Err(_) => {
            std::fs::write(path, &schema).unwrap_or_else(|e| panic!("cannot write {path}: {e}"))
        }
    }
}

/// Checks `config` against config type `C`'s schema exactly as the platform does when a
/// deployment is made (see [`check_config`](crate::check_config)): `Err` lists every field
/// that does not fit, with its JSON Pointer.
///
/// ```
/// # use mandi_sdk::testing::check_config;
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Config { limit_paise: u32 }
///
/// assert!(check_config::<Config>(&serde_json::json!({ "limit_paise": 500 })).is_ok());
/// let wrong = check_config::<Config>(&serde_json::json!({ "limit_paise": "500" })).unwrap_err();
/// assert_eq!(wrong[0].path, "/limit_paise");
/// ```
pub fn check_config<C: schemars::JsonSchema>(
    config: &serde_json::Value,
) -> Result<(), Vec<crate::ConfigMismatch>> {
    crate::check_config(&crate::config_schema::<C>(), config)
}

/// A payment method, for tests: `payment_method("cod", "Cash on delivery", "cash-on-delivery")`.
pub fn payment_method(id: &str, name: &str, kind: &str) -> PaymentMethod {
    PaymentMethod {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
    }
}

/// A fulfillment node with stock, for tests: `node("WH-1", "warehouse", "400001", &[("SKU", 5)])`.
pub fn node(id: &str, kind: &str, pincode: &str, stock: &[(&str, u32)]) -> FulfillmentNode {
    FulfillmentNode {
        id: id.into(),
        kind: kind.into(),
        pincode: pincode.into(),
        stock: stock
            .iter()
            .map(|(sku, quantity)| crate::StockLevel {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
        tags: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adjustment, AdjustmentKind, Percent, PluginError};

    #[derive(serde::Deserialize)]
    struct Config {
        percent: u32,
    }

    struct Flat;

    impl Pricing for Flat {
        fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
            let config: Config = ctx.config()?;
            crate::log::info(format!("{} lines", cart.lines.len()));
            let mut result = PricingResult::default();
            result.adjust(Adjustment::order(
                AdjustmentKind::PercentOff(Percent::from_percent(config.percent)),
                "FLAT",
                "flat discount",
            ));
            Ok(result)
        }
    }

    #[test]
    fn harness_passes_config_and_captures_logs() {
        let harness = Harness::new().config(serde_json::json!({ "percent": 7 }));
        let cart = CartBuilder::inr().line(line("A", 1, 100)).build();
        let result = harness.price::<Flat>(&cart).unwrap();
        assert_eq!(
            result.adjustments[0].kind,
            AdjustmentKind::PercentOff(Percent::from_bps(700))
        );
        assert_eq!(harness.logs()[0].message, "1 lines");
    }

    #[test]
    fn mismatched_config_is_a_plugin_error() {
        let harness = Harness::new().config(serde_json::json!({ "percent": "seven" }));
        let cart = CartBuilder::inr().build();
        let err: PluginError = harness.price::<Flat>(&cart).unwrap_err();
        assert_eq!(err.code, "invalid-config");
    }

    #[test]
    fn unadjusted_priced_cart_sums_lines() {
        let priced = CartBuilder::inr()
            .line(line("A", 2, 150))
            .line(line("B", 1, 99))
            .priced();
        assert_eq!(priced.subtotal, Money::inr(399));
        assert_eq!(priced.total, Money::inr(399));
        assert_eq!(priced.lines[0].total, Money::inr(300));
    }

    #[test]
    fn address_setters_build_one_address_in_any_order() {
        let cart = CartBuilder::inr()
            .state("Maharashtra")
            .pincode("400053")
            .city("Mumbai")
            .build();
        let address = cart.shipping_address.expect("an address");
        assert_eq!(
            (
                address.pincode.as_str(),
                address.city.as_str(),
                address.state.as_str(),
                address.country.as_str()
            ),
            ("400053", "Mumbai", "Maharashtra", "IN")
        );
    }
}

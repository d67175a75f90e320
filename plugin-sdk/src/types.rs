//! The contract's records as plain Rust values. Names mirror the WIT in `wit/0.2.0/types.wit`; the JSON
//! form (serde) is the same one `mandi plugin run` reads, so a test fixture is also a run input.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Money, Percent};

/// A free-form key/value pair (product attributes, cart attributes). Read one with
/// [`Product::attribute`] or [`Cart::attribute`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// The name, e.g. `prescription-id`.
    pub key: String,
    /// The value, always text: parse numbers yourself.
    pub value: String,
}

/// Catalog facts about the product on a line; the host fills these from its catalog, so a rule
/// can trust them. A field the catalog lacks is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    /// Display title; may be empty (see [`CartLine::display_name`]).
    pub title: String,
    /// Catalog category, e.g. `staples`.
    pub category: String,
    /// Brand name, e.g. `Lakme`.
    pub brand: String,
    /// Catalog tags, e.g. `rx` or `cold-chain`: see [`has_tag`](Self::has_tag).
    pub tags: Vec<String>,
    /// Further catalog facts as key/value pairs: see [`attribute`](Self::attribute).
    pub attributes: Vec<Attribute>,
}

impl Product {
    /// Whether the product carries `tag` (exact, case-sensitive match).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// The value of the product attribute `key` (the first, should there be several), or
    /// `None` when the catalog has none.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find_attribute(&self.attributes, key)
    }
}

/// One cart line. Lines are referred to by their index in `cart.lines`
/// ([`Cart::indexed_lines`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The catalog sku, e.g. `RICE-5KG`.
    pub sku: String,
    /// Units of the sku; at least 1.
    pub quantity: u32,
    /// The catalog unit price; never a price the client sent.
    pub unit_price: Money,
    /// Catalog facts about the product.
    #[serde(default)]
    pub product: Product,
}

impl CartLine {
    /// What to call the line in a shopper-facing message: the product title, or the sku when
    /// the catalog has no title.
    pub fn display_name(&self) -> &str {
        if self.product.title.is_empty() {
            &self.sku
        } else {
            &self.product.title
        }
    }

    /// unit price x quantity (saturating: the host bounds quantities long before this matters).
    pub fn subtotal(&self) -> Money {
        self.unit_price
            .times(self.quantity)
            .unwrap_or_else(|_| Money::new(i64::MAX, self.unit_price.currency.clone()))
    }
}

/// Who is checking out, as far as the app says: every field is empty when it sent none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// The app's id for the customer; `None` when it sent none (e.g. a guest).
    pub id: Option<String>,
    /// Loyalty or pricing segment, e.g. `gold`; plugins decide what it means.
    pub segment: Option<String>,
    /// Tags the app attached to the customer, e.g. `staff`.
    pub tags: Vec<String>,
}

/// Where the cart ships. [`Cart::shipping_pincode`] reads and checks its pincode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Street address, as the shopper wrote it.
    pub line1: String,
    /// Postal code as the shopper gave it (a 6-digit pincode in India); the host does not
    /// check it.
    pub pincode: String,
    /// City, as the shopper wrote it.
    pub city: String,
    /// Free-form state or province name, as the shopper wrote it.
    pub state: String,
    /// ISO 3166-2 code of the state or province, e.g. `IN-MH`; `None` when the app sent none.
    /// Rules about regions should match this rather than the free-form name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `IN`.
    pub country: String,
}

/// A cart at catalog prices, as the cart-transform and pricing hooks see it (and, inside
/// [`PricedCart::cart`], validation, fulfillment and payment).
///
/// ```
/// use mandi_sdk::Money;
/// use mandi_sdk::testing::{line, CartBuilder};
///
/// let cart = CartBuilder::inr()
///     .line(line("RICE-5KG", 2, 45_000))
///     .line(line("DAL-1KG", 1, 16_000))
///     .coupon("welcome")
///     .build();
/// assert_eq!(cart.subtotal(), Money::inr(106_000));
/// assert!(cart.has_coupon("WELCOME"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// ISO 4217 code of the tenant's currency, e.g. `INR`: every amount in the cart, and every
    /// amount a hook returns, is in it.
    pub currency: String,
    /// The lines, each referred to by its index here.
    pub lines: Vec<CartLine>,
    /// Who is checking out.
    #[serde(default)]
    pub customer: Customer,
    /// Where the cart ships; `None` when the app sent no address.
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// Coupon codes as the shopper entered them, unchecked: the plugin decides which it honours
    /// (see [`has_coupon`](Self::has_coupon)).
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    /// Checkout-level facts supplied by the app, e.g. `prescription-id`.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

impl Cart {
    /// The value of the cart attribute `key`, or `None` when the app did not send it.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find_attribute(&self.attributes, key)
    }

    /// Whether the shopper entered coupon `code`, ignoring ASCII case: `WELCOME` matches
    /// `welcome`.
    pub fn has_coupon(&self, code: &str) -> bool {
        self.coupon_codes
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code))
    }

    /// The cart's value at catalog prices: every line's unit price x quantity, added up.
    pub fn subtotal(&self) -> Money {
        (self.lines.iter()).fold(Money::zero(self.currency.clone()), |sum, line| {
            sum.checked_add(&line.subtotal())
                .unwrap_or_else(|_| Money::new(i64::MAX, self.currency.clone()))
        })
    }

    /// Lines with their index, which is how adjustments, violations and assignments name them.
    pub fn indexed_lines(&self) -> impl Iterator<Item = (u32, &CartLine)> {
        (0u32..).zip(self.lines.iter())
    }

    /// The shipping address's pincode as the shopper wrote it (untrimmed, unchecked), or `None`
    /// without an address. [`shipping_pincode`](Self::shipping_pincode) parses and checks it.
    pub fn pincode(&self) -> Option<&str> {
        self.shipping_address.as_ref().map(|a| a.pincode.as_str())
    }
}

/// A business failure: the plugin could not apply its rules (bad config, missing data).
///
/// Return it as `Err` for everything the plugin anticipated; a panic is for bugs. The host
/// records it with the run and applies the deployment's failure policy: fail-open skips the
/// hook, fail-closed refuses the checkout and hands the app this code and message.
///
/// ```
/// use mandi_sdk::PluginError;
///
/// let err = PluginError::new("missing-threshold", "config has no `min_order` key");
/// assert_eq!(err.to_string(), "missing-threshold: config has no `min_order` key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    /// Stable machine-readable code, e.g. `invalid-config`.
    pub code: String,
    /// What went wrong, for the people running the deployment.
    pub message: String,
}

impl PluginError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PluginError {}

impl From<crate::MoneyError> for PluginError {
    fn from(err: crate::MoneyError) -> Self {
        PluginError::new("money", err.to_string())
    }
}

/// What an adjustment applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The line at this index of `cart.lines`; the host refuses an index past the last line.
    Line(u32),
    /// The whole order (the sum of all lines after line adjustments). The host shares an order
    /// discount across the lines in proportion to their totals.
    Order,
}

/// How an adjustment changes its target's price.
///
/// The host applies price overrides first, then line discounts (capped at each line's
/// subtotal), then order discounts (capped at what is left), so no line goes below zero and the
/// discount never exceeds the subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Take this share off the target's total, rounded half away from zero to the minor unit
    /// (as [`Percent::of`]); at most 100%.
    PercentOff(Percent),
    /// Take this amount off the target's total; non-negative and in the cart's currency.
    AmountOff(Money),
    /// Replace a line's unit price (line targets only; the last override of a line wins).
    /// Non-negative and in the cart's currency; discounts then apply to the new price.
    PriceOverride(Money),
}

/// One price change a pricing hook proposes, with the code and message the quote shows for it.
///
/// ```
/// use mandi_sdk::prelude::*;
///
/// let bulk = Adjustment::line(
///     0,
///     AdjustmentKind::PercentOff(Percent::from_percent(10)),
///     "BULK-10",
///     "10% off 12 or more",
/// );
/// assert_eq!(bulk.target, Target::Line(0));
/// let flat = Adjustment::order(
///     AdjustmentKind::AmountOff(Money::inr(10_000)),
///     "FLAT-100",
///     "Rs 100 off your order",
/// );
/// assert_eq!(flat.target, Target::Order);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The line or the whole order.
    pub target: Target,
    /// What it takes off, or the price it sets.
    pub kind: AdjustmentKind,
    /// Stable machine-readable code, e.g. `BULK-10`; required.
    pub code: String,
    /// What the shopper is told.
    pub message: String,
}

impl Adjustment {
    /// An adjustment of the line at index `line` of `cart.lines`.
    pub fn line(
        line: u32,
        kind: AdjustmentKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            target: Target::Line(line),
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    /// An adjustment of the whole order. Not for [`AdjustmentKind::PriceOverride`], which the
    /// host accepts on line targets only.
    pub fn order(
        kind: AdjustmentKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            target: Target::Order,
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A line the plugin adds at no charge (e.g. a free sample). The host looks the sku up in its
/// catalog and adds it as a new line at catalog price with a price override to zero, so the
/// quote shows what was given away. A sku the catalog does not know is left out, and the quote
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeItem {
    /// The catalog sku to give away.
    pub sku: String,
    /// Units to add; at least 1.
    pub quantity: u32,
    /// Stable machine-readable code of the offer, e.g. `FREE-SAMPLE`; required.
    pub code: String,
    /// What the shopper is told.
    pub message: String,
}

/// What the pricing hook returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PricingResult {
    /// Price changes, applied by the host in the order described at [`AdjustmentKind`].
    pub adjustments: Vec<Adjustment>,
    /// Lines to add at no charge.
    pub free_items: Vec<FreeItem>,
}

impl PricingResult {
    /// Add an adjustment.
    pub fn adjust(&mut self, adjustment: Adjustment) {
        self.adjustments.push(adjustment);
    }

    /// Add a free item.
    pub fn add_free_item(&mut self, item: FreeItem) {
        self.free_items.push(item);
    }
}

/// One line of the cart after pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    /// Index into `cart.lines`.
    pub line: u32,
    /// Unit price after any price override.
    pub unit_price: Money,
    /// `unit_price` x quantity.
    pub subtotal: Money,
    /// Everything taken off this line, including its share of order-level discounts.
    pub discount: Money,
    /// `subtotal - discount`; never below zero.
    pub total: Money,
}

/// The cart after pricing, as validation, fulfillment and payment see it.
///
/// `cart` holds the lines at catalog prices (free items included); `lines` has what each
/// costs after pricing, one per line of `cart.lines`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    /// The cart that was priced.
    pub cart: Cart,
    /// Each line's price after adjustments.
    pub lines: Vec<PricedLine>,
    /// The adjustments the host applied, as they were asked for (bundle discounts and free
    /// items' zero prices included); `lines` shows what they actually took off.
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// The lines' subtotals (after price overrides), added up.
    pub subtotal: Money,
    /// The lines' discounts, added up.
    pub discount: Money,
    /// `subtotal - discount`: what the goods cost, before delivery.
    pub total: Money,
}

impl PricedCart {
    /// The cart at catalog prices with nothing taken off — what the host hands validation and
    /// fulfillment when no pricing plugin is deployed. Handy for tests.
    pub fn unadjusted(cart: Cart) -> Self {
        let zero = Money::zero(cart.currency.clone());
        let lines: Vec<PricedLine> = cart
            .indexed_lines()
            .map(|(index, line)| PricedLine {
                line: index,
                unit_price: line.unit_price.clone(),
                subtotal: line.subtotal(),
                discount: zero.clone(),
                total: line.subtotal(),
            })
            .collect();
        let subtotal = lines.iter().fold(zero.clone(), |sum, l| {
            sum.checked_add(&l.subtotal).unwrap_or(sum)
        });
        Self {
            cart,
            lines,
            adjustments: Vec::new(),
            total: subtotal.clone(),
            subtotal,
            discount: zero,
        }
    }
}

/// How many units of a sku a node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The catalog sku.
    pub sku: String,
    /// Units in stock.
    pub quantity: u32,
}

/// A warehouse, store or pharmacy that can ship some of the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentNode {
    /// Stable identifier, which a [`LineAssignment`] names.
    pub id: String,
    /// e.g. `warehouse`, `store`, `pharmacy`, `dark-store`.
    pub kind: String,
    /// Where the node is; [`pincode::nearest_first`](crate::pincode::nearest_first) ranks nodes
    /// by it.
    pub pincode: String,
    /// Its stock of the cart's skus: see [`stock_of`](Self::stock_of).
    #[serde(default)]
    pub stock: Vec<StockLevel>,
    /// Capabilities such as `cold-chain` or `express`.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl FulfillmentNode {
    /// Units of `sku` this node holds (0 when it has none).
    pub fn stock_of(&self, sku: &str) -> u32 {
        self.stock
            .iter()
            .filter(|s| s.sku == sku)
            .map(|s| s.quantity)
            .sum()
    }

    /// Whether the node has the capability `tag` (exact, case-sensitive match).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// Which node ships a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAssignment {
    /// Index into `cart.lines`.
    pub line: u32,
    /// The [`FulfillmentNode::id`] of a node that holds the line's whole quantity.
    pub node_id: String,
}

/// One way to deliver the whole cart: every line assigned to exactly one node.
///
/// The host refuses an option that leaves a line out, assigns one twice, or takes more units
/// of a sku from a node than it holds (two lines of one sku share the node's stock).
///
/// ```
/// use mandi_sdk::prelude::*;
/// use mandi_sdk::testing::{line, node, CartBuilder};
///
/// let cart = CartBuilder::inr().line(line("MILK-1L", 2, 6_800)).priced();
/// let nodes = [node("DS-7", "dark-store", "400053", &[("MILK-1L", 40)])];
/// let express = DeliveryOption {
///     code: "express".into(),
///     method: "same-day".into(),
///     assignments: cart.cart.indexed_lines()
///         .map(|(line, _)| LineAssignment { line, node_id: nodes[0].id.clone() })
///         .collect(),
///     cost: Money::inr(4_900),
///     eta_minutes: 120,
///     label: "Today, within 2 hours".into(),
/// };
/// assert_eq!(express.assignments.len(), cart.lines.len());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryOption {
    /// Stable identifier, e.g. `standard` or `split-2`; the app orders with it.
    pub code: String,
    /// e.g. `standard`, `express`, `same-day`, `pickup`.
    pub method: String,
    /// One per line of the cart.
    pub assignments: Vec<LineAssignment>,
    /// What delivery costs the shopper; non-negative and in the cart's currency. The host adds
    /// it to the order's total.
    pub cost: Money,
    /// Promised delivery time from `context.now_unix_ms`, in minutes.
    pub eta_minutes: u32,
    /// What the shopper is shown.
    pub label: String,
}

/// A reason the order cannot be placed. Any violation blocks the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Stable machine-readable code, e.g. `RX-REQUIRED`; required.
    pub code: String,
    /// What the shopper is told.
    pub message: String,
    /// The offending line's index in `cart.lines`, if the violation is about one line.
    #[serde(default)]
    pub line: Option<u32>,
}

impl Violation {
    /// A violation about the whole order, e.g. a minimum order value not reached.
    pub fn order(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            line: None,
        }
    }

    /// A violation about the line at index `line` of `cart.lines`.
    pub fn line(line: u32, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            line: Some(line),
        }
    }
}

fn find_attribute<'a>(attributes: &'a [Attribute], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

/// One of the tenant's payment methods, as the payment hook sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// Stable identifier, e.g. `cod`.
    pub id: String,
    /// What the shopper is shown, e.g. `Cash on delivery`.
    pub name: String,
    /// e.g. `card`, `upi`, `netbanking`, `wallet`, `cash-on-delivery`.
    pub kind: String,
}

/// One change a payment hook makes to the methods a shopper is offered. The host applies a
/// hook's operations in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum PaymentOperation {
    /// Do not offer this method; an order naming it is refused.
    Hide {
        /// The method's id.
        id: String,
    },
    /// Show this method under another name.
    Rename {
        /// The method's id.
        id: String,
        /// Its new name for this checkout.
        name: String,
    },
    /// Move this method to `index` (0 = first); the others keep their order around it.
    Move {
        /// The method's id.
        id: String,
        /// Its new position.
        index: u32,
    },
}

impl PaymentOperation {
    /// Hide the method `id`.
    pub fn hide(id: impl Into<String>) -> Self {
        Self::Hide { id: id.into() }
    }

    /// Rename the method `id`.
    pub fn rename(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self::Rename {
            id: id.into(),
            name: name.into(),
        }
    }

    /// Move the method `id` to position `index`.
    pub fn move_to(id: impl Into<String>, index: u32) -> Self {
        Self::Move {
            id: id.into(),
            index,
        }
    }

    /// The id of the method this operation changes.
    pub fn method_id(&self) -> &str {
        match self {
            Self::Hide { id } | Self::Rename { id, .. } | Self::Move { id, .. } => id,
        }
    }
}

/// A catalog sku and how many units of it one bundle holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePart {
    /// A catalog sku.
    pub sku: String,
    /// Units per bundle, at least 1.
    pub quantity: u32,
}

impl BundlePart {
    /// `quantity` units of `sku` per bundle.
    pub fn new(sku: impl Into<String>, quantity: u32) -> Self {
        Self {
            sku: sku.into(),
            quantity,
        }
    }
}

/// One change a cart-transform hook makes to the cart before pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum CartOperation {
    /// Replace the bundle line `line` with its parts (each part's quantity times the line's),
    /// priced so that together they cost what the bundle line did.
    Expand {
        /// Index of the bundle line in the cart.
        line: u32,
        /// What one bundle holds.
        parts: Vec<BundlePart>,
        /// Stable code shown with the bundle discount.
        code: String,
        /// What the shopper is told.
        message: String,
    },
    /// Take `quantity` bundles' worth of parts out of the cart's lines and add `quantity` units
    /// of `bundle_sku` at its catalog price.
    Merge {
        /// What one bundle takes from the cart's lines.
        parts: Vec<BundlePart>,
        /// The bundle's catalog sku.
        bundle_sku: String,
        /// How many bundles.
        quantity: u32,
        /// Stable code shown in the quote.
        code: String,
        /// What the shopper is told.
        message: String,
    },
}

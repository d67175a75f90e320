//! The contract's records as plain Rust values. Names mirror the WIT in `wit/types.wit`; the JSON
//! form (serde) is the same one `mandi plugin run` reads, so a test fixture is also a run input.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Money, Percent};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    pub title: String,
    pub category: String,
    pub brand: String,
    pub tags: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl Product {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    pub fn attribute(&self, key: &str) -> Option<&str> {
        find_attribute(&self.attributes, key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: Money,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub id: Option<String>,
    pub segment: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub line1: String,
    pub pincode: String,
    pub city: String,
    /// Free-form state or province name, as the shopper wrote it.
    pub state: String,
    /// ISO 3166-2 code of the state or province, e.g. `IN-MH`, when the app sent one. Rules
    /// about regions should match this rather than the free-form name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `IN`.
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub currency: String,
    pub lines: Vec<CartLine>,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

impl Cart {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find_attribute(&self.attributes, key)
    }

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

    pub fn pincode(&self) -> Option<&str> {
        self.shipping_address.as_ref().map(|a| a.pincode.as_str())
    }
}

/// A business failure: the plugin could not apply its rules (bad config, missing data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    pub code: String,
    pub message: String,
}

impl PluginError {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Line(u32),
    Order,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    PercentOff(Percent),
    AmountOff(Money),
    PriceOverride(Money),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub target: Target,
    pub kind: AdjustmentKind,
    pub code: String,
    pub message: String,
}

impl Adjustment {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeItem {
    pub sku: String,
    pub quantity: u32,
    pub code: String,
    pub message: String,
}

/// What the pricing hook returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PricingResult {
    pub adjustments: Vec<Adjustment>,
    pub free_items: Vec<FreeItem>,
}

impl PricingResult {
    pub fn adjust(&mut self, adjustment: Adjustment) {
        self.adjustments.push(adjustment);
    }

    pub fn add_free_item(&mut self, item: FreeItem) {
        self.free_items.push(item);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub line: u32,
    pub unit_price: Money,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
}

/// The cart after pricing, as validation and fulfillment see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub cart: Cart,
    pub lines: Vec<PricedLine>,
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    pub subtotal: Money,
    pub discount: Money,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentNode {
    pub id: String,
    pub kind: String,
    pub pincode: String,
    #[serde(default)]
    pub stock: Vec<StockLevel>,
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

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAssignment {
    pub line: u32,
    pub node_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryOption {
    pub code: String,
    pub method: String,
    pub assignments: Vec<LineAssignment>,
    pub cost: Money,
    pub eta_minutes: u32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub line: Option<u32>,
}

impl Violation {
    pub fn order(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            line: None,
        }
    }

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

//! Netmeds: an online pharmacy, so the law and the cold chain decide what can be ordered.
//!
//! - **Validation**: prescription-only medicines need a prescription on file (`RX-REQUIRED`),
//!   refrigerated items only go where the cold-chain courier runs (`COLD-CHAIN-UNSERVICEABLE`),
//!   and nothing ships without an address (`NO-SHIPPING-ADDRESS`).
//! - **Fulfillment**: only licensed pharmacies dispense, and refrigerated lines only from a
//!   pharmacy with cold storage. One pharmacy fills the whole order — the nearest that can — so
//!   the prescription is checked once and the parcel arrives together.
//! - **Payment**: an order with prescription-only medicine is paid before it ships, so cash on
//!   delivery is not offered for it (a courier cannot hand over Schedule H drugs against cash
//!   and a prescription checked at the door).

use std::collections::HashMap;

use mandi_sdk::log;
use mandi_sdk::pincode::nearest_first;
use mandi_sdk::prelude::*;
use serde::Deserialize;

pub struct Netmeds;

/// Product attribute that marks a prescription-only medicine (Schedule H/H1/X): value `"true"`.
/// The catalog team sets it per product; we don't infer it from the drug's name.
const RX_REQUIRED: &str = "rx-required";
/// Cart attribute the app sets once the shopper's prescription has been uploaded.
const PRESCRIPTION_ID: &str = "prescription-id";
/// Product tag for items kept at 2–8 °C, and node tag for pharmacies with cold storage.
const COLD_CHAIN: &str = "cold-chain";
/// Node kind of a licensed pharmacy; no other node may dispense.
const PHARMACY: &str = "pharmacy";

/// The deployment config; every key is optional (see `Default`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Pincode prefixes the cold-chain courier serves, e.g. "400" for Mumbai.
    cold_chain_pincode_prefixes: Vec<String>,
    delivery: Delivery,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Delivery {
    fee_paise: u32,
    /// Orders whose total reaches this ship free.
    free_from_paise: u32,
    eta_minutes: u32,
}

impl Default for Config {
    fn default() -> Self {
        // Metro sorting districts: Mumbai, Delhi, Bengaluru, Chennai, Hyderabad, Kolkata.
        let metros = ["400", "110", "560", "600", "500", "700"];
        Self {
            cold_chain_pincode_prefixes: metros.map(String::from).to_vec(),
            delivery: Delivery::default(),
        }
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            fee_paise: 3_900,
            free_from_paise: 29_900,
            eta_minutes: 720,
        }
    }
}

impl Config {
    fn load(ctx: &Context) -> Result<Self> {
        let config: Self = ctx.config()?;
        let bad_prefix = config
            .cold_chain_pincode_prefixes
            .iter()
            .find(|p| p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()));
        if let Some(prefix) = bad_prefix {
            // An empty prefix would quietly open the cold chain to every pincode.
            return Err(PluginError::new(
                "invalid-config",
                format!("cold-chain pincode prefix `{prefix}` must be 1 to 6 digits"),
            ));
        }
        Ok(config)
    }

    fn cold_chain_serves(&self, pincode: &str) -> bool {
        self.cold_chain_pincode_prefixes
            .iter()
            .any(|prefix| pincode.starts_with(prefix.as_str()))
    }
}

fn needs_prescription(line: &CartLine) -> bool {
    line.product
        .attribute(RX_REQUIRED)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn is_cold_chain(line: &CartLine) -> bool {
    line.product.has_tag(COLD_CHAIN)
}

fn has_prescription(cart: &Cart) -> bool {
    cart.attribute(PRESCRIPTION_ID)
        .is_some_and(|id| !id.trim().is_empty())
}

fn shipping_pincode(cart: &Cart) -> Option<&str> {
    cart.pincode().map(str::trim).filter(|p| !p.is_empty())
}

impl Validation for Netmeds {
    fn validate(ctx: &Context, cart: &PricedCart) -> Result<Vec<Violation>> {
        let config = Config::load(ctx)?;
        let cart = &cart.cart;
        let pincode = shipping_pincode(cart);
        let prescribed = has_prescription(cart);
        let mut violations = Vec::new();
        if pincode.is_none() {
            violations.push(Violation::order(
                "NO-SHIPPING-ADDRESS",
                "Add a shipping address to order medicines",
            ));
        }
        for (index, line) in cart.indexed_lines() {
            let name = line.display_name();
            if needs_prescription(line) && !prescribed {
                violations.push(Violation::line(
                    index,
                    "RX-REQUIRED",
                    format!("{name} needs a prescription: upload one to continue"),
                ));
            }
            if let Some(pincode) = pincode
                && is_cold_chain(line)
                && !config.cold_chain_serves(pincode)
            {
                violations.push(Violation::line(
                    index,
                    "COLD-CHAIN-UNSERVICEABLE",
                    format!(
                        "{name} must stay refrigerated and cannot be delivered to {pincode} yet"
                    ),
                ));
            }
        }
        Ok(violations)
    }
}

impl Fulfillment for Netmeds {
    fn fulfill(
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        _defaults: &[DeliveryOption],
    ) -> Result<Vec<DeliveryOption>> {
        let config = Config::load(ctx)?;
        let lines = &cart.cart.lines;
        let destination = cart.cart.shipping_pincode()?;
        // Only pharmacies dispense, so the platform's defaults (any warehouse) are never offered.
        let pharmacies = nodes.iter().filter(|node| node.kind == PHARMACY);
        let pharmacy = nearest_first(pharmacies, destination)
            .into_iter()
            .find(|pharmacy| can_fill(pharmacy, lines))
            .ok_or_else(|| {
                PluginError::new(
                    "no-pharmacy",
                    "no single pharmacy can fill every line of this order",
                )
            })?;
        log::info(format!("dispensing from pharmacy {}", pharmacy.id));
        Ok(vec![pharmacy_delivery(cart, pharmacy, &config.delivery)])
    }
}

/// Whether `pharmacy` holds every line's units and can keep the cold-chain ones cold.
fn can_fill(pharmacy: &FulfillmentNode, lines: &[CartLine]) -> bool {
    if lines.iter().any(is_cold_chain) && !pharmacy.has_tag(COLD_CHAIN) {
        return false;
    }
    // Two lines of one sku need both quantities.
    let mut needed: HashMap<&str, u64> = HashMap::new();
    for line in lines {
        *needed.entry(&line.sku).or_default() += u64::from(line.quantity);
    }
    needed
        .iter()
        .all(|(sku, units)| u64::from(pharmacy.stock_of(sku)) >= *units)
}

fn pharmacy_delivery(
    cart: &PricedCart,
    pharmacy: &FulfillmentNode,
    delivery: &Delivery,
) -> DeliveryOption {
    let assignments = cart
        .cart
        .indexed_lines()
        .map(|(line, _)| LineAssignment {
            line,
            node_id: pharmacy.id.clone(),
        })
        .collect();
    let fee = if cart.total.amount >= i64::from(delivery.free_from_paise) {
        0
    } else {
        delivery.fee_paise
    };
    let label = if cart.cart.lines.iter().any(is_cold_chain) {
        "Pharmacy delivery, temperature-controlled"
    } else {
        "Pharmacy delivery"
    };
    DeliveryOption {
        code: "pharmacy-delivery".into(),
        method: "pharmacy-delivery".into(),
        assignments,
        cost: Money::new(i64::from(fee), cart.cart.currency.clone()),
        eta_minutes: delivery.eta_minutes,
        label: label.into(),
    }
}

impl Payment for Netmeds {
    fn customize(
        _: &Context,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> Result<Vec<PaymentOperation>> {
        if !cart.cart.lines.iter().any(needs_prescription) {
            return Ok(Vec::new());
        }
        Ok(methods
            .iter()
            .filter(|m| m.kind == "cash-on-delivery")
            .map(|m| PaymentOperation::hide(&m.id))
            .collect())
    }
}

mandi_sdk::export_plugin!(Netmeds: validation, fulfillment, payment);

#[cfg(test)]
mod tests;

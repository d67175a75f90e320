//! The platform's own delivery options: what a tenant without a fulfillment plugin gets, and
//! what a fulfillment plugin is offered as a starting point.
//!
//! One `standard` option: every line from the nearest node (by pincode) that stocks the whole
//! cart; failing that, each line from the nearest node that stocks that line. No option when
//! some line is in stock nowhere.

use mandi_sdk::pincode::{Pincode, nearest_first};
use mandi_sdk::{Cart, DeliveryOption, FulfillmentNode, LineAssignment, Money};

/// ETA of the platform's standard delivery: two days.
const STANDARD_ETA_MINUTES: u32 = 2 * 24 * 60;

pub fn default_delivery_options(cart: &Cart, nodes: &[FulfillmentNode]) -> Vec<DeliveryOption> {
    let ranked = match cart
        .shipping_address
        .as_ref()
        .and_then(|a| Pincode::parse(&a.pincode))
    {
        Some(destination) => nearest_first(nodes, destination),
        None => nodes.iter().collect(),
    };
    let has = |node: &FulfillmentNode, sku: &str, quantity: u32| {
        node.stock
            .iter()
            .any(|s| s.sku == sku && s.quantity >= quantity)
    };
    let whole_cart = ranked
        .iter()
        .find(|node| cart.lines.iter().all(|l| has(node, &l.sku, l.quantity)));
    let mut assignments = Vec::with_capacity(cart.lines.len());
    for (i, line) in cart.lines.iter().enumerate() {
        let node = whole_cart.copied().or_else(|| {
            ranked
                .iter()
                .copied()
                .find(|n| has(n, &line.sku, line.quantity))
        });
        let Some(node) = node else {
            return Vec::new();
        };
        assignments.push(LineAssignment {
            line: i as u32,
            node_id: node.id.clone(),
        });
    }
    if assignments.is_empty() {
        return Vec::new();
    }
    vec![DeliveryOption {
        code: "standard".into(),
        method: "standard".into(),
        assignments,
        cost: Money::zero(cart.currency.clone()),
        eta_minutes: STANDARD_ETA_MINUTES,
        label: "Standard delivery".into(),
    }]
}

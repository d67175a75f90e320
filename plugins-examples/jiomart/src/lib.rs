//! JioMart: groceries in bulk.
//!
//! - **Cart transform**: a combo pack (a catalog product whose `bundle` attribute lists its
//!   parts, `SKU:units,SKU:units`) is expanded into its parts, so they are priced, discounted
//!   and shipped as the goods they are; the combo's price is kept (`COMBO`).
//! - **Pricing**: volume discounts per category — the more units of a staple on one line, the
//!   bigger the line's percent off (`BULK-STAPLES-10` is 10% off staples).
//! - **Validation**: one line may hold at most `max_units_per_line` units (`QTY-CAP`), so a
//!   reseller cannot empty a store's shelf at bulk prices.
//! - **Fulfillment**: ship everything from the nearest node that stocks the whole order; when no
//!   node does, split the order line by line across the nearest nodes that can (costlier, slower).

use std::collections::{BTreeMap, HashMap};

use mandi_sdk::log;
use mandi_sdk::pincode::nearest_first;
use mandi_sdk::prelude::*;
use serde::Deserialize;

pub struct Jiomart;

/// The deployment config; every key is optional (see `Default`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Volume tiers per product category (the catalog's `category`, matched exactly).
    bulk_tiers: BTreeMap<String, Vec<BulkTier>>,
    max_units_per_line: u32,
    delivery: Delivery,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkTier {
    min_units: u32,
    discount_bps: Percent,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Delivery {
    fee_paise: u32,
    /// Orders whose total reaches this ship free.
    free_from_paise: u32,
    eta_minutes: u32,
    /// Each shipment beyond the first costs this much more: splitting is our cost, not a perk.
    split_fee_per_extra_shipment_paise: u32,
    split_eta_minutes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bulk_tiers: BTreeMap::from([
                ("staples".into(), vec![tier(10, 500), tier(25, 1_000)]),
                ("household".into(), vec![tier(6, 300), tier(12, 600)]),
            ]),
            max_units_per_line: 50,
            delivery: Delivery::default(),
        }
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            fee_paise: 4_900,
            free_from_paise: 49_900,
            eta_minutes: 1_440,
            split_fee_per_extra_shipment_paise: 2_900,
            split_eta_minutes: 2_880,
        }
    }
}

fn tier(min_units: u32, discount_bps: u32) -> BulkTier {
    BulkTier {
        min_units,
        discount_bps: Percent::from_bps(discount_bps),
    }
}

impl Config {
    fn load(ctx: &Context) -> Result<Self> {
        let config: Self = ctx.config()?;
        for (category, tiers) in &config.bulk_tiers {
            for tier in tiers {
                if tier.min_units == 0 || tier.discount_bps > Percent::HUNDRED {
                    return Err(invalid_config(format!(
                        "bulk tier for `{category}` needs min_units >= 1 and a discount of at most 100%"
                    )));
                }
            }
        }
        if config.max_units_per_line == 0 {
            return Err(invalid_config("max_units_per_line must be at least 1"));
        }
        Ok(config)
    }

    /// The richest tier this quantity reaches in the line's category, if any.
    fn bulk_tier(&self, category: &str, quantity: u32) -> Option<&BulkTier> {
        self.bulk_tiers
            .get(category)?
            .iter()
            .filter(|tier| quantity >= tier.min_units)
            .max_by_key(|tier| tier.min_units)
    }
}

fn invalid_config(message: impl Into<String>) -> PluginError {
    PluginError::new("invalid-config", message)
}

impl Pricing for Jiomart {
    fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
        let config = Config::load(ctx)?;
        let mut result = PricingResult::default();
        for (index, line) in cart.indexed_lines() {
            let category = &line.product.category;
            if let Some(tier) = config.bulk_tier(category, line.quantity) {
                result.adjust(bulk_discount(index, category, tier));
            }
        }
        Ok(result)
    }
}

/// `BULK-STAPLES-10`: category and percent in the code, so reports group by both.
fn bulk_discount(line: u32, category: &str, tier: &BulkTier) -> Adjustment {
    let percent = tier.discount_bps.to_string();
    let code = format!(
        "BULK-{}-{}",
        category.to_ascii_uppercase(),
        percent.trim_end_matches('%')
    );
    let message = format!(
        "Bulk saver: {percent} off for {}+ units of {category}",
        tier.min_units
    );
    Adjustment::line(
        line,
        AdjustmentKind::PercentOff(tier.discount_bps),
        code,
        message,
    )
}

impl Validation for Jiomart {
    fn validate(ctx: &Context, cart: &PricedCart) -> Result<Vec<Violation>> {
        let cap = Config::load(ctx)?.max_units_per_line;
        let over_cap = cart
            .cart
            .indexed_lines()
            .filter(|(_, line)| line.quantity > cap)
            .map(|(index, line)| {
                Violation::line(
                    index,
                    "QTY-CAP",
                    format!("At most {cap} units of {} per order", line.display_name()),
                )
            });
        Ok(over_cap.collect())
    }
}

impl Fulfillment for Jiomart {
    fn fulfill(
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> Result<Vec<DeliveryOption>> {
        let config = Config::load(ctx)?;
        if cart.cart.lines.is_empty() {
            // Nothing to ship, nothing to decide.
            return Ok(defaults.to_vec());
        }
        let nodes = nearest_first(nodes, cart.cart.shipping_pincode()?);
        let lines = &cart.cart.lines;
        let option = match nodes.iter().find(|node| stocks_all(node, lines)) {
            Some(node) => single_shipment(cart, node, &config.delivery),
            None => {
                let assignments = split_by_line(lines, &nodes)?;
                let shipments = count_nodes(&assignments);
                log::info(format!(
                    "no single node stocks the whole order; splitting into {shipments} shipments"
                ));
                split_shipment(cart, assignments, shipments, &config.delivery)
            }
        };
        Ok(vec![option])
    }
}

/// Whether `node` holds every line's units (two lines of one sku need both quantities).
fn stocks_all(node: &FulfillmentNode, lines: &[CartLine]) -> bool {
    let mut needed: HashMap<&str, u64> = HashMap::new();
    for line in lines {
        *needed.entry(&line.sku).or_default() += u64::from(line.quantity);
    }
    needed
        .iter()
        .all(|(sku, units)| u64::from(node.stock_of(sku)) >= *units)
}

/// Each line from the nearest node that still has its units after the lines before it.
fn split_by_line(lines: &[CartLine], nodes: &[&FulfillmentNode]) -> Result<Vec<LineAssignment>> {
    let mut taken: HashMap<(&str, &str), u64> = HashMap::new();
    let mut assignments = Vec::with_capacity(lines.len());
    for (index, line) in (0u32..).zip(lines) {
        let units = u64::from(line.quantity);
        let node = nodes
            .iter()
            .find(|node| {
                let already = taken.get(&(&*node.id, &*line.sku)).copied().unwrap_or(0);
                u64::from(node.stock_of(&line.sku)) >= already + units
            })
            .ok_or_else(|| {
                PluginError::new(
                    "out-of-stock",
                    format!(
                        "no node has {} units of {} in stock",
                        line.quantity, line.sku
                    ),
                )
            })?;
        *taken.entry((&node.id, &line.sku)).or_default() += units;
        assignments.push(LineAssignment {
            line: index,
            node_id: node.id.clone(),
        });
    }
    Ok(assignments)
}

fn count_nodes(assignments: &[LineAssignment]) -> u32 {
    let mut ids: Vec<&str> = assignments.iter().map(|a| a.node_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    u32::try_from(ids.len()).unwrap_or(u32::MAX)
}

fn single_shipment(
    cart: &PricedCart,
    node: &FulfillmentNode,
    delivery: &Delivery,
) -> DeliveryOption {
    let assignments = cart
        .cart
        .indexed_lines()
        .map(|(line, _)| LineAssignment {
            line,
            node_id: node.id.clone(),
        })
        .collect();
    DeliveryOption {
        code: "single".into(),
        method: "standard".into(),
        assignments,
        cost: delivery_fee(cart, delivery),
        eta_minutes: delivery.eta_minutes,
        label: "Standard delivery in one shipment".into(),
    }
}

fn split_shipment(
    cart: &PricedCart,
    assignments: Vec<LineAssignment>,
    shipments: u32,
    delivery: &Delivery,
) -> DeliveryOption {
    let surcharge = u64::from(delivery.split_fee_per_extra_shipment_paise)
        * u64::from(shipments.saturating_sub(1));
    let base = delivery_fee(cart, delivery);
    let cost = Money::new(
        base.amount.saturating_add_unsigned(surcharge),
        base.currency,
    );
    DeliveryOption {
        code: "split".into(),
        method: "standard".into(),
        assignments,
        cost,
        eta_minutes: delivery.split_eta_minutes,
        label: format!("Standard delivery, split into {shipments} shipments"),
    }
}

/// Free once the order total (after discounts) reaches the threshold, else the flat fee.
fn delivery_fee(cart: &PricedCart, delivery: &Delivery) -> Money {
    let fee = if cart.total.amount >= i64::from(delivery.free_from_paise) {
        0
    } else {
        delivery.fee_paise
    };
    Money::new(i64::from(fee), cart.cart.currency.clone())
}

impl CartTransform for Jiomart {
    fn transform(_: &Context, cart: &Cart) -> Result<Vec<CartOperation>> {
        let combos = cart.indexed_lines().filter_map(|(index, line)| {
            let parts = line.product.attribute("bundle")?;
            Some(combo_parts(parts).map(|parts| CartOperation::Expand {
                line: index,
                parts,
                code: "COMBO".into(),
                message: format!("{} at its combo price", line.display_name()),
            }))
        });
        combos.collect()
    }
}

/// `RICE-5KG:1,ATTA-10KG:2` -> the parts of one combo.
fn combo_parts(text: &str) -> Result<Vec<BundlePart>> {
    let part = |item: &str| {
        let (sku, units) = item.trim().split_once(':')?;
        Some(BundlePart::new(sku.trim(), units.trim().parse().ok()?))
    };
    (text.split(',').map(part).collect::<Option<Vec<_>>>()).ok_or_else(|| {
        PluginError::new(
            "invalid-bundle",
            format!("bundle `{text}` is not SKU:units,SKU:units"),
        )
    })
}

mandi_sdk::export_plugin!(Jiomart: cart_transform, pricing, validation, fulfillment);

#[cfg(test)]
mod tests;

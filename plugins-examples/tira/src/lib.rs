//! Tira: beauty retail. Pricing rewards loyalty, honours one coupon per order, slips a free
//! sample into bigger baskets, and never lets discounts add up past a margin guard.
//!
//! - **Loyalty**: an order-level percent off by customer segment (`LOYALTY-GOLD`).
//! - **Coupon**: one per order — if the shopper entered several, the one worth most applies.
//! - **Guard**: loyalty plus coupon never exceed `max_discount_bps` of the subtotal; the coupon
//!   gives way (it becomes an amount off that lands exactly on the cap).
//! - **Free sample**: once the subtotal reaches a threshold (`FREE-SAMPLE`).
//!
//! Payment hides cash on delivery above an order total (`cod_limit_paise`).
//!
//! Gift sets: a shopper who picks every item of a set separately gets the set (its own catalog
//! product, at its set price): the cart transform merges them (`GIFT-SET`).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use mandi_sdk::log;
use mandi_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

pub struct Tira;

/// The deployment config; every key is optional (see `Default`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Order-level percent off per customer segment (matched case-insensitively).
    loyalty_bps: BTreeMap<String, Percent>,
    /// Coupon codes (matched case-insensitively) and what each takes off the order.
    coupons: BTreeMap<String, Coupon>,
    /// Loyalty plus coupon never take more than this share of the subtotal.
    max_discount_bps: Percent,
    /// `null` turns the free sample off.
    free_sample: Option<FreeSample>,
    /// Cash on delivery is not offered for orders above this total; `null` always offers it.
    cod_limit_paise: Option<u32>,
    /// Gift sets by set SKU: the units of each item that make one set.
    gift_sets: BTreeMap<String, BTreeMap<String, u32>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Coupon {
    PercentOffBps(Percent),
    AmountOffPaise(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FreeSample {
    sku: String,
    min_subtotal_paise: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            loyalty_bps: BTreeMap::from([
                ("silver".into(), Percent::from_percent(5)),
                ("gold".into(), Percent::from_percent(10)),
                ("platinum".into(), Percent::from_percent(15)),
            ]),
            coupons: BTreeMap::from([
                (
                    "GLOW15".into(),
                    Coupon::PercentOffBps(Percent::from_percent(15)),
                ),
                ("TIRA200".into(), Coupon::AmountOffPaise(20_000)),
            ]),
            max_discount_bps: Percent::from_percent(20),
            free_sample: Some(FreeSample {
                sku: "TIRA-MINI-LIPBALM".into(),
                min_subtotal_paise: 150_000,
            }),
            cod_limit_paise: Some(500_000),
            gift_sets: BTreeMap::from([(
                "TIRA-GLOW-SET".into(),
                BTreeMap::from([
                    ("SERUM-VITC-30ML".into(), 1),
                    ("SUNSCREEN-SPF50-50ML".into(), 1),
                ]),
            )]),
        }
    }
}

impl Config {
    fn load(ctx: &Context) -> Result<Self> {
        let config: Self = ctx.config()?;
        if config.max_discount_bps > Percent::HUNDRED {
            return Err(invalid_config("max_discount_bps is over 100%"));
        }
        // A tier above the cap could never be honoured; say so at deploy time, not at checkout.
        if let Some((segment, _)) = config
            .loyalty_bps
            .iter()
            .find(|(_, percent)| **percent > config.max_discount_bps)
        {
            return Err(invalid_config(format!(
                "loyalty tier `{segment}` is above max_discount_bps"
            )));
        }
        for (code, coupon) in &config.coupons {
            let too_big = matches!(coupon, Coupon::PercentOffBps(p) if *p > Percent::HUNDRED);
            if code.trim().is_empty() || too_big {
                return Err(invalid_config(format!(
                    "coupon `{code}` needs a code and at most 100% off"
                )));
            }
        }
        if config
            .free_sample
            .as_ref()
            .is_some_and(|s| s.sku.trim().is_empty())
        {
            return Err(invalid_config("free_sample.sku is empty"));
        }
        if let Some((set, _)) = (config.gift_sets.iter())
            .find(|(_, items)| items.is_empty() || items.values().any(|units| *units == 0))
        {
            return Err(invalid_config(format!(
                "gift set `{set}` needs at least one item, each at least one unit"
            )));
        }
        Ok(config)
    }

    fn loyalty_tier(&self, cart: &Cart) -> Option<(&str, Percent)> {
        let segment = cart.customer.segment.as_deref()?;
        self.loyalty_bps
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(segment))
            .map(|(name, percent)| (name.as_str(), *percent))
    }

    /// The shopper's most valuable configured coupon (ties go to the first code alphabetically).
    fn best_coupon(&self, cart: &Cart, subtotal: &Money) -> Option<(&str, &Coupon, Money)> {
        self.coupons
            .iter()
            .filter(|(code, _)| cart.has_coupon(code))
            .map(|(code, coupon)| (code.as_str(), coupon, coupon.value(subtotal)))
            .min_by_key(|(_, _, value)| Reverse(value.amount))
    }
}

fn invalid_config(message: impl Into<String>) -> PluginError {
    PluginError::new("invalid-config", message)
}

impl Coupon {
    /// What this coupon takes off an order of `subtotal` (never more than the order).
    fn value(&self, subtotal: &Money) -> Money {
        match self {
            Coupon::PercentOffBps(percent) => percent.of(subtotal),
            Coupon::AmountOffPaise(paise) => {
                Money::new(i64::from(*paise), subtotal.currency.clone()).min(subtotal.clone())
            }
        }
    }

    /// Percent coupons stay percentages, so the host applies them to the exact order total.
    fn kind(&self, value: &Money) -> AdjustmentKind {
        match self {
            Coupon::PercentOffBps(percent) => AdjustmentKind::PercentOff(*percent),
            Coupon::AmountOffPaise(_) => AdjustmentKind::AmountOff(value.clone()),
        }
    }
}

impl Pricing for Tira {
    fn price(ctx: &Context, cart: &Cart) -> Result<PricingResult> {
        let config = Config::load(ctx)?;
        let subtotal = subtotal(cart)?;
        let mut result = PricingResult::default();

        let mut loyalty_amount = Money::zero(cart.currency.clone());
        if let Some((segment, percent)) = config.loyalty_tier(cart) {
            loyalty_amount = percent.of(&subtotal);
            result.adjust(loyalty_discount(segment, percent));
        }

        if let Some((code, coupon, value)) = config.best_coupon(cart, &subtotal) {
            // Loyalty was promised first, so whatever the cap still allows is the coupon's.
            let cap = config.max_discount_bps;
            let headroom = cap.of(&subtotal).checked_sub(&loyalty_amount)?;
            if value.amount <= headroom.amount {
                let message = coupon_message(code, coupon, &cart.currency);
                result.adjust(Adjustment::order(coupon.kind(&value), code, message));
            } else if headroom.amount > 0 {
                log::info(format!(
                    "discount cap {cap}: coupon {code} reduced from {value} to {headroom}"
                ));
                let message = format!("{code}: {headroom} off (total discount capped at {cap})");
                result.adjust(Adjustment::order(
                    AdjustmentKind::AmountOff(headroom),
                    code,
                    message,
                ));
            } else {
                log::info(format!(
                    "discount cap {cap}: coupon {code} not applied, loyalty already reaches it"
                ));
            }
        }

        if let Some(sample) = &config.free_sample
            && subtotal.amount >= i64::from(sample.min_subtotal_paise)
        {
            result.add_free_item(free_sample(sample, &cart.currency));
        }
        Ok(result)
    }
}

/// The catalog value of the cart: what loyalty, coupon, cap and sample threshold are measured on.
fn subtotal(cart: &Cart) -> Result<Money> {
    let zero = Money::zero(cart.currency.clone());
    let total = cart
        .lines
        .iter()
        .try_fold(zero, |sum, line| sum.checked_add(&line.subtotal()))?;
    Ok(total)
}

fn loyalty_discount(segment: &str, percent: Percent) -> Adjustment {
    let mut name = segment.to_ascii_lowercase();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    Adjustment::order(
        AdjustmentKind::PercentOff(percent),
        format!("LOYALTY-{}", segment.to_ascii_uppercase()),
        format!("{name} member: {percent} off"),
    )
}

fn coupon_message(code: &str, coupon: &Coupon, currency: &str) -> String {
    match coupon {
        Coupon::PercentOffBps(percent) => format!("{code}: {percent} off your order"),
        Coupon::AmountOffPaise(paise) => {
            format!(
                "{code}: {} off your order",
                Money::new(i64::from(*paise), currency)
            )
        }
    }
}

fn free_sample(sample: &FreeSample, currency: &str) -> FreeItem {
    let threshold = Money::new(i64::from(sample.min_subtotal_paise), currency);
    FreeItem {
        sku: sample.sku.clone(),
        quantity: 1,
        code: "FREE-SAMPLE".into(),
        message: format!("A free sample with orders of {threshold} or more"),
    }
}

impl Payment for Tira {
    fn customize(
        ctx: &Context,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> Result<Vec<PaymentOperation>> {
        let limit = Config::load(ctx)?.cod_limit_paise;
        if limit.is_none_or(|limit| cart.total.amount <= i64::from(limit)) {
            return Ok(Vec::new());
        }
        let total = cart.total.to_string();
        log::log_with(
            log::Level::Info,
            "cash on delivery hidden",
            &[("total", &total)],
        );
        Ok(methods
            .iter()
            .filter(|m| m.kind == "cash-on-delivery")
            .map(|m| PaymentOperation::hide(&m.id))
            .collect())
    }
}

impl CartTransform for Tira {
    fn transform(ctx: &Context, cart: &Cart) -> Result<Vec<CartOperation>> {
        let config = Config::load(ctx)?;
        // Units of each item still free to go into a set (a set takes from the item's line).
        let mut left: BTreeMap<&str, u32> = BTreeMap::new();
        for line in &cart.lines {
            left.entry(line.sku.as_str()).or_insert(line.quantity);
        }
        let mut merges = Vec::new();
        for (set, items) in &config.gift_sets {
            let sets = (items.iter())
                .map(|(sku, per_set)| left.get(sku.as_str()).map_or(0, |units| units / per_set))
                .min()
                .unwrap_or(0);
            if sets == 0 {
                continue;
            }
            for (sku, per_set) in items {
                if let Some(units) = left.get_mut(sku.as_str()) {
                    *units -= per_set * sets;
                }
            }
            merges.push(CartOperation::Merge {
                parts: (items.iter())
                    .map(|(sku, per_set)| BundlePart::new(sku, *per_set))
                    .collect(),
                bundle_sku: set.clone(),
                quantity: sets,
                code: "GIFT-SET".into(),
                message: format!("{set} at its set price"),
            });
        }
        Ok(merges)
    }
}

mandi_sdk::export_plugin!(Tira: cart_transform, pricing, payment; config = Config);

#[cfg(test)]
mod tests;

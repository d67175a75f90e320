//! Applying a pricing plugin's adjustments to a cart, with the platform's guardrails: no line
//! below zero, the total discount never above the subtotal, one rounding rule, and every amount
//! taken off attributed to the adjustment (and so the deployment) that asked for it.
//!
//! Order of application, each step on what the previous left:
//! 1. price overrides replace a line's unit price (the last override of a line wins);
//! 2. line discounts (percent of, or amount off, the line's subtotal) — their sum is capped at
//!    the line's subtotal;
//! 3. order discounts (percent of, or amount off, the total after line discounts) — their sum
//!    is capped at that total, and the order discount is shared across lines in proportion to
//!    their totals (largest remainder, so the shares add up exactly).
//!
//! Percentages round half away from zero to the minor unit (`Percent::of`), the rule the SDK
//! gives plugins too.

use mandi_sdk::{Adjustment, AdjustmentKind, Cart, Money, PricedCart, PricedLine, Target};
use serde::Serialize;

/// An adjustment as the plugin asked for it, and what it actually took off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedAdjustment<A> {
    #[serde(flatten)]
    pub adjustment: Adjustment,
    /// Minor units actually taken off (for a price override: the saving against catalog price;
    /// negative when the override raises the price).
    pub amount: i64,
    /// True when a guardrail reduced what the adjustment asked for.
    pub capped: bool,
    /// Who asked for it: the deployment and plugin version.
    pub source: A,
}

/// The priced cart and the account of every adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing<A> {
    pub priced: PricedCart,
    pub applied: Vec<AppliedAdjustment<A>>,
}

/// Applying adjustments would take an amount past what `i64` minor units can hold. Only a
/// plugin's output can do this (catalog prices and cart limits keep a plain cart far below it),
/// so the caller reports it as the pricing hook's invalid output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} overflows")]
pub struct AmountOverflow(String);

/// `a + b`, or which amount overflowed.
fn add(a: i64, b: i64, what: impl FnOnce() -> String) -> Result<i64, AmountOverflow> {
    a.checked_add(b).ok_or_else(|| AmountOverflow(what()))
}

/// Applies `adjustments` (already contract-checked: targets exist, amounts non-negative and in
/// the cart's currency) to `cart` at its catalog prices. Every product, sum and difference of
/// amounts is checked: a result that does not fit is refused, never wrapped or saturated.
pub fn apply<A: Clone>(
    cart: &Cart,
    adjustments: &[(Adjustment, A)],
) -> Result<Pricing<A>, AmountOverflow> {
    let currency = cart.currency.as_str();
    let n = cart.lines.len();
    let catalog: Vec<i64> = cart.lines.iter().map(|l| l.unit_price.amount).collect();
    let mut unit: Vec<i64> = catalog.clone();
    let mut applied: Vec<AppliedAdjustment<A>> = Vec::with_capacity(adjustments.len());
    let record =
        |adjustment: &Adjustment, source: &A, amount: i64, capped: bool| AppliedAdjustment {
            adjustment: adjustment.clone(),
            amount,
            capped,
            source: source.clone(),
        };
    let line_amount = |i: usize, unit: i64| {
        unit.checked_mul(i64::from(cart.lines[i].quantity))
            .ok_or_else(|| AmountOverflow(format!("line {i}: unit price {unit} times quantity")))
    };

    // 1. Price overrides.
    for (adj, source) in adjustments {
        if let (Target::Line(i), AdjustmentKind::PriceOverride(price)) = (adj.target, &adj.kind) {
            let i = i as usize;
            unit[i] = price.amount;
            let saving = catalog[i]
                .checked_sub(price.amount)
                .and_then(|per_unit| per_unit.checked_mul(i64::from(cart.lines[i].quantity)))
                .ok_or_else(|| AmountOverflow(format!("line {i}: saving of price override")))?;
            applied.push(record(adj, source, saving, false));
        }
    }
    let subtotal: Vec<i64> = (0..n)
        .map(|i| line_amount(i, unit[i]))
        .collect::<Result<_, _>>()?;

    // 2. Line discounts, capped per line (so each stays within the line's subtotal).
    let mut line_discount = vec![0i64; n];
    for (adj, source) in adjustments {
        let Target::Line(i) = adj.target else {
            continue;
        };
        let i = i as usize;
        let asked = match &adj.kind {
            AdjustmentKind::PercentOff(p) => p.of(&Money::new(subtotal[i], currency)).amount,
            AdjustmentKind::AmountOff(m) => m.amount,
            AdjustmentKind::PriceOverride(_) => continue,
        };
        let room = subtotal[i] - line_discount[i];
        let taken = asked.clamp(0, room.max(0));
        line_discount[i] += taken;
        applied.push(record(adj, source, taken, taken < asked));
    }
    let after_lines: Vec<i64> = (0..n).map(|i| subtotal[i] - line_discount[i]).collect();
    let subtotal_sum = subtotal
        .iter()
        .try_fold(0i64, |sum, &s| add(sum, s, || "the cart subtotal".into()))?;
    let order_base = after_lines.iter().try_fold(0i64, |sum, &s| {
        add(sum, s, || "the total after line discounts".into())
    })?;

    // 3. Order discounts, capped at what is left, then shared across lines.
    let mut order_discount = 0i64;
    for (adj, source) in adjustments {
        if adj.target != Target::Order {
            continue;
        }
        let asked = match &adj.kind {
            AdjustmentKind::PercentOff(p) => p.of(&Money::new(order_base, currency)).amount,
            AdjustmentKind::AmountOff(m) => m.amount,
            AdjustmentKind::PriceOverride(_) => continue, // refused by the output guard
        };
        let taken = asked.clamp(0, (order_base - order_discount).max(0));
        order_discount += taken;
        applied.push(record(adj, source, taken, taken < asked));
    }
    let shares = share(order_discount, &after_lines);

    let money = |amount: i64| Money::new(amount, currency);
    let lines: Vec<PricedLine> = (0..n)
        .map(|i| {
            let discount = line_discount[i] + shares[i];
            PricedLine {
                line: i as u32,
                unit_price: money(unit[i]),
                subtotal: money(subtotal[i]),
                discount: money(discount),
                total: money(subtotal[i] - discount),
            }
        })
        .collect();
    // Every discount lies within what it was taken from, so these cannot overflow once the
    // subtotal has not; checked anyway, as the totals are what an order charges.
    let discount_sum = line_discount.iter().try_fold(order_discount, |sum, &d| {
        add(sum, d, || "the discount".into())
    })?;
    let total = subtotal_sum
        .checked_sub(discount_sum)
        .ok_or_else(|| AmountOverflow("the total".into()))?;
    Ok(Pricing {
        priced: PricedCart {
            cart: cart.clone(),
            lines,
            adjustments: adjustments.iter().map(|(a, _)| a.clone()).collect(),
            subtotal: money(subtotal_sum),
            discount: money(discount_sum),
            total: money(total),
        },
        applied,
    })
}

/// Splits `amount` across `weights` in proportion, by largest remainder, so the parts sum to
/// `amount` exactly and no part exceeds its weight (when `amount` <= the weights' sum).
fn share(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
    if amount == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = amount * i128::from(w.max(0));
        parts.push(i64::try_from(exact / total).unwrap_or(i64::MAX));
        remainders.push((exact % total, i));
    }
    let mut left = amount - parts.iter().map(|&p| i128::from(p)).sum::<i128>();
    // Largest remainders first; ties to the earlier line, so the split is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use mandi_sdk::Percent;
    use mandi_sdk::testing::{CartBuilder, line};

    fn adj(target: Target, kind: AdjustmentKind, code: &str) -> (Adjustment, &'static str) {
        let adjustment = Adjustment {
            target,
            kind,
            code: code.into(),
            message: String::new(),
        };
        (adjustment, "deployment-1")
    }

    fn pct(bps: u32) -> AdjustmentKind {
        AdjustmentKind::PercentOff(Percent::from_bps(bps))
    }

    fn off(paise: i64) -> AdjustmentKind {
        AdjustmentKind::AmountOff(Money::inr(paise))
    }

    #[test]
    fn no_adjustments_prices_at_catalog() {
        let cart = CartBuilder::inr()
            .line(line("A", 2, 1_000))
            .line(line("B", 1, 500))
            .build();
        let result = apply::<&str>(&cart, &[]).expect("fits");
        assert_eq!(result.priced, PricedCart::unadjusted(cart));
        assert!(result.applied.is_empty());
    }

    #[test]
    fn line_then_order_discounts_with_exact_shares() {
        // Lines: 2 x 1000 = 2000 and 1 x 1000 = 1000.
        let cart = CartBuilder::inr()
            .line(line("A", 2, 1_000))
            .line(line("B", 1, 1_000))
            .build();
        let result = apply(
            &cart,
            &[
                adj(Target::Line(0), pct(1_000), "LINE-10"), // 200 off line 0
                adj(Target::Order, off(100), "ORDER-100"),   // shared 1800 : 1000
            ],
        )
        .expect("fits");
        let p = &result.priced;
        assert_eq!(p.subtotal, Money::inr(3_000));
        assert_eq!(p.discount, Money::inr(300));
        assert_eq!(p.total, Money::inr(2_700));
        // 100 * 1800/2800 = 64.28 -> 64, 100 * 1000/2800 = 35.71 -> 35 + 1 (largest remainder).
        assert_eq!(p.lines[0].discount, Money::inr(264));
        assert_eq!(p.lines[1].discount, Money::inr(36));
        assert_eq!(p.lines[0].total.amount + p.lines[1].total.amount, 2_700);
        assert_eq!(result.applied[0].amount, 200);
        assert_eq!(result.applied[1].amount, 100);
        assert!(
            result
                .applied
                .iter()
                .all(|a| !a.capped && a.source == "deployment-1")
        );
    }

    #[test]
    fn a_line_never_goes_below_zero() {
        let cart = CartBuilder::inr().line(line("A", 1, 500)).build();
        let result = apply(
            &cart,
            &[
                adj(Target::Line(0), off(400), "FIRST"),
                adj(Target::Line(0), off(400), "SECOND"),
            ],
        )
        .expect("fits");
        assert_eq!(result.priced.lines[0].total, Money::inr(0));
        assert_eq!(
            (result.applied[0].amount, result.applied[0].capped),
            (400, false)
        );
        assert_eq!(
            (result.applied[1].amount, result.applied[1].capped),
            (100, true)
        );
    }

    #[test]
    fn total_discount_never_exceeds_the_subtotal() {
        let cart = CartBuilder::inr()
            .line(line("A", 1, 700))
            .line(line("B", 1, 300))
            .build();
        let result = apply(
            &cart,
            &[
                adj(Target::Order, pct(8_000), "EIGHTY"),
                adj(Target::Order, pct(5_000), "FIFTY"),
            ],
        )
        .expect("fits");
        let p = &result.priced;
        assert_eq!(p.discount, Money::inr(1_000));
        assert_eq!(p.total, Money::inr(0));
        assert!(p.lines.iter().all(|l| l.total.amount == 0));
        assert_eq!(
            (result.applied[1].amount, result.applied[1].capped),
            (200, true)
        );
    }

    #[test]
    fn price_override_sets_the_unit_price_before_discounts() {
        let cart = CartBuilder::inr().line(line("A", 3, 1_000)).build();
        let override_to = AdjustmentKind::PriceOverride(Money::inr(800));
        let result = apply(
            &cart,
            &[
                adj(Target::Line(0), pct(1_000), "TEN"),
                adj(Target::Line(0), override_to, "MEMBER-PRICE"),
            ],
        )
        .expect("fits");
        let line = &result.priced.lines[0];
        assert_eq!(line.unit_price, Money::inr(800));
        assert_eq!(line.subtotal, Money::inr(2_400));
        assert_eq!(line.discount, Money::inr(240)); // 10% of the overridden subtotal
        // The override is reported as the saving against catalog: 3 x 200.
        let saving = result
            .applied
            .iter()
            .find(|a| a.adjustment.code == "MEMBER-PRICE");
        assert_eq!(saving.map(|a| a.amount), Some(600));
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        let cart = CartBuilder::inr().line(line("A", 1, 1_005)).build();
        let result = apply(&cart, &[adj(Target::Order, pct(1_000), "TEN")]).expect("fits");
        assert_eq!(result.priced.discount, Money::inr(101)); // 100.5 -> 101
    }

    #[test]
    fn amounts_that_would_overflow_are_refused_not_wrapped() {
        let cart = CartBuilder::inr()
            .line(line("A", 1, 100))
            .line(line("B", 1, 100))
            .build();
        let huge = || AdjustmentKind::PriceOverride(Money::inr(i64::MAX));
        // Each line fits; their sum does not (it wrapped to -2 when added unchecked).
        let err = apply(
            &cart,
            &[
                adj(Target::Line(0), huge(), "MAX-0"),
                adj(Target::Line(1), huge(), "MAX-1"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "the cart subtotal overflows");
        // One line whose unit price times its quantity does not fit.
        let two = CartBuilder::inr().line(line("A", 2, 100)).build();
        let err = apply(&two, &[adj(Target::Line(0), huge(), "MAX")]).unwrap_err();
        assert!(err.to_string().starts_with("line 0"), "{err}");
    }

    #[test]
    fn shares_sum_exactly_and_respect_weights() {
        assert_eq!(share(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(share(0, &[5, 5]), [0, 0]);
        assert_eq!(share(7, &[0, 0]), [0, 0]);
        let parts = share(999, &[333, 333, 334]);
        assert_eq!(parts.iter().sum::<i64>(), 999);
        assert!(parts.iter().zip([333, 333, 334]).all(|(p, w)| *p <= w));
    }
}

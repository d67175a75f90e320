//! The cart-transform step: a plugin's expand and merge operations applied to the cart before
//! pricing, with the platform's guardrails. Without a cart-transform plugin, the cart as sent.
//!
//! - Only catalog skus: every part and bundle is looked up (all in one catalog call) and priced
//!   from the catalog.
//! - Quantities kept: an expanded line becomes `part quantity x line quantity` of each part; a
//!   merge takes exactly `part quantity x bundles` units from the lines it names, which must
//!   have them.
//! - Totals kept by an expansion: the parts are priced at catalog prices, and what they cost
//!   beyond the bundle line is a bundle discount on the parts' lines (shared in proportion to
//!   them, largest remainder, so it adds up exactly). Parts cheaper than their bundle cannot
//!   keep the total without raising a price, so that is refused.
//! - Bounded: the transformed cart is within the cart limits.
//!
//! Anything else is the hook's `invalid-output`, under its failure policy like any other.

use std::collections::HashMap;

use mandi_sdk::{Adjustment, AdjustmentKind, BundlePart, Cart, CartLine, CartOperation, Money};
use serde::Serialize;

use super::{Catalog, HookFailure, MAX_QUANTITY, check_cart_limits};

/// One operation as applied, for the quote: what was done and which lines it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedTransform<A> {
    /// `expand` or `merge`.
    pub op: &'static str,
    /// The bundle's sku: the line expanded, or the bundle merged into.
    pub bundle_sku: String,
    pub code: String,
    pub message: String,
    /// Indexes, in the transformed cart, of the lines the operation made (an expansion's parts,
    /// a merge's bundle line).
    pub lines: Vec<u32>,
    /// Who asked for it: the deployment and plugin version.
    pub source: A,
}

impl AppliedTransform<()> {
    /// The same operation attributed to `source`.
    pub fn attributed<A: Clone>(self, source: &A) -> AppliedTransform<A> {
        AppliedTransform {
            op: self.op,
            bundle_sku: self.bundle_sku,
            code: self.code,
            message: self.message,
            lines: self.lines,
            source: source.clone(),
        }
    }
}

/// The cart after a transform hook's operations.
#[derive(Debug, Clone)]
pub struct Transformed {
    pub cart: Cart,
    /// Bundle discounts on expanded parts, applied with pricing's adjustments.
    pub discounts: Vec<Adjustment>,
    pub applied: Vec<AppliedTransform<()>>,
}

fn invalid(message: String) -> HookFailure {
    HookFailure::InvalidOutput { message }
}

/// Applies `operations` to `cart` (see the module docs for the rules).
pub fn transformed(
    cart: &Cart,
    operations: Vec<CartOperation>,
    catalog: Catalog<'_>,
) -> Result<Transformed, HookFailure> {
    let mut skus: Vec<&str> = Vec::new();
    for op in &operations {
        let (parts, bundle) = match op {
            CartOperation::Expand { parts, .. } => (parts, None),
            CartOperation::Merge {
                parts, bundle_sku, ..
            } => (parts, Some(bundle_sku.as_str())),
        };
        skus.extend(parts.iter().map(|p| p.sku.as_str()).chain(bundle));
    }
    skus.sort_unstable();
    skus.dedup();
    let known: HashMap<String, CartLine> = if skus.is_empty() {
        HashMap::new()
    } else {
        (catalog(&skus).into_iter())
            .map(|line| (line.sku.clone(), line))
            .collect()
    };
    let product = |sku: &str, quantity: u64, at: &str| -> Result<CartLine, HookFailure> {
        let line = known
            .get(sku)
            .ok_or_else(|| invalid(format!("{at}: `{sku}` is not in the catalog")))?;
        let quantity = u32::try_from(quantity)
            .ok()
            .filter(|q| *q <= MAX_QUANTITY)
            .ok_or_else(|| {
                invalid(format!(
                    "{at}: {quantity} units of `{sku}` is over {MAX_QUANTITY} a line"
                ))
            })?;
        Ok(CartLine {
            quantity,
            ..line.clone()
        })
    };

    // Units left on each line of the cart as sent, after the merges take theirs.
    let mut left: Vec<u64> = cart.lines.iter().map(|l| u64::from(l.quantity)).collect();
    let mut expansions: HashMap<u32, (Vec<BundlePart>, String, String)> = HashMap::new();
    let mut merges = Vec::new();
    for (i, op) in operations.into_iter().enumerate() {
        match op {
            CartOperation::Expand {
                line,
                parts,
                code,
                message,
            } => {
                expansions.insert(line, (parts, code, message));
            }
            CartOperation::Merge {
                parts,
                bundle_sku,
                quantity,
                code,
                message,
            } => merges.push((i, parts, bundle_sku, quantity, code, message)),
        }
    }
    for (i, parts, _, bundles, code, _) in &merges {
        let at = format!("cart operation {i} ({code})");
        for part in parts {
            let wanted = u64::from(part.quantity) * u64::from(*bundles);
            let line = (cart.lines.iter().enumerate())
                .position(|(j, l)| l.sku == part.sku && !expansions.contains_key(&(j as u32)))
                .ok_or_else(|| invalid(format!("{at}: no line of `{}` to merge from", part.sku)))?;
            if left[line] < wanted {
                return Err(invalid(format!(
                    "{at}: {wanted} units of `{}` wanted, the cart has {} left",
                    part.sku, left[line]
                )));
            }
            left[line] -= wanted;
        }
    }

    let mut lines: Vec<CartLine> = Vec::with_capacity(cart.lines.len());
    let mut discounts = Vec::new();
    let mut applied = Vec::new();
    for (j, line) in cart.lines.iter().enumerate() {
        let Some((parts, code, message)) = expansions.remove(&(j as u32)) else {
            if left[j] > 0 {
                lines.push(CartLine {
                    quantity: left[j] as u32,
                    ..line.clone()
                });
            }
            continue;
        };
        let at = format!("expansion of line {j} ({code})");
        let first = lines.len();
        for part in &parts {
            let units = u64::from(part.quantity) * u64::from(line.quantity);
            lines.push(product(&part.sku, units, &at)?);
        }
        let made = &lines[first..];
        let bundle_total = i128::from(line.unit_price.amount) * i128::from(line.quantity);
        let shares =
            bundle_discount(made, bundle_total).map_err(|why| invalid(format!("{at}: {why}")))?;
        for (k, share) in shares.into_iter().enumerate() {
            if share > 0 {
                discounts.push(Adjustment::line(
                    (first + k) as u32,
                    AdjustmentKind::AmountOff(Money::new(share, cart.currency.clone())),
                    code.clone(),
                    message.clone(),
                ));
            }
        }
        applied.push(AppliedTransform {
            op: "expand",
            bundle_sku: line.sku.clone(),
            code,
            message,
            lines: (first as u32..lines.len() as u32).collect(),
            source: (),
        });
    }
    for (i, _, bundle_sku, bundles, code, message) in merges {
        let at = format!("cart operation {i} ({code})");
        lines.push(product(&bundle_sku, u64::from(bundles), &at)?);
        applied.push(AppliedTransform {
            op: "merge",
            bundle_sku,
            code,
            message,
            lines: vec![lines.len() as u32 - 1],
            source: (),
        });
    }
    let cart = Cart {
        lines,
        ..cart.clone()
    };
    if cart.lines.is_empty() {
        return Err(invalid("the transformed cart has no lines".into()));
    }
    check_cart_limits(&cart).map_err(|e| invalid(format!("the transformed cart: {e}")))?;
    Ok(Transformed {
        cart,
        discounts,
        applied,
    })
}

/// What each part's line gives up so the parts cost `bundle_total`: the parts' catalog total
/// beyond it, shared in proportion to each part's line (largest remainder, exact).
fn bundle_discount(parts: &[CartLine], bundle_total: i128) -> Result<Vec<i64>, String> {
    let totals: Vec<i128> = parts
        .iter()
        .map(|p| i128::from(p.unit_price.amount) * i128::from(p.quantity))
        .collect();
    let parts_total: i128 = totals.iter().sum();
    let discount = parts_total - bundle_total;
    if discount < 0 {
        return Err(format!(
            "the parts cost {parts_total} at catalog prices, less than the bundle's \
             {bundle_total}: a bundle cannot cost more than its parts"
        ));
    }
    if discount == 0 {
        return Ok(vec![0; parts.len()]);
    }
    // parts_total > 0 here, as the discount is positive and bundle_total is not negative.
    let mut shares: Vec<i128> = totals.iter().map(|t| discount * t / parts_total).collect();
    let mut rest = discount - shares.iter().sum::<i128>();
    let mut by_remainder: Vec<usize> = (0..parts.len()).collect();
    by_remainder.sort_by_key(|&k| std::cmp::Reverse(discount * totals[k] % parts_total));
    for k in by_remainder {
        if rest == 0 {
            break;
        }
        shares[k] += 1;
        rest -= 1;
    }
    // Each share is at most its line's total, and all of them at most the parts' total, which
    // the cart limits keep within i64.
    Ok(shares
        .into_iter()
        .map(|s| i64::try_from(s).expect("a share is at most a line total"))
        .collect())
}

#[cfg(test)]
mod tests {
    use mandi_sdk::testing::{CartBuilder, line};

    use super::*;

    fn catalog(skus: &[&str]) -> Vec<CartLine> {
        [
            ("OATS", 20_000),
            ("MILK", 6_000),
            ("COMBO", 30_000),
            ("JAM", 15_000),
        ]
        .into_iter()
        .filter(|(sku, _)| skus.contains(sku))
        .map(|(sku, price)| line(sku, 1, price))
        .collect()
    }

    fn expand(line: u32, parts: &[(&str, u32)]) -> CartOperation {
        CartOperation::Expand {
            line,
            parts: parts.iter().map(|(s, q)| BundlePart::new(*s, *q)).collect(),
            code: "COMBO".into(),
            message: "Breakfast combo".into(),
        }
    }

    fn summary(cart: &Cart) -> Vec<(&str, u32)> {
        cart.lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect()
    }

    #[test]
    fn an_expanded_bundle_keeps_its_total_through_an_exact_discount() {
        // 3 combos at 300.00 = 900.00; parts: 3 oats (600.00) + 6 milk (360.00) = 960.00.
        let cart = CartBuilder::inr()
            .line(line("JAM", 1, 15_000))
            .line(line("COMBO", 3, 30_000))
            .build();
        let out = transformed(
            &cart,
            vec![expand(1, &[("OATS", 1), ("MILK", 2)])],
            &catalog,
        )
        .expect("applies");
        assert_eq!(summary(&out.cart), [("JAM", 1), ("OATS", 3), ("MILK", 6)]);
        let taken: Vec<(Option<u32>, i64)> = out
            .discounts
            .iter()
            .map(|d| match (&d.target, &d.kind) {
                (mandi_sdk::Target::Line(l), AdjustmentKind::AmountOff(m)) => (Some(*l), m.amount),
                _ => (None, 0),
            })
            .collect();
        // 60.00 off in proportion to 600.00 and 360.00: 37.50 and 22.50.
        assert_eq!(taken, [(Some(1), 3_750), (Some(2), 2_250)]);
        assert_eq!(out.applied[0].lines, [1, 2]);
        assert_eq!(out.applied[0].bundle_sku, "COMBO");
    }

    #[test]
    fn a_merge_takes_exact_units_and_adds_the_bundle_at_catalog_price() {
        let cart = CartBuilder::inr()
            .line(line("OATS", 3, 20_000))
            .line(line("MILK", 2, 6_000))
            .build();
        let merge = CartOperation::Merge {
            parts: vec![BundlePart::new("OATS", 1), BundlePart::new("MILK", 2)],
            bundle_sku: "COMBO".into(),
            quantity: 1,
            code: "COMBO".into(),
            message: String::new(),
        };
        let out = transformed(&cart, vec![merge.clone()], &catalog).expect("applies");
        assert_eq!(summary(&out.cart), [("OATS", 2), ("COMBO", 1)]);
        assert_eq!(out.cart.lines[1].unit_price, Money::inr(30_000));
        assert!(out.discounts.is_empty());

        let CartOperation::Merge { parts, .. } = &merge else {
            unreachable!()
        };
        let twice = CartOperation::Merge {
            parts: parts.clone(),
            bundle_sku: "COMBO".into(),
            quantity: 2,
            code: "COMBO".into(),
            message: String::new(),
        };
        let err = transformed(&cart, vec![twice], &catalog).unwrap_err();
        assert!(
            err.to_string()
                .contains("4 units of `MILK` wanted, the cart has 2"),
            "{err}"
        );
    }

    #[test]
    fn unknown_skus_and_bundles_dearer_than_their_parts_are_invalid_output() {
        let cart = CartBuilder::inr().line(line("COMBO", 1, 30_000)).build();
        let err = transformed(&cart, vec![expand(0, &[("GHOST", 1)])], &catalog).unwrap_err();
        assert!(
            err.to_string().contains("`GHOST` is not in the catalog"),
            "{err}"
        );
        let err = transformed(&cart, vec![expand(0, &[("MILK", 1)])], &catalog).unwrap_err();
        assert!(
            err.to_string().contains("cannot cost more than its parts"),
            "{err}"
        );
    }

    #[test]
    fn a_transformed_cart_stays_within_the_line_quantity_limit() {
        let cart = CartBuilder::inr()
            .line(line("COMBO", 5_000, 30_000))
            .build();
        let err = transformed(&cart, vec![expand(0, &[("MILK", 3)])], &catalog).unwrap_err();
        assert!(
            err.to_string()
                .contains("15000 units of `MILK` is over 10000"),
            "{err}"
        );
    }
}

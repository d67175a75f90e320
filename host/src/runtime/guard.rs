//! Contract checks at the sandbox boundary. Inputs: every amount is in the cart's currency
//! (amounts cross as bare minor units, so a mismatch would otherwise pass silently) — a failure
//! is `invalid-input`. Outputs: indexes in range, amounts non-negative, every line delivered
//! exactly once by a node that has the stock, sizes within limits — a failure is `invalid-output`.

use std::collections::HashMap;

use mandi_sdk::{
    AdjustmentKind, Cart, DeliveryOption, FulfillmentNode, Money, PricedCart, PricingResult,
    Target, Violation,
};

use mandi_sdk as m;

type Check = Result<(), String>;

/// Codes and messages are shown to shoppers and stored; this keeps them to a sane length.
const MAX_TEXT_BYTES: usize = 1024;

pub(crate) fn check_pricing(result: &PricingResult, cart: &Cart) -> Check {
    for (i, adj) in result.adjustments.iter().enumerate() {
        let at = format!("adjustment {i} ({})", adj.code);
        check_text(&at, "code", &adj.code, true)?;
        check_text(&at, "message", &adj.message, false)?;
        if let Target::Line(line) = adj.target {
            check_line(&at, line, cart.lines.len())?;
        }
        match &adj.kind {
            AdjustmentKind::PercentOff(p) if p.bps() > 10_000 => {
                return Err(format!("{at}: percent-off of {p} is over 100%"));
            }
            AdjustmentKind::PercentOff(_) => {}
            AdjustmentKind::AmountOff(m) => check_amount(&at, m)?,
            AdjustmentKind::PriceOverride(m) => {
                check_amount(&at, m)?;
                if adj.target == Target::Order {
                    return Err(format!("{at}: price-override needs a line target"));
                }
            }
        }
    }
    for (i, item) in result.free_items.iter().enumerate() {
        let at = format!("free item {i} ({})", item.sku);
        check_text(&at, "sku", &item.sku, true)?;
        check_text(&at, "code", &item.code, true)?;
        check_text(&at, "message", &item.message, false)?;
        if item.quantity == 0 {
            return Err(format!("{at}: quantity must be at least 1"));
        }
    }
    Ok(())
}

pub(crate) fn check_violations(violations: &[Violation], cart: &PricedCart) -> Check {
    for (i, v) in violations.iter().enumerate() {
        let at = format!("violation {i} ({})", v.code);
        check_text(&at, "code", &v.code, true)?;
        check_text(&at, "message", &v.message, false)?;
        if let Some(line) = v.line {
            check_line(&at, line, cart.cart.lines.len())?;
        }
    }
    Ok(())
}

pub(crate) fn check_delivery_options(
    options: &[DeliveryOption],
    cart: &PricedCart,
    nodes: &[FulfillmentNode],
) -> Check {
    let lines = &cart.cart.lines;
    let nodes: HashMap<&str, &FulfillmentNode> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    for (i, option) in options.iter().enumerate() {
        let at = format!("delivery option {i} ({})", option.code);
        check_text(&at, "code", &option.code, true)?;
        check_text(&at, "method", &option.method, true)?;
        check_text(&at, "label", &option.label, false)?;
        check_amount(&at, &option.cost)?;
        let mut assigned = vec![false; lines.len()];
        // Units of each (node, sku) this option takes, so two lines of one sku cannot both
        // claim the same stock.
        let mut taken: HashMap<(&str, &str), u64> = HashMap::new();
        for a in &option.assignments {
            check_line(&at, a.line, lines.len())?;
            let slot = &mut assigned[a.line as usize];
            if *slot {
                return Err(format!("{at}: line {} is assigned more than once", a.line));
            }
            *slot = true;
            let node = nodes.get(a.node_id.as_str()).ok_or_else(|| {
                format!("{at}: line {} goes to unknown node `{}`", a.line, a.node_id)
            })?;
            let line = &lines[a.line as usize];
            let units = taken
                .entry((node.id.as_str(), line.sku.as_str()))
                .or_default();
            *units += u64::from(line.quantity);
            if *units > u64::from(node.stock_of(&line.sku)) {
                return Err(format!(
                    "{at}: node `{}` does not have {} of `{}` in stock",
                    node.id, units, line.sku
                ));
            }
        }
        if let Some(missing) = assigned.iter().position(|done| !done) {
            return Err(format!("{at}: line {missing} is not assigned to any node"));
        }
    }
    Ok(())
}

/// Operations name lines that exist (each expanded at most once), parts with units, text of
/// sane length. What needs the catalog (are the skus real, are there enough units to merge)
/// is checked when the pipeline applies them.
pub(crate) fn check_cart_operations(operations: &[m::CartOperation], cart: &Cart) -> Check {
    let mut expanded = vec![false; cart.lines.len()];
    for (i, op) in operations.iter().enumerate() {
        let (parts, code, message) = match op {
            m::CartOperation::Expand {
                parts,
                code,
                message,
                ..
            }
            | m::CartOperation::Merge {
                parts,
                code,
                message,
                ..
            } => (parts, code, message),
        };
        let at = format!("cart operation {i} ({code})");
        check_text(&at, "code", code, true)?;
        check_text(&at, "message", message, false)?;
        if parts.is_empty() {
            return Err(format!("{at}: a bundle has at least one part"));
        }
        for (j, part) in parts.iter().enumerate() {
            check_text(&at, "part sku", &part.sku, true)?;
            if part.quantity == 0 {
                return Err(format!("{at}: part {j} ({}) has no units", part.sku));
            }
            if parts[..j].iter().any(|p| p.sku == part.sku) {
                return Err(format!("{at}: part {} is listed twice", part.sku));
            }
        }
        match op {
            m::CartOperation::Expand { line, .. } => {
                check_line(&at, *line, cart.lines.len())?;
                let done = &mut expanded[*line as usize];
                if *done {
                    return Err(format!("{at}: line {line} is expanded more than once"));
                }
                *done = true;
            }
            m::CartOperation::Merge {
                bundle_sku,
                quantity,
                ..
            } => {
                check_text(&at, "bundle sku", bundle_sku, true)?;
                if *quantity == 0 {
                    return Err(format!("{at}: a merge makes at least one bundle"));
                }
            }
        }
    }
    Ok(())
}

/// Every operation names a method the hook was offered; a name is shown to shoppers, so it is
/// text of sane length; a position is within the list.
pub(crate) fn check_payment_operations(
    operations: &[m::PaymentOperation],
    methods: &[m::PaymentMethod],
) -> Check {
    // More operations than three per method can only be a loop gone wrong.
    let most = methods.len() * 3;
    if operations.len() > most {
        return Err(format!(
            "{} payment operations for {} methods (at most {most})",
            operations.len(),
            methods.len()
        ));
    }
    for (i, op) in operations.iter().enumerate() {
        let id = op.method_id();
        let at = format!("payment operation {i} ({id})");
        if !methods.iter().any(|m| m.id == id) {
            return Err(format!("{at}: no payment method has the id `{id}`"));
        }
        match op {
            m::PaymentOperation::Rename { name, .. } => check_text(&at, "name", name, true)?,
            m::PaymentOperation::Move { index, .. } if *index as usize >= methods.len() => {
                return Err(format!(
                    "{at}: position {index} is past the last of {} methods",
                    methods.len()
                ));
            }
            m::PaymentOperation::Hide { .. } | m::PaymentOperation::Move { .. } => {}
        }
    }
    Ok(())
}

/// Every amount handed to a plugin must be in the cart's currency.
pub(crate) fn check_input_currency(
    cart: &Cart,
    priced: Option<&PricedCart>,
    defaults: &[DeliveryOption],
) -> Check {
    let currency = cart.currency.as_str();
    // The label is only built when something is wrong: this runs on every call.
    let same = |m: &Money, what: &dyn Fn() -> String| {
        if m.currency == currency {
            Ok(())
        } else {
            Err(format!(
                "{} is in {} but the cart is in {currency}",
                what(),
                m.currency
            ))
        }
    };
    for (i, line) in cart.lines.iter().enumerate() {
        same(&line.unit_price, &|| format!("line {i} unit price"))?;
    }
    if let Some(p) = priced {
        for l in &p.lines {
            for m in [&l.unit_price, &l.subtotal, &l.discount, &l.total] {
                same(m, &|| format!("priced line {}", l.line))?;
            }
        }
        for (name, m) in [
            ("subtotal", &p.subtotal),
            ("discount", &p.discount),
            ("total", &p.total),
        ] {
            same(m, &|| name.to_owned())?;
        }
        for a in &p.adjustments {
            if let AdjustmentKind::AmountOff(m) | AdjustmentKind::PriceOverride(m) = &a.kind {
                same(m, &|| format!("adjustment {}", a.code))?;
            }
        }
    }
    for o in defaults {
        same(&o.cost, &|| format!("default option {} cost", o.code))?;
    }
    Ok(())
}

fn check_line(at: &str, line: u32, len: usize) -> Check {
    if (line as usize) < len {
        Ok(())
    } else {
        Err(format!(
            "{at}: line {line} does not exist (the cart has {len} lines)"
        ))
    }
}

fn check_amount(at: &str, money: &Money) -> Check {
    if money.amount < 0 {
        return Err(format!("{at}: amount {} is negative", money.amount));
    }
    Ok(())
}

/// `text` cut to [`MAX_TEXT_BYTES`] (on a character boundary), saying so: for plugin text the
/// host keeps rather than refuses, such as a business error's message.
pub(crate) fn truncated(mut text: String) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let original = text.len();
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("... [{original} bytes, cut to {end}]"));
    text
}

fn check_text(at: &str, field: &str, value: &str, required: bool) -> Check {
    if required && value.trim().is_empty() {
        return Err(format!("{at}: {field} is empty"));
    }
    if value.len() > MAX_TEXT_BYTES {
        return Err(format!("{at}: {field} is over {MAX_TEXT_BYTES} bytes"));
    }
    Ok(())
}

/// Approximate encoded size of a value as the plugin sees it: string bytes plus a fixed cost
/// per record field. Cheap enough to compute on every call, unlike serializing.
pub(crate) trait WireSize {
    fn wire_size(&self) -> usize;
}

const SCALAR: usize = 8;

impl WireSize for String {
    fn wire_size(&self) -> usize {
        SCALAR + self.len()
    }
}

impl<T: WireSize> WireSize for Vec<T> {
    fn wire_size(&self) -> usize {
        SCALAR + self.iter().map(WireSize::wire_size).sum::<usize>()
    }
}

impl<T: WireSize> WireSize for [T] {
    fn wire_size(&self) -> usize {
        SCALAR + self.iter().map(WireSize::wire_size).sum::<usize>()
    }
}

impl<T: WireSize> WireSize for Option<T> {
    fn wire_size(&self) -> usize {
        SCALAR + self.as_ref().map_or(0, WireSize::wire_size)
    }
}

impl<A: WireSize, B: WireSize> WireSize for (A, B) {
    fn wire_size(&self) -> usize {
        self.0.wire_size() + self.1.wire_size()
    }
}

macro_rules! scalar_wire_size {
    ($($t:ty),*) => { $(impl WireSize for $t { fn wire_size(&self) -> usize { SCALAR } })* };
}

scalar_wire_size!(u32, i32, i64, m::Percent, Target);

/// Sum of the named fields' sizes.
macro_rules! record_wire_size {
    ($($t:ty { $($field:ident),* })*) => {
        $(impl WireSize for $t {
            fn wire_size(&self) -> usize {
                0 $(+ self.$field.wire_size())*
            }
        })*
    };
}

record_wire_size! {
    Money { amount, currency }
    m::Attribute { key, value }
    m::Product { title, category, brand, tags, attributes }
    m::CartLine { sku, quantity, unit_price, product }
    m::Customer { id, segment, tags }
    m::Address { line1, pincode, city, state, subdivision, country }
    m::PaymentMethod { id, name, kind }
    m::BundlePart { sku, quantity }
    Cart { currency, lines, customer, shipping_address, coupon_codes, attributes }
    m::Context { tenant_id, request_id, now_unix_ms, time_zone, utc_offset_minutes }
    m::Adjustment { target, kind, code, message }
    m::FreeItem { sku, quantity, code, message }
    PricingResult { adjustments, free_items }
    m::PricedLine { line, unit_price, subtotal, discount, total }
    PricedCart { cart, lines, adjustments, subtotal, discount, total }
    m::StockLevel { sku, quantity }
    FulfillmentNode { id, kind, pincode, stock, tags }
    m::LineAssignment { line, node_id }
    DeliveryOption { code, method, assignments, cost, eta_minutes, label }
    Violation { code, message, line }
}

impl WireSize for m::CartOperation {
    fn wire_size(&self) -> usize {
        match self {
            m::CartOperation::Expand {
                line,
                parts,
                code,
                message,
            } => line.wire_size() + parts.wire_size() + code.wire_size() + message.wire_size(),
            m::CartOperation::Merge {
                parts,
                bundle_sku,
                quantity,
                code,
                message,
            } => {
                parts.wire_size()
                    + bundle_sku.wire_size()
                    + quantity.wire_size()
                    + code.wire_size()
                    + message.wire_size()
            }
        }
    }
}

impl WireSize for m::PaymentOperation {
    fn wire_size(&self) -> usize {
        match self {
            m::PaymentOperation::Hide { id } => id.wire_size(),
            m::PaymentOperation::Rename { id, name } => id.wire_size() + name.wire_size(),
            m::PaymentOperation::Move { id, .. } => id.wire_size() + SCALAR,
        }
    }
}

impl WireSize for AdjustmentKind {
    fn wire_size(&self) -> usize {
        match self {
            AdjustmentKind::PercentOff(_) => SCALAR,
            AdjustmentKind::AmountOff(m) | AdjustmentKind::PriceOverride(m) => m.wire_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mandi_sdk::testing::{CartBuilder, line, node};
    use mandi_sdk::{Adjustment, LineAssignment, Percent};

    fn option(assignments: &[(u32, &str)]) -> DeliveryOption {
        DeliveryOption {
            code: "std".into(),
            method: "standard".into(),
            assignments: assignments
                .iter()
                .map(|(line, node)| LineAssignment {
                    line: *line,
                    node_id: (*node).into(),
                })
                .collect(),
            cost: Money::inr(0),
            eta_minutes: 60,
            label: "Standard".into(),
        }
    }

    #[test]
    fn delivery_must_cover_each_line_once_from_stock() {
        let cart = CartBuilder::inr()
            .line(line("A", 2, 100))
            .line(line("A", 2, 100))
            .priced();
        let nodes = [
            node("N1", "warehouse", "400001", &[("A", 3)]),
            node("N2", "store", "400002", &[("A", 2)]),
        ];
        assert!(check_delivery_options(&[option(&[(0, "N1"), (1, "N2")])], &cart, &nodes).is_ok());
        let err =
            check_delivery_options(&[option(&[(0, "N1"), (1, "N1")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("does not have 4 of `A`"), "{err}");
        let err = check_delivery_options(&[option(&[(0, "N1")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("line 1 is not assigned"), "{err}");
        let err =
            check_delivery_options(&[option(&[(0, "N1"), (0, "N2")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("more than once"), "{err}");
        let err =
            check_delivery_options(&[option(&[(0, "N1"), (1, "X")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("unknown node `X`"), "{err}");
    }

    #[test]
    fn pricing_output_is_checked_against_the_cart() {
        let cart = CartBuilder::inr().line(line("A", 1, 100)).build();
        let with = |adj: Adjustment| PricingResult {
            adjustments: vec![adj],
            free_items: vec![],
        };
        let ok = Adjustment::line(
            0,
            AdjustmentKind::PercentOff(Percent::from_percent(10)),
            "X",
            "",
        );
        assert!(check_pricing(&with(ok), &cart).is_ok());
        let bad_line = Adjustment::line(
            3,
            AdjustmentKind::PercentOff(Percent::from_percent(10)),
            "X",
            "",
        );
        assert!(
            check_pricing(&with(bad_line), &cart)
                .unwrap_err()
                .contains("line 3 does not exist")
        );
        let over = Adjustment::order(
            AdjustmentKind::PercentOff(Percent::from_bps(10_001)),
            "X",
            "",
        );
        assert!(
            check_pricing(&with(over), &cart)
                .unwrap_err()
                .contains("over 100%")
        );
        let negative = Adjustment::order(AdjustmentKind::AmountOff(Money::inr(-5)), "X", "");
        assert!(
            check_pricing(&with(negative), &cart)
                .unwrap_err()
                .contains("negative")
        );
        let order_override =
            Adjustment::order(AdjustmentKind::PriceOverride(Money::inr(5)), "X", "");
        assert!(
            check_pricing(&with(order_override), &cart)
                .unwrap_err()
                .contains("line target")
        );
        let no_code = Adjustment::order(AdjustmentKind::AmountOff(Money::inr(5)), " ", "");
        assert!(
            check_pricing(&with(no_code), &cart)
                .unwrap_err()
                .contains("code is empty")
        );
    }

    #[test]
    fn inputs_in_another_currency_are_refused() {
        let mut cart = CartBuilder::inr().line(line("A", 1, 100)).build();
        assert!(check_input_currency(&cart, None, &[]).is_ok());
        cart.lines[0].unit_price = Money::new(100, "USD");
        let err = check_input_currency(&cart, None, &[]).unwrap_err();
        assert_eq!(err, "line 0 unit price is in USD but the cart is in INR");
        let priced = CartBuilder::inr().line(line("A", 1, 100)).priced();
        let mut usd_option = option(&[(0, "N1")]);
        usd_option.cost = Money::new(5, "USD");
        let err = check_input_currency(&priced.cart, Some(&priced), &[usd_option]).unwrap_err();
        assert!(
            err.starts_with("default option std cost is in USD"),
            "{err}"
        );
    }

    #[test]
    fn wire_size_grows_with_strings() {
        let small = CartBuilder::inr().line(line("A", 1, 100)).build();
        let big = CartBuilder::inr()
            .line(line(&"A".repeat(10_000), 1, 100))
            .build();
        assert!(big.wire_size() >= small.wire_size() + 9_999);
    }
}

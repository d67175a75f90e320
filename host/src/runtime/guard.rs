//! What every hook's checks share at the sandbox boundary. Inputs: every amount is in the cart's
//! currency (amounts cross as bare minor units, so a mismatch would otherwise pass silently) — a
//! failure is `invalid-input`. Outputs: the rules every hook's output follows (line indexes in
//! range, amounts non-negative, texts of sane length) and sizes; each hook's own rules are in
//! its module of `hooks/`, and a breach of either is `invalid-output`.

use mandi_sdk::{
    AdjustmentKind, Cart, DeliveryOption, FulfillmentNode, Money, PricedCart, PricingResult,
    Target, Violation,
};

use mandi_sdk as m;

pub(super) type Check = Result<(), String>;

/// Codes and messages are shown to shoppers and stored; this keeps them to a sane length.
const MAX_TEXT_BYTES: usize = 1024;

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

pub(super) fn check_line(at: &str, line: u32, len: usize) -> Check {
    if (line as usize) < len {
        Ok(())
    } else {
        Err(format!(
            "{at}: line {line} does not exist (the cart has {len} lines)"
        ))
    }
}

pub(super) fn check_amount(at: &str, money: &Money) -> Check {
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

pub(super) fn check_text(at: &str, field: &str, value: &str, required: bool) -> Check {
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

pub(super) const SCALAR: usize = 8;

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
    use mandi_sdk::testing::{CartBuilder, line};

    #[test]
    fn inputs_in_another_currency_are_refused() {
        let mut cart = CartBuilder::inr().line(line("A", 1, 100)).build();
        assert!(check_input_currency(&cart, None, &[]).is_ok());
        cart.lines[0].unit_price = Money::new(100, "USD");
        let err = check_input_currency(&cart, None, &[]).unwrap_err();
        assert_eq!(err, "line 0 unit price is in USD but the cart is in INR");
        let priced = CartBuilder::inr().line(line("A", 1, 100)).priced();
        let usd_option = DeliveryOption {
            code: "std".into(),
            method: "standard".into(),
            assignments: Vec::new(),
            cost: Money::new(5, "USD"),
            eta_minutes: 60,
            label: "Standard".into(),
        };
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

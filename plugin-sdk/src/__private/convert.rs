//! Conversions between generated binding types and the SDK's own types. On the wire every
//! amount is minor units of the cart's currency; the SDK hands plugins `Money` values with that
//! currency attached, and on the way out refuses amounts in any other currency.

use super::bindings::cart_transform_world::exports::mandi::commerce::cart_transform as wit_transform;
use super::bindings::payment_world::exports::mandi::commerce::payment as wit_payment;
use super::bindings::{wit, wit_pricing};
use crate::{Money, Percent, PluginError};

fn money(amount: i64, currency: &str) -> Money {
    Money::new(amount, currency)
}

/// The amount of `m`, which must be in the cart's currency.
fn amount(m: Money, currency: &str, what: &str) -> Result<i64, PluginError> {
    if m.currency == currency {
        Ok(m.amount)
    } else {
        Err(PluginError::new(
            "currency-mismatch",
            format!("{what} is in {} but the cart is in {currency}", m.currency),
        ))
    }
}

fn attributes(list: Vec<wit::Attribute>) -> Vec<crate::Attribute> {
    list.into_iter()
        .map(|a| crate::Attribute {
            key: a.key,
            value: a.value,
        })
        .collect()
}

impl From<wit::Context> for crate::Context {
    fn from(c: wit::Context) -> Self {
        Self {
            tenant_id: c.tenant_id,
            request_id: c.request_id,
            now_unix_ms: c.now_unix_ms,
            time_zone: c.time_zone,
            utc_offset_minutes: c.utc_offset_minutes,
        }
    }
}

pub(crate) fn cart(c: wit::Cart) -> crate::Cart {
    let currency = c.currency;
    crate::Cart {
        lines: c
            .lines
            .into_iter()
            .map(|l| crate::CartLine {
                sku: l.sku,
                quantity: l.quantity,
                unit_price: money(l.unit_price, &currency),
                product: crate::Product {
                    title: l.product.title,
                    category: l.product.category,
                    brand: l.product.brand,
                    tags: l.product.tags,
                    attributes: attributes(l.product.attributes),
                },
            })
            .collect(),
        customer: crate::Customer {
            id: c.customer.id,
            segment: c.customer.segment,
            tags: c.customer.tags,
        },
        shipping_address: c.shipping_address.map(|a| crate::Address {
            line1: a.line1,
            pincode: a.pincode,
            city: a.city,
            state: a.state,
            subdivision: a.subdivision,
            country: a.country,
        }),
        coupon_codes: c.coupon_codes,
        attributes: attributes(c.attributes),
        currency,
    }
}

fn adjustment(a: wit::Adjustment, currency: &str) -> crate::Adjustment {
    crate::Adjustment {
        target: match a.target {
            wit::Target::Line(i) => crate::Target::Line(i),
            wit::Target::Order => crate::Target::Order,
        },
        kind: match a.kind {
            wit::AdjustmentKind::PercentOff(bps) => {
                crate::AdjustmentKind::PercentOff(Percent::from_bps(bps))
            }
            wit::AdjustmentKind::AmountOff(x) => {
                crate::AdjustmentKind::AmountOff(money(x, currency))
            }
            wit::AdjustmentKind::PriceOverride(x) => {
                crate::AdjustmentKind::PriceOverride(money(x, currency))
            }
        },
        code: a.code,
        message: a.message,
    }
}

fn adjustment_out(a: crate::Adjustment, currency: &str) -> Result<wit::Adjustment, PluginError> {
    let what = || format!("adjustment {}", a.code);
    let kind = match a.kind {
        crate::AdjustmentKind::PercentOff(p) => wit::AdjustmentKind::PercentOff(p.bps()),
        crate::AdjustmentKind::AmountOff(m) => {
            wit::AdjustmentKind::AmountOff(amount(m, currency, &what())?)
        }
        crate::AdjustmentKind::PriceOverride(m) => {
            wit::AdjustmentKind::PriceOverride(amount(m, currency, &what())?)
        }
    };
    Ok(wit::Adjustment {
        target: match a.target {
            crate::Target::Line(i) => wit::Target::Line(i),
            crate::Target::Order => wit::Target::Order,
        },
        kind,
        code: a.code,
        message: a.message,
    })
}

pub(crate) fn priced_cart(p: wit::PricedCart) -> crate::PricedCart {
    let cart = cart(p.cart);
    let currency = cart.currency.clone();
    crate::PricedCart {
        lines: p
            .lines
            .into_iter()
            .map(|l| crate::PricedLine {
                line: l.line,
                unit_price: money(l.unit_price, &currency),
                subtotal: money(l.subtotal, &currency),
                discount: money(l.discount, &currency),
                total: money(l.total, &currency),
            })
            .collect(),
        adjustments: p
            .adjustments
            .into_iter()
            .map(|a| adjustment(a, &currency))
            .collect(),
        subtotal: money(p.subtotal, &currency),
        discount: money(p.discount, &currency),
        total: money(p.total, &currency),
        cart,
    }
}

impl From<wit::FulfillmentNode> for crate::FulfillmentNode {
    fn from(n: wit::FulfillmentNode) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            pincode: n.pincode,
            stock: n
                .stock
                .into_iter()
                .map(|s| crate::StockLevel {
                    sku: s.sku,
                    quantity: s.quantity,
                })
                .collect(),
            tags: n.tags,
        }
    }
}

pub(crate) fn delivery_option(o: wit::DeliveryOption, currency: &str) -> crate::DeliveryOption {
    crate::DeliveryOption {
        code: o.code,
        method: o.method,
        assignments: o
            .assignments
            .into_iter()
            .map(|a| crate::LineAssignment {
                line: a.line,
                node_id: a.node_id,
            })
            .collect(),
        cost: money(o.cost, currency),
        eta_minutes: o.eta_minutes,
        label: o.label,
    }
}

pub(crate) fn delivery_option_out(
    o: crate::DeliveryOption,
    currency: &str,
) -> Result<wit::DeliveryOption, PluginError> {
    let cost = amount(
        o.cost,
        currency,
        &format!("delivery option {} cost", o.code),
    )?;
    Ok(wit::DeliveryOption {
        code: o.code,
        method: o.method,
        assignments: o
            .assignments
            .into_iter()
            .map(|a| wit::LineAssignment {
                line: a.line,
                node_id: a.node_id,
            })
            .collect(),
        cost,
        eta_minutes: o.eta_minutes,
        label: o.label,
    })
}

impl From<crate::Violation> for wit::Violation {
    fn from(v: crate::Violation) -> Self {
        Self {
            code: v.code,
            message: v.message,
            line: v.line,
        }
    }
}

impl From<PluginError> for wit::PluginError {
    fn from(e: PluginError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

pub(crate) fn pricing_result_out(
    r: crate::PricingResult,
    currency: &str,
) -> Result<wit_pricing::PricingResult, PluginError> {
    Ok(wit_pricing::PricingResult {
        adjustments: r
            .adjustments
            .into_iter()
            .map(|a| adjustment_out(a, currency))
            .collect::<Result<_, _>>()?,
        free_items: r
            .free_items
            .into_iter()
            .map(|f| wit_pricing::FreeItem {
                sku: f.sku,
                quantity: f.quantity,
                code: f.code,
                message: f.message,
            })
            .collect(),
    })
}

pub(crate) fn payment_method(m: wit_payment::PaymentMethod) -> crate::PaymentMethod {
    crate::PaymentMethod {
        id: m.id,
        name: m.name,
        kind: m.kind,
    }
}

pub(crate) fn payment_operation_out(op: crate::PaymentOperation) -> wit_payment::PaymentOperation {
    match op {
        crate::PaymentOperation::Hide { id } => wit_payment::PaymentOperation::Hide(id),
        crate::PaymentOperation::Rename { id, name } => {
            wit_payment::PaymentOperation::Rename(wit_payment::Rename { id, name })
        }
        crate::PaymentOperation::Move { id, index } => {
            wit_payment::PaymentOperation::Move(wit_payment::MoveTo { id, index })
        }
    }
}

fn bundle_parts(parts: Vec<crate::BundlePart>) -> Vec<wit_transform::BundlePart> {
    parts
        .into_iter()
        .map(|p| wit_transform::BundlePart {
            sku: p.sku,
            quantity: p.quantity,
        })
        .collect()
}

pub(crate) fn cart_operation_out(op: crate::CartOperation) -> wit_transform::CartOperation {
    match op {
        crate::CartOperation::Expand {
            line,
            parts,
            code,
            message,
        } => wit_transform::CartOperation::Expand(wit_transform::Expand {
            line,
            parts: bundle_parts(parts),
            code,
            message,
        }),
        crate::CartOperation::Merge {
            parts,
            bundle_sku,
            quantity,
            code,
            message,
        } => wit_transform::CartOperation::Merge(wit_transform::Merge {
            parts: bundle_parts(parts),
            bundle_sku,
            quantity,
            code,
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adjustment, AdjustmentKind, PricingResult};

    #[test]
    fn amounts_in_another_currency_are_refused() {
        let mut result = PricingResult::default();
        result.adjust(Adjustment::order(
            AdjustmentKind::AmountOff(Money::new(500, "USD")),
            "FIVE",
            "5 off",
        ));
        let err = pricing_result_out(result, "INR").unwrap_err();
        assert_eq!(err.code, "currency-mismatch");
        assert_eq!(
            err.message,
            "adjustment FIVE is in USD but the cart is in INR"
        );
    }

    #[test]
    fn amounts_in_the_cart_currency_pass_through() {
        let mut result = PricingResult::default();
        result.adjust(Adjustment::line(
            2,
            AdjustmentKind::PriceOverride(Money::inr(999)),
            "P",
            "",
        ));
        let out = pricing_result_out(result, "INR").unwrap();
        assert!(matches!(
            out.adjustments[0].kind,
            wit::AdjustmentKind::PriceOverride(999)
        ));
    }
}

//! Conversions between generated binding types and the SDK's own types. Inputs are converted
//! by value (the host already gave us owned data), outputs likewise.

use super::bindings::{wit, wit_pricing};
use crate::{Money, Percent};

impl From<wit::Money> for Money {
    fn from(m: wit::Money) -> Self {
        Money::new(m.amount, m.currency)
    }
}

impl From<Money> for wit::Money {
    fn from(m: Money) -> Self {
        wit::Money {
            amount: m.amount,
            currency: m.currency,
        }
    }
}

impl From<wit::Attribute> for crate::Attribute {
    fn from(a: wit::Attribute) -> Self {
        Self {
            key: a.key,
            value: a.value,
        }
    }
}

fn attributes(list: Vec<wit::Attribute>) -> Vec<crate::Attribute> {
    list.into_iter().map(Into::into).collect()
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

impl From<wit::Cart> for crate::Cart {
    fn from(c: wit::Cart) -> Self {
        Self {
            currency: c.currency,
            lines: c
                .lines
                .into_iter()
                .map(|l| crate::CartLine {
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: l.unit_price.into(),
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
                country: a.country,
            }),
            coupon_codes: c.coupon_codes,
            attributes: attributes(c.attributes),
        }
    }
}

impl From<wit::Target> for crate::Target {
    fn from(t: wit::Target) -> Self {
        match t {
            wit::Target::Line(i) => Self::Line(i),
            wit::Target::Order => Self::Order,
        }
    }
}

impl From<crate::Target> for wit::Target {
    fn from(t: crate::Target) -> Self {
        match t {
            crate::Target::Line(i) => Self::Line(i),
            crate::Target::Order => Self::Order,
        }
    }
}

impl From<wit::Adjustment> for crate::Adjustment {
    fn from(a: wit::Adjustment) -> Self {
        Self {
            target: a.target.into(),
            kind: match a.kind {
                wit::AdjustmentKind::PercentOff(bps) => {
                    crate::AdjustmentKind::PercentOff(Percent::from_bps(bps))
                }
                wit::AdjustmentKind::AmountOff(m) => crate::AdjustmentKind::AmountOff(m.into()),
                wit::AdjustmentKind::PriceOverride(m) => {
                    crate::AdjustmentKind::PriceOverride(m.into())
                }
            },
            code: a.code,
            message: a.message,
        }
    }
}

impl From<crate::Adjustment> for wit::Adjustment {
    fn from(a: crate::Adjustment) -> Self {
        Self {
            target: a.target.into(),
            kind: match a.kind {
                crate::AdjustmentKind::PercentOff(p) => wit::AdjustmentKind::PercentOff(p.bps()),
                crate::AdjustmentKind::AmountOff(m) => wit::AdjustmentKind::AmountOff(m.into()),
                crate::AdjustmentKind::PriceOverride(m) => {
                    wit::AdjustmentKind::PriceOverride(m.into())
                }
            },
            code: a.code,
            message: a.message,
        }
    }
}

impl From<wit::PricedCart> for crate::PricedCart {
    fn from(p: wit::PricedCart) -> Self {
        Self {
            cart: p.cart.into(),
            lines: p
                .lines
                .into_iter()
                .map(|l| crate::PricedLine {
                    line: l.line,
                    unit_price: l.unit_price.into(),
                    subtotal: l.subtotal.into(),
                    discount: l.discount.into(),
                    total: l.total.into(),
                })
                .collect(),
            adjustments: p.adjustments.into_iter().map(Into::into).collect(),
            subtotal: p.subtotal.into(),
            discount: p.discount.into(),
            total: p.total.into(),
        }
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

impl From<wit::DeliveryOption> for crate::DeliveryOption {
    fn from(o: wit::DeliveryOption) -> Self {
        Self {
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
            cost: o.cost.into(),
            eta_minutes: o.eta_minutes,
            label: o.label,
        }
    }
}

impl From<crate::DeliveryOption> for wit::DeliveryOption {
    fn from(o: crate::DeliveryOption) -> Self {
        Self {
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
            cost: o.cost.into(),
            eta_minutes: o.eta_minutes,
            label: o.label,
        }
    }
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

impl From<crate::PluginError> for wit::PluginError {
    fn from(e: crate::PluginError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

impl From<crate::PricingResult> for wit_pricing::PricingResult {
    fn from(r: crate::PricingResult) -> Self {
        Self {
            adjustments: r.adjustments.into_iter().map(Into::into).collect(),
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
        }
    }
}

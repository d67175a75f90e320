//! The one `bindgen!` of the host, and the conversions between its generated types and the
//! contract types the rest of the host uses (`mandi_sdk`'s plain records). Nothing outside
//! `runtime` sees a generated type.

#![allow(unsafe_code, missing_debug_implementations, unused_qualifications)]

use mandi_sdk as c;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "mandi:commerce/plugin@0.1.0",
});

pub(crate) use exports::mandi::commerce::{fulfillment, pricing, validation};
pub(crate) use mandi::commerce::host as wit_host;
use mandi::commerce::types as wit;

fn money(m: &c::Money) -> wit::Money {
    wit::Money {
        amount: m.amount,
        currency: m.currency.clone(),
    }
}

fn from_money(m: wit::Money) -> c::Money {
    c::Money::new(m.amount, m.currency)
}

fn attributes(list: &[c::Attribute]) -> Vec<wit::Attribute> {
    list.iter()
        .map(|a| wit::Attribute {
            key: a.key.clone(),
            value: a.value.clone(),
        })
        .collect()
}

impl From<&c::Context> for wit::Context {
    fn from(x: &c::Context) -> Self {
        Self {
            tenant_id: x.tenant_id.clone(),
            request_id: x.request_id.clone(),
            now_unix_ms: x.now_unix_ms,
            time_zone: x.time_zone.clone(),
            utc_offset_minutes: x.utc_offset_minutes,
        }
    }
}

impl From<&c::Cart> for wit::Cart {
    fn from(x: &c::Cart) -> Self {
        Self {
            currency: x.currency.clone(),
            lines: x
                .lines
                .iter()
                .map(|l| wit::CartLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: money(&l.unit_price),
                    product: wit::Product {
                        title: l.product.title.clone(),
                        category: l.product.category.clone(),
                        brand: l.product.brand.clone(),
                        tags: l.product.tags.clone(),
                        attributes: attributes(&l.product.attributes),
                    },
                })
                .collect(),
            customer: wit::Customer {
                id: x.customer.id.clone(),
                segment: x.customer.segment.clone(),
                tags: x.customer.tags.clone(),
            },
            shipping_address: x.shipping_address.as_ref().map(|a| wit::Address {
                line1: a.line1.clone(),
                pincode: a.pincode.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                country: a.country.clone(),
            }),
            coupon_codes: x.coupon_codes.clone(),
            attributes: attributes(&x.attributes),
        }
    }
}

impl From<&c::Target> for wit::Target {
    fn from(x: &c::Target) -> Self {
        match x {
            c::Target::Line(i) => Self::Line(*i),
            c::Target::Order => Self::Order,
        }
    }
}

impl From<wit::Target> for c::Target {
    fn from(x: wit::Target) -> Self {
        match x {
            wit::Target::Line(i) => Self::Line(i),
            wit::Target::Order => Self::Order,
        }
    }
}

impl From<&c::Adjustment> for wit::Adjustment {
    fn from(x: &c::Adjustment) -> Self {
        Self {
            target: (&x.target).into(),
            kind: match &x.kind {
                c::AdjustmentKind::PercentOff(p) => wit::AdjustmentKind::PercentOff(p.bps()),
                c::AdjustmentKind::AmountOff(m) => wit::AdjustmentKind::AmountOff(money(m)),
                c::AdjustmentKind::PriceOverride(m) => wit::AdjustmentKind::PriceOverride(money(m)),
            },
            code: x.code.clone(),
            message: x.message.clone(),
        }
    }
}

impl From<wit::Adjustment> for c::Adjustment {
    fn from(x: wit::Adjustment) -> Self {
        Self {
            target: x.target.into(),
            kind: match x.kind {
                wit::AdjustmentKind::PercentOff(bps) => {
                    c::AdjustmentKind::PercentOff(c::Percent::from_bps(bps))
                }
                wit::AdjustmentKind::AmountOff(m) => c::AdjustmentKind::AmountOff(from_money(m)),
                wit::AdjustmentKind::PriceOverride(m) => {
                    c::AdjustmentKind::PriceOverride(from_money(m))
                }
            },
            code: x.code,
            message: x.message,
        }
    }
}

impl From<&c::PricedCart> for wit::PricedCart {
    fn from(x: &c::PricedCart) -> Self {
        Self {
            cart: (&x.cart).into(),
            lines: x
                .lines
                .iter()
                .map(|l| wit::PricedLine {
                    line: l.line,
                    unit_price: money(&l.unit_price),
                    subtotal: money(&l.subtotal),
                    discount: money(&l.discount),
                    total: money(&l.total),
                })
                .collect(),
            adjustments: x.adjustments.iter().map(Into::into).collect(),
            subtotal: money(&x.subtotal),
            discount: money(&x.discount),
            total: money(&x.total),
        }
    }
}

impl From<&c::FulfillmentNode> for wit::FulfillmentNode {
    fn from(x: &c::FulfillmentNode) -> Self {
        Self {
            id: x.id.clone(),
            kind: x.kind.clone(),
            pincode: x.pincode.clone(),
            stock: x
                .stock
                .iter()
                .map(|s| wit::StockLevel {
                    sku: s.sku.clone(),
                    quantity: s.quantity,
                })
                .collect(),
            tags: x.tags.clone(),
        }
    }
}

impl From<&c::DeliveryOption> for wit::DeliveryOption {
    fn from(x: &c::DeliveryOption) -> Self {
        Self {
            code: x.code.clone(),
            method: x.method.clone(),
            assignments: x
                .assignments
                .iter()
                .map(|a| wit::LineAssignment {
                    line: a.line,
                    node_id: a.node_id.clone(),
                })
                .collect(),
            cost: money(&x.cost),
            eta_minutes: x.eta_minutes,
            label: x.label.clone(),
        }
    }
}

impl From<wit::DeliveryOption> for c::DeliveryOption {
    fn from(x: wit::DeliveryOption) -> Self {
        Self {
            code: x.code,
            method: x.method,
            assignments: x
                .assignments
                .into_iter()
                .map(|a| c::LineAssignment {
                    line: a.line,
                    node_id: a.node_id,
                })
                .collect(),
            cost: from_money(x.cost),
            eta_minutes: x.eta_minutes,
            label: x.label,
        }
    }
}

impl From<wit::Violation> for c::Violation {
    fn from(x: wit::Violation) -> Self {
        Self {
            code: x.code,
            message: x.message,
            line: x.line,
        }
    }
}

impl From<wit::PluginError> for c::PluginError {
    fn from(x: wit::PluginError) -> Self {
        Self {
            code: x.code,
            message: x.message,
        }
    }
}

impl From<pricing::PricingResult> for c::PricingResult {
    fn from(x: pricing::PricingResult) -> Self {
        Self {
            adjustments: x.adjustments.into_iter().map(Into::into).collect(),
            free_items: x
                .free_items
                .into_iter()
                .map(|f| c::FreeItem {
                    sku: f.sku,
                    quantity: f.quantity,
                    code: f.code,
                    message: f.message,
                })
                .collect(),
        }
    }
}

//! The host's bindings to every supported contract version (one `bindgen!` each), and the
//! conversions between their generated types and the contract types the rest of the host uses
//! (`mandi_sdk`'s plain records). Nothing outside `runtime` sees a generated type.
//!
//! A component is called through the bindings of the version it was built against; each hook's
//! module (`runtime/hooks`) holds its calls of its export in every version that has it. The
//! versions share most records, so their conversions are written once, in `conversions!`, and
//! expanded in each version's module; only what differs (0.2.0's address subdivision) is
//! written per version.

#![allow(unsafe_code, missing_debug_implementations, unused_qualifications)]

use mandi_sdk as c;

use super::state::CallState;

/// What a hook call returns before the host checks it: a trap, or the plugin's answer.
pub(crate) type GuestResult<T> = wasmtime::Result<Result<T, c::PluginError>>;

/// Conversions and host imports common to every contract version. Expanded inside a version's
/// module, where `wit` is that version's `types` interface and `address` its address
/// conversion.
macro_rules! conversions {
    () => {
        // Inputs: borrowed views of the host's values. Nested lists need backing storage that outlives
        // the call, so each `with_*` builds it on the stack and hands the view to a closure.

        /// Amounts cross as minor units of the cart's currency; `guard::check_input_currency` has
        /// already checked every amount is in it.
        fn money(m: &c::Money) -> i64 {
            m.amount
        }

        fn strs(list: &[String]) -> Vec<&str> {
            list.iter().map(String::as_str).collect()
        }

        fn attributes(list: &[c::Attribute]) -> Vec<wit::Attribute<'_>> {
            list.iter()
                .map(|a| wit::Attribute {
                    key: &a.key,
                    value: &a.value,
                })
                .collect()
        }

        impl<'a> From<&'a c::Context> for wit::Context<'a> {
            fn from(x: &'a c::Context) -> Self {
                Self {
                    tenant_id: &x.tenant_id,
                    request_id: &x.request_id,
                    now_unix_ms: x.now_unix_ms,
                    time_zone: &x.time_zone,
                    utc_offset_minutes: x.utc_offset_minutes,
                }
            }
        }

        pub(crate) fn with_cart<R>(cart: &c::Cart, f: impl FnOnce(wit::Cart<'_>) -> R) -> R {
            let tags: Vec<Vec<&str>> = cart.lines.iter().map(|l| strs(&l.product.tags)).collect();
            let line_attributes: Vec<Vec<wit::Attribute<'_>>> = cart
                .lines
                .iter()
                .map(|l| attributes(&l.product.attributes))
                .collect();
            let lines: Vec<wit::CartLine<'_>> = cart
                .lines
                .iter()
                .zip(tags.iter().zip(&line_attributes))
                .map(|(l, (tags, attributes))| wit::CartLine {
                    sku: &l.sku,
                    quantity: l.quantity,
                    unit_price: money(&l.unit_price),
                    product: wit::Product {
                        title: &l.product.title,
                        category: &l.product.category,
                        brand: &l.product.brand,
                        tags,
                        attributes,
                    },
                })
                .collect();
            let customer_tags = strs(&cart.customer.tags);
            let coupon_codes = strs(&cart.coupon_codes);
            let cart_attributes = attributes(&cart.attributes);
            f(wit::Cart {
                currency: &cart.currency,
                lines: &lines,
                customer: wit::Customer {
                    id: cart.customer.id.as_deref(),
                    segment: cart.customer.segment.as_deref(),
                    tags: &customer_tags,
                },
                shipping_address: cart.shipping_address.as_ref().map(address),
                coupon_codes: &coupon_codes,
                attributes: &cart_attributes,
            })
        }

        fn adjustment(x: &c::Adjustment) -> wit::AdjustmentParam<'_> {
            wit::AdjustmentParam {
                target: match x.target {
                    c::Target::Line(i) => wit::Target::Line(i),
                    c::Target::Order => wit::Target::Order,
                },
                kind: match &x.kind {
                    c::AdjustmentKind::PercentOff(p) => wit::AdjustmentKind::PercentOff(p.bps()),
                    c::AdjustmentKind::AmountOff(m) => wit::AdjustmentKind::AmountOff(money(m)),
                    c::AdjustmentKind::PriceOverride(m) => {
                        wit::AdjustmentKind::PriceOverride(money(m))
                    }
                },
                code: &x.code,
                message: &x.message,
            }
        }

        pub(crate) fn with_priced_cart<R>(
            priced: &c::PricedCart,
            f: impl FnOnce(wit::PricedCart<'_>) -> R,
        ) -> R {
            let lines: Vec<wit::PricedLine> = priced
                .lines
                .iter()
                .map(|l| wit::PricedLine {
                    line: l.line,
                    unit_price: money(&l.unit_price),
                    subtotal: money(&l.subtotal),
                    discount: money(&l.discount),
                    total: money(&l.total),
                })
                .collect();
            let adjustments: Vec<_> = priced.adjustments.iter().map(adjustment).collect();
            with_cart(&priced.cart, |cart| {
                f(wit::PricedCart {
                    cart,
                    lines: &lines,
                    adjustments: &adjustments,
                    subtotal: money(&priced.subtotal),
                    discount: money(&priced.discount),
                    total: money(&priced.total),
                })
            })
        }

        pub(crate) fn with_nodes<R>(
            nodes: &[c::FulfillmentNode],
            f: impl FnOnce(&[wit::FulfillmentNode<'_>]) -> R,
        ) -> R {
            let stock: Vec<Vec<wit::StockLevel<'_>>> = nodes
                .iter()
                .map(|n| {
                    n.stock
                        .iter()
                        .map(|s| wit::StockLevel {
                            sku: &s.sku,
                            quantity: s.quantity,
                        })
                        .collect()
                })
                .collect();
            let tags: Vec<Vec<&str>> = nodes.iter().map(|n| strs(&n.tags)).collect();
            let nodes: Vec<wit::FulfillmentNode<'_>> = nodes
                .iter()
                .zip(stock.iter().zip(&tags))
                .map(|(n, (stock, tags))| wit::FulfillmentNode {
                    id: &n.id,
                    kind: &n.kind,
                    pincode: &n.pincode,
                    stock,
                    tags,
                })
                .collect();
            f(&nodes)
        }

        pub(crate) fn with_delivery_options<R>(
            options: &[c::DeliveryOption],
            f: impl FnOnce(&[wit::DeliveryOptionParam<'_>]) -> R,
        ) -> R {
            let assignments: Vec<Vec<wit::LineAssignmentParam<'_>>> = options
                .iter()
                .map(|o| {
                    o.assignments
                        .iter()
                        .map(|a| wit::LineAssignmentParam {
                            line: a.line,
                            node_id: &a.node_id,
                        })
                        .collect()
                })
                .collect();
            let options: Vec<wit::DeliveryOptionParam<'_>> = options
                .iter()
                .zip(&assignments)
                .map(|(o, assignments)| wit::DeliveryOptionParam {
                    code: &o.code,
                    method: &o.method,
                    assignments,
                    cost: money(&o.cost),
                    eta_minutes: o.eta_minutes,
                    label: &o.label,
                })
                .collect();
            f(&options)
        }

        // Outputs: owned values lifted from the guest, moved into the contract types with the cart's
        // currency attached.

        fn adjustment_from(x: wit::AdjustmentResult, currency: &str) -> c::Adjustment {
            c::Adjustment {
                target: match x.target {
                    wit::Target::Line(i) => c::Target::Line(i),
                    wit::Target::Order => c::Target::Order,
                },
                kind: match x.kind {
                    wit::AdjustmentKind::PercentOff(bps) => {
                        c::AdjustmentKind::PercentOff(c::Percent::from_bps(bps))
                    }
                    wit::AdjustmentKind::AmountOff(amount) => {
                        c::AdjustmentKind::AmountOff(c::Money::new(amount, currency))
                    }
                    wit::AdjustmentKind::PriceOverride(amount) => {
                        c::AdjustmentKind::PriceOverride(c::Money::new(amount, currency))
                    }
                },
                code: x.code,
                message: x.message,
            }
        }

        pub(crate) fn delivery_option_from(
            x: wit::DeliveryOptionResult,
            currency: &str,
        ) -> c::DeliveryOption {
            c::DeliveryOption {
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
                cost: c::Money::new(x.cost, currency),
                eta_minutes: x.eta_minutes,
                label: x.label,
            }
        }

        pub(crate) fn pricing_result_from(
            x: pricing::PricingResult,
            currency: &str,
        ) -> c::PricingResult {
            c::PricingResult {
                adjustments: x
                    .adjustments
                    .into_iter()
                    .map(|a| adjustment_from(a, currency))
                    .collect(),
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

        impl wit_host::Host for CallState {
            fn log(
                &mut self,
                level: wit_host::LogLevel,
                message: String,
                fields: Vec<(String, String)>,
            ) {
                let level = match level {
                    wit_host::LogLevel::Trace => super::super::LogLevel::Trace,
                    wit_host::LogLevel::Debug => super::super::LogLevel::Debug,
                    wit_host::LogLevel::Info => super::super::LogLevel::Info,
                    wit_host::LogLevel::Warn => super::super::LogLevel::Warn,
                    wit_host::LogLevel::Error => super::super::LogLevel::Error,
                };
                self.record_log(level, message, fields);
            }

            fn config(&mut self) -> String {
                self.config_json()
            }

            fn config_value(&mut self, key: String) -> Option<String> {
                self.config_entry(&key)
            }
        }

        /// Links this version's host imports.
        pub(crate) fn add_host_to_linker(
            linker: &mut wasmtime::component::Linker<CallState>,
        ) -> wasmtime::Result<()> {
            wit_host::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(
                linker,
                |s| s,
            )
        }
    };
}

/// `mandi:commerce@0.1.0`, generated from the contract as released (`wit/`).
pub(crate) mod v0_1 {
    use super::*;

    wasmtime::component::bindgen!({
        path: "../wit",
        world: "mandi:commerce/plugin@0.1.0",
        // Inputs borrow from the host's own values: no copy of every cart string per call.
        ownership: Borrowing { duplicate_if_necessary: true },
    });

    use exports::mandi::commerce::pricing;
    use mandi::commerce::host as wit_host;
    use mandi::commerce::types as wit;

    /// 0.1.0 addresses have no subdivision code.
    fn address(a: &c::Address) -> wit::Address<'_> {
        wit::Address {
            line1: &a.line1,
            pincode: &a.pincode,
            city: &a.city,
            state: &a.state,
            country: &a.country,
        }
    }

    conversions!();
}

/// `mandi:commerce@0.2.0`, the current contract (`wit/0.2.0`).
pub(crate) mod v0_2 {
    use super::*;

    wasmtime::component::bindgen!({
        path: "../wit/0.2.0",
        world: "mandi:commerce/plugin@0.2.0",
        ownership: Borrowing { duplicate_if_necessary: true },
    });

    use exports::mandi::commerce::pricing;
    use mandi::commerce::host as wit_host;
    use mandi::commerce::types as wit;

    fn address(a: &c::Address) -> wit::Address<'_> {
        wit::Address {
            line1: &a.line1,
            pincode: &a.pincode,
            city: &a.city,
            state: &a.state,
            subdivision: a.subdivision.as_deref(),
            country: &a.country,
        }
    }

    conversions!();
}

/// Links the host imports of every supported version.
pub(super) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<CallState>,
) -> wasmtime::Result<()> {
    v0_1::add_host_to_linker(linker)?;
    v0_2::add_host_to_linker(linker)
}

//! The fulfillment hook: delivery options for the priced cart, from the nodes that stock it,
//! with the platform's own options as a starting point.

use std::collections::HashMap;

use mandi_sdk::{Context, DeliveryOption, FulfillmentNode, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use super::guest_exports;
use crate::runtime::bindings::{self, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Contract, Hook, HookRun, Plugin};

pub(crate) struct Fulfillment;

/// The priced cart, the candidate nodes with their stock, and the platform's options.
#[derive(Clone, Copy)]
pub(crate) struct FulfillmentInput<'a> {
    cart: &'a PricedCart,
    nodes: &'a [FulfillmentNode],
    defaults: &'a [DeliveryOption],
}

guest_exports!(fulfillment in V0_1: v0_1, V0_2: v0_2);

impl HookCall for Fulfillment {
    const HOOK: Hook = Hook::Fulfillment;
    const NAME: &'static str = "fulfillment";
    const SINCE: Contract = Contract::V0_1;
    type Input<'a> = FulfillmentInput<'a>;
    type Output = Vec<DeliveryOption>;
    type Exports = Exports;

    fn input_size(input: FulfillmentInput<'_>) -> usize {
        input.cart.wire_size() + input.nodes.wire_size() + input.defaults.wire_size()
    }

    fn input_currencies(input: FulfillmentInput<'_>) -> Result<(), String> {
        guard::check_input_currency(&input.cart.cart, Some(input.cart), input.defaults)
    }

    fn call_guest(
        exports: &Exports,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: FulfillmentInput<'_>,
    ) -> GuestResult<Vec<DeliveryOption>> {
        let FulfillmentInput {
            cart,
            nodes,
            defaults,
        } = input;
        macro_rules! call {
            ($ix:expr, $v:ident) => {{
                use bindings::$v as v;
                let guest = $ix.load(&mut *store, instance)?;
                let result = v::with_priced_cart(cart, |cart| {
                    v::with_nodes(nodes, |nodes| {
                        v::with_delivery_options(defaults, |defaults| {
                            guest.call_fulfill(&mut *store, ctx.into(), cart, nodes, defaults)
                        })
                    })
                })?;
                Ok(result
                    .map(|options| {
                        (options.into_iter())
                            .map(|o| v::delivery_option_from(o, &cart.cart.currency))
                            .collect()
                    })
                    .map_err(Into::into))
            }};
        }
        match exports {
            Exports::V0_1(ix) => call!(ix, v0_1),
            Exports::V0_2(ix) => call!(ix, v0_2),
        }
    }

    fn check_output(
        options: &Vec<DeliveryOption>,
        input: FulfillmentInput<'_>,
    ) -> Result<(), String> {
        check(options, input.cart, input.nodes)
    }

    fn from_run_input<'a>(input: &'a RunInput, priced: &'a PricedCart) -> FulfillmentInput<'a> {
        FulfillmentInput {
            cart: priced,
            nodes: &input.nodes,
            defaults: &input.defaults,
        }
    }
}

impl Plugin {
    /// Runs the fulfillment hook (see [`price`](Self::price) on missing hooks).
    pub fn fulfill(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        cart: &PricedCart,
        nodes: &[FulfillmentNode],
        defaults: &[DeliveryOption],
    ) -> HookRun<Vec<DeliveryOption>> {
        let input = FulfillmentInput {
            cart,
            nodes,
            defaults,
        };
        self.call::<Fulfillment>(call, ctx, input)
    }
}

fn check(options: &[DeliveryOption], cart: &PricedCart, nodes: &[FulfillmentNode]) -> guard::Check {
    let lines = &cart.cart.lines;
    let nodes: HashMap<&str, &FulfillmentNode> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    for (i, option) in options.iter().enumerate() {
        let at = format!("delivery option {i} ({})", option.code);
        guard::check_text(&at, "code", &option.code, true)?;
        guard::check_text(&at, "method", &option.method, true)?;
        guard::check_text(&at, "label", &option.label, false)?;
        guard::check_amount(&at, &option.cost)?;
        let mut assigned = vec![false; lines.len()];
        // Units of each (node, sku) this option takes, so two lines of one sku cannot both
        // claim the same stock.
        let mut taken: HashMap<(&str, &str), u64> = HashMap::new();
        for a in &option.assignments {
            guard::check_line(&at, a.line, lines.len())?;
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

#[cfg(test)]
mod tests {
    use mandi_sdk::testing::{CartBuilder, line, node};
    use mandi_sdk::{LineAssignment, Money};

    use super::*;

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
        assert!(check(&[option(&[(0, "N1"), (1, "N2")])], &cart, &nodes).is_ok());
        let err = check(&[option(&[(0, "N1"), (1, "N1")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("does not have 4 of `A`"), "{err}");
        let err = check(&[option(&[(0, "N1")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("line 1 is not assigned"), "{err}");
        let err = check(&[option(&[(0, "N1"), (0, "N2")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("more than once"), "{err}");
        let err = check(&[option(&[(0, "N1"), (1, "X")])], &cart, &nodes).unwrap_err();
        assert!(err.contains("unknown node `X`"), "{err}");
    }
}

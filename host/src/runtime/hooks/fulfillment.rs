//! The fulfillment hook: delivery options for the priced cart, from the nodes that stock it,
//! with the platform's own options as a starting point.

use mandi_sdk::{Context, DeliveryOption, FulfillmentNode, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use crate::runtime::bindings::{GuestHooks, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Hook, HookRun, Plugin};

pub(crate) struct Fulfillment;

/// The priced cart, the candidate nodes with their stock, and the platform's options.
#[derive(Clone, Copy)]
pub(crate) struct FulfillmentInput<'a> {
    cart: &'a PricedCart,
    nodes: &'a [FulfillmentNode],
    defaults: &'a [DeliveryOption],
}

impl HookCall for Fulfillment {
    const HOOK: Hook = Hook::Fulfillment;
    type Input<'a> = FulfillmentInput<'a>;
    type Output = Vec<DeliveryOption>;

    fn input_size(input: FulfillmentInput<'_>) -> usize {
        input.cart.wire_size() + input.nodes.wire_size() + input.defaults.wire_size()
    }

    fn input_currencies(input: FulfillmentInput<'_>) -> Result<(), String> {
        guard::check_input_currency(&input.cart.cart, Some(input.cart), input.defaults)
    }

    fn call_guest(
        guest: &GuestHooks,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: FulfillmentInput<'_>,
    ) -> GuestResult<Vec<DeliveryOption>> {
        guest.fulfill(
            store,
            instance,
            ctx,
            input.cart,
            input.nodes,
            input.defaults,
        )
    }

    fn check_output(
        options: &Vec<DeliveryOption>,
        input: FulfillmentInput<'_>,
    ) -> Result<(), String> {
        guard::check_delivery_options(options, input.cart, input.nodes)
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

//! The pricing hook: adjustments and free items for the cart at catalog prices.

use mandi_sdk::{Cart, Context, PricedCart, PricingResult, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use crate::runtime::bindings::{GuestHooks, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Hook, HookRun, Plugin};

pub(crate) struct Pricing;

impl HookCall for Pricing {
    const HOOK: Hook = Hook::Pricing;
    type Input<'a> = &'a Cart;
    type Output = PricingResult;

    fn input_size(cart: &Cart) -> usize {
        cart.wire_size()
    }

    fn input_currencies(cart: &Cart) -> Result<(), String> {
        guard::check_input_currency(cart, None, &[])
    }

    fn call_guest(
        guest: &GuestHooks,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        cart: &Cart,
    ) -> GuestResult<PricingResult> {
        guest.price(store, instance, ctx, cart)
    }

    fn check_output(result: &PricingResult, cart: &Cart) -> Result<(), String> {
        guard::check_pricing(result, cart)
    }

    fn from_run_input<'a>(input: &'a RunInput, _: &'a PricedCart) -> &'a Cart {
        &input.cart
    }
}

impl Plugin {
    /// Runs the pricing hook. Panics if the component does not export it: check
    /// [`has_hook`](Self::has_hook) (deployments are only made to hooks a component has).
    pub fn price(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        cart: &Cart,
    ) -> HookRun<PricingResult> {
        self.call::<Pricing>(call, ctx, cart)
    }
}

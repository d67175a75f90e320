//! The cart-transform hook: bundles to expand into their parts, or parts to merge into bundles,
//! before pricing. (Contract 0.2.0 and later.)

use mandi_sdk::{Cart, CartOperation, Context, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use crate::runtime::bindings::{GuestHooks, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Hook, HookRun, Plugin};

pub(crate) struct CartTransform;

impl HookCall for CartTransform {
    const HOOK: Hook = Hook::CartTransform;
    type Input<'a> = &'a Cart;
    type Output = Vec<CartOperation>;

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
    ) -> GuestResult<Vec<CartOperation>> {
        guest.transform_cart(store, instance, ctx, cart)
    }

    fn check_output(operations: &Vec<CartOperation>, cart: &Cart) -> Result<(), String> {
        guard::check_cart_operations(operations, cart)
    }

    fn from_run_input<'a>(input: &'a RunInput, _: &'a PricedCart) -> &'a Cart {
        &input.cart
    }
}

impl Plugin {
    /// Runs the cart-transform hook (see [`price`](Self::price) on missing hooks).
    pub fn transform_cart(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        cart: &Cart,
    ) -> HookRun<Vec<CartOperation>> {
        self.call::<CartTransform>(call, ctx, cart)
    }
}

//! The validation hook: violations of the priced cart; any one blocks the order.

use mandi_sdk::{Context, PricedCart, RunInput, Violation};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use crate::runtime::bindings::{GuestHooks, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Hook, HookRun, Plugin};

pub(crate) struct Validation;

impl HookCall for Validation {
    const HOOK: Hook = Hook::Validation;
    type Input<'a> = &'a PricedCart;
    type Output = Vec<Violation>;

    fn input_size(cart: &PricedCart) -> usize {
        cart.wire_size()
    }

    fn input_currencies(cart: &PricedCart) -> Result<(), String> {
        guard::check_input_currency(&cart.cart, Some(cart), &[])
    }

    fn call_guest(
        guest: &GuestHooks,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        cart: &PricedCart,
    ) -> GuestResult<Vec<Violation>> {
        guest.validate(store, instance, ctx, cart)
    }

    fn check_output(violations: &Vec<Violation>, cart: &PricedCart) -> Result<(), String> {
        check(violations, cart)
    }

    fn from_run_input<'a>(_: &'a RunInput, priced: &'a PricedCart) -> &'a PricedCart {
        priced
    }
}

impl Plugin {
    /// Runs the validation hook (see [`price`](Self::price) on missing hooks).
    pub fn validate(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        cart: &PricedCart,
    ) -> HookRun<Vec<Violation>> {
        self.call::<Validation>(call, ctx, cart)
    }
}

fn check(violations: &[Violation], cart: &PricedCart) -> guard::Check {
    for (i, v) in violations.iter().enumerate() {
        let at = format!("violation {i} ({})", v.code);
        guard::check_text(&at, "code", &v.code, true)?;
        guard::check_text(&at, "message", &v.message, false)?;
        if let Some(line) = v.line {
            guard::check_line(&at, line, cart.cart.lines.len())?;
        }
    }
    Ok(())
}

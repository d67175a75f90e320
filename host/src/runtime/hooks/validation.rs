//! The validation hook: violations of the priced cart; any one blocks the order.

use mandi_sdk::{Context, PricedCart, RunInput, Violation};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use super::guest_exports;
use crate::runtime::bindings::{self, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Contract, Hook, HookRun, Plugin};

pub(crate) struct Validation;

guest_exports!(validation in V0_1: v0_1, V0_2: v0_2);

impl HookCall for Validation {
    const HOOK: Hook = Hook::Validation;
    const NAME: &'static str = "validation";
    const SINCE: Contract = Contract::V0_1;
    type Input<'a> = &'a PricedCart;
    type Output = Vec<Violation>;
    type Exports = Exports;

    fn input_size(cart: &PricedCart) -> usize {
        cart.wire_size()
    }

    fn input_currencies(cart: &PricedCart) -> Result<(), String> {
        guard::check_input_currency(&cart.cart, Some(cart), &[])
    }

    fn call_guest(
        exports: &Exports,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        cart: &PricedCart,
    ) -> GuestResult<Vec<Violation>> {
        macro_rules! call {
            ($ix:expr, $v:ident) => {{
                use bindings::$v as v;
                let guest = $ix.load(&mut *store, instance)?;
                let result = v::with_priced_cart(cart, |wit| {
                    guest.call_validate(&mut *store, ctx.into(), wit)
                })?;
                Ok(result
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(Into::into))
            }};
        }
        match exports {
            Exports::V0_1(ix) => call!(ix, v0_1),
            Exports::V0_2(ix) => call!(ix, v0_2),
        }
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

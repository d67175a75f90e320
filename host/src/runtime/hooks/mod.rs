//! The contract's hooks as the runtime calls them, one module each: what the hook is given, how
//! its input is sized and checked, the export it calls, the checks on what it answers, and its
//! input in a `mandi plugin run` file. [`Plugin::call`] runs any of them with one shared life
//! (store, limits, instantiate, classify, check); the typed entry points (`Plugin::price`, ...)
//! are one line each in their hook's module.
//!
//! Adding a hook is a module here, a line in [`Plugin::run_input`], its entry in [`Hook`] and
//! its calls in the bindings of the contract versions that have it.

mod cart_transform;
mod fulfillment;
mod payment;
mod pricing;
mod validation;

use mandi_sdk::{Context, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::bindings::{GuestHooks, GuestResult};
use super::guard::WireSize;
use super::state::CallState;
use super::{CallSettings, Hook, HookRun, InputCheck, Plugin};

/// One hook of the contract, as the runtime calls it.
pub(crate) trait HookCall {
    /// Which hook this is (its name, metrics label and contract version).
    const HOOK: Hook;
    /// What the hook is given besides the context, borrowed from the caller.
    type Input<'a>: Copy;
    /// What it answers, once checked.
    type Output: WireSize + serde::Serialize;

    /// The input's size as the plugin receives it (see `WireSize`).
    fn input_size(input: Self::Input<'_>) -> usize;
    /// Every amount of the input is in the cart's currency (amounts cross as bare minor units).
    fn input_currencies(input: Self::Input<'_>) -> Result<(), String>;
    /// Calls the export, through the bindings of the component's contract version.
    fn call_guest(
        guest: &GuestHooks,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: Self::Input<'_>,
    ) -> GuestResult<Self::Output>;
    /// The contract's rules for the output; a breach is the call's `invalid-output`.
    fn check_output(output: &Self::Output, input: Self::Input<'_>) -> Result<(), String>;
    /// The hook's input in a `mandi plugin run` file (`priced` is its priced cart, or the cart
    /// at catalog prices).
    fn from_run_input<'a>(input: &'a RunInput, priced: &'a PricedCart) -> Self::Input<'a>;
}

impl Plugin {
    /// Runs hook `H`. Panics if the component does not export it: check
    /// [`has_hook`](Self::has_hook) (deployments are only made to hooks a component has).
    pub(crate) fn call<H: HookCall>(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        input: H::Input<'_>,
    ) -> HookRun<H::Output> {
        assert!(
            self.has_hook(H::HOOK),
            "plugin {} does not export the {} hook",
            self.digest(),
            H::HOOK
        );
        let check = InputCheck {
            size: ctx.wire_size() + H::input_size(input),
            currencies: H::input_currencies(input),
        };
        self.run(
            call,
            ctx,
            check,
            |store, instance| H::call_guest(&self.inner.hooks, store, instance, ctx, input),
            |output| H::check_output(output, input),
        )
    }

    /// Runs `hook` on a `mandi plugin run` input; the output as JSON, as the CLI prints it.
    pub fn run_input(
        &self,
        hook: Hook,
        call: CallSettings<'_>,
        ctx: &Context,
        input: &RunInput,
    ) -> HookRun<serde_json::Value> {
        fn json<H: HookCall>(
            plugin: &Plugin,
            call: CallSettings<'_>,
            ctx: &Context,
            input: &RunInput,
        ) -> HookRun<serde_json::Value> {
            let priced = (input.priced_cart.clone())
                .unwrap_or_else(|| PricedCart::unadjusted(input.cart.clone()));
            plugin
                .call::<H>(call, ctx, H::from_run_input(input, &priced))
                .and_then(|output| {
                    Ok(serde_json::to_value(output).expect("contract types serialize"))
                })
        }
        match hook {
            Hook::CartTransform => json::<cart_transform::CartTransform>(self, call, ctx, input),
            Hook::Pricing => json::<pricing::Pricing>(self, call, ctx, input),
            Hook::Validation => json::<validation::Validation>(self, call, ctx, input),
            Hook::Fulfillment => json::<fulfillment::Fulfillment>(self, call, ctx, input),
            Hook::Payment => json::<payment::Payment>(self, call, ctx, input),
        }
    }
}

//! The payment hook: which of the tenant's payment methods the shopper is offered for the
//! priced cart, under which names, in which order. (Contract 0.2.0 and later.)

use mandi_sdk::{Context, PaymentMethod, PaymentOperation, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use crate::runtime::bindings::{GuestHooks, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Hook, HookRun, Plugin};

pub(crate) struct Payment;

/// The priced cart and the tenant's methods, in its order.
#[derive(Clone, Copy)]
pub(crate) struct PaymentInput<'a> {
    cart: &'a PricedCart,
    methods: &'a [PaymentMethod],
}

impl HookCall for Payment {
    const HOOK: Hook = Hook::Payment;
    type Input<'a> = PaymentInput<'a>;
    type Output = Vec<PaymentOperation>;

    fn input_size(input: PaymentInput<'_>) -> usize {
        input.cart.wire_size() + input.methods.wire_size()
    }

    fn input_currencies(input: PaymentInput<'_>) -> Result<(), String> {
        guard::check_input_currency(&input.cart.cart, Some(input.cart), &[])
    }

    fn call_guest(
        guest: &GuestHooks,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: PaymentInput<'_>,
    ) -> GuestResult<Vec<PaymentOperation>> {
        guest.customize_payment(store, instance, ctx, input.cart, input.methods)
    }

    fn check_output(
        operations: &Vec<PaymentOperation>,
        input: PaymentInput<'_>,
    ) -> Result<(), String> {
        guard::check_payment_operations(operations, input.methods)
    }

    fn from_run_input<'a>(input: &'a RunInput, priced: &'a PricedCart) -> PaymentInput<'a> {
        PaymentInput {
            cart: priced,
            methods: &input.payment_methods,
        }
    }
}

impl Plugin {
    /// Runs the payment hook (see [`price`](Self::price) on missing hooks): which of the
    /// tenant's `methods` the shopper is offered for this cart, and how.
    pub fn customize_payment(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        cart: &PricedCart,
        methods: &[PaymentMethod],
    ) -> HookRun<Vec<PaymentOperation>> {
        self.call::<Payment>(call, ctx, PaymentInput { cart, methods })
    }
}

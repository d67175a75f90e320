//! The payment hook: which of the tenant's payment methods the shopper is offered for the
//! priced cart, under which names, in which order. (Contract 0.2.0 and later.)

use mandi_sdk::{Context, PaymentMethod, PaymentOperation, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use super::guest_exports;
use crate::runtime::bindings::{self, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Contract, Hook, HookRun, Plugin};

pub(crate) struct Payment;

/// The priced cart and the tenant's methods, in its order.
#[derive(Clone, Copy)]
pub(crate) struct PaymentInput<'a> {
    cart: &'a PricedCart,
    methods: &'a [PaymentMethod],
}

guest_exports!(payment in V0_2: v0_2);

impl HookCall for Payment {
    const HOOK: Hook = Hook::Payment;
    const NAME: &'static str = "payment";
    const SINCE: Contract = Contract::V0_2;
    type Input<'a> = PaymentInput<'a>;
    type Output = Vec<PaymentOperation>;
    type Exports = Exports;

    fn input_size(input: PaymentInput<'_>) -> usize {
        input.cart.wire_size() + input.methods.wire_size()
    }

    fn input_currencies(input: PaymentInput<'_>) -> Result<(), String> {
        guard::check_input_currency(&input.cart.cart, Some(input.cart), &[])
    }

    fn call_guest(
        exports: &Exports,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: PaymentInput<'_>,
    ) -> GuestResult<Vec<PaymentOperation>> {
        use bindings::v0_2::exports::mandi::commerce::payment as wit;
        let Exports::V0_2(ix) = exports;
        let guest = ix.load(&mut *store, instance)?;
        let methods: Vec<wit::PaymentMethod<'_>> = (input.methods.iter())
            .map(|m| wit::PaymentMethod {
                id: &m.id,
                name: &m.name,
                kind: &m.kind,
            })
            .collect();
        let result = bindings::v0_2::with_priced_cart(input.cart, |cart| {
            guest.call_customize(&mut *store, ctx.into(), cart, &methods)
        })?;
        let operation = |op| match op {
            wit::PaymentOperation::Hide(id) => PaymentOperation::Hide { id },
            wit::PaymentOperation::Rename(r) => PaymentOperation::Rename {
                id: r.id,
                name: r.name,
            },
            wit::PaymentOperation::Move(m) => PaymentOperation::Move {
                id: m.id,
                index: m.index,
            },
        };
        Ok(result
            .map(|ops| ops.into_iter().map(operation).collect())
            .map_err(Into::into))
    }

    fn check_output(
        operations: &Vec<PaymentOperation>,
        input: PaymentInput<'_>,
    ) -> Result<(), String> {
        check(operations, input.methods)
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

/// Every operation names a method the hook was offered; a name is shown to shoppers, so it is
/// text of sane length; a position is within the list.
fn check(operations: &[PaymentOperation], methods: &[PaymentMethod]) -> guard::Check {
    // More operations than three per method can only be a loop gone wrong.
    let most = methods.len() * 3;
    if operations.len() > most {
        return Err(format!(
            "{} payment operations for {} methods (at most {most})",
            operations.len(),
            methods.len()
        ));
    }
    for (i, op) in operations.iter().enumerate() {
        let id = op.method_id();
        let at = format!("payment operation {i} ({id})");
        if !methods.iter().any(|m| m.id == id) {
            return Err(format!("{at}: no payment method has the id `{id}`"));
        }
        match op {
            PaymentOperation::Rename { name, .. } => guard::check_text(&at, "name", name, true)?,
            PaymentOperation::Move { index, .. } if *index as usize >= methods.len() => {
                return Err(format!(
                    "{at}: position {index} is past the last of {} methods",
                    methods.len()
                ));
            }
            PaymentOperation::Hide { .. } | PaymentOperation::Move { .. } => {}
        }
    }
    Ok(())
}

impl WireSize for PaymentOperation {
    fn wire_size(&self) -> usize {
        match self {
            PaymentOperation::Hide { id } => id.wire_size(),
            PaymentOperation::Rename { id, name } => id.wire_size() + name.wire_size(),
            PaymentOperation::Move { id, .. } => id.wire_size() + guard::SCALAR,
        }
    }
}

//! The cart-transform hook: bundles to expand into their parts, or parts to merge into bundles,
//! before pricing. (Contract 0.2.0 and later.)

use mandi_sdk::{BundlePart, Cart, CartOperation, Context, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use super::guest_exports;
use crate::runtime::bindings::{self, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Contract, Hook, HookRun, Plugin};

pub(crate) struct CartTransform;

guest_exports!(cart_transform in V0_2: v0_2);

impl HookCall for CartTransform {
    const HOOK: Hook = Hook::CartTransform;
    const NAME: &'static str = "cart-transform";
    const SINCE: Contract = Contract::V0_2;
    type Input<'a> = &'a Cart;
    type Output = Vec<CartOperation>;
    type Exports = Exports;

    fn input_size(cart: &Cart) -> usize {
        cart.wire_size()
    }

    fn input_currencies(cart: &Cart) -> Result<(), String> {
        guard::check_input_currency(cart, None, &[])
    }

    fn call_guest(
        exports: &Exports,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        cart: &Cart,
    ) -> GuestResult<Vec<CartOperation>> {
        use bindings::v0_2::exports::mandi::commerce::cart_transform as wit;
        let Exports::V0_2(ix) = exports;
        let guest = ix.load(&mut *store, instance)?;
        let result = bindings::v0_2::with_cart(cart, |cart| {
            guest.call_transform(&mut *store, ctx.into(), cart)
        })?;
        let parts = |parts: Vec<wit::BundlePart>| {
            (parts.into_iter())
                .map(|p| BundlePart {
                    sku: p.sku,
                    quantity: p.quantity,
                })
                .collect()
        };
        let operation = |op| match op {
            wit::CartOperation::Expand(x) => CartOperation::Expand {
                line: x.line,
                parts: parts(x.parts),
                code: x.code,
                message: x.message,
            },
            wit::CartOperation::Merge(x) => CartOperation::Merge {
                parts: parts(x.parts),
                bundle_sku: x.bundle_sku,
                quantity: x.quantity,
                code: x.code,
                message: x.message,
            },
        };
        Ok(result
            .map(|ops| ops.into_iter().map(operation).collect())
            .map_err(Into::into))
    }

    fn check_output(operations: &Vec<CartOperation>, cart: &Cart) -> Result<(), String> {
        check(operations, cart)
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

/// Operations name lines that exist (each expanded at most once), parts with units, text of
/// sane length. What needs the catalog (are the skus real, are there enough units to merge)
/// is checked when the pipeline applies them.
fn check(operations: &[CartOperation], cart: &Cart) -> guard::Check {
    let mut expanded = vec![false; cart.lines.len()];
    for (i, op) in operations.iter().enumerate() {
        let (parts, code, message) = match op {
            CartOperation::Expand {
                parts,
                code,
                message,
                ..
            }
            | CartOperation::Merge {
                parts,
                code,
                message,
                ..
            } => (parts, code, message),
        };
        let at = format!("cart operation {i} ({code})");
        guard::check_text(&at, "code", code, true)?;
        guard::check_text(&at, "message", message, false)?;
        if parts.is_empty() {
            return Err(format!("{at}: a bundle has at least one part"));
        }
        for (j, part) in parts.iter().enumerate() {
            guard::check_text(&at, "part sku", &part.sku, true)?;
            if part.quantity == 0 {
                return Err(format!("{at}: part {j} ({}) has no units", part.sku));
            }
            if parts[..j].iter().any(|p| p.sku == part.sku) {
                return Err(format!("{at}: part {} is listed twice", part.sku));
            }
        }
        match op {
            CartOperation::Expand { line, .. } => {
                guard::check_line(&at, *line, cart.lines.len())?;
                let done = &mut expanded[*line as usize];
                if *done {
                    return Err(format!("{at}: line {line} is expanded more than once"));
                }
                *done = true;
            }
            CartOperation::Merge {
                bundle_sku,
                quantity,
                ..
            } => {
                guard::check_text(&at, "bundle sku", bundle_sku, true)?;
                if *quantity == 0 {
                    return Err(format!("{at}: a merge makes at least one bundle"));
                }
            }
        }
    }
    Ok(())
}

impl WireSize for CartOperation {
    fn wire_size(&self) -> usize {
        match self {
            CartOperation::Expand {
                line,
                parts,
                code,
                message,
            } => line.wire_size() + parts.wire_size() + code.wire_size() + message.wire_size(),
            CartOperation::Merge {
                parts,
                bundle_sku,
                quantity,
                code,
                message,
            } => {
                parts.wire_size()
                    + bundle_sku.wire_size()
                    + quantity.wire_size()
                    + code.wire_size()
                    + message.wire_size()
            }
        }
    }
}

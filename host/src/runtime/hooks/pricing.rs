//! The pricing hook: adjustments and free items for the cart at catalog prices.

use mandi_sdk::{AdjustmentKind, Cart, Context, PricedCart, PricingResult, RunInput, Target};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::HookCall;
use super::guest_exports;
use crate::runtime::bindings::{self, GuestResult};
use crate::runtime::guard::{self, WireSize};
use crate::runtime::state::CallState;
use crate::runtime::{CallSettings, Contract, Hook, HookRun, Plugin};

pub(crate) struct Pricing;

guest_exports!(pricing in V0_1: v0_1, V0_2: v0_2);

impl HookCall for Pricing {
    const HOOK: Hook = Hook::Pricing;
    const NAME: &'static str = "pricing";
    const SINCE: Contract = Contract::V0_1;
    type Input<'a> = &'a Cart;
    type Output = PricingResult;
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
    ) -> GuestResult<PricingResult> {
        macro_rules! call {
            ($ix:expr, $v:ident) => {{
                use bindings::$v as v;
                let guest = $ix.load(&mut *store, instance)?;
                let result =
                    v::with_cart(cart, |wit| guest.call_price(&mut *store, ctx.into(), wit))?;
                Ok(result
                    .map(|r| v::pricing_result_from(r, &cart.currency))
                    .map_err(Into::into))
            }};
        }
        match exports {
            Exports::V0_1(ix) => call!(ix, v0_1),
            Exports::V0_2(ix) => call!(ix, v0_2),
        }
    }

    fn check_output(result: &PricingResult, cart: &Cart) -> Result<(), String> {
        check(result, cart)
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

fn check(result: &PricingResult, cart: &Cart) -> guard::Check {
    for (i, adj) in result.adjustments.iter().enumerate() {
        let at = format!("adjustment {i} ({})", adj.code);
        guard::check_text(&at, "code", &adj.code, true)?;
        guard::check_text(&at, "message", &adj.message, false)?;
        if let Target::Line(line) = adj.target {
            guard::check_line(&at, line, cart.lines.len())?;
        }
        match &adj.kind {
            AdjustmentKind::PercentOff(p) if p.bps() > 10_000 => {
                return Err(format!("{at}: percent-off of {p} is over 100%"));
            }
            AdjustmentKind::PercentOff(_) => {}
            AdjustmentKind::AmountOff(m) => guard::check_amount(&at, m)?,
            AdjustmentKind::PriceOverride(m) => {
                guard::check_amount(&at, m)?;
                if adj.target == Target::Order {
                    return Err(format!("{at}: price-override needs a line target"));
                }
            }
        }
    }
    for (i, item) in result.free_items.iter().enumerate() {
        let at = format!("free item {i} ({})", item.sku);
        guard::check_text(&at, "sku", &item.sku, true)?;
        guard::check_text(&at, "code", &item.code, true)?;
        guard::check_text(&at, "message", &item.message, false)?;
        if item.quantity == 0 {
            return Err(format!("{at}: quantity must be at least 1"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mandi_sdk::testing::{CartBuilder, line};
    use mandi_sdk::{Adjustment, Money, Percent};

    use super::*;

    #[test]
    fn pricing_output_is_checked_against_the_cart() {
        let cart = CartBuilder::inr().line(line("A", 1, 100)).build();
        let with = |adj: Adjustment| PricingResult {
            adjustments: vec![adj],
            free_items: vec![],
        };
        let ok = Adjustment::line(
            0,
            AdjustmentKind::PercentOff(Percent::from_percent(10)),
            "X",
            "",
        );
        assert!(check(&with(ok), &cart).is_ok());
        let bad_line = Adjustment::line(
            3,
            AdjustmentKind::PercentOff(Percent::from_percent(10)),
            "X",
            "",
        );
        assert!(
            check(&with(bad_line), &cart)
                .unwrap_err()
                .contains("line 3 does not exist")
        );
        let over = Adjustment::order(
            AdjustmentKind::PercentOff(Percent::from_bps(10_001)),
            "X",
            "",
        );
        assert!(check(&with(over), &cart).unwrap_err().contains("over 100%"));
        let negative = Adjustment::order(AdjustmentKind::AmountOff(Money::inr(-5)), "X", "");
        assert!(
            check(&with(negative), &cart)
                .unwrap_err()
                .contains("negative")
        );
        let order_override =
            Adjustment::order(AdjustmentKind::PriceOverride(Money::inr(5)), "X", "");
        assert!(
            check(&with(order_override), &cart)
                .unwrap_err()
                .contains("line target")
        );
        let no_code = Adjustment::order(AdjustmentKind::AmountOff(Money::inr(5)), " ", "");
        assert!(
            check(&with(no_code), &cart)
                .unwrap_err()
                .contains("code is empty")
        );
    }
}

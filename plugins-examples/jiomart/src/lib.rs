use mandi_sdk::prelude::*;

pub struct Jiomart;

impl Pricing for Jiomart {
    fn price(_ctx: &Context, _cart: &Cart) -> Result<PricingResult> {
        mandi_sdk::log::info("hello");
        Ok(PricingResult::default())
    }
}

mandi_sdk::export_plugin!(Jiomart: pricing);

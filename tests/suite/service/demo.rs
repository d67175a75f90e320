//! The demo's set-up, over real connections: the tenants `cargo xtask demo` creates quote the
//! sample cart exactly as each brand's plugins say.

use serde_json::json;

use super::{ADMIN, LiveService, sample_request};
use mandi_tests::demo::{BRANDS, set_up_brand};

#[tokio::test]
async fn the_demo_tenants_quote_one_cart_three_ways() {
    let live = LiveService::start(|_| {}).await;
    live.client(|api| {
        let tenants: Vec<_> = BRANDS
            .iter()
            .map(|brand| {
                set_up_brand(&api, ADMIN, brand, &mandi_tests::plugin_bytes(brand))
                    .unwrap_or_else(|e| panic!("setting up {brand}: {e:#}"))
            })
            .collect();
        let quote = |i: usize| {
            api.post("/v1/quotes", &tenants[i].api_key, &sample_request(), &[])
                .expect("quote")
        };

        let (status, jiomart) = quote(0);
        assert_eq!(status, 200, "{jiomart}");
        assert_eq!(
            jiomart["totals"],
            json!({ "subtotal": 2_600_550, "discount": 173_198, "total": 2_427_352 })
        );
        assert_eq!(jiomart["delivery_options"][0]["code"], "single");

        let (status, netmeds) = quote(1);
        assert_eq!(status, 422, "{netmeds}");
        assert_eq!(
            netmeds["error"]["details"]["failure"]["code"],
            "no-pharmacy"
        );

        let (status, tira) = quote(2);
        assert_eq!(status, 200, "{tira}");
        assert_eq!(
            tira["totals"],
            json!({ "subtotal": 2_600_550, "discount": 520_110, "total": 2_080_440 })
        );
        for adjustment in tira["adjustments"].as_array().expect("adjustments") {
            assert_eq!(
                adjustment["source"]["plugin"].as_str(),
                Some(tenants[2].plugin.as_str())
            );
        }

        // Setting up a brand twice is refused, not half-done again.
        let again = set_up_brand(&api, ADMIN, "tira", &mandi_tests::plugin_bytes("tira"));
        let message = format!("{:#}", again.expect_err("the tenant exists"));
        assert!(message.contains("already-exists (409)"), "{message}");
    })
    .await;
    live.shutdown().await;
}

//! Hook latency on a 20-line cart: a fresh sandboxed instance per call (what production does)
//! against the same rule crates compiled natively, side by side. Run with `cargo xtask bench`.
//!
//! Each sample is one complete call: new store, instantiate from the pre-linked component,
//! convert the input, call, lift and check the output, drop the instance. The whole-checkout
//! row is one checkout: its three hooks share one fresh instance, as in the pipeline.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mandi_host::runtime::{
    CallSettings, CheckoutSandbox, Limits, Plugin, PluginConfig, Runtime, RuntimeConfig,
};
use mandi_sdk::testing::{CartBuilder, Harness, LineExt, line, node};
use mandi_sdk::{
    Cart, Context, DeliveryOption, FulfillmentNode, LineAssignment, Money, PricedCart,
};

const WARMUP: usize = 500;
const SAMPLES: usize = 10_000;

fn main() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let fixture = Fixture::new();
    println!("hook latency, 20-line cart, {SAMPLES} samples each (after {WARMUP} warm-up calls)\n");
    println!("| plugin / hook | wasm p50 | wasm p99 | native p50 | native p99 | p50 ratio |");
    println!("|---|---|---|---|---|---|");

    let floor = Brand::load(&runtime, "hostile", serde_json::json!({ "attack": "none" }));
    let floor_stats = Stats::of(|| floor.price(&fixture));
    let floor_p50 = floor_stats.p50;
    row("empty plugin (floor) / pricing", floor_stats, None);

    let jiomart = Brand::load(&runtime, "jiomart", brand_config("jiomart"));
    let netmeds = Brand::load(&runtime, "netmeds", brand_config("netmeds"));
    let tira = Brand::load(&runtime, "tira", brand_config("tira"));

    compare(
        "jiomart / pricing",
        || jiomart.price(&fixture),
        || {
            jiomart
                .harness
                .price::<jiomart::Jiomart>(&fixture.cart)
                .expect("native pricing")
        },
    );
    compare(
        "jiomart / validation",
        || jiomart.validate(&fixture),
        || {
            jiomart
                .harness
                .validate::<jiomart::Jiomart>(&fixture.priced)
                .expect("native validation")
        },
    );
    compare(
        "jiomart / fulfillment",
        || jiomart.fulfill(&fixture),
        || {
            jiomart
                .harness
                .fulfill::<jiomart::Jiomart>(&fixture.priced, &fixture.nodes, &fixture.defaults)
                .expect("native fulfillment")
        },
    );
    compare(
        "netmeds / validation",
        || netmeds.validate(&fixture),
        || {
            netmeds
                .harness
                .validate::<netmeds::Netmeds>(&fixture.priced)
                .expect("native validation")
        },
    );
    compare(
        "netmeds / fulfillment",
        || netmeds.fulfill(&fixture),
        || {
            netmeds
                .harness
                .fulfill::<netmeds::Netmeds>(&fixture.priced, &fixture.nodes, &fixture.defaults)
                .expect("native fulfillment")
        },
    );
    // A checkout as the pipeline runs it: the three hooks of one brand on one cart in one
    // sandbox, which the three share and which is dropped with the checkout.
    let checkout = compare(
        "jiomart / whole checkout (3 hooks)",
        || {
            let checkout = CheckoutSandbox::new();
            let within = Some(&checkout);
            (
                jiomart.price_in(&fixture, within),
                jiomart.validate_in(&fixture, within),
                jiomart.fulfill_in(&fixture, within),
            )
        },
        || {
            let h = &jiomart.harness;
            (
                h.price::<jiomart::Jiomart>(&fixture.cart)
                    .expect("native pricing"),
                h.validate::<jiomart::Jiomart>(&fixture.priced)
                    .expect("native validation"),
                h.fulfill::<jiomart::Jiomart>(&fixture.priced, &fixture.nodes, &fixture.defaults)
                    .expect("native fulfillment"),
            )
        },
    );
    compare(
        "tira / pricing",
        || tira.price(&fixture),
        || {
            tira.harness
                .price::<tira::Tira>(&fixture.cart)
                .expect("native pricing")
        },
    );
    println!(
        "\nwhole checkout p50 / empty-plugin floor p50: {:.2}x",
        checkout.as_secs_f64() / floor_p50.as_secs_f64()
    );
}

/// Measures both sides after checking they compute the same thing; returns the wasm p50.
fn compare<T: PartialEq + std::fmt::Debug>(
    name: &str,
    wasm: impl Fn() -> T,
    native: impl Fn() -> T,
) -> Duration {
    assert_eq!(
        wasm(),
        native(),
        "{name}: the component and the native build disagree"
    );
    let wasm = Stats::of(|| black_box(wasm()));
    let native = Stats::of(|| black_box(native()));
    let p50 = wasm.p50;
    row(name, wasm, Some(native));
    p50
}

fn row(name: &str, wasm: Stats, native: Option<Stats>) {
    match native {
        Some(native) => println!(
            "| {name} | {} | {} | {} | {} | {:.0}x |",
            us(wasm.p50),
            us(wasm.p99),
            us(native.p50),
            us(native.p99),
            wasm.p50.as_secs_f64() / native.p50.as_secs_f64()
        ),
        None => println!(
            "| {name} | {} | {} | - | - | - |",
            us(wasm.p50),
            us(wasm.p99)
        ),
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

struct Stats {
    p50: Duration,
    p99: Duration,
}

impl Stats {
    fn of<T>(mut f: impl FnMut() -> T) -> Self {
        for _ in 0..WARMUP {
            black_box(f());
        }
        let mut samples: Vec<Duration> = (0..SAMPLES)
            .map(|_| {
                let start = Instant::now();
                black_box(f());
                start.elapsed()
            })
            .collect();
        samples.sort_unstable();
        Self {
            p50: samples[SAMPLES / 2],
            p99: samples[SAMPLES * 99 / 100],
        }
    }
}

/// A brand's component with its deployment config, and the native harness with the same config.
struct Brand {
    plugin: Plugin,
    config: Arc<PluginConfig>,
    limits: Limits,
    harness: Harness,
}

impl Brand {
    fn load(runtime: &Runtime, name: &str, config: serde_json::Value) -> Self {
        let plugin = runtime
            .load(&mandi_tests::plugin_bytes(name))
            .expect("plugin loads");
        Self {
            plugin,
            config: Arc::new(PluginConfig::from_json(&config.to_string()).expect("config")),
            limits: Limits::default(),
            harness: Harness::new().context(context()).config(config),
        }
    }

    fn call<'a>(&'a self, checkout: Option<&'a CheckoutSandbox>) -> CallSettings<'a> {
        CallSettings {
            checkout,
            ..CallSettings::new(&self.config, &self.limits)
        }
    }

    fn price(&self, f: &Fixture) -> mandi_sdk::PricingResult {
        self.price_in(f, None)
    }

    fn validate(&self, f: &Fixture) -> Vec<mandi_sdk::Violation> {
        self.validate_in(f, None)
    }

    fn fulfill(&self, f: &Fixture) -> Vec<DeliveryOption> {
        self.fulfill_in(f, None)
    }

    fn price_in(&self, f: &Fixture, within: Option<&CheckoutSandbox>) -> mandi_sdk::PricingResult {
        self.plugin
            .price(self.call(within), &f.context, &f.cart)
            .into_result()
            .expect("wasm pricing")
    }

    fn validate_in(
        &self,
        f: &Fixture,
        within: Option<&CheckoutSandbox>,
    ) -> Vec<mandi_sdk::Violation> {
        self.plugin
            .validate(self.call(within), &f.context, &f.priced)
            .into_result()
            .expect("wasm validation")
    }

    fn fulfill_in(&self, f: &Fixture, within: Option<&CheckoutSandbox>) -> Vec<DeliveryOption> {
        self.plugin
            .fulfill(
                self.call(within),
                &f.context,
                &f.priced,
                &f.nodes,
                &f.defaults,
            )
            .into_result()
            .expect("wasm fulfillment")
    }
}

fn brand_config(name: &str) -> serde_json::Value {
    let path = mandi_tests::repo_root()
        .join("plugins-examples")
        .join(name)
        .join("config.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("brand config"))
        .expect("config JSON")
}

fn context() -> Context {
    Context {
        tenant_id: "bench".into(),
        request_id: "bench-1".into(),
        now_unix_ms: 1_767_249_000_000,
        time_zone: "Asia/Kolkata".into(),
        utc_offset_minutes: 330,
    }
}

struct Fixture {
    context: Context,
    cart: Cart,
    priced: PricedCart,
    nodes: Vec<FulfillmentNode>,
    defaults: Vec<DeliveryOption>,
}

impl Fixture {
    /// 20 lines across categories, with the attributes the brands' rules look at.
    fn new() -> Self {
        let categories = ["staples", "dairy", "beauty", "medicines", "snacks"];
        let mut builder = CartBuilder::inr()
            .segment("gold")
            .coupon("GLOW10")
            .pincode("400001");
        let mut skus = Vec::new();
        for i in 0..20u32 {
            let sku = format!("SKU-{i:02}");
            let category = categories[i as usize % categories.len()];
            let mut l = line(&sku, 1 + (i * 3) % 30, 5_000 + i64::from(i) * 1_250)
                .category(category)
                .brand("house")
                .tag("everyday");
            if category == "medicines" && i % 2 == 0 {
                l = l.attribute("rx-required", "true");
            }
            builder = builder.line(l);
            skus.push(sku);
        }
        builder = builder.attribute("prescription-id", "RX-42");
        let cart = builder.build();
        let stock: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 100)).collect();
        let half: Vec<(&str, u32)> = skus.iter().take(10).map(|s| (s.as_str(), 100)).collect();
        let nodes = vec![
            node("WH-MUM-1", "warehouse", "400070", &stock),
            node("ST-MUM-2", "store", "400002", &half),
            node("PH-MUM-3", "pharmacy", "400003", &stock),
            node("PH-PUN-4", "pharmacy", "411001", &stock),
        ];
        let defaults = vec![DeliveryOption {
            code: "standard".into(),
            method: "standard".into(),
            assignments: (0..20)
                .map(|i| LineAssignment {
                    line: i,
                    node_id: "WH-MUM-1".into(),
                })
                .collect(),
            cost: Money::inr(4_900),
            eta_minutes: 2_880,
            label: "Standard delivery".into(),
        }];
        Self {
            context: context(),
            priced: PricedCart::unadjusted(cart.clone()),
            cart,
            nodes,
            defaults,
        }
    }
}

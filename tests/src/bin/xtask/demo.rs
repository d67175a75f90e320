//! `cargo xtask demo`: the checkout service as a brand's app would meet it. Starts `mandi serve`
//! on a scratch database, sets up a tenant per example brand through the admin API, quotes one
//! cart for each (the same cart, three different answers), shows jiomart's combo pack expanded,
//! tira's gift set merged and its payment rule, places an order twice with one idempotency key,
//! prints curl commands to try and the console's address, and keeps serving (with a few quotes a
//! second per brand, so the console's figures move) until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use mandi_tests::demo::{BRANDS, DemoTenant, set_up_brand};
use mandi_tests::http::Api;
use mandi_tests::samples::{example_hooks, sample_request};
use mandi_tests::toolchain;
use serde_json::{Value, json};

use super::server::{Server, free_address, wait_ready};
use super::{root, step};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug)]
pub struct DemoArgs {
    /// Stop the service after the quotes instead of serving on.
    once: bool,
    listen: SocketAddr,
}

impl DemoArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self {
            once: false,
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--once" => parsed.once = true,
                "--listen" => {
                    let value = args.next().context("--listen needs an address")?;
                    parsed.listen = value.parse().with_context(|| {
                        format!("--listen {value}: not an address like {DEFAULT_LISTEN}")
                    })?;
                }
                other => bail!("unknown demo option `{other}` (expected --once or --listen ADDR)"),
            }
        }
        Ok(parsed)
    }
}

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let plugins = toolchain::build_plugins()?;
    step("building the mandi binary");
    let mandi = super::server::build_mandi(super::server::Profile::Dev)?;

    let dir = root().join("target/demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Every run starts from an empty database: the demo creates its tenants itself.
    for file in ["mandi.db", "mandi.db-wal", "mandi.db-shm"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let request_file = dir.join("quote.json");
    std::fs::write(
        &request_file,
        serde_json::to_string_pretty(&sample_request())?,
    )?;
    let admin = format!("demo-admin-{:016x}", nanos());

    step("starting mandi serve");
    let server = Server::start(&mandi, &dir, free_address(args.listen)?, &admin)?;
    let api = Api::new(server.base.clone());
    wait_ready(&api)?;

    step("setting up a tenant per brand through the admin API");
    let mut tenants = Vec::new();
    for brand in BRANDS {
        let wasm = std::fs::read(plugins.join(format!("{brand}.wasm")))
            .with_context(|| format!("reading the built {brand} component"))?;
        let tenant = set_up_brand(&api, &admin, brand, &wasm)?;
        println!(
            "  {brand:<8} tenant created, sample catalog imported, {} deployed to {}",
            short(&tenant.plugin),
            example_hooks(brand).join(", ")
        );
        tenants.push(tenant);
    }

    println!(
        "\nOne cart, three brands: POST /v1/quotes with {} (skus and quantities only; \
         prices come from each tenant's catalog)\n",
        rel(&request_file)
    );
    print_request(&sample_request());
    for tenant in &tenants {
        println!("\n=== {} ===", tenant.id);
        let (status, body) = api.post("/v1/quotes", &tenant.api_key, &sample_request(), &[])?;
        print_quote(status, &body);
    }

    let netmeds = &tenants[1];
    let mut pharmacy = json!({
        "lines": [{ "sku": "AMOXICILLIN-500", "quantity": 1 }, { "sku": "INSULIN-GLARGINE-PEN", "quantity": 2 }],
        "shipping_address": sample_request()["shipping_address"],
    });
    println!(
        "\n=== netmeds, a pharmacy cart: an Rx medicine and a cold-chain one, no prescription yet ==="
    );
    let (status, body) = api.post("/v1/quotes", &netmeds.api_key, &pharmacy, &[])?;
    print_quote(status, &body);
    println!("\n=== the same pharmacy cart once the app attaches the prescription ===");
    pharmacy["attributes"] = json!({ "prescription-id": "RX-2026-0042" });
    let (status, body) = api.post("/v1/quotes", &netmeds.api_key, &pharmacy, &[])?;
    print_quote(status, &body);
    let pharmacy_file = dir.join("pharmacy.json");
    std::fs::write(&pharmacy_file, serde_json::to_string_pretty(&pharmacy)?)?;

    let jiomart = &tenants[0];
    let combo = json!({
        "lines": [{ "sku": "COMBO-STAPLES", "quantity": 2 }, { "sku": "DETERGENT-2KG", "quantity": 1 }],
        "shipping_address": sample_request()["shipping_address"],
    });
    println!(
        "\n=== jiomart, a combo pack: its cart-transform hook expands it into rice and atta, \
         at the combo's price ==="
    );
    let (status, body) = api.post("/v1/quotes", &jiomart.api_key, &combo, &[])?;
    print_quote(status, &body);
    print_lines(&body);

    let tira = &tenants[2];
    let set = json!({
        "lines": [{ "sku": "SERUM-VITC-30ML", "quantity": 1 }, { "sku": "SUNSCREEN-SPF50-50ML", "quantity": 1 }],
        "shipping_address": sample_request()["shipping_address"],
    });
    println!(
        "\n=== tira, a gift set: its cart-transform hook merges a serum and a sunscreen into the \
         glow set, at the set's price ==="
    );
    let (status, body) = api.post("/v1/quotes", &tira.api_key, &set, &[])?;
    print_quote(status, &body);
    print_lines(&body);

    let small = json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
        "shipping_address": sample_request()["shipping_address"],
    });
    println!(
        "\n=== tira, payment methods: its payment hook hides cash on delivery above INR 5,000.00 ==="
    );
    for cart in [&small, &sample_request()] {
        let (status, body) = api.post("/v1/quotes", &tira.api_key, cart, &[])?;
        if status == 200 {
            println!(
                "  total {:>14}: {}",
                money(&body["totals"]["total"], "INR"),
                payment_names(&body)
            );
        } else {
            print_quote(status, &body);
        }
    }
    let mut cod = sample_request();
    cod["payment_method"] = json!("cod");
    let (status, refused) = api.post(
        "/v1/orders",
        &tira.api_key,
        &cod,
        &[("idempotency-key", "demo-cod")],
    )?;
    println!(
        "  an order paying the large cart by cash on delivery: HTTP {status} {}: {}",
        refused["error"]["code"].as_str().unwrap_or("?"),
        refused["error"]["message"].as_str().unwrap_or("")
    );

    println!("\n=== placing an order (jiomart, paying by UPI), twice with one Idempotency-Key ===");
    let key = [("idempotency-key", "demo-order-1")];
    let mut order = sample_request();
    order["payment_method"] = json!("upi");
    let (first, placed) = api.post("/v1/orders", &jiomart.api_key, &order, &key)?;
    let (again, replayed) = api.post("/v1/orders", &jiomart.api_key, &order, &key)?;
    println!(
        "  HTTP {first}: order {} total {}\n  HTTP {again}: order {} (the same order: nothing placed twice)",
        placed["id"].as_str().unwrap_or("?"),
        money(&placed["totals"]["total"], "INR"),
        replayed["id"].as_str().unwrap_or("?"),
    );

    shadow_then_promote(&api, &admin, &tira.api_key)?;

    let carts = [&request_file, &pharmacy_file, &request_file];
    for cart in [&request_file, &pharmacy_file] {
        let mut order: Value = serde_json::from_slice(&std::fs::read(cart)?)?;
        order["payment_method"] = json!("upi");
        std::fs::write(
            cart.with_extension("order.json"),
            serde_json::to_string_pretty(&order)?,
        )?;
    }
    print_try_it(&server.base, &admin, &tenants, &carts);
    println!(
        "\nThe console: {}/console, log in with the admin token {admin}\n\
         (or from a shell: MANDI_SERVER={} MANDI_ADMIN_TOKEN={admin} mandi health)",
        server.base, server.base
    );
    if args.once {
        server.stop();
        return Ok(());
    }
    keep_quoting(&api, &tenants, &[sample_request(), small]);
    println!(
        "\nmandi is serving on {} (database {}), with a few quotes a second for each brand so \
         the console's figures move; Ctrl-C stops it.",
        server.base,
        rel(&dir.join("mandi.db"))
    );
    server.wait()
}

/// Quotes `carts` for every tenant, a few a second, in the background for as long as the demo
/// serves: the traffic the console's figures show.
fn keep_quoting(api: &Api, tenants: &[DemoTenant], carts: &[Value]) {
    let (api, keys, carts) = (
        api.clone(),
        tenants
            .iter()
            .map(|t| t.api_key.clone())
            .collect::<Vec<_>>(),
        carts.to_vec(),
    );
    std::thread::spawn(move || {
        for round in 0usize.. {
            for key in &keys {
                // Errors (the server stopping) end nothing: the demo exits with the server.
                let _ = api.post("/v1/quotes", key, &carts[round % carts.len()], &[]);
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    });
}

/// tira raises gold loyalty from 10% to 12%: first in shadow on every checkout, compared with
/// the live version and never served; then promoted.
fn shadow_then_promote(api: &Api, admin: &str, key: &str) -> anyhow::Result<()> {
    println!(
        "\n=== tira, a safe change: gold loyalty from 10% to 12%, first as a shadow beside the live \
         version, then promoted ==="
    );
    let (_, plugins) = api.get("/admin/tenants/tira/plugins", admin)?;
    let digest = plugins[0]["digest"].as_str().unwrap_or_default().to_owned();
    let mut config = mandi_tests::samples::example_config("tira");
    config["loyalty_bps"]["gold"] = json!(1200);
    let shadow = json!({ "hook": "pricing", "plugin": digest, "config": config,
                         "mode": "shadow", "sample_percent": 100 });
    let (status, deployed) = api.post("/admin/tenants/tira/deployments", admin, &shadow, &[])?;
    anyhow::ensure!(status == 201, "shadow deploy: HTTP {status} {deployed}");
    let id = deployed["id"].as_str().unwrap_or_default().to_owned();
    println!("  deployed shadow {id} on 100% of pricing calls");
    for segment in ["gold", "silver"] {
        let cart = json!({
            "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
            "customer": { "segment": segment },
            "shipping_address": sample_request()["shipping_address"],
        });
        let (_, quote) = api.post("/v1/quotes", key, &cart, &[])?;
        println!(
            "  a {segment} member's quote: {} (served by the live version)",
            money(&quote["totals"]["total"], "INR")
        );
    }
    let path = format!("/admin/tenants/tira/rollouts/{id}");
    let mut report = Value::Null;
    // Shadows run when a core is idle: up to 30 s on a busy machine, moments on an idle one.
    for _ in 0..600 {
        report = api.get(&path, admin)?.1;
        if report["runs"] == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    println!(
        "  the shadow so far: {} runs, {} identical, {} different, {} failed, total delta {}",
        report["runs"],
        report["identical"],
        report["different"],
        report["failed"],
        money(&report["total_delta"], "INR")
    );
    for example in report["examples"].as_array().into_iter().flatten() {
        println!(
            "    {}: live {} -> shadow {}",
            example["request_id"].as_str().unwrap_or("?"),
            money(&example["live_total"], "INR"),
            money(&example["shadow_total"], "INR")
        );
    }
    let (status, promoted) = api.post(&format!("{path}/promote"), admin, &json!({}), &[])?;
    anyhow::ensure!(status == 200, "promote: HTTP {status} {promoted}");
    println!("  promoted: deployment {id} now serves pricing (event plugin.promoted)");
    Ok(())
}

fn print_request(request: &Value) {
    for (i, line) in request["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        println!(
            "  line {i}: {:>3} x {}",
            line["quantity"],
            line["sku"].as_str().unwrap_or("?")
        );
    }
    println!(
        "  customer segment {}, coupons {}, ship to pincode {}, cart attributes {}",
        request["customer"]["segment"],
        request["coupon_codes"],
        request["shipping_address"]["pincode"],
        request["attributes"]
    );
}

/// What one tenant's checkout made of the cart.
fn print_quote(status: u16, quote: &Value) {
    if status != 200 {
        let error = &quote["error"];
        // A plugin's failure: its own words are in the details, the message names the hook.
        let failure = &error["details"]["failure"];
        let why = match (failure["code"].as_str(), failure["message"].as_str()) {
            (Some(code), Some(message)) => format!(": {code}: {message}"),
            (None, Some(message)) => format!(": {message}"),
            _ => String::new(),
        };
        println!(
            "  HTTP {status} {}: {}{why}",
            error["code"].as_str().unwrap_or("?"),
            error["message"].as_str().unwrap_or("")
        );
        return;
    }
    let currency = quote["currency"].as_str().unwrap_or("?");
    for adjustment in quote["adjustments"].as_array().into_iter().flatten() {
        let target = match adjustment["target"].get("line") {
            Some(line) => format!("line {line}"),
            None => "order".to_owned(),
        };
        println!(
            "  adjust {:<22} {:<8} -{:>12}{}  {}",
            adjustment["code"].as_str().unwrap_or("?"),
            target,
            money(&adjustment["amount"], currency),
            if adjustment["capped"] == true {
                " (capped)"
            } else {
                ""
            },
            adjustment["message"].as_str().unwrap_or("")
        );
    }
    for line in quote["lines"].as_array().into_iter().flatten() {
        if line["catalog_unit_price"] == 0 || line["total"] == 0 {
            println!(
                "  free   {} x {}",
                line["quantity"],
                line["sku"].as_str().unwrap_or("?")
            );
        }
    }
    let violations = quote["violations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for violation in violations {
        println!(
            "  BLOCK  {:<22} {}",
            violation["code"].as_str().unwrap_or("?"),
            violation["message"].as_str().unwrap_or("")
        );
    }
    let delivery = &quote["delivery_options"][0];
    let totals = &quote["totals"];
    println!(
        "  QUOTE  {} - {} = {}; {}; delivery {} ({}){}",
        money(&totals["subtotal"], currency),
        money(&totals["discount"], currency),
        money(&totals["total"], currency),
        if violations.is_empty() {
            "may be ordered".to_owned()
        } else {
            format!("{} violation(s) block the order", violations.len())
        },
        delivery["code"].as_str().unwrap_or("none"),
        money(&delivery["cost"], currency),
        if quote["degraded"] == true {
            " [degraded]"
        } else {
            ""
        },
    );
    if quote["payment_methods"]
        .as_array()
        .is_some_and(|m| !m.is_empty())
    {
        println!("  PAY    {}", payment_names(quote));
    }
    let trace: Vec<String> = quote["trace"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{} {} {} us",
                t["hook"].as_str().unwrap_or("?"),
                t["outcome"].as_str().unwrap_or("?"),
                t["duration_us"]
            )
        })
        .collect();
    println!("  trace  {}", trace.join(" | "));
}

/// The quote's lines: sku, quantity, what they cost and what they were discounted.
fn print_lines(quote: &Value) {
    let currency = quote["currency"].as_str().unwrap_or("?");
    for line in quote["lines"].as_array().into_iter().flatten() {
        println!(
            "  line   {:>3} x {:<22} {:>14} - {:>12}",
            line["quantity"],
            line["sku"].as_str().unwrap_or("?"),
            money(&line["subtotal"], currency),
            money(&line["discount"], currency)
        );
    }
}

/// The payment methods a quote offers, by name.
fn payment_names(quote: &Value) -> String {
    let names: Vec<&str> = (quote["payment_methods"].as_array().into_iter().flatten())
        .filter_map(|m| m["name"].as_str())
        .collect();
    names.join(", ")
}

/// `carts[i]`: a request file tenant `i` can order.
fn print_try_it(base: &str, admin: &str, tenants: &[DemoTenant], carts: &[&PathBuf]) {
    println!("\nTry it. Each tenant's API key (shown once, at creation):");
    for tenant in tenants {
        println!(
            "  export {}_KEY={}",
            tenant.id.to_uppercase(),
            tenant.api_key
        );
    }
    for (tenant, cart) in tenants.iter().zip(carts) {
        let key = format!("${}_KEY", tenant.id.to_uppercase());
        let request = rel(cart);
        // The order is the cart plus how it is paid: `quote.json` -> `quote.order.json`.
        let order = rel(&cart.with_extension("order.json"));
        println!(
            "\n  # {id}: a quote, then an order (repeat it: same Idempotency-Key, same order)\n  \
             curl -s {base}/v1/quotes -H \"authorization: Bearer {key}\" \
             -H 'content-type: application/json' -d @{request}\n  \
             curl -s {base}/v1/orders -H \"authorization: Bearer {key}\" \
             -H 'content-type: application/json' -H 'idempotency-key: {id}-order-1' -d @{order}",
            id = tenant.id,
        );
    }
    println!(
        "\n  # plugin run history with logs, the live event stream, the API description\n  \
         curl -s {base}/v1/runs -H \"authorization: Bearer $JIOMART_KEY\"\n  \
         curl -sN {base}/v1/events -H \"authorization: Bearer $JIOMART_KEY\"\n  \
         curl -s {base}/openapi.json\n\
         \n  # the platform team's view: deployments with history (admin token of this demo)\n  \
         curl -s {base}/admin/tenants/jiomart/deployments -H 'authorization: Bearer {admin}'",
    );
}

fn money(minor: &Value, currency: &str) -> String {
    let amount = minor.as_i64().unwrap_or(0);
    let sign = if amount < 0 { "-" } else { "" };
    format!(
        "{currency} {sign}{}.{:02}",
        amount.unsigned_abs() / 100,
        amount.unsigned_abs() % 100
    )
}

/// `sha256:0123456789ab`: enough of a digest to tell versions apart.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

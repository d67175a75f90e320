//! The sample catalog, carts and plugin configs of plugins-examples/, as API request bodies:
//! shared by the demo and the service tests.

use serde_json::{Value, json};

use crate::{repo_root, samples_dir};

pub fn example_config(brand: &str) -> Value {
    let path = repo_root()
        .join("plugins-examples")
        .join(brand)
        .join("config.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("config")).expect("json")
}

fn sample() -> Value {
    let text = std::fs::read_to_string(samples_dir().join("cart.json")).expect("sample");
    serde_json::from_str(&text).expect("json")
}

/// The sample file's lines and catalog as products, and its nodes.
pub fn sample_catalog() -> (Vec<Value>, Vec<Value>) {
    let sample = sample();
    let lines = sample["cart"]["lines"].as_array().expect("lines").iter();
    let extra = sample["catalog"].as_array().expect("catalog").iter();
    let products = lines
        .chain(extra)
        .map(|l| {
            let attributes = attribute_map(&l["product"]["attributes"]);
            json!({
                "sku": l["sku"], "title": l["product"]["title"],
                "price_minor": l["unit_price"]["amount"], "currency": l["unit_price"]["currency"],
                "category": l["product"]["category"], "brand": l["product"]["brand"],
                "tags": l["product"]["tags"], "attributes": attributes,
            })
        })
        .collect();
    let nodes = sample["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            let stock: serde_json::Map<String, Value> = n["stock"]
                .as_array()
                .expect("stock")
                .iter()
                .map(|s| (s["sku"].as_str().expect("sku").to_owned(), s["quantity"].clone()))
                .collect();
            json!({ "id": n["id"], "kind": n["kind"], "pincode": n["pincode"], "tags": n["tags"], "stock": stock })
        })
        .collect();
    (products, nodes)
}

/// The contract's `[{key, value}]` attribute list as the API's JSON object.
fn attribute_map(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .expect("attributes")
        .iter()
        .map(|a| {
            (
                a["key"].as_str().expect("key").to_owned(),
                a["value"].clone(),
            )
        })
        .collect()
}

/// The sample cart as a checkout request: skus and quantities only, no prices.
pub fn sample_request() -> Value {
    let cart = sample()["cart"].clone();
    let attributes = attribute_map(&cart["attributes"]);
    json!({
        "lines": cart["lines"].as_array().expect("lines").iter()
            .map(|l| json!({ "sku": l["sku"], "quantity": l["quantity"] }))
            .collect::<Vec<_>>(),
        "customer": cart["customer"],
        "shipping_address": cart["shipping_address"],
        "coupon_codes": cart["coupon_codes"],
        "attributes": attributes,
    })
}

/// A small request every tenant of the sample catalog can fulfil.
pub fn small_request() -> Value {
    json!({
        "lines": [{ "sku": "RICE-BASMATI-5KG", "quantity": 2 }],
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

/// The sample's payment methods (UPI, card, cash on delivery), in the order offered.
pub fn sample_payment_methods() -> Value {
    sample()["payment_methods"].clone()
}

/// Which hooks each example brand's component is deployed to.
pub fn example_hooks(brand: &str) -> &'static [&'static str] {
    match brand {
        "jiomart" => &["cart-transform", "pricing", "validation", "fulfillment"],
        "netmeds" => &["validation", "fulfillment", "payment"],
        "tira" => &["cart-transform", "pricing", "payment"],
        other => panic!("no example brand {other}"),
    }
}

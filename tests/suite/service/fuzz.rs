//! Fuzzing on stable Rust, bounded so it runs in every CI run: the upload path gets mutated
//! valid components and random valid core modules (wasm-smith) wrapped as components; the quote
//! path gets random JSON carts, from plausible to nonsense. Every answer must be a 2xx or a 4xx
//! with a stable code: a 5xx (a panic becomes one) fails the test. The seed is printed; set
//! `MANDI_FUZZ_SEED` to replay a run.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _, SeedableRng as _};
use serde_json::{Value, json};

use super::{ADMIN, Reply, TestService};

/// Uploads per run: mutated example components, then wasm-smith modules.
const MUTATED_UPLOADS: usize = 75;
const GENERATED_UPLOADS: usize = 75;
/// Carts per run.
const CARTS: usize = 2_000;

fn seed() -> u64 {
    std::env::var("MANDI_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().next_u64())
}

async fn upload(svc: &TestService, wasm: Vec<u8>) -> Reply {
    svc.request(
        Request::post("/admin/tenants/fuzz/plugins")
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/wasm")
            .body(Body::from(wasm))
            .expect("request"),
    )
    .await
}

fn assert_answered(reply: &Reply, what: &str) {
    assert!(
        reply.status.is_success() || reply.status.is_client_error(),
        "{what}: {reply:?}"
    );
    if reply.status.is_client_error() {
        assert!(
            !reply.code().is_empty(),
            "{what}: no error code in {reply:?}"
        );
    }
}

/// A valid component damaged the ways a bad upload can be: bytes flipped, cut short, a run of
/// bytes repeated or removed.
fn mutate(valid: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut wasm = valid.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..wasm.len());
        match rng.random_range(0..4) {
            0 => wasm[at] ^= 1 << rng.random_range(0..8),
            1 => wasm.truncate(at.max(8)),
            2 => {
                let end = (at + rng.random_range(1..64)).min(wasm.len());
                let run = wasm[at..end].to_vec();
                wasm.splice(at..at, run);
            }
            _ => {
                let end = (at + rng.random_range(1..64)).min(wasm.len());
                wasm.drain(at..end);
            }
        }
        if wasm.len() <= 8 {
            break;
        }
    }
    wasm
}

/// A random valid core module, wrapped as a component holding it.
fn generated_component(rng: &mut StdRng) -> Vec<u8> {
    let mut entropy = vec![0u8; rng.random_range(64..4096)];
    rng.fill_bytes(&mut entropy);
    let mut u = arbitrary::Unstructured::new(&entropy);
    let config = wasm_smith::Config {
        max_funcs: 50,
        max_instructions: 200,
        ..wasm_smith::Config::default()
    };
    let module = wasm_smith::Module::new(config, &mut u)
        .map(|m| m.to_bytes())
        .unwrap_or_else(|_| wat::parse_str("(module)").expect("wat"));
    let mut component = wasm_encoder::Component::new();
    component.section(&wasm_encoder::RawSection {
        id: wasm_encoder::ComponentSectionId::CoreModule as u8,
        data: &module,
    });
    component.finish()
}

#[tokio::test]
async fn fuzzed_uploads_get_an_answer_never_a_server_error() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let svc = TestService::start().await;
    svc.tenant("fuzz").await;
    let valid = mandi_tests::plugin_bytes("jiomart");
    let mut accepted = 0;
    for i in 0..MUTATED_UPLOADS + GENERATED_UPLOADS {
        let wasm = if i < MUTATED_UPLOADS {
            mutate(&valid, &mut rng)
        } else {
            generated_component(&mut rng)
        };
        let reply = upload(&svc, wasm).await;
        assert_answered(&reply, &format!("upload {i} (seed {seed})"));
        accepted += usize::from(reply.status.is_success());
    }
    // Still serving: the real component uploads and lists.
    let reply = upload(&svc, valid).await;
    assert!(reply.status.is_success(), "{reply:?}");
    let listed = svc.get("/admin/tenants/fuzz/plugins", ADMIN).await;
    assert_eq!(listed.status, StatusCode::OK);
    println!(
        "fuzzed uploads (seed {seed}): {MUTATED_UPLOADS} mutated components, {GENERATED_UPLOADS} \
         generated ones; {accepted} accepted, the rest refused with a 4xx; 0 server errors"
    );
}

fn text(rng: &mut StdRng) -> Value {
    const PIECES: [&str; 12] = [
        "RICE-BASMATI-5KG",
        "ATTA-10KG",
        "",
        " ",
        "é",
        "\u{1F600}",
        "\u{7f}",
        "\t",
        "/",
        "%00",
        "' OR 1=1 --",
        "400053",
    ];
    let mut s = String::new();
    for _ in 0..rng.random_range(0..4) {
        s.push_str(PIECES[rng.random_range(0..PIECES.len())]);
    }
    if rng.random_bool(0.05) {
        s.push_str(&"x".repeat(rng.random_range(200..5_000)));
    }
    Value::String(s)
}

fn number(rng: &mut StdRng) -> Value {
    match rng.random_range(0..8) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(rng.random_range(1..=20)),
        3 => json!(i64::MAX),
        4 => json!(u64::MAX),
        5 => json!(1e300),
        6 => json!(-0.5),
        _ => json!(10_001),
    }
}

/// Anything JSON, nested a little.
fn any(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => number(rng),
        3 => text(rng),
        4 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| any(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.random_range(0..4) {
                let Value::String(key) = text(rng) else {
                    unreachable!()
                };
                map.insert(key, any(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// A value that is usually what the field wants, sometimes anything.
fn field(rng: &mut StdRng, wanted: impl FnOnce(&mut StdRng) -> Value) -> Value {
    if rng.random_bool(0.95) {
        wanted(rng)
    } else {
        any(rng, 1)
    }
}

/// A cart: plausible most of the time (the sample's skus, sane quantities), with every field
/// now and then replaced by something else.
fn cart(rng: &mut StdRng, skus: &[String]) -> Value {
    if rng.random_bool(0.05) {
        return any(rng, 0);
    }
    let lines: Vec<Value> = (0..rng
        .random_range(0..=4)
        .max(usize::from(rng.random_bool(0.9))))
        .map(|_| {
            json!({
                "sku": field(rng, |r| if r.random_bool(0.8) {
                    json!(skus[r.random_range(0..skus.len())])
                } else { text(r) }),
                "quantity": field(rng, |r| if r.random_bool(0.8) {
                    json!(r.random_range(1..=20))
                } else { number(r) }),
            })
        })
        .collect();
    let mut cart = json!({ "lines": lines });
    if rng.random_bool(0.9) {
        cart["shipping_address"] = field(rng, |r| {
            let pincode = if r.random_bool(0.8) {
                json!("400053")
            } else {
                text(r)
            };
            json!({ "pincode": pincode, "city": text(r) })
        });
    }
    if rng.random_bool(0.3) {
        cart["customer"] = field(
            rng,
            |r| json!({ "id": text(r), "segment": text(r), "tags": [text(r)] }),
        );
    }
    if rng.random_bool(0.3) {
        cart["coupon_codes"] = field(rng, |r| json!([text(r), text(r)]));
    }
    if rng.random_bool(0.3) {
        let Value::String(key) = text(rng) else {
            unreachable!()
        };
        cart["attributes"] = field(rng, |r| json!({ key: text(r) }));
    }
    if rng.random_bool(0.05) {
        let Value::String(key) = text(rng) else {
            unreachable!()
        };
        cart[key] = any(rng, 1);
    }
    cart
}

#[tokio::test]
async fn fuzzed_carts_get_an_answer_never_a_server_error() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let svc = TestService::start().await;
    let key = svc.brand("jiomart").await;
    let (products, _) = super::sample_catalog();
    let skus: Vec<String> = (products.iter())
        .map(|p| p["sku"].as_str().expect("sku").to_owned())
        .collect();
    let mut quoted = 0;
    for i in 0..CARTS {
        let body = cart(&mut rng, &skus);
        let path = if rng.random_bool(0.1) {
            "/v1/orders"
        } else {
            "/v1/quotes"
        };
        let reply = svc
            .request(
                Request::post(path)
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("fuzz-{i}"))
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await;
        assert_answered(&reply, &format!("cart {i} (seed {seed}): {body}"));
        quoted += usize::from(reply.status.is_success());
    }
    println!(
        "fuzzed carts (seed {seed}): {CARTS} quotes and orders, {quoted} answered 2xx, the rest \
         a 4xx with a code; 0 server errors"
    );
}

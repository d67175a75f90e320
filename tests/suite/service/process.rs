//! `mandi serve` as a child process, for the tests that kill it or its database: started on a
//! free port over a test database, its log kept, stopped with SIGKILL when asked (or dropped).
//! Also the order load those tests put on it, with what was acknowledged.

use std::io::BufRead as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mandi_tests::database::TestDatabase;
use serde_json::{Value, json};

pub struct Serve {
    child: std::process::Child,
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    pub fn start(database: &TestDatabase, cache: &std::path::Path) -> Self {
        let mut command = std::process::Command::new(mandi_tests::mandi_bin());
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &database.url,
            ])
            .arg("--cache-dir")
            .arg(cache)
            .env("MANDI_ADMIN_TOKEN", super::ADMIN)
            .stderr(std::process::Stdio::piped());
        if let Some(url) = &database.migration_url {
            command.args(["--migration-database-url", url]);
        }
        if let Some(url) = &database.system_url {
            command.args(["--system-database-url", url]);
        }
        let mut child = command.spawn().expect("mandi serve starts");
        let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut said = Vec::new();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => match line.split_once("serving on ") {
                    Some((_, rest)) => {
                        break rest.split_whitespace().next().expect("address").to_owned();
                    }
                    None => said.push(line),
                },
                _ => panic!("mandi serve exited before serving:\n{}", said.join("\n")),
            }
        };
        let log = Arc::new(Mutex::new(said));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().expect("log").push(line);
            }
        });
        Self { child, base, log }
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Log lines that report a panic.
    pub fn panics(&self) -> Vec<String> {
        let log = self.log.lock().expect("log");
        log.iter()
            .filter(|l| l.contains("panicked"))
            .cloned()
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers we look at, JSON body, and how long it took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
    pub took: Duration,
}

/// An HTTP client that never turns a status into an error, with a timeout.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

pub fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    key: &str,
    body: Option<&Value>,
    idempotency_key: Option<&str>,
) -> Result<Answer, ureq::Error> {
    let started = Instant::now();
    let auth = format!("Bearer {key}");
    let mut response = if method == "GET" {
        agent.get(url).header("authorization", &auth).call()?
    } else {
        let mut request = match method {
            "PUT" => agent.put(url),
            _ => agent.post(url),
        }
        .header("authorization", &auth);
        if let Some(k) = idempotency_key {
            request = request.header("idempotency-key", k);
        }
        request.send_json(body.unwrap_or(&Value::Null))?
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Ok(Answer {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        took: started.elapsed(),
    })
}

/// Units of the one product each order takes.
pub const UNITS: u64 = 2;
/// Stock the node starts with: more than any test orders.
pub const STOCK: u64 = 1_000_000;

/// Creates tenant `shop` with one product and one node; returns its key.
pub fn set_up_shop(base: &str) -> String {
    let agent = client();
    let created = call(
        &agent,
        "POST",
        &format!("{base}/admin/tenants"),
        super::ADMIN,
        Some(&json!({ "id": "shop", "name": "Shop", "currency": "INR" })),
        None,
    )
    .expect("creates the tenant");
    assert_eq!(created.status, 201, "{created:?}");
    let key = created.body["api_key"].as_str().expect("key").to_owned();
    let product = json!({ "products": [{ "sku": "RICE", "title": "Rice", "price_minor": 10_000, "currency": "INR" }] });
    let node = json!({ "nodes": [{ "id": "N1", "kind": "warehouse", "pincode": "400001", "stock": { "RICE": STOCK } }] });
    for (path, body) in [("/v1/products", product), ("/v1/nodes", node)] {
        let reply = call(
            &agent,
            "POST",
            &format!("{base}{path}"),
            &key,
            Some(&body),
            None,
        )
        .expect("catalog");
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    key
}

pub fn order_body() -> Value {
    json!({
        "lines": [{ "sku": "RICE", "quantity": UNITS }],
        "shipping_address": { "pincode": "400001" },
    })
}

/// What the order load saw.
#[derive(Debug, Default)]
pub struct Load {
    /// Every idempotency key sent.
    pub attempted: Vec<String>,
    /// Keys the service acknowledged (201 or 200), with the order id it gave.
    pub acked: Vec<(String, String)>,
    /// Every answer that was not an acknowledgement (status, how long it took, Retry-After).
    pub refused: Vec<Answer>,
    /// Requests that got no answer at all (connection refused or reset).
    pub unanswered: usize,
}

/// Places orders from `clients` threads until `stop` is set; base URL read from `base` each
/// time, so the load follows a restarted server.
pub fn order_load(
    base: Arc<Mutex<String>>,
    key: String,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Load>> {
    (0..clients)
        .map(|c| {
            let (base, key, stop) = (base.clone(), key.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent = client();
                let mut load = Load::default();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let idempotency_key = format!("load-{c}-{n}");
                    load.attempted.push(idempotency_key.clone());
                    let url = format!("{}/v1/orders", base.lock().expect("base"));
                    match call(
                        &agent,
                        "POST",
                        &url,
                        &key,
                        Some(&order_body()),
                        Some(&idempotency_key),
                    ) {
                        Ok(a) if a.status == 201 || a.status == 200 => {
                            let id = a.body["id"].as_str().expect("order id").to_owned();
                            load.acked.push((idempotency_key, id));
                        }
                        Ok(a) => load.refused.push(a),
                        Err(_) => {
                            load.unanswered += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                load
            })
        })
        .collect()
}

pub fn join(loads: Vec<std::thread::JoinHandle<Load>>) -> Load {
    let mut all = Load::default();
    for handle in loads {
        let load = handle.join().expect("client thread");
        all.attempted.extend(load.attempted);
        all.acked.extend(load.acked);
        all.refused.extend(load.refused);
        all.unanswered += load.unanswered;
    }
    all
}

/// After the load: every acknowledged order is there, each key placed one order at most, and
/// the stock is exactly what the orders in the database took. Returns how many orders the
/// database holds.
pub fn check_orders(base: &str, key: &str, load: &Load) -> usize {
    let agent = client();
    for (idempotency_key, id) in &load.acked {
        let got = call(
            &agent,
            "GET",
            &format!("{base}/v1/orders/{id}"),
            key,
            None,
            None,
        )
        .expect("reads the order");
        assert_eq!(
            got.status, 200,
            "acknowledged order {id} ({idempotency_key}) is missing"
        );
        assert_eq!(got.body["idempotency_key"], idempotency_key.as_str());
    }
    // Every order in the database, paging back through them.
    let mut orders: Vec<Value> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let url = match &before {
            Some(id) => format!("{base}/v1/orders?limit=200&before={id}"),
            None => format!("{base}/v1/orders?limit=200"),
        };
        let page = call(&agent, "GET", &url, key, None, None).expect("lists orders");
        assert_eq!(page.status, 200, "{page:?}");
        let page = page.body.as_array().cloned().expect("a list");
        let Some(last) = page.last() else { break };
        before = Some(last["id"].as_str().expect("id").to_owned());
        orders.extend(page);
    }
    let keys: std::collections::HashSet<&str> = orders
        .iter()
        .map(|o| o["idempotency_key"].as_str().expect("key"))
        .collect();
    assert_eq!(
        keys.len(),
        orders.len(),
        "an idempotency key placed two orders"
    );
    let attempted: std::collections::HashSet<&str> =
        load.attempted.iter().map(String::as_str).collect();
    assert!(keys.is_subset(&attempted), "an order nobody asked for");
    let node = call(
        &agent,
        "GET",
        &format!("{base}/v1/nodes/N1"),
        key,
        None,
        None,
    )
    .expect("reads the node");
    assert_eq!(
        node.body["stock"]["RICE"].as_u64(),
        Some(STOCK - UNITS * orders.len() as u64),
        "stock does not match the orders"
    );
    orders.len()
}

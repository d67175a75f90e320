//! The console in a real browser: headless Chromium driven over WebDriver (ChromeDriver) logs
//! in with the admin token, sees the demo tenants with figures that move as quotes come in,
//! opens a tenant and rolls a deployment back. Screenshots of the pages are kept in
//! `target/console-screenshots/` as the test's artifacts.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use mandi_tests::demo::{BRANDS, admin_client, set_up_brand};
use serde_json::json;

use crate::service::{ADMIN, LiveService, sample_request};

/// Set by `cargo xtask test` after it installs them (Debian's chromium and chromium-driver).
const CHROMEDRIVER_ENV: &str = "MANDI_TEST_CHROMEDRIVER";
const CHROMIUM_ENV: &str = "MANDI_TEST_CHROMIUM";

/// How long the page may take to show what the test waits for: the console refreshes every
/// 5 s, so this is patience on a busy machine, not a timing.
const PATIENCE: Duration = Duration::from_secs(60);

/// ChromeDriver on a free port, stopped with the test.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start(binary: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &ChromeDriver, chromium: &str) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000"],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| mandi_tests::repo_root().join("target"))
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(name), png).expect("screenshot written");
}

/// Clicks the element `selector` names.
async fn click(client: &Client, selector: &str) {
    (client.find(Locator::Css(selector)).await)
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
}

/// Waits until `selector` matches an element whose text (or, with `attr`, that attribute)
/// satisfies `check`; returns that text.
async fn wait_for(
    client: &Client,
    selector: &str,
    attr: Option<&str>,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut last = String::new();
    loop {
        if let Ok(element) = client.find(Locator::Css(selector)).await {
            let value = match attr {
                Some(attr) => element.attr(attr).await.ok().flatten(),
                None => element.text().await.ok(),
            };
            if let Some(value) = value {
                if check(&value) {
                    return value;
                }
                last = value;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{selector} {attr:?} never passed the check; last seen: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver: `cargo xtask test` installs them and runs it"]
async fn the_console_shows_live_figures_and_rolls_a_deployment_back() {
    let chromedriver = std::env::var(CHROMEDRIVER_ENV)
        .unwrap_or_else(|_| panic!("set {CHROMEDRIVER_ENV} (cargo xtask test does)"));
    let chromium = std::env::var(CHROMIUM_ENV)
        .unwrap_or_else(|_| panic!("set {CHROMIUM_ENV} (cargo xtask test does)"));
    let service = LiveService::start(|_| {}).await;
    let base = service.api.base().to_owned();

    // The demo's tenants, a quote each, and a second version of tira's pricing to roll back.
    let keys = service
        .client(|api| {
            let tenants: Vec<_> = (BRANDS.iter())
                .map(|brand| {
                    set_up_brand(&api, ADMIN, brand, &mandi_tests::plugin_bytes(brand))
                        .expect("a demo tenant")
                })
                .collect();
            let tira = &tenants[2];
            let again = json!({ "hook": "pricing", "plugin": tira.plugin,
                                "config": mandi_tests::samples::example_config("tira") });
            mandi_tests::demo::deploy(&api, ADMIN, "tira", &again).expect("version 2");
            for tenant in &tenants {
                api.post("/v1/quotes", &tenant.api_key, &sample_request(), &[])
                    .expect("a quote");
            }
            tenants.into_iter().map(|t| t.api_key).collect::<Vec<_>>()
        })
        .await;

    let driver = ChromeDriver::start(&chromedriver);
    let client = browser(&driver, &chromium).await;
    client
        .goto(&format!("{base}/console"))
        .await
        .expect("opens");

    // A wrong token is refused with the service's message; the right one logs in.
    let token = client.find(Locator::Css("#token")).await.expect("token");
    token.send_keys("not-the-token").await.expect("types");
    click(&client, "#login").await;
    wait_for(&client, "#login-error", None, |t| t.contains("admin token")).await;
    token.clear().await.expect("clears");
    token.send_keys(ADMIN).await.expect("types");
    click(&client, "#login").await;

    // Every demo tenant at a glance, with its quote counted.
    for brand in BRANDS {
        let selector = format!("tr[data-tenant=\"{brand}\"] td:nth-child(5)");
        wait_for(&client, &selector, Some("title"), |t| {
            t.contains("of 1 quotes")
        })
        .await;
    }
    let hooks = wait_for(&client, "tr[data-tenant=\"jiomart\"]", None, |t| {
        t.contains("pricing") && t.contains("closed")
    })
    .await;
    assert!(hooks.contains("v1"), "the live version: {hooks}");
    screenshot(&client, "tenants.png").await;

    // The figures move: two more jiomart quotes show at the next refresh.
    let jiomart_key = keys[0].clone();
    service
        .client(move |api| {
            for _ in 0..2 {
                api.post("/v1/quotes", &jiomart_key, &sample_request(), &[])
                    .expect("a quote");
            }
        })
        .await;
    wait_for(
        &client,
        "tr[data-tenant=\"jiomart\"] td:nth-child(5)",
        Some("title"),
        |t| t.contains("of 3 quotes"),
    )
    .await;

    // tira's page: its deployments, and pricing rolled back to version 1 after a confirmation.
    click(&client, "tr[data-tenant=\"tira\"] a").await;
    let rollback = "button.rollback[data-hook=\"pricing\"]";
    wait_for(&client, rollback, None, |_| true).await;
    wait_for(&client, "#runs", None, |t| t.contains("pricing")).await;
    screenshot(&client, "tenant.png").await;
    click(&client, rollback).await;
    wait_for(&client, "dialog#confirm", Some("open"), |_| true).await;
    click(&client, "#confirm-yes").await;
    wait_for(&client, "#notice", None, |t| t.contains("rolled back")).await;
    let pricing = "#deployments [data-hook=\"pricing\"]";
    wait_for(
        &client,
        &format!("{pricing} tr[data-version=\"2\"]"),
        Some("data-status"),
        |s| s == "rolled-back",
    )
    .await;
    wait_for(
        &client,
        &format!("{pricing} tr[data-version=\"1\"]"),
        Some("data-status"),
        |s| s == "active",
    )
    .await;
    screenshot(&client, "rolled-back.png").await;
    client.close().await.expect("closes the session");

    // The service agrees.
    let history = service
        .client(|api| {
            admin_client(&api, ADMIN)
                .deployments("tira", Some("pricing"))
                .expect("history")
        })
        .await;
    let active: Vec<i64> = (history.iter())
        .filter(|d| d.status == mandi_host::store::DeploymentStatus::Active)
        .map(|d| d.version)
        .collect();
    assert_eq!(active, [1]);
    service.shutdown().await;
}

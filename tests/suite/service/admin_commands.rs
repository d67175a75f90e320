//! The platform team's `mandi` commands against a live service: a tenant set up, a component
//! uploaded and deployed, its runs and events read, a refused deploy and a rollback, all from
//! the command line, in tables and in JSON.

use std::io::BufRead as _;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::{ADMIN, LiveService};

/// `mandi <args>` against `server` with the admin token from the environment.
fn mandi(server: &str, args: &[&str]) -> Output {
    Command::new(mandi_tests::mandi_bin())
        .args(args)
        .env("MANDI_SERVER", server)
        .env("MANDI_ADMIN_TOKEN", ADMIN)
        .output()
        .expect("runs mandi")
}

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_str(&ok(output)).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_team_runs_a_tenant_from_the_command_line() {
    let service = LiveService::start(|_| {}).await;
    let server = service.api.base().to_owned();
    service
        .client(move |api| {
            let run = |args: &[&str]| mandi(&server, args);

            // A tenant: its key is printed once; the list shows it.
            let created = json_of(&run(&[
                "tenants",
                "create",
                "tira",
                "--name",
                "Tira Beauty",
                "--currency",
                "INR",
                "--json",
            ]));
            let key = created["api_key"].as_str().expect("a key").to_owned();
            let listed = ok(&run(&["tenants", "list"]));
            assert!(
                listed.contains("tira") && listed.contains("Tira Beauty"),
                "{listed}"
            );
            let (products, nodes) = mandi_tests::samples::sample_catalog();
            let (status, _) = api
                .post("/v1/products", &key, &json!({ "products": products }), &[])
                .expect("products");
            assert_eq!(status, 200);
            let (status, _) = api
                .post("/v1/nodes", &key, &json!({ "nodes": nodes }), &[])
                .expect("nodes");
            assert_eq!(status, 200);

            // Upload: the table names the digest and hooks; inspect finds it by a prefix.
            let tira = mandi_tests::plugin_path("tira");
            let uploaded = json_of(&run(&[
                "plugins",
                "upload",
                "tira",
                tira.to_str().expect("path"),
                "--json",
            ]));
            let digest = uploaded["digest"].as_str().expect("digest").to_owned();
            let table = ok(&run(&["plugins", "list", "tira"]));
            assert!(
                table.contains(&digest) && table.contains("pricing"),
                "{table}"
            );
            let inspected = ok(&run(&["plugins", "inspect", "tira", &digest[..20]]));
            assert!(
                inspected.contains("loyalty_bps"),
                "the config schema: {inspected}"
            );

            // A deploy with a config file.
            let dir = tempfile::tempdir().expect("temp dir");
            let config = dir.path().join("tira.json");
            let tira_config = mandi_tests::samples::example_config("tira");
            std::fs::write(&config, tira_config.to_string()).expect("config file");
            let deployed = json_of(&run(&[
                "deploy",
                "tira",
                "--hook",
                "pricing",
                "--plugin",
                &digest,
                "--config",
                config.to_str().expect("path"),
                "--json",
            ]));
            assert_eq!(deployed["status"], "active");
            assert_eq!(deployed["config"], tira_config);

            // Refused: the service's code and message, exit 1, nothing deployed.
            let refused = run(&["deploy", "tira", "--hook", "checkout", "--plugin", &digest]);
            assert_eq!(refused.status.code(), Some(1), "{refused:?}");
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert!(stderr.contains("unknown-hook (422)"), "{stderr}");
            let history = json_of(&run(&["deployments", "tira", "--json"]));
            assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");

            // A second version, then a rollback to the first.
            let second = json_of(&run(&[
                "deploy", "tira", "--hook", "pricing", "--plugin", &digest, "--json",
            ]));
            assert_eq!(second["version"], 2);
            let rolled = ok(&run(&["rollback", "tira", "pricing"]));
            assert!(rolled.contains("rolled back pricing"), "{rolled}");
            let history = ok(&run(&["deployments", "tira", "--hook", "pricing"]));
            assert!(
                history.contains("rolled-back") && history.contains("active"),
                "{history}"
            );

            // A quote, then its runs and one run with its logs.
            let (status, quote) = api
                .post(
                    "/v1/quotes",
                    &key,
                    &mandi_tests::samples::small_request(),
                    &[],
                )
                .expect("quote");
            assert_eq!(status, 200, "{quote}");
            let runs = ok(&run(&["runs", "tira", "--json"]));
            let first: Value =
                serde_json::from_str(runs.lines().next().expect("a run")).expect("one run a line");
            assert_eq!(first["hook"], "pricing");
            assert_eq!(first["request_id"], quote["request_id"]);
            let table = ok(&run(&["runs", "tira", "--hook", "pricing"]));
            assert!(
                table.contains("pricing") && table.contains(" ok "),
                "{table}"
            );
            let one = ok(&run(&["run", "tira", &first["id"].to_string()]));
            assert!(one.contains("logs ("), "{one}");

            // Health: the quote, and pricing's live version and breaker.
            let health = json_of(&run(&["health", "--minutes", "5", "--json"]));
            assert_eq!(health["tenants"][0]["quotes"]["count"], 1, "{health}");
            let table = ok(&run(&["health"]));
            assert!(table.contains("pricing v1 closed"), "{table}");

            // Events from the start: the deploys and the rollback, as they were.
            let mut events = Command::new(mandi_tests::mandi_bin())
                .args(["events", "tira", "--after", "0"])
                .env("MANDI_SERVER", &server)
                .env("MANDI_ADMIN_TOKEN", ADMIN)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("mandi events");
            let lines = std::io::BufReader::new(events.stdout.take().expect("stdout")).lines();
            let mut seen = Vec::new();
            for line in lines {
                let line = line.expect("a line");
                let done = line.contains("plugin.rolled-back");
                seen.push(line);
                if done {
                    break;
                }
            }
            events.kill().expect("stops");
            let _ = events.wait();
            let kinds: Vec<&str> = (seen.iter())
                .filter_map(|l| l.split_whitespace().nth(3))
                .collect();
            assert_eq!(
                kinds,
                [
                    "plugin.uploaded",
                    "plugin.deployed",
                    "plugin.deployed",
                    "plugin.rolled-back"
                ],
                "{seen:?}"
            );

            // Without the token: a clear message, not a request.
            let output = Command::new(mandi_tests::mandi_bin())
                .args(["tenants", "list", "--server", &server])
                .env_remove("MANDI_ADMIN_TOKEN")
                .output()
                .expect("runs mandi");
            assert_ne!(output.status.code(), Some(0));
            assert!(
                String::from_utf8_lossy(&output.stderr).contains("admin token is needed"),
                "{output:?}"
            );
        })
        .await;
    service.shutdown().await;
}

/// A gold member's two lipsticks: tira's loyalty and free sample apply.
fn gold_lipsticks() -> Value {
    json!({
        "lines": [{ "sku": "LIPSTICK-MATTE-RUBY", "quantity": 2 }],
        "customer": { "segment": "gold" },
        "shipping_address": { "pincode": "400053", "city": "Mumbai", "state": "Maharashtra", "country": "IN" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_change_runs_from_the_command_line() {
    let service = LiveService::start(|_| {}).await;
    let server = service.api.base().to_owned();
    service
        .client(move |api| {
            let run = |args: &[&str]| mandi(&server, args);
            let tira = mandi_tests::demo::set_up_brand(
                &api,
                ADMIN,
                "tira",
                &mandi_tests::plugin_bytes("tira"),
            )
            .expect("tira");
            let key = ok(&run(&["tenants", "key", "tira"]));
            assert!(key.contains("mk_"), "another key: {key}");

            // A test cart that pins today's gold quote.
            let (status, live) = api
                .post("/v1/quotes", &tira.api_key, &gold_lipsticks(), &[])
                .expect("quote");
            assert_eq!(status, 200, "{live}");
            let dir = tempfile::tempdir().expect("temp dir");
            let write = |name: &str, value: &Value| {
                let path = dir.path().join(name);
                std::fs::write(&path, value.to_string()).expect("write");
                path.to_str().expect("path").to_owned()
            };
            let cart = write(
                "gold.json",
                &json!({ "cart": gold_lipsticks(), "expect": { "total": live["totals"]["total"] } }),
            );
            ok(&run(&["test-carts", "put", "tira", "gold", "--file", &cart]));
            let listed = ok(&run(&["test-carts", "list", "tira"]));
            assert!(listed.contains("gold"), "{listed}");

            // A candidate raising gold loyalty: the test cart refuses it, naming the cart.
            let mut config = mandi_tests::samples::example_config("tira");
            config["loyalty_bps"]["gold"] = json!(1200);
            let candidate = write("gold-1200.json", &config);
            let plugin = tira.plugin.as_str();
            let deploy = ["deploy", "tira", "--hook", "pricing", "--plugin", plugin];
            let refused = run(&[&deploy[..], &["--config", &candidate]].concat());
            assert_eq!(refused.status.code(), Some(1), "{refused:?}");
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert!(stderr.contains("test-carts-failed (422)") && stderr.contains("gold"), "{stderr}");

            // Replayed on the recorded checkout (written off the response path, so waited
            // for): it differs, by the total's delta.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while json_of(&run(&["recorded-runs", "tira", "--hook", "pricing"]))["runs"][0]["input"]
                .is_null()
            {
                assert!(std::time::Instant::now() < deadline, "the checkout was recorded");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let replay = ["replay", "tira", "--hook", "pricing", "--plugin", plugin];
            let report = json_of(&run(&[&replay[..], &["--config", &candidate, "--json"]].concat()));
            assert_eq!(report["summary"]["different"], 1, "{report}");
            let table = ok(&run(&[&replay[..], &["--config", &candidate]].concat()));
            assert!(table.contains("different"), "{table}");
            let exported = json_of(&run(&["recorded-runs", "tira", "--hook", "pricing"]));
            assert_eq!(exported["runs"].as_array().map(Vec::len), Some(1), "{exported}");

            // As a shadow (the test cart forced past), read, then promoted.
            let shadow = json_of(&run(&[
                &deploy[..],
                &["--config", &candidate, "--mode", "shadow", "--sample-percent", "100"],
                &["--force", "--json"],
            ]
            .concat()));
            let id = shadow["id"].as_str().expect("id").to_owned();
            assert_eq!(shadow["status"], "shadow");
            let shown = ok(&run(&["rollouts", "show", "tira", &id]));
            assert!(shown.contains("shadow (100% of checkouts)"), "{shown}");
            let promoted = ok(&run(&["rollouts", "promote", "tira", &id]));
            assert!(promoted.contains("promoted"), "{promoted}");
            let history = json_of(&run(&["deployments", "tira", "--hook", "pricing", "--json"]));
            assert_eq!(history[0]["id"], id.as_str());
            assert_eq!(history[0]["status"], "active");

            // The test cart goes; runs --follow prints a new run as it is recorded.
            ok(&run(&["test-carts", "delete", "tira", "gold"]));
            assert!(!ok(&run(&["test-carts", "list", "tira"])).contains("gold"));
            let mut follow = Command::new(mandi_tests::mandi_bin())
                .args(["runs", "tira", "--limit", "1", "--follow", "--json"])
                .env("MANDI_SERVER", &server)
                .env("MANDI_ADMIN_TOKEN", ADMIN)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("mandi runs --follow");
            let mut lines = std::io::BufReader::new(follow.stdout.take().expect("stdout")).lines();
            let first: Value =
                serde_json::from_str(&lines.next().expect("a run").expect("a line")).expect("JSON");
            let (status, quote) = api
                .post("/v1/quotes", &tira.api_key, &gold_lipsticks(), &[])
                .expect("quote");
            assert_eq!(status, 200, "{quote}");
            let next: Value =
                serde_json::from_str(&lines.next().expect("a new run").expect("a line"))
                    .expect("JSON");
            follow.kill().expect("stops");
            let _ = follow.wait();
            assert!(next["id"].as_i64() > first["id"].as_i64(), "{first} then {next}");
            assert_eq!(next["request_id"], quote["request_id"]);
        })
        .await;
    service.shutdown().await;
}

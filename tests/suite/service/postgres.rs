//! Row-level security, checked at the database: the service's role owns nothing and cannot
//! bypass RLS, and a transaction scoped to one tenant sees and writes only that tenant's rows,
//! whatever its queries forget to filter. Runs when the suite runs on PostgreSQL.

use axum::http::StatusCode;
use sqlx::{Connection as _, Row as _};

use super::orders::order;
use super::{TestService, small_request};

/// Every table that holds tenants' rows, with its tenant column.
const TENANT_TABLES: [(&str, &str); 17] = [
    ("tenants", "id"),
    ("api_keys", "tenant_id"),
    ("products", "tenant_id"),
    ("nodes", "tenant_id"),
    ("stock", "tenant_id"),
    ("plugins", "tenant_id"),
    ("deployments", "tenant_id"),
    ("orders", "tenant_id"),
    ("reservations", "tenant_id"),
    ("outbox", "tenant_id"),
    ("plugin_runs", "tenant_id"),
    ("tenant_counters", "tenant_id"),
    ("payment_methods", "tenant_id"),
    ("test_carts", "tenant_id"),
    ("checkout_inputs", "tenant_id"),
    ("shadow_runs", "tenant_id"),
    ("minute_stats", "tenant_id"),
];

/// Two tenants with a catalog, payment methods, a test cart, a deployed plugin and a shadow of
/// it, an order, events, plugin runs, a recorded checkout and a shadow run each: a row of each
/// in every table of `TENANT_TABLES`.
async fn two_tenants_with_a_row_in_every_table(svc: &TestService) {
    for brand in ["jiomart", "tira"] {
        let key = svc.brand(brand).await;
        let plugins = svc
            .get(&format!("/admin/tenants/{brand}/plugins"), super::ADMIN)
            .await;
        let digest = plugins.body[0]["digest"].as_str().expect("digest");
        let config = mandi_tests::samples::example_config(brand);
        let shadow =
            serde_json::json!({ "mode": "shadow", "sample_percent": 100, "config": config });
        svc.deploy(brand, "pricing", digest, shadow).await;
        svc.seed_payment_methods(&key).await;
        let path = format!("/admin/tenants/{brand}/test-carts/small");
        let cart = serde_json::json!({ "cart": small_request() });
        let saved = svc.put(&path, super::ADMIN, cart).await;
        assert_eq!(saved.status, StatusCode::CREATED, "{saved:?}");
        let mut request = small_request();
        request["payment_method"] = "upi".into();
        let placed = order(svc, &key, "k1", &request).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    }
    // Recorded checkouts and shadow runs are written off the response path.
    let store = svc.service.state().store();
    super::eventually(|| async {
        let mut all = true;
        for brand in ["jiomart", "tira"] {
            let window = mandi_host::store::RunWindow {
                since: None,
                until: None,
                last: 10,
            };
            let recorded = store
                .recorded_runs(brand, "pricing", window)
                .await
                .expect("runs");
            let shadows = store
                .deployments(brand, Some("pricing"))
                .await
                .expect("list");
            let shadow = shadows
                .iter()
                .find(|d| d.sample_percent.is_some())
                .expect("shadow");
            let summary = store
                .shadow_summary(brand, &shadow.id)
                .await
                .expect("summary");
            all &= recorded.iter().any(|r| r.input.is_some()) && summary.runs > 0;
        }
        all
    })
    .await;
    // The minute figures of those quotes, written now rather than at the next interval.
    svc.service.state().checkout().write_stats().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `cargo xtask test` runs it with MANDI_TEST_POSTGRES_URL"]
async fn a_tenant_transaction_sees_and_writes_only_its_own_rows() {
    let svc = TestService::start().await;
    assert!(
        svc.database.is_postgres(),
        "set MANDI_TEST_POSTGRES_URL to an administrator's URL (cargo xtask test does)"
    );
    two_tenants_with_a_row_in_every_table(&svc).await;
    super::eventually(|| async {
        svc.service
            .state()
            .store()
            .pending_events(10)
            .await
            .expect("outbox")
            .is_empty()
    })
    .await;

    // Connect as the service does: the non-owner application role.
    let mut db = sqlx::PgConnection::connect(&svc.database.url)
        .await
        .expect("connects");
    let role = sqlx::query(
        "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut db)
    .await
    .expect("role");
    let name: String = role.get("name");
    assert_eq!(name, "mandi_app");
    assert!(!role.get::<bool, _>("rolsuper") && !role.get::<bool, _>("rolbypassrls"));
    for (table, _) in TENANT_TABLES {
        let (owner, rls, forced): (String, bool, bool) = sqlx::query_as(
            "SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity
             FROM pg_class WHERE relname = $1 AND relkind = 'r'",
        )
        .bind(table)
        .fetch_one(&mut db)
        .await
        .expect("table");
        assert_ne!(owner, "mandi_app", "{table}");
        assert!(rls && forced, "{table}: RLS enabled {rls}, forced {forced}");
    }

    // With no tenant set, nothing is visible.
    for (table, _) in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut db)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} without a tenant");
    }

    // In tira's transaction, unfiltered queries see tira's rows and none of jiomart's.
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', 'tira', true)")
        .execute(&mut *tx)
        .await
        .expect("set tenant");
    for (table, column) in TENANT_TABLES {
        let tenants: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT {column} FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .expect("select");
        assert_eq!(tenants, ["tira"], "{table}");
    }
    // ... cannot change jiomart's rows ...
    let updated = sqlx::query("UPDATE products SET price_minor = 1 WHERE tenant_id = 'jiomart'")
        .execute(&mut *tx)
        .await
        .expect("update runs")
        .rows_affected();
    assert_eq!(updated, 0);
    // ... and cannot write a row for jiomart.
    let refused = sqlx::query(
        "INSERT INTO products (tenant_id, sku, title, price_minor, currency, category, brand,
                               tags, attributes, updated_at)
         VALUES ('jiomart', 'SNEAKY', 'x', 1, 'INR', '', '', '[]', '{}', 0)",
    )
    .execute(&mut *tx)
    .await
    .expect_err("a jiomart row from tira's transaction");
    assert!(
        refused.to_string().contains("row-level security"),
        "{refused}"
    );
    drop(tx);

    // The service still sees both catalogs whole.
    let jiomart_rice = svc
        .service
        .state()
        .store()
        .product("jiomart", "RICE-BASMATI-5KG")
        .await;
    assert_eq!(
        jiomart_rice.expect("reads").map(|p| p.price_minor),
        Some(64_900)
    );
}

/// The tenant-serving role cannot switch itself into system scope: what a SQL injection in a
/// tenant's request could try. Work across tenants belongs to `mandi_system`, which the
/// policies let through by role, not by a setting.
#[tokio::test]
#[ignore = "needs PostgreSQL: `cargo xtask test` runs it with MANDI_TEST_POSTGRES_URL"]
async fn the_tenant_role_cannot_switch_itself_into_seeing_every_tenant() {
    let svc = TestService::start().await;
    assert!(svc.database.is_postgres(), "set MANDI_TEST_POSTGRES_URL");
    two_tenants_with_a_row_in_every_table(&svc).await;
    let store = svc.service.state().store();
    super::eventually(|| async {
        let runs = store.runs("tira", &Default::default()).await.expect("runs");
        !runs.is_empty()
    })
    .await;

    let mut app = sqlx::PgConnection::connect(&svc.database.url)
        .await
        .expect("connects");
    // The old switch, alone or beside a tenant: one tenant's rows at most.
    let mut tx = app.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.scope', 'system', true)")
        .execute(&mut *tx)
        .await
        .expect("a setting anyone may set");
    for (table, _) in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table}: system scope by setting");
    }
    sqlx::query("SELECT set_config('app.tenant_id', 'tira', true)")
        .execute(&mut *tx)
        .await
        .expect("set tenant");
    for (table, column) in TENANT_TABLES {
        let tenants: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT {column} FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .expect("select");
        assert_eq!(tenants, ["tira"], "{table}");
    }
    drop(tx);
    // Nor can it take the system role, or touch what only cross-tenant work touches.
    for (sql, what) in [
        ("SET ROLE mandi_system", "permission denied"),
        ("SELECT count(*) FROM artifacts", "permission denied"),
        (
            "INSERT INTO tenants (id, name, currency, time_zone, utc_offset_minutes, created_at)
             VALUES ('sneaky', 'x', 'INR', 'UTC', 0, 0)",
            "permission denied",
        ),
        ("DELETE FROM plugin_runs", "permission denied"),
    ] {
        let refused = sqlx::query(sql).execute(&mut app).await.expect_err(sql);
        assert!(refused.to_string().contains(what), "{sql}: {refused}");
    }

    // The system role sees every tenant, with no setting at all.
    let mut system =
        sqlx::PgConnection::connect(svc.database.system_url.as_deref().expect("postgres"))
            .await
            .expect("connects");
    let tenants: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM plugin_runs ORDER BY 1")
            .fetch_all(&mut system)
            .await
            .expect("runs");
    assert_eq!(tenants, ["jiomart", "tira"]);
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut system)
            .await
            .expect("role");
    assert!(!superuser && !bypass, "the system role is an ordinary role");
}

/// A `mandi serve` process.
struct Node {
    child: std::process::Child,
    api: mandi_tests::http::Api,
    /// What it logged (at info level) so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Node {
    fn start(database: &mandi_tests::database::TestDatabase, cache: &std::path::Path) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(mandi_tests::mandi_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &database.url,
            ])
            .args([
                "--migration-database-url",
                database.migration_url.as_deref().expect("postgres"),
            ])
            .args([
                "--system-database-url",
                database.system_url.as_deref().expect("postgres"),
            ])
            .arg("--cache-dir")
            .arg(cache)
            .env("MANDI_ADMIN_TOKEN", super::ADMIN)
            .env("MANDI_LOG", "mandi_host=info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("mandi serve starts");
        let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("mandi serve announces its address")
                .expect("stderr");
            if let Some((_, rest)) = line.split_once("serving on ") {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        // Keep reading the log so the process never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().expect("log").push(line);
            }
        });
        Self {
            child,
            api: mandi_tests::http::Api::new(base),
            log,
        }
    }

    /// Its "plugin loaded" log lines.
    fn loads(&self) -> Vec<String> {
        let log = self.log.lock().expect("log");
        log.iter()
            .filter(|l| l.contains("plugin loaded"))
            .cloned()
            .collect()
    }

    fn gold_rice_total(&self, key: &str) -> i64 {
        let (status, quote) = self
            .api
            .post("/v1/quotes", key, &super::deployments::gold_rice(), &[])
            .expect("quote");
        assert_eq!(status, 200, "{quote}");
        quote["totals"]["total"].as_i64().expect("total")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `node` until the quote's total is `want`; how long that took.
fn until_total(node: &Node, key: &str, want: i64) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        let total = node.gold_rice_total(key);
        if total == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still {total}, not {want}, after 5 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `cargo xtask test` runs it with MANDI_TEST_POSTGRES_URL"]
async fn a_deployment_made_on_one_node_is_live_on_another_within_a_second() {
    use serde_json::json;

    let database = mandi_tests::database::TestDatabase::fresh().await;
    assert!(database.is_postgres(), "set MANDI_TEST_POSTGRES_URL");
    // A cache directory each, as on separate machines: only the database can spare a compile.
    let caches = [
        tempfile::tempdir().expect("cache"),
        tempfile::tempdir().expect("cache"),
    ];
    let cache_paths = caches.each_ref().map(|c| c.path().to_owned());
    let admin = super::ADMIN;
    tokio::task::spawn_blocking(move || {
        let a = Node::start(&database, &cache_paths[0]);
        let b = Node::start(&database, &cache_paths[1]);
        let key = mandi_tests::demo::create_tenant(&a.api, admin, "tira").expect("tenant");
        let digest =
            mandi_tests::demo::upload(&a.api, admin, "tira", &mandi_tests::plugin_bytes("tira"))
                .expect("upload");
        let deploy = |gold_bps| {
            let body = json!({ "hook": "pricing", "plugin": digest, "config": super::deployments::tira_config(gold_bps) });
            mandi_tests::demo::deploy(&a.api, admin, "tira", &body).expect("deploy");
        };

        // Node B serves the first version (and caches the tenant's hooks)...
        deploy(1000);
        assert_eq!(b.gold_rice_total(&key), 116_820);
        // ... with the code node A compiled at upload, from the database: no compile of its own.
        let (on_a, on_b) = (a.loads(), b.loads());
        assert!(on_a.len() == 1 && on_a[0].contains("Compiled"), "{on_a:?}");
        assert!(on_b.len() == 1 && on_b[0].contains("Supplied"), "{on_b:?}");
        // ... then a new version and a rollback, both made through node A.
        deploy(500);
        let deployed = until_total(&b, &key, 123_310);
        let (status, reply) = a
            .api
            .post("/admin/tenants/tira/deployments/pricing/rollback", admin, &json!({}), &[])
            .expect("rollback");
        assert_eq!(status, 200, "{reply}");
        let rolled_back = until_total(&b, &key, 116_820);
        println!("node B served the new deployment after {deployed:?}, the rollback after {rolled_back:?}");

        // An order placed through node A reaches an event stream connected to node B.
        let listener = {
            let (api, key) = (b.api.clone(), key.clone());
            std::thread::spawn(move || {
                api.wait_for_event("/v1/events", &key, "order.placed", std::time::Duration::from_secs(5))
                    .expect("stream")
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        let (status, placed) = a
            .api
            .post("/v1/orders", &key, &super::deployments::gold_rice(), &[("idempotency-key", "two-nodes")])
            .expect("order");
        assert_eq!(status, 201, "{placed}");
        let event = listener.join().expect("listener").expect("node B streamed the order");
        assert_eq!(event["payload"]["id"], placed["id"], "{event}");
        assert!(deployed < std::time::Duration::from_secs(1), "{deployed:?}");
        assert!(rolled_back < std::time::Duration::from_secs(1), "{rolled_back:?}");
    })
    .await
    .expect("the two-node check");
}

/// A canary deployed through one node that starts failing is rolled back by the platform, and
/// the other node stops serving it too.
#[tokio::test]
#[ignore = "needs PostgreSQL: `cargo xtask test` runs it with MANDI_TEST_POSTGRES_URL"]
async fn a_failing_canary_is_rolled_back_on_every_node() {
    let database = mandi_tests::database::TestDatabase::fresh().await;
    assert!(database.is_postgres(), "set MANDI_TEST_POSTGRES_URL");
    let caches = [
        tempfile::tempdir().expect("cache"),
        tempfile::tempdir().expect("cache"),
    ];
    let cache_paths = caches.each_ref().map(|c| c.path().to_owned());
    let admin = super::ADMIN;
    tokio::task::spawn_blocking(move || {
        let a = Node::start(&database, &cache_paths[0]);
        let b = Node::start(&database, &cache_paths[1]);
        let tira = mandi_tests::demo::set_up_brand(
            &a.api,
            admin,
            "tira",
            &mandi_tests::plugin_bytes("tira"),
        )
        .expect("tira");
        let hostile =
            mandi_tests::demo::upload(&a.api, admin, "tira", &mandi_tests::plugin_bytes("hostile"))
                .expect("upload");
        let canary = super::canary::failing_canary(&hostile);
        let deployed = mandi_tests::demo::deploy(&a.api, admin, "tira", &canary).expect("canary");
        let quote_on_b = |i: usize| {
            let cart = super::canary::lipsticks_for(&format!("c{i}"));
            b.api
                .post("/v1/quotes", &tira.api_key, &cart, &[])
                .expect("quote")
                .0
        };
        // Node B serves the canary to its share, which fails...
        let started = std::time::Instant::now();
        let failed = loop {
            let failed = (0..40).filter(|&i| quote_on_b(i) == 502).count();
            if failed > 0 {
                break failed;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "B never served the canary"
            );
        };
        // ... until the platform rolls it back, and B serves everyone the live version.
        let started = std::time::Instant::now();
        while (0..40).any(|i| quote_on_b(i) != 200) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "B still serves the canary"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (_, list) = a
            .api
            .get("/admin/tenants/tira/deployments?hook=pricing", admin)
            .expect("list");
        let status = (list.as_array().expect("list").iter())
            .find(|d| d["id"] == deployed["id"])
            .map(|d| d["status"].clone());
        assert_eq!(status, Some("canary-rolled-back".into()));
        println!("{failed} of 40 quotes met the canary before it was rolled back");
    })
    .await
    .expect("two nodes");
}

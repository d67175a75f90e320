//! The checkout service end to end: the real router (in process, and over TCP where
//! concurrency matters) with the example plugins uploaded and deployed through the admin API.

mod admin_commands;
mod artifacts;
mod auth;
mod canary;
mod cart_transform;
mod checkout;
mod config_schema;
mod console;
mod crash;
mod demo;
mod deployments;
mod fuzz;
mod history;
mod hostile_input;
mod ids;
mod input;
mod isolation;
mod observability;
mod openapi;
mod orders;
mod outage;
mod payment;
mod plugin_output;
mod postgres;
mod process;
mod replay;
mod shadow;
mod test_carts;

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use mandi_host::config::ServeConfig;
use mandi_host::server::Service;
use mandi_tests::database::TestDatabase;
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const ADMIN: &str = "test-admin-token-0123456789";

/// A running service over a fresh database.
pub struct TestService {
    pub service: Service,
    pub router: Router,
    pub database: TestDatabase,
}

/// A response, with its body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The stable error code of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Compiled components are shared by the tests (the cache is keyed by content and engine).
fn cache_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mandi-test-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cache dir");
        dir
    })
    .clone()
}

/// Where a store over `database` connects, as the service would.
pub fn urls(database: &TestDatabase) -> mandi_host::store::DatabaseUrls {
    mandi_host::store::DatabaseUrls {
        url: database.url.clone(),
        migration_url: database.migration_url.clone(),
        system_url: database.system_url.clone(),
    }
}

/// The service's settings over `database` (SQLite, or PostgreSQL when the environment says so).
pub fn config(database: &TestDatabase) -> ServeConfig {
    let mut config = ServeConfig::new(database.url.clone(), ADMIN);
    config.migration_database_url = database.migration_url.clone();
    config.system_database_url = database.system_url.clone();
    config.cache_dir = Some(cache_dir());
    config
}

impl TestService {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServeConfig)) -> Self {
        let database = TestDatabase::fresh().await;
        let mut config = config(&database);
        tweak(&mut config);
        let service = Service::start(&config).await.expect("service starts");
        let router = service.router();
        Self {
            service,
            router,
            database,
        }
    }

    pub async fn request(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.request(request.body(body).expect("request")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(key), Some(body)).await
    }

    /// Creates a tenant selling in INR; returns its API key.
    pub async fn tenant(&self, id: &str) -> String {
        let reply = self
            .post(
                "/admin/tenants",
                ADMIN,
                json!({ "id": id, "name": format!("{id} (test)"), "currency": "INR" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["api_key"].as_str().expect("api key").to_owned()
    }

    /// Uploads a built plugin for a tenant; returns its digest.
    pub async fn upload(&self, tenant: &str, plugin: &str) -> String {
        self.upload_bytes(tenant, mandi_tests::plugin_bytes(plugin))
            .await
    }

    /// Uploads a component for a tenant; returns its digest.
    pub async fn upload_bytes(&self, tenant: &str, wasm: Vec<u8>) -> String {
        let request = Request::post(format!("/admin/tenants/{tenant}/plugins"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/wasm")
            .body(Body::from(wasm))
            .expect("request");
        let reply = self.request(request).await;
        assert!(reply.status.is_success(), "{reply:?}");
        reply.body["digest"].as_str().expect("digest").to_owned()
    }

    pub async fn deploy(&self, tenant: &str, hook: &str, digest: &str, extra: Value) -> Value {
        let mut body = json!({ "hook": hook, "plugin": digest });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .post(&format!("/admin/tenants/{tenant}/deployments"), ADMIN, body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body
    }

    /// A tenant with the sample catalog and its example plugin deployed to every hook it
    /// exports, with the example's config; returns the tenant's key.
    pub async fn brand(&self, brand: &str) -> String {
        let key = self.tenant(brand).await;
        self.seed_catalog(&key).await;
        let digest = self.upload(brand, brand).await;
        let config = example_config(brand);
        for hook in mandi_tests::samples::example_hooks(brand) {
            self.deploy(brand, hook, &digest, json!({ "config": config }))
                .await;
        }
        key
    }

    /// Gives the tenant the sample payment methods (UPI, card, cash on delivery).
    pub async fn seed_payment_methods(&self, key: &str) {
        let methods = json!({ "payment_methods": sample_payment_methods() });
        let reply = self.put("/v1/payment-methods", key, methods).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    /// The sample cart's products and nodes (and free-item products) as the tenant's catalog.
    pub async fn seed_catalog(&self, key: &str) {
        let (products, nodes) = sample_catalog();
        let reply = self
            .post("/v1/products", key, json!({ "products": products }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let reply = self.post("/v1/nodes", key, json!({ "nodes": nodes })).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
}

pub use mandi_tests::samples::{
    example_config, sample_catalog, sample_payment_methods, sample_request, small_request,
};

/// Waits until `check` passes, polling, for at most five seconds.
pub async fn eventually<F, Fut>(check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(std::time::Duration::from_secs(5), check).await;
}

/// Waits until `check` passes, polling, for at most `patience`: for work done in the
/// background at the lowest priority, which waits for idle CPU behind the other tests.
pub async fn eventually_within<F, Fut>(patience: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + patience;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within {patience:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A service listening on a real port, for tests that need concurrent connections.
pub struct LiveService {
    pub api: mandi_tests::http::Api,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub database: TestDatabase,
}

impl LiveService {
    pub async fn start(tweak: impl FnOnce(&mut ServeConfig)) -> Self {
        let database = TestDatabase::fresh().await;
        let mut config = config(&database);
        tweak(&mut config);
        let service = Service::start(&config).await.expect("service starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(service.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            api: mandi_tests::http::Api::new(base),
            stop: Some(stop),
            task,
            database,
        }
    }

    /// Signals shutdown and waits until the service has drained and stopped; the database
    /// is kept for inspection.
    pub async fn shutdown(mut self) -> TestDatabase {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("joins")
            .expect("served cleanly");
        self.database
    }

    /// Runs blocking client code off the async executor.
    pub async fn client<T: Send + 'static>(
        &self,
        work: impl FnOnce(mandi_tests::http::Api) -> T + Send + 'static,
    ) -> T {
        let api = self.api.clone();
        tokio::task::spawn_blocking(move || work(api))
            .await
            .expect("client thread")
    }
}

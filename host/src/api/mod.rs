//! The HTTP API: axum routers, one file per resource. Handlers authenticate (platform admin
//! token or a tenant's API key), validate, and call the checkout service or the store; every
//! tenant-scoped handler acts only for the tenant its key belongs to.

mod admin;
mod auth;
mod catalog;
mod checkout;
mod console;
mod error;
mod events;
mod input;
mod ops;
mod replays;
mod runs;
mod schema;
mod test_carts;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tracing::Instrument as _;
use utoipa::OpenApi;

pub use admin::{CreateTenant, CreatedKey, CreatedTenant, Deploy, DeployMode, RollbackWhen};
pub use auth::{Admin, TenantAuth};
pub use error::{ApiError, ApiResult, ErrorBody};
pub use input::{ApiJson, ApiPath};
use schema::CommonResponses;

use crate::events::EventBus;
use crate::pipeline::Checkout;
use crate::store::Store;

/// Everything handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    checkout: Checkout,
    events: EventBus,
    admin_token: String,
    keys: auth::KeyCache,
    max_body_bytes: usize,
    ready: AtomicBool,
    draining: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(
        store: Store,
        checkout: Checkout,
        events: EventBus,
        admin_token: String,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                checkout,
                events,
                admin_token,
                keys: auth::KeyCache::new(auth::KEY_CACHE_CAPACITY),
                max_body_bytes,
                ready: AtomicBool::new(true),
                draining: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn checkout(&self) -> &Checkout {
        &self.inner.checkout
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Marks the service as draining: /readyz answers 503 so load balancers stop sending.
    pub fn set_draining(&self) {
        self.inner.ready.store(false, Ordering::SeqCst);
        self.inner.draining.send_replace(true);
    }

    /// Resolves once the service starts draining.
    fn draining(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut rx = self.inner.draining.subscribe();
        async move {
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }

    fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_body = state.inner.max_body_bytes;
    let max_component = state
        .checkout()
        .deployments()
        .runtime()
        .config()
        .max_component_bytes;
    let admin = Router::new()
        .route(
            "/tenants",
            post(admin::create_tenant).get(admin::list_tenants),
        )
        .route("/tenants/{tenant}/api-keys", post(admin::create_api_key))
        .route(
            "/tenants/{tenant}/plugins",
            // A component may be larger than any JSON body; its own limit applies.
            post(admin::upload_plugin)
                .layer(DefaultBodyLimit::max(max_component.saturating_add(1)))
                .get(admin::list_plugins),
        )
        .route(
            "/tenants/{tenant}/deployments",
            post(admin::deploy).get(admin::list_deployments),
        )
        .route(
            "/tenants/{tenant}/deployments/{hook}/rollback",
            post(admin::rollback),
        )
        .route(
            "/tenants/{tenant}/rollouts/{id}/promote",
            post(admin::promote),
        )
        .route("/tenants/{tenant}/rollouts/{id}", get(admin::get_rollout))
        .route(
            "/tenants/{tenant}/test-carts",
            get(test_carts::list_test_carts),
        )
        .route(
            "/tenants/{tenant}/test-carts/{name}",
            put(test_carts::put_test_cart).delete(test_carts::delete_test_cart),
        )
        .route("/tenants/{tenant}/replays", post(replays::replay))
        .route(
            "/tenants/{tenant}/recorded-runs",
            get(replays::recorded_runs),
        )
        .route("/tenants/{tenant}/runs", get(runs::admin_list_runs))
        .route("/tenants/{tenant}/runs/{id}", get(runs::admin_get_run))
        .route("/tenants/{tenant}/runs/{id}/input", get(console::run_input))
        .route("/health", get(console::health_report))
        .route("/tenants/{tenant}/events", get(events::admin_stream));
    let tenant = Router::new()
        .route("/tenant", get(catalog::whoami))
        .route(
            "/products",
            get(catalog::list_products).post(catalog::import_products),
        )
        .route(
            "/products/{sku}",
            get(catalog::get_product).put(catalog::put_product),
        )
        .route(
            "/nodes",
            get(catalog::list_nodes).post(catalog::import_nodes),
        )
        .route("/nodes/{id}", get(catalog::get_node).put(catalog::put_node))
        .route(
            "/payment-methods",
            get(catalog::get_payment_methods).put(catalog::put_payment_methods),
        )
        .route("/quotes", post(checkout::quote))
        .route(
            "/orders",
            post(checkout::place_order).get(checkout::list_orders),
        )
        .route("/orders/{id}", get(checkout::get_order))
        .route("/deployments", get(runs::list_deployments))
        .route("/runs", get(runs::list_runs))
        .route("/runs/{id}", get(runs::get_run))
        .route("/events", get(events::stream));
    Router::new()
        .nest("/admin", admin)
        .nest("/v1", tenant)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/console", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(input::refuse_nul_in_uri))
        .layer(middleware::from_fn(observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; it has been logged",
            )
            .into_response()
        }))
        .with_state(state)
}

/// The request id: the client's `x-request-id` if it is a short token, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives each request an id, a tracing span and latency metrics by route.
async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req_{}", uuid::Uuid::now_v7().simple()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, route, request_id = %id, tenant = tracing::field::Empty, status = tracing::field::Empty);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("status", status.as_u16());
    crate::telemetry::http_request(method.as_str(), &route, status.as_u16(), started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

/// A page size from a query: `default` when absent, else 1 to `max` (else 400 `invalid-query`,
/// as the document says, rather than quietly another size).
fn page_limit(limit: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "invalid-query",
            format!("limit must be 1 to {max}, not {n}"),
        )),
    }
}

/// The OpenAPI document, generated from the handlers and types.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Mandi", description = "A multi-tenant commerce checkout whose pricing, validation, fulfillment and payment rules are sandboxed WebAssembly plugins."),
    paths(
        admin::create_tenant, admin::list_tenants, admin::create_api_key, admin::upload_plugin,
        admin::list_plugins, admin::deploy, admin::list_deployments, admin::rollback,
        admin::promote, admin::get_rollout,
        test_carts::list_test_carts, test_carts::put_test_cart, test_carts::delete_test_cart,
        replays::replay, replays::recorded_runs,
        catalog::whoami, catalog::list_products, catalog::import_products, catalog::get_product,
        catalog::put_product, catalog::list_nodes, catalog::import_nodes, catalog::get_node,
        catalog::put_node, catalog::get_payment_methods, catalog::put_payment_methods,
        checkout::quote, checkout::place_order, checkout::list_orders,
        checkout::get_order, runs::list_deployments, runs::list_runs, runs::get_run,
        events::stream, runs::admin_list_runs, runs::admin_get_run, events::admin_stream,
        console::run_input, console::health_report,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    // What an event stream's `data` holds (its frames are `EventFrame`s).
    components(schemas(crate::store::EventRecord)),
    modifiers(&SecuritySchemes, &CommonResponses),
    tags(
        (name = "admin", description = "Platform team: tenants, plugin uploads and deployments (admin token)"),
        (name = "catalog", description = "A tenant's products and fulfillment nodes (tenant API key)"),
        (name = "checkout", description = "Quotes and orders (tenant API key)"),
        (name = "plugins", description = "A tenant's deployments, plugin run history and events (tenant API key)"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["admin_token", "api_key"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

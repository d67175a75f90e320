//! A tenant's catalog (products and prices) and inventory (fulfillment nodes with stock).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, ApiPath, ApiResult, AppState, ErrorBody, TenantAuth};
use crate::store::{Node, PaymentMethod, Product, Tenant};

const MAX_IMPORT: usize = 5_000;
/// The catalog holds no price a cart could not carry.
const MAX_PRICE_MINOR: i64 = crate::pipeline::MAX_UNIT_PRICE;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductImport {
    pub products: Vec<Product>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeImport {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub upserted: usize,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Continue after this sku.
    pub after: Option<String>,
    /// Page size [default: 100].
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/tenant", tag = "catalog", security(("api_key" = [])),
    responses((status = 200, description = "The tenant this key belongs to", body = Tenant), (status = 401, body = ErrorBody)))]
pub async fn whoami(TenantAuth(tenant): TenantAuth) -> Json<Tenant> {
    Json(tenant)
}

#[utoipa::path(get, path = "/v1/products", tag = "catalog", security(("api_key" = [])), params(Page),
    responses((status = 200, body = Vec<Product>)))]
pub async fn list_products(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<Vec<Product>>> {
    let Query(page) = page?;
    let limit = super::page_limit(page.limit, 100, 1000)?;
    Ok(Json(
        state
            .store()
            .products(&tenant.id, page.after.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/products", tag = "catalog", security(("api_key" = [])),
    request_body = ProductImport,
    responses((status = 200, description = "All upserted, or none", body = Imported), (status = 422, body = ErrorBody)))]
pub async fn import_products(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ProductImport>,
) -> ApiResult<Json<Imported>> {
    if body.products.len() > MAX_IMPORT {
        return Err(ApiError::unprocessable(
            "too-many-items",
            format!("import at most {MAX_IMPORT} products at a time"),
        ));
    }
    for (i, p) in body.products.iter().enumerate() {
        check_product(&tenant, p).map_err(|e| at_item(e, "products", i))?;
    }
    state
        .store()
        .upsert_products(&tenant.id, &body.products)
        .await?;
    Ok(Json(Imported {
        upserted: body.products.len(),
    }))
}

#[utoipa::path(get, path = "/v1/products/{sku}", tag = "catalog", security(("api_key" = [])),
    params(("sku" = String, Path)), responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
pub async fn get_product(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(sku): ApiPath<String>,
) -> ApiResult<Json<Product>> {
    state
        .store()
        .product(&tenant.id, &sku)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("product {sku}")))
}

#[utoipa::path(put, path = "/v1/products/{sku}", tag = "catalog", security(("api_key" = [])),
    params(("sku" = String, Path)), request_body = Product,
    responses((status = 200, body = Product), (status = 422, body = ErrorBody)))]
pub async fn put_product(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(product): ApiJson<Product>,
) -> ApiResult<Json<Product>> {
    if product.sku != sku {
        return Err(ApiError::unprocessable(
            "sku-mismatch",
            format!("the body's sku `{}` is not the path's `{sku}`", product.sku),
        ));
    }
    check_product(&tenant, &product)?;
    state
        .store()
        .upsert_products(&tenant.id, std::slice::from_ref(&product))
        .await?;
    Ok(Json(product))
}

#[utoipa::path(get, path = "/v1/nodes", tag = "catalog", security(("api_key" = [])),
    responses((status = 200, body = Vec<Node>)))]
pub async fn list_nodes(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Node>>> {
    Ok(Json(state.store().nodes(&tenant.id).await?))
}

#[utoipa::path(post, path = "/v1/nodes", tag = "catalog", security(("api_key" = [])),
    request_body = NodeImport,
    responses((status = 200, description = "All upserted, or none", body = Imported), (status = 422, body = ErrorBody)))]
pub async fn import_nodes(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NodeImport>,
) -> ApiResult<Json<Imported>> {
    if body.nodes.len() > MAX_IMPORT {
        return Err(ApiError::unprocessable(
            "too-many-items",
            format!("import at most {MAX_IMPORT} nodes at a time"),
        ));
    }
    for (i, n) in body.nodes.iter().enumerate() {
        check_node(n).map_err(|e| at_item(e, "nodes", i))?;
    }
    state.store().upsert_nodes(&tenant.id, &body.nodes).await?;
    Ok(Json(Imported {
        upserted: body.nodes.len(),
    }))
}

#[utoipa::path(get, path = "/v1/nodes/{id}", tag = "catalog", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Node), (status = 404, body = ErrorBody)))]
pub async fn get_node(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Node>> {
    state
        .store()
        .node(&tenant.id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("node {id}")))
}

#[utoipa::path(put, path = "/v1/nodes/{id}", tag = "catalog", security(("api_key" = [])),
    params(("id" = String, Path)), request_body = Node,
    responses((status = 200, body = Node), (status = 422, body = ErrorBody)))]
pub async fn put_node(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(node): ApiJson<Node>,
) -> ApiResult<Json<Node>> {
    if node.id != id {
        return Err(ApiError::unprocessable(
            "id-mismatch",
            format!("the body's id `{}` is not the path's `{id}`", node.id),
        ));
    }
    check_node(&node)?;
    state
        .store()
        .upsert_nodes(&tenant.id, std::slice::from_ref(&node))
        .await?;
    Ok(Json(node))
}

/// Most payment methods a tenant offers.
const MAX_PAYMENT_METHODS: usize = 32;

/// The tenant's payment methods, all of them, in the order shoppers are offered them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethods {
    /// Up to 32, each id once.
    #[schema(max_items = 32)]
    pub payment_methods: Vec<PaymentMethod>,
}

#[utoipa::path(get, path = "/v1/payment-methods", tag = "catalog", security(("api_key" = [])),
    responses((status = 200, body = PaymentMethods)))]
pub async fn get_payment_methods(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<PaymentMethods>> {
    let payment_methods = state.store().payment_methods(&tenant.id).await?;
    Ok(Json(PaymentMethods { payment_methods }))
}

#[utoipa::path(put, path = "/v1/payment-methods", tag = "catalog", security(("api_key" = [])),
    request_body = PaymentMethods,
    responses((status = 200, description = "The methods, replaced as a whole", body = PaymentMethods), (status = 422, body = ErrorBody)))]
pub async fn put_payment_methods(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PaymentMethods>,
) -> ApiResult<Json<PaymentMethods>> {
    let methods = &body.payment_methods;
    if methods.len() > MAX_PAYMENT_METHODS {
        return Err(ApiError::unprocessable(
            "too-many-items",
            format!("a tenant offers at most {MAX_PAYMENT_METHODS} payment methods"),
        ));
    }
    for (i, m) in methods.iter().enumerate() {
        check_payment_method(m).map_err(|e| at_item(e, "payment_methods", i))?;
        if methods[..i].iter().any(|other| other.id == m.id) {
            return Err(at_item(
                ApiError::unprocessable("duplicate-id", format!("`{}` is listed twice", m.id)),
                "payment_methods",
                i,
            ));
        }
    }
    state
        .store()
        .set_payment_methods(&tenant.id, methods)
        .await?;
    Ok(Json(body))
}

fn check_payment_method(m: &PaymentMethod) -> ApiResult<()> {
    check_id("payment method id", &m.id)?;
    for (what, text) in [("name", &m.name), ("kind", &m.kind)] {
        if text.trim().is_empty() {
            return Err(ApiError::unprocessable(
                "invalid-payment-method",
                format!("{}: the {what} is empty", m.id),
            ));
        }
        check_text(what, text, 128)?;
    }
    Ok(())
}

fn at_item(mut err: ApiError, list: &str, index: usize) -> ApiError {
    err.message = format!("{list}[{index}]: {}", err.message);
    err
}

/// Ids (skus, node ids): 1 to 128 visible ASCII characters, no spaces or slashes.
fn check_id(what: &str, id: &str) -> ApiResult<()> {
    let ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'?' && b != b'#');
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid-id",
            format!("{what} `{id}` must be 1 to 128 visible ASCII characters without / ? #"),
        ))
    }
}

fn check_text(what: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.len() > max {
        return Err(ApiError::unprocessable(
            "text-too-long",
            format!("{what} is longer than {max} bytes"),
        ));
    }
    Ok(())
}

fn check_product(tenant: &Tenant, p: &Product) -> ApiResult<()> {
    check_id("sku", &p.sku)?;
    if p.title.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid-title",
            format!("{}: the title is empty", p.sku),
        ));
    }
    check_text("title", &p.title, 256)?;
    check_text("category", &p.category, 128)?;
    check_text("brand", &p.brand, 128)?;
    if !(0..=MAX_PRICE_MINOR).contains(&p.price_minor) {
        return Err(ApiError::unprocessable(
            "invalid-price",
            format!("{}: price_minor must be 0 to {MAX_PRICE_MINOR}", p.sku),
        ));
    }
    if p.currency != tenant.currency {
        return Err(ApiError::unprocessable(
            "currency-mismatch",
            format!(
                "{}: priced in {}, but tenant {} sells in {}",
                p.sku, p.currency, tenant.id, tenant.currency
            ),
        ));
    }
    if p.tags.len() > 32 || p.attributes.len() > 32 {
        return Err(ApiError::unprocessable(
            "too-many-items",
            format!("{}: at most 32 tags and 32 attributes", p.sku),
        ));
    }
    for text in p
        .tags
        .iter()
        .chain(p.attributes.keys())
        .chain(p.attributes.values())
    {
        check_text("a tag or attribute", text, 256)?;
    }
    Ok(())
}

fn check_node(n: &Node) -> ApiResult<()> {
    check_id("node id", &n.id)?;
    if n.kind.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid-kind",
            format!("node {}: kind is empty", n.id),
        ));
    }
    check_text("kind", &n.kind, 64)?;
    check_text("pincode", &n.pincode, 16)?;
    if n.tags.len() > 32 || n.stock.len() > 100_000 {
        return Err(ApiError::unprocessable(
            "too-many-items",
            format!("node {}: at most 32 tags and 100000 stocked skus", n.id),
        ));
    }
    for sku in n.stock.keys() {
        check_id("sku", sku)?;
    }
    Ok(())
}

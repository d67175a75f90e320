//! Quotes and orders. Prices always come from the catalog; an order re-runs the whole pipeline
//! server-side and is placed once per `Idempotency-Key`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, ApiJson, ApiPath, ApiResult, AppState, ErrorBody, RequestId, TenantAuth};
use crate::pipeline::views::{OrderBody, OrderView};
use crate::pipeline::{CheckoutRequest, OrderRequest, QuoteView};
use crate::store::{OrderRecord, StoreError};

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderPage {
    /// Orders older than this order id.
    pub before: Option<String>,
    /// Page size [default: 50].
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[utoipa::path(post, path = "/v1/quotes", tag = "checkout", security(("api_key" = [])),
    request_body = CheckoutRequest,
    responses(
        (status = 200, body = QuoteView),
        (status = 422, description = "Invalid cart or unknown sku", body = ErrorBody),
        (status = 429, description = "The tenant has too many checkouts in progress", body = ErrorBody),
        (status = 502, description = "A fail-closed plugin failed", body = ErrorBody)))]
pub async fn quote(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> ApiResult<Json<QuoteView>> {
    Ok(Json(
        state
            .checkout()
            .quote(&tenant, &request, &request_id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/orders", tag = "checkout", security(("api_key" = [])),
    request_body = OrderRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters; a repeat returns the same order")),
    responses(
        (status = 201, description = "Placed", body = OrderView),
        (status = 200, description = "Already placed with this key (header Idempotent-Replayed: true)", body = OrderView),
        (status = 400, description = "Missing or invalid Idempotency-Key", body = ErrorBody),
        (status = 409, description = "Key reused with another body, or out of stock", body = ErrorBody),
        (status = 422, description = "Invalid cart, or blocked by violations", body = ErrorBody),
        (status = 502, description = "A fail-closed plugin failed", body = ErrorBody)))]
pub async fn place_order(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<OrderRequest>,
) -> ApiResult<Response> {
    let key = headers
        .get(&IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing-idempotency-key",
                "placing an order needs an Idempotency-Key header",
            )
        })?
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-idempotency-key",
                "the Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?
        .to_owned();
    let placed = state
        .checkout()
        .place_order(&tenant, &request, &key, &request_id)
        .await?;
    if placed.created {
        state.events().wake();
        tracing::info!(tenant = %tenant.id, order = %placed.order.id, "order placed");
        Ok((StatusCode::CREATED, Json(order_view(&placed.order)?)).into_response())
    } else {
        let mut response = Json(order_view(&placed.order)?).into_response();
        response
            .headers_mut()
            .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
        Ok(response)
    }
}

#[utoipa::path(get, path = "/v1/orders", tag = "checkout", security(("api_key" = [])), params(OrderPage),
    responses((status = 200, description = "Newest first", body = Vec<OrderView>)))]
pub async fn list_orders(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    page: Result<Query<OrderPage>, QueryRejection>,
) -> ApiResult<Json<Vec<OrderView>>> {
    let Query(page) = page?;
    let limit = super::page_limit(page.limit, 50, 200)?;
    let orders = state
        .store()
        .orders(&tenant.id, page.before.as_deref(), limit)
        .await?;
    let views = orders.iter().map(order_view).collect::<ApiResult<_>>()?;
    Ok(Json(views))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "checkout", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrderView>> {
    let order = state
        .store()
        .order(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
    Ok(Json(order_view(&order)?))
}

/// The stored order with what its row says: the current status, the key and the time.
fn order_view(order: &OrderRecord) -> ApiResult<OrderView> {
    let mut body = OrderBody::deserialize(&order.body)
        .map_err(|e| StoreError::Corrupt(format!("order {}: {e}", order.id)))?;
    body.status = order.status.clone();
    Ok(OrderView {
        order: body,
        idempotency_key: order.idempotency_key.clone(),
        created_at: order.created_at,
    })
}

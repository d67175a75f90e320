//! A tenant's test carts (admin token): carts with the outcome each must have, tried on every
//! deployment before it is made (see `pipeline::test_carts`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::admin::require_tenant;
use super::{Admin, ApiError, ApiJson, ApiPath, ApiResult, AppState, ErrorBody};
use crate::pipeline::{CheckoutRequest, Expectation, MAX_TEST_CARTS, TestCart, check_request};
use crate::store::TestCartRecord;

/// A saved test cart.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestCartView {
    /// Unique within the tenant: 1 to 64 letters, digits, `-`, `_` or `.`.
    pub name: String,
    /// The cart, exactly as `POST /v1/quotes` takes it.
    pub cart: CheckoutRequest,
    /// What its quote must be.
    pub expect: Expectation,
    /// Unix milliseconds of the last save.
    pub updated_at: i64,
}

impl From<TestCartRecord<TestCart>> for TestCartView {
    fn from(record: TestCartRecord<TestCart>) -> Self {
        Self {
            name: record.name,
            cart: record.body.cart,
            expect: record.body.expect,
            updated_at: record.updated_at,
        }
    }
}

fn check_name(name: &str) -> ApiResult<()> {
    let fits = (1..=64).contains(&name.len())
        && (name.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fits {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid-name",
            "a test cart's name is 1 to 64 letters, digits, `-`, `_` or `.`",
        ))
    }
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/test-carts", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path)),
    responses((status = 200, description = "The tenant's test carts, by name", body = Vec<TestCartView>),
              (status = 404, body = ErrorBody)))]
pub async fn list_test_carts(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<Json<Vec<TestCartView>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let carts = state.store().test_carts::<TestCart>(&tenant.id).await?;
    Ok(Json(carts.into_iter().map(TestCartView::from).collect()))
}

#[utoipa::path(put, path = "/admin/tenants/{tenant}/test-carts/{name}", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("name" = String, Path)),
    request_body = TestCart,
    responses((status = 201, description = "Saved, new", body = TestCartView),
              (status = 200, description = "Saved, replacing the cart of that name", body = TestCartView),
              (status = 404, body = ErrorBody),
              (status = 422, description = "A bad name (`invalid-name`), a cart no quote would take (the quote's codes), an expectation that contradicts itself (`invalid-expectation`), or more than 100 carts (`too-many-test-carts`)", body = ErrorBody)))]
pub async fn put_test_cart(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<TestCart>,
) -> ApiResult<(StatusCode, Json<TestCartView>)> {
    let tenant = require_tenant(&state, &tenant).await?;
    check_name(&name)?;
    check_request(&body.cart)?;
    body.expect
        .check()
        .map_err(|e| ApiError::unprocessable("invalid-expectation", e))?;
    let names = state.store().test_cart_names(&tenant.id).await?;
    if names.len() >= MAX_TEST_CARTS && !names.contains(&name) {
        return Err(ApiError::unprocessable(
            "too-many-test-carts",
            format!("a tenant keeps at most {MAX_TEST_CARTS} test carts"),
        ));
    }
    let (created, updated_at) = state
        .store()
        .put_test_cart(&tenant.id, &name, &body)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let saved = TestCartRecord {
        name,
        body,
        updated_at,
    };
    Ok((status, Json(saved.into())))
}

#[utoipa::path(delete, path = "/admin/tenants/{tenant}/test-carts/{name}", tag = "admin",
    security(("admin_token" = [])), params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_test_cart(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = require_tenant(&state, &tenant).await?;
    if state.store().delete_test_cart(&tenant.id, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("test cart `{name}`")))
    }
}

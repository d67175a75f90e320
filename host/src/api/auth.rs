//! Who is calling: the platform admin (the configured token) or a tenant (one of its API keys).
//! Both arrive as `Authorization: Bearer ...`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::store::Tenant;
use crate::tenants::{admin_token_matches, parse_api_key, secret_matches};

/// The platform admin.
#[derive(Debug)]
pub struct Admin;

/// The tenant whose API key authenticated the request.
#[derive(Debug)]
pub struct TenantAuth(pub Tenant);

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <key>` header"))?;
    // The scheme is case-insensitive (RFC 9110 section 11.1): `bearer` and `BEARER` are `Bearer`.
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <key>`"))
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if admin_token_matches(token, &state.inner.admin_token) {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized(
                "this endpoint needs the platform admin token",
            ))
        }
    }
}

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let invalid = || ApiError::unauthorized("invalid API key");
        let (key_id, secret) = parse_api_key(bearer(parts)?).ok_or_else(invalid)?;
        let key = state.store().api_key(key_id).await?.ok_or_else(invalid)?;
        if !secret_matches(secret, &key.secret_hash) {
            return Err(invalid());
        }
        let tenant = state
            .store()
            .tenant(&key.tenant_id)
            .await?
            .ok_or_else(invalid)?;
        tracing::Span::current().record("tenant", tenant.id.as_str());
        Ok(TenantAuth(tenant))
    }
}

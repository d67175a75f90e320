//! Who is calling: the platform admin (the configured token) or a tenant (one of its API keys).
//! Both arrive as `Authorization: Bearer ...`.

use std::sync::Arc;

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

/// A key as the database has it, with its tenant.
#[derive(Debug)]
pub struct KnownKey {
    secret_hash: Vec<u8>,
    tenant: Tenant,
}

/// Keys seen recently, so a request authenticates without two database reads. Correct because
/// neither a key nor its tenant's record changes once created (there is no endpoint that
/// edits or revokes them; one that does must remove the key here, on every node, through the
/// change notifications). Only keys that exist are kept, so guessing ids cannot fill it.
pub type KeyCache = moka::sync::Cache<String, Arc<KnownKey>>;

/// Keys kept: a few per tenant at the scale a node serves.
pub const KEY_CACHE_CAPACITY: u64 = 50_000;

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
        let known = state.inner.keys.get(key_id);
        let key = match known {
            Some(key) => key,
            None => {
                let Some(key) = state.store().api_key(key_id).await? else {
                    return Err(invalid());
                };
                let tenant = state
                    .store()
                    .tenant(&key.tenant_id)
                    .await?
                    .ok_or_else(invalid)?;
                let key = Arc::new(KnownKey {
                    secret_hash: key.secret_hash,
                    tenant,
                });
                // Kept whether or not this request's secret is right: the record is what
                // the database says, and a wrong secret is refused below either way.
                state.inner.keys.insert(key_id.to_owned(), key.clone());
                key
            }
        };
        if !secret_matches(secret, &key.secret_hash) {
            return Err(invalid());
        }
        tracing::Span::current().record("tenant", key.tenant.id.as_str());
        Ok(TenantAuth(key.tenant.clone()))
    }
}

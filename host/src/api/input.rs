//! Request input checked at the edge, before any handler sees it: the JSON body extractor, and
//! text that no backend can store.
//!
//! PostgreSQL's text types cannot hold U+0000 (SQLite can), so a NUL anywhere in a request
//! would reach the database only to fail there. It is refused here instead, with one stable
//! code, on both backends alike: in the path (`/v1/products/RICE%00`), the query string and any
//! string of a JSON body (`"RICE\u0000"`, keys included).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::ApiError;

/// The stable code of a request carrying a character the service does not accept.
pub const INVALID_CHARACTER: &str = "invalid-character";

fn nul_refused(where_: &str) -> ApiError {
    ApiError::bad_request(
        INVALID_CHARACTER,
        format!("the {where_} contains a NUL character (U+0000), which is not accepted"),
    )
}

/// Refuses a request whose path or query string encodes a NUL. A URI carries one only
/// percent-encoded (`%00`; a raw NUL is not a valid URI byte), and `%00` always decodes to NUL.
pub async fn refuse_nul_in_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if has_encoded_nul(uri.path()) {
        return nul_refused("path").into_response();
    }
    if uri.query().is_some_and(has_encoded_nul) {
        return nul_refused("query string").into_response();
    }
    next.run(request).await
}

fn has_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// True when a JSON text has a string (value or key) containing U+0000. JSON can only carry one
/// as the escape `\u0000` (raw control characters are not allowed in strings), and a `\u0000`
/// is such an escape only when the backslash before it is not itself escaped: an odd run of
/// backslashes.
fn json_has_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &byte) in json.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && byte == b'u' && json.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// A JSON body, parsed into `T`, whose rejections are [`ApiError`]s: 415 without a JSON
/// content type, 413 over the body limit, 400 `malformed-json` for a body that is not JSON,
/// 400 `invalid-body` for JSON of the wrong shape, 400 `invalid-character` for a NUL in any
/// string.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state).await?;
        if json_has_nul(&bytes) {
            return Err(nul_refused("body"));
        }
        // Syntax first, over the whole body: parsing straight into `T` stops at the first
        // value of the wrong type, so `[1,]` would be reported as the wrong shape, not as the
        // malformed JSON it is.
        // (JSON is UTF-8 throughout; skipping a string does not check that, so it is checked
        // here.)
        let malformed = |err: &dyn std::fmt::Display| {
            ApiError::bad_request(
                "malformed-json",
                format!("the body is not valid JSON: {err}"),
            )
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| malformed(&e))?;
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| malformed(&e))?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// Path parameters whose rejections (a segment that is not UTF-8 once decoded, a number that
/// is not one) are [`ApiError`]s: 400 `invalid-path` in JSON, like every other error.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `application/json` or any `application/*+json`, parameters (`; charset=utf-8`) aside.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_nul_is_found_in_values_and_keys() {
        assert!(json_has_nul(br#"{"sku": "RICE\u0000"}"#));
        assert!(json_has_nul(br#"{"a\u0000b": 1}"#));
        assert!(json_has_nul(br#"["\\\u0000"]"#));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_plain_text() {
        assert!(!json_has_nul(br#"{"note": "\\u0000"}"#));
        assert!(!json_has_nul(br#"{"note": "\u0001"}"#));
        assert!(!json_has_nul(br#"{"sku": "RICE-0000", "n": 0}"#));
    }

    #[test]
    fn an_encoded_nul_in_a_uri_is_found() {
        assert!(has_encoded_nul("/v1/products/RICE%00"));
        assert!(!has_encoded_nul("/v1/products/RICE%2500"));
        assert!(!has_encoded_nul("/v1/products/RICE%20%30"));
    }
}

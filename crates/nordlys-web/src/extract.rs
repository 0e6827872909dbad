//! Request extractors that answer bad input with a problem document naming what is wrong:
//! the caller (a bearer token and its scopes), query parameters, path segments and JSON bodies.
//! Unknown query parameters and body fields are refused, not ignored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use nordlys_app::access::{self, Principal, Scope};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::ApiError;

/// How long a checked token is trusted without asking the store again (a revocation takes
/// effect within this time).
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// Tokens checked recently, by the SHA-256 of their secret.
#[derive(Default)]
pub struct TokenCache {
    checked: Mutex<HashMap<String, (Option<Principal>, Instant)>>,
}

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The caller, if its token has `scope`; else 403.
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        if self.0.may(scope) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(scope.code()))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        let key = access::secret_sha256(secret);
        if let Ok(cache) = state.tokens.checked.lock()
            && let Some((principal, at)) = cache.get(&key)
            && at.elapsed() < TOKEN_CACHE_TTL
        {
            return principal
                .clone()
                .map(Caller)
                .ok_or_else(ApiError::unauthorized);
        }
        let principal = access::authenticate(&state.store, secret).await?;
        if let Ok(mut cache) = state.tokens.checked.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (principal.clone(), Instant::now()));
        }
        principal.map(Caller).ok_or_else(ApiError::unauthorized)
    }
}

/// Whether `text` (a path or query as sent) holds a control character, raw or percent-encoded:
/// no parameter of the API may contain one, and PostgreSQL refuses NUL in text outright.
fn has_control_character(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b < 0x20
            || b == 0x7f
            || (b == b'%'
                && bytes.get(i + 1..i + 3).is_some_and(|hex| {
                    std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .is_some_and(|v| v < 0x20 || v == 0x7f)
                }))
    })
}

/// Query parameters; an unknown or malformed one is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(has_control_character) {
            return Err(ApiError::invalid(
                "query",
                "query string: control characters (such as NUL) are not allowed in a parameter",
            ));
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_problem(rejection)),
        }
    }
}

fn query_problem(rejection: QueryRejection) -> ApiError {
    let text = rejection.body_text();
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text)
        .to_owned();
    let field = detail
        .split('`')
        .nth(1)
        .filter(|f| f.len() < 64)
        .unwrap_or("query")
        .to_owned();
    ApiError::invalid(field, format!("query string: {detail}"))
}

/// Path segments; a malformed one is a 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_control_character(parts.uri.path()) {
            return Err(ApiError::invalid(
                "path",
                "path: control characters (such as NUL) are not allowed in a path segment",
            ));
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_problem(rejection)),
        }
    }
}

fn path_problem(rejection: PathRejection) -> ApiError {
    ApiError::invalid("path", rejection.body_text())
}

/// A JSON body; malformed JSON, a wrong type, a missing or unknown field is a 400 (422 for a
/// well-formed body of the wrong shape) saying where.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    use axum::http::StatusCode;
    let status = rejection.status();
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
        )
        .detail("send the body as application/json"),
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "Invalid body",
        )
        .field("body")
        .detail(detail),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "Malformed JSON body",
        )
        .field("body")
        .detail(detail),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", "Request body too large")
                .detail("the request body is larger than the server accepts")
        }
        _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", "Invalid body").detail(detail),
    }
}

/// Page parameters shared by lists: at most 500 items, 100 by default.
pub fn page_limit(limit: Option<u32>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=500) => Ok(i64::from(n)),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("limit {n}: give 1 to 500"),
        )),
    }
}

/// A JSON body read from raw bytes (for handlers that also hash the body for idempotency).
pub fn json_body<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    use axum::http::StatusCode;
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if essence != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
        )
        .detail("send the body as application/json"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let (status, code, title) = if e.is_syntax() || e.is_eof() {
            (
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "Malformed JSON body",
            )
        } else {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "Invalid body",
            )
        };
        ApiError::new(status, code, title)
            .field("body")
            .detail(format!("body: {e}"))
    })
}

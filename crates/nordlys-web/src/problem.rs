//! Errors as RFC 9457 problem details (`application/problem+json`) with a stable `code`, and
//! the request id every response and log line carries. Handlers return [`ApiError`]; the
//! [`request_context`] layer gives each request its id, logs it, and turns every error
//! response — also axum's own (an unknown route, a wrong method, a body too large) — into a
//! problem document naming the request, so no client ever sees an empty or HTML error.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nordlys_core::ParseError;
use rand::RngExt;
use serde::Serialize;
use utoipa::ToSchema;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A problem: HTTP status, a stable machine code, a human title and what exactly is wrong.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The request field (query parameter, body field, path segment) that is wrong.
    pub field: Option<String>,
    /// Every wrong item of a rejected body, each with where it is.
    pub errors: Vec<ProblemItem>,
}

/// One wrong item of a body: where (e.g. `readings[3].quantity_kwh`) and what is wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemItem {
    pub field: String,
    pub message: String,
}

/// A problem document as sent (RFC 9457 plus `code`, `field` and `request_id`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:nordlys:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `urn:nordlys:request:<request id>`.
    pub instance: String,
    /// Stable error code, e.g. `invalid_parameter`, `not_found`, `unauthorized`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemItem>,
    pub request_id: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        ApiError {
            status,
            code,
            title,
            detail: title.to_owned(),
            field: None,
            errors: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn items(mut self, errors: Vec<ProblemItem>) -> Self {
        self.errors = errors;
        self
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found").detail(what)
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "Invalid parameter",
        )
        .field(field)
        .detail(detail)
    }

    /// A value the domain refused: its field, value and rule.
    pub fn rejected(error: &ParseError) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            "Rejected input",
        )
        .field(error.field)
        .detail(format!("{} {:?}: {}", error.field, error.value, error.rule))
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
        )
        .detail("send an API token: Authorization: Bearer nordlys_…")
    }

    pub fn forbidden(scope: &str) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
            .detail(format!("this token lacks the scope {scope:?}"))
    }

    /// The store failed: logged with its cause, answered without internals.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail("the server could not answer; the request id names it in the server's log")
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .detail(detail)
    }
}

impl From<nordlys_store::StoreError> for ApiError {
    fn from(error: nordlys_store::StoreError) -> Self {
        match &error {
            nordlys_store::StoreError::Rejected(parse) => ApiError::rejected(parse),
            nordlys_store::StoreError::NotFound(what) => {
                ApiError::not_found(format!("{what} does not exist"))
            }
            e if e.is_transient() => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable("the database is not reachable; try again")
            }
            _ => ApiError::internal(&error),
        }
    }
}

impl From<nordlys_app::self_service::SelfServiceError> for ApiError {
    fn from(error: nordlys_app::self_service::SelfServiceError) -> Self {
        use nordlys_app::self_service::SelfServiceError;
        match error {
            SelfServiceError::NotFound => ApiError::not_found("not found"),
            SelfServiceError::Invalid(parse) => ApiError::rejected(&parse),
            SelfServiceError::Store(store) => store.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The id of the request being answered (in request extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's `X-Request-Id` if it is one we can echo safely, else a new one.
fn request_id_of(request: &Request) -> String {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    match given {
        Some(id) => id.to_owned(),
        None => {
            let bytes: [u8; 12] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}

fn problem_body(error: &ApiError, request_id: &str) -> Response {
    let problem = Problem {
        problem_type: format!("urn:nordlys:problem:{}", error.code),
        title: error.title.to_owned(),
        status: error.status.as_u16(),
        detail: error.detail.clone(),
        instance: format!("urn:nordlys:request:{request_id}"),
        code: error.code.to_owned(),
        field: error.field.clone(),
        errors: error.errors.clone(),
        request_id: request_id.to_owned(),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = error.status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if error.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"nordlys\""),
        );
    }
    response
}

/// The problem an error response of axum itself stands for (it has no body of ours).
fn framework_problem(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found("no resource at this path"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(status, "method_not_allowed", "Method not allowed")
                .detail("this path does not accept this method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", "Request body too large")
                .detail("the request body is larger than the server accepts")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, "unsupported_media_type", "Unsupported media type")
                .detail("send the body as application/json")
        }
        s if s.is_server_error() => ApiError::new(status, "internal", "Internal error")
            .detail("the server could not answer; the request id names it in the server's log"),
        _ => ApiError::new(status, "bad_request", "Bad request")
            .detail(status.canonical_reason().unwrap_or("bad request")),
    }
}

/// The outermost layer: request id, one log line per request, metrics, problem documents.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id_of(&request);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %request_id, %method, path = %path);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let headers = std::mem::take(response.headers_mut());
        let mut problem = problem_body(&error, &request_id);
        for (name, value) in headers.iter() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                problem.headers_mut().insert(name.clone(), value.clone());
            }
        }
        response = problem;
    } else if (response.status().is_client_error() || response.status().is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"))
    {
        // axum's own answers (no body, or plain text); pages answer errors as HTML of ours.
        let error = framework_problem(response.status());
        let allow = response.headers().get(header::ALLOW).cloned();
        response = problem_body(&error, &request_id);
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    crate::ops::record_request(method.as_str(), &route, status, elapsed);
    let _entered = span.enter();
    if status >= 500 {
        tracing::error!(status, elapsed_us = elapsed.as_micros() as u64, "answered");
    } else {
        tracing::info!(status, elapsed_us = elapsed.as_micros() as u64, "answered");
    }
    response
}

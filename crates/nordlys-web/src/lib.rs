//! The Nordlys server: the JSON API under `/api/v1` with its OpenAPI document, health and
//! Prometheus metrics. The only crate that knows HTTP; everything it answers comes from the
//! use-cases of `nordlys-app` and the store, on SQLite or PostgreSQL alike.

pub mod api;
mod cache;
pub mod extract;
mod idempotency;
pub mod ops;
pub mod problem;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use nordlys_app::Clock;
use nordlys_app::documents::RenderContext;
use nordlys_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

/// What every request can reach.
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    tokens: extract::TokenCache,
    consumption_cache: cache::ConsumptionCache,
    /// The PDF/EHF renderer for the current issuer profile, made at first need.
    render: tokio::sync::Mutex<Option<Arc<RenderContext>>>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Arc<AppState> {
        Arc::new(AppState {
            store,
            clock,
            tokens: Default::default(),
            consumption_cache: Default::default(),
            render: tokio::sync::Mutex::new(None),
        })
    }
}

/// The largest request body accepted (a day of 15-minute readings for some thousand points
/// as CSV fits; a bigger import belongs in `nordlys import`).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        api::ApiDoc::openapi().to_json().unwrap_or_default(),
    )
}

/// The whole application: API, OpenAPI document, health and metrics, with the request
/// context (id, logs, metrics, problem documents) and security headers on every response.
pub fn router(state: Arc<AppState>) -> Router {
    ops::metrics_handle();
    api::routes()
        .route("/api/openapi.json", get(openapi_json))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics_text))
        .fallback(|| async { problem::ApiError::not_found("no resource at this path") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(problem::request_context))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// Serve `state` on `listener` until `shutdown` resolves, then finish the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?address, "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

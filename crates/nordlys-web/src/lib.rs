//! The Nordlys server: the JSON API under `/api/v1` with its OpenAPI document, health and
//! Prometheus metrics. The only crate that knows HTTP; everything it answers comes from the
//! use-cases of `nordlys-app` and the store, on SQLite or PostgreSQL alike.

pub mod api;
mod cache;
pub mod extract;
mod idempotency;
pub mod ops;
pub mod problem;
pub mod web;

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

/// Where the development sign-in's one-time codes go: (customer id, code).
pub type CodeSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// How the server runs.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// Demo mode: the development sign-in, its codes handed to this sink (the console). Only
    /// on a loopback address: `nordlys serve` refuses it elsewhere.
    pub demo_sign_in: Option<CodeSink>,
    /// Sign-in through an OpenID provider, discovered before the server starts.
    pub oidc: Option<Arc<web::oidc::OidcProvider>>,
    /// Sign-in of staff to the back-office through an OpenID provider (e.g. Entra ID).
    pub staff_oidc: Option<Arc<web::oidc::OidcProvider>>,
    /// What a customer's postponement of a due date must keep.
    pub postpone_rules: nordlys_app::work_orders::PostponeRules,
    /// How far from today a reported move in may start.
    pub move_in_rules: nordlys_app::work_orders::MoveInRules,
}

/// What every request can reach.
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub options: ServerOptions,
    tokens: extract::TokenCache,
    consumption_cache: cache::ConsumptionCache,
    /// This month so far (cost and energy) by customer and last day with readings.
    month_cost_cache: cache::HeadCache<(String, jiff::civil::Date), web::pages::MonthSummary>,
    /// The ledger's view of each customer's invoices by customer and day.
    ledger_cache: cache::HeadCache<
        (String, jiff::civil::Date),
        Arc<std::collections::HashMap<i64, nordlys_app::receivables::ledger::OpenItem>>,
    >,
    /// The PDF/EHF renderer for the current issuer profile, made at first need.
    render: tokio::sync::Mutex<Option<Arc<RenderContext>>>,
    /// The web's texts in every language.
    web_texts: Arc<nordlys_documents::i18n::Localiser>,
    sign_in_limiter: web::session::SignInLimiter,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Arc<AppState> {
        Self::with_options(store, clock, ServerOptions::default())
    }

    pub fn with_options(
        store: Store,
        clock: Arc<dyn Clock>,
        options: ServerOptions,
    ) -> Arc<AppState> {
        // The texts are embedded and checked by a test: they always parse.
        let web_texts = nordlys_documents::i18n::Localiser::from_sources(web::web_source)
            .expect("the embedded web texts parse");
        Arc::new(AppState {
            store,
            clock,
            options,
            tokens: Default::default(),
            consumption_cache: Default::default(),
            month_cost_cache: Default::default(),
            ledger_cache: Default::default(),
            render: tokio::sync::Mutex::new(None),
            web_texts: Arc::new(web_texts),
            sign_in_limiter: Default::default(),
        })
    }
}

/// Today where the utilities are (Norway and Denmark keep the same civil time), by the
/// server's clock: the day invoices' status stands at.
pub(crate) fn today_in_market(state: &AppState) -> jiff::civil::Date {
    let now = state.clock.now();
    let zone = nordlys_core::model::Market::No.time_zone();
    zone.to_offset(now).to_datetime(now).date()
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
        .merge(web::routes())
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

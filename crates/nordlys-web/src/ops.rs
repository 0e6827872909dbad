//! What operators watch: `/healthz` (the process answers), `/readyz` (the database answers),
//! and Prometheus `/metrics` — request counts and latencies per route and status, and gauges of
//! what the store holds (documents, open missing-basis tasks, runs in progress and their
//! batches, the journal head), read from the store at each scrape.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::ApiError;

/// Buckets of the request latency histogram, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS_SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use (`None` if another recorder was
/// installed first, e.g. by an embedding program).
pub fn metrics_handle() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "nordlys_http_request_duration_seconds".to_owned(),
                    ),
                    &LATENCY_BUCKETS_SECONDS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Count one answered request and its latency.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("nordlys_http_requests_total", &labels).increment(1);
    metrics::histogram!("nordlys_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
}

/// Whether the process and its database answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// The database backend: `sqlite` or `postgres` (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    /// The last change journal sequence number (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_head: Option<i64>,
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        database: None,
        journal_head: None,
    })
}

/// The process and its database answer: ready for traffic.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Health),
              (status = 503, description = "The database does not answer", body = crate::problem::Problem)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let head = tokio::time::timeout(Duration::from_secs(5), state.store.journal_head())
        .await
        .map_err(|_| ApiError::unavailable("the database did not answer within 5 s"))?
        .map_err(|e| {
            tracing::warn!(error = %e, "not ready");
            ApiError::unavailable("the database does not answer")
        })?;
    Ok(Json(Health {
        status: "ok",
        database: Some(state.store.backend().name()),
        journal_head: Some(head),
    }))
}

/// Prometheus text exposition of the server's metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    if let Ok(summary) = state.store.summary().await {
        metrics::gauge!("nordlys_documents").set(summary.documents as f64);
        metrics::gauge!("nordlys_missing_basis_tasks_open")
            .set(summary.open_missing_basis_tasks as f64);
        metrics::gauge!("nordlys_metering_points").set(summary.metering_points as f64);
    }
    if let Ok(runs) = state.store.runs(50).await {
        let open: Vec<_> = runs.iter().filter(|r| r.finished_at.is_none()).collect();
        metrics::gauge!("nordlys_runs_in_progress").set(open.len() as f64);
        for (status, count) in [
            (
                "pending",
                open.iter().map(|r| r.batches_pending).sum::<i64>(),
            ),
            (
                "claimed",
                open.iter().map(|r| r.batches_claimed).sum::<i64>(),
            ),
            ("failed", open.iter().map(|r| r.batches_failed).sum::<i64>()),
        ] {
            metrics::gauge!("nordlys_run_batches", "status" => status).set(count as f64);
        }
    }
    if let Ok(head) = state.store.journal_head().await {
        metrics::gauge!("nordlys_journal_head").set(head as f64);
    }
    let body = metrics_handle().map(|h| h.render()).unwrap_or_default();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

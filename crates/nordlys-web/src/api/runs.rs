//! `/api/v1` billing runs: list them, read one with its report and not-ready list, start the
//! settlement of a period (planned in batches and billed by this server's worker, which any
//! `nordlys worker` on any machine can join), and the open missing-basis tasks.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use nordlys_app::access::Scope;
use nordlys_app::billing::{
    BillingError, BillingPolicy, PlannedRun, WorkerOptions, plan_settlement, work,
};
use nordlys_app::wire::runs::{WireRun, WireRunReport, WireTask};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::idempotency::{self, Idempotent};
use crate::problem::{ApiError, Problem};

/// How many runs a list shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// At most this many, newest first: 1 to 500 (20 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Settlement and correction runs, newest first.
#[utoipa::path(get, path = "/api/v1/billing-runs", tag = "billing", params(RunQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Vec<WireRun>), (status = 400, body = Problem)))]
pub async fn list_runs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> Result<Json<Vec<WireRun>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = match query.limit {
        None => 20,
        Some(_) => crate::extract::page_limit(query.limit)?,
    };
    let runs = state.store.runs(limit).await?;
    Ok(Json(runs.iter().map(WireRun::from).collect()))
}

/// One run: what it issued, its batches and workers, and its not-ready list.
#[utoipa::path(get, path = "/api/v1/billing-runs/{id}", tag = "billing",
    params(("id" = i64, Path, description = "The run's id")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireRunReport), (status = 404, body = Problem)))]
pub async fn get_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WireRunReport>, ApiError> {
    caller.require(Scope::Read)?;
    let run = state
        .store
        .run(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run {id} does not exist")))?;
    let batches = state.store.run_batches(id).await?;
    let documents = state.store.run_documents(id).await?;
    let tasks = state.store.missing_basis_tasks().await?;
    Ok(Json(WireRunReport::new(&run, &documents, &batches, &tasks)))
}

/// The settlement to start.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    /// The month to settle, `YYYY-MM`.
    pub period: String,
}

/// A run as started.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedRun {
    pub id: i64,
    pub period: String,
    /// Batches planned (0: nothing left to settle; the run is finished).
    pub batches: usize,
    pub accounts: usize,
    /// Contracts of the period settled before.
    pub already_settled: u64,
    /// The period's unfinished run was taken up rather than a new one started.
    pub resumed: bool,
    /// Where to follow it.
    pub status_url: String,
}

/// Start the settlement of a period; 202 with the run, billed in the background.
#[utoipa::path(post, path = "/api/v1/billing-runs", tag = "billing", request_body = NewRun,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key get the first answer")),
    security(("bearer" = ["billing"])),
    responses((status = 202, body = StartedRun), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn start_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let principal = caller.require(Scope::Billing)?.clone();
    let request: NewRun = crate::extract::json_body(&headers, &body)?;
    let period = LocalPeriod::parse_month(&request.period).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            "Rejected input",
        )
        .field("period")
        .detail(format!("period {:?}: {}", e.value, e.rule))
    })?;
    let guard = match idempotency::begin(
        &state,
        &principal,
        &headers,
        "POST /api/v1/billing-runs",
        &body,
    )
    .await?
    {
        Idempotent::Replay(response) => return Ok(response),
        Idempotent::Proceed(guard) => guard,
    };
    let policy = server_policy();
    let statutory = Arc::new(Statutory::default());
    let planned = match plan_settlement(
        &state.store,
        period,
        &policy,
        &statutory,
        state.clock.as_ref(),
        policy.accounts_per_transaction,
    )
    .await
    {
        Ok(planned) => planned,
        Err(error) => {
            guard.abandon().await;
            return Err(billing_problem(error));
        }
    };
    tracing::info!(run = planned.run_id, period = %request.period, token = %principal.name, "billing run started");
    metrics::counter!("nordlys_billing_runs_started_total").increment(1);
    start_worker(&state, &planned, policy, statutory);
    let started = StartedRun {
        id: planned.run_id,
        period: request.period.clone(),
        batches: planned.batches,
        accounts: planned.accounts,
        already_settled: planned.already_settled,
        resumed: planned.resumed,
        status_url: format!("/api/v1/billing-runs/{}", planned.run_id),
    };
    guard.finish(StatusCode::ACCEPTED, &started).await
}

/// Bill a planned run's batches in the background, by this server's worker (any `nordlys
/// worker` may join it); nothing to do for a run planned without batches.
pub(crate) fn start_worker(
    state: &AppState,
    planned: &PlannedRun,
    policy: BillingPolicy,
    statutory: Arc<Statutory>,
) {
    if planned.batches == 0 {
        return;
    }
    let store = state.store.clone();
    let clock = Arc::clone(&state.clock);
    let run_id = planned.run_id;
    tokio::spawn(async move {
        let options = WorkerOptions {
            name: format!("server-{}", std::process::id()),
            lease: Duration::from_secs(30),
            run: Some(run_id),
            idle_exit: None,
            poll: Duration::from_millis(250),
            give_up_after: Duration::from_secs(300),
        };
        match work(&store, &policy, statutory, clock, &options).await {
            Ok(report) => tracing::info!(
                run = run_id,
                invoices = report.invoices,
                "billing run worked"
            ),
            Err(error) => tracing::error!(run = run_id, %error, "billing run worker stopped"),
        }
    });
}

/// The policy of a run started by the server: the default, waiting a little for a run in
/// progress.
pub(crate) fn server_policy() -> BillingPolicy {
    BillingPolicy {
        wait_for_run: Some(Duration::from_secs(5)),
        ..BillingPolicy::default()
    }
}

pub(crate) fn billing_problem(error: BillingError) -> ApiError {
    match error {
        BillingError::Store(e) => e.into(),
        other => ApiError::new(StatusCode::CONFLICT, "billing_refused", "Billing refused")
            .detail(other.to_string()),
    }
}

/// Open missing-basis tasks: contracts not billed, and why.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "billing",
    security(("bearer" = ["read"])),
    responses((status = 200, body = Vec<WireTask>)))]
pub async fn list_tasks(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<WireTask>>, ApiError> {
    caller.require(Scope::Read)?;
    let tasks = state.store.missing_basis_tasks().await?;
    Ok(Json(tasks.iter().map(WireTask::from).collect()))
}

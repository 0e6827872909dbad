//! `/api/v1` work orders: list them a page at a time with their filters, read one, report a move
//! out of or into a metering point for a customer, and approve or reject a requested one (the
//! decision audit-logged with the token's name as actor). The POSTs take an `Idempotency-Key`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use nordlys_app::access::{Principal, Scope};
use nordlys_app::self_service::Holdings;
use nordlys_app::wire::master::Page;
use nordlys_app::work_orders::{self, MoveIn};
use nordlys_core::ParseError;
use nordlys_store::{AuditEntry, WorkOrder, WorkOrderFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{ApiPath, ApiQuery, Caller, page_limit};
use crate::idempotency::{self, Idempotent};
use crate::problem::{ApiError, Problem};

const KINDS: [&str; 3] = ["move_out", "move_in", "postpone"];
const STATUSES: [&str; 3] = ["requested", "approved", "rejected"];

/// A work order: a customer's request that changes their contracts or documents, and its
/// decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireWorkOrder {
    pub id: i64,
    /// `move_out`, `move_in` or `postpone`.
    pub kind: String,
    pub customer_id: String,
    pub account_id: String,
    /// The metering point's GSRN (a move), or the invoice's number (a postponement).
    pub subject: String,
    /// The moving day, or the new due date (`YYYY-MM-DD`).
    pub date: String,
    /// The supplier product chosen (a move in); null otherwise.
    pub product: Option<String>,
    /// The customer's note.
    pub note: String,
    /// `requested`, `approved` or `rejected`.
    pub status: String,
    /// When it was requested (RFC 3339, UTC).
    pub requested_at: String,
    /// Who decided: a staff member, a service account, or `rules`.
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

fn instant(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl From<&WorkOrder> for WireWorkOrder {
    fn from(o: &WorkOrder) -> Self {
        WireWorkOrder {
            id: o.id,
            kind: o.kind.clone(),
            customer_id: o.customer_id.clone(),
            account_id: o.account_id.clone(),
            subject: o.subject.clone(),
            date: o.requested_date.clone(),
            product: o.product_code.clone(),
            note: o.detail.clone(),
            status: o.status.clone(),
            requested_at: instant(o.requested_at_us),
            decided_by: o.decided_by.clone(),
            decided_at: o.decided_at_us.map(instant),
            decision_note: o.decision_note.clone(),
        }
    }
}

/// Filters of the work-order list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkOrderQuery {
    /// `requested`, `approved` or `rejected`.
    pub status: Option<String>,
    /// `move_out`, `move_in` or `postpone`.
    pub kind: Option<String>,
    /// One customer's.
    pub customer_id: Option<String>,
    /// Items per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

fn one_of<'a>(
    field: &str,
    value: Option<&'a str>,
    known: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match value {
        Some(v) if !known.contains(&v) => Err(ApiError::invalid(
            field,
            format!("{field} {v:?}: one of {}", known.join(", ")),
        )),
        other => Ok(other),
    }
}

/// Work orders in the order they were made.
#[utoipa::path(get, path = "/api/v1/work-orders", tag = "work orders", params(WorkOrderQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Page<WireWorkOrder>), (status = 400, body = Problem)))]
pub async fn list_work_orders(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<WorkOrderQuery>,
) -> Result<Json<Page<WireWorkOrder>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let after = query
        .after
        .as_deref()
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                ApiError::invalid("after", format!("after {a:?}: the `next` of a page"))
            })
        })
        .transpose()?;
    let filter = WorkOrderFilter {
        customer: query.customer_id.as_deref(),
        status: one_of("status", query.status.as_deref(), &STATUSES)?,
        kind: one_of("kind", query.kind.as_deref(), &KINDS)?,
    };
    let page = state.store.work_orders_page(filter, after, limit).await?;
    Ok(Json(Page::of(page, |o| WireWorkOrder::from(&o))))
}

async fn stored(state: &AppState, id: i64) -> Result<WorkOrder, ApiError> {
    state
        .store
        .work_order(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("work order {id} does not exist")))
}

/// One work order.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}", tag = "work orders",
    params(("id" = i64, Path, description = "The work order's id")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireWorkOrder), (status = 404, body = Problem)))]
pub async fn get_work_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WireWorkOrder>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(WireWorkOrder::from(&stored(&state, id).await?)))
}

/// A move to report for a customer.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkOrder {
    /// `move_out` or `move_in`.
    pub kind: String,
    pub customer_id: String,
    /// The metering point's GSRN (18 digits, GS1 check digit).
    pub metering_point: String,
    /// The moving day (`YYYY-MM-DD`): the first day without the contract (out) or with it (in).
    pub date: String,
    /// A move in: the supplier product chosen (one the utility offers in the point's market).
    pub product: Option<String>,
    /// At most 500 characters.
    #[serde(default)]
    pub note: String,
}

fn rejected(field: &'static str, value: &str, rule: &str) -> ApiError {
    ApiError::rejected(&ParseError::new(field, value, rule))
}

/// Report a move out of or into a metering point for a customer; 201 with the requested order.
#[utoipa::path(post, path = "/api/v1/work-orders", tag = "work orders", request_body = NewWorkOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key get the first answer")),
    security(("bearer" = ["write"])),
    responses((status = 201, body = WireWorkOrder), (status = 422, body = Problem)))]
pub async fn create_work_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let principal = caller.require(Scope::Write)?.clone();
    let request: NewWorkOrder = crate::extract::json_body(&headers, &body)?;
    if !["move_out", "move_in"].contains(&request.kind.as_str()) {
        return Err(rejected(
            "kind",
            &request.kind,
            "move_out or move_in (a postponement is the customer's, in self-service)",
        ));
    }
    let date = nordlys_core::time::parse_date("date", &request.date)
        .map_err(|e| ApiError::rejected(&e))?;
    let holdings = match Holdings::load(&state.store, &request.customer_id).await {
        Ok(holdings) => holdings,
        Err(nordlys_app::self_service::SelfServiceError::NotFound) => {
            return Err(rejected(
                "customer_id",
                &request.customer_id,
                "no customer has this id",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let guard = match idempotency::begin(
        &state,
        &principal,
        &headers,
        "POST /api/v1/work-orders",
        &body,
    )
    .await?
    {
        Idempotent::Replay(response) => return Ok(response),
        Idempotent::Proceed(guard) => guard,
    };
    let created = match (request.kind.as_str(), &request.product) {
        ("move_in", Some(product)) => {
            work_orders::request_move_in(
                &state.store,
                &holdings,
                &MoveIn {
                    gsrn: request.metering_point.clone(),
                    day: date,
                    product_code: product.clone(),
                    note: request.note.clone(),
                },
                state.options.move_in_rules,
                state.clock.as_ref(),
            )
            .await
        }
        ("move_in", None) => Err(work_orders::refusal(
            "product",
            "",
            "a move in chooses a supplier product",
        )),
        (_, Some(product)) => Err(work_orders::refusal(
            "product",
            product,
            "only a move in chooses a product",
        )),
        (_, None) => {
            work_orders::request_move_out(
                &state.store,
                &holdings,
                &request.metering_point,
                date,
                &request.note,
                state.clock.as_ref(),
            )
            .await
        }
    };
    match created {
        Ok(order) => {
            tracing::info!(work_order = order.id, kind = %order.kind, token = %principal.name, "work order reported");
            guard
                .finish(StatusCode::CREATED, &WireWorkOrder::from(&order))
                .await
        }
        Err(nordlys_app::self_service::SelfServiceError::NotFound) => {
            guard.abandon().await;
            Err(rejected(
                "metering_point",
                &request.metering_point,
                "not a metering point of this customer",
            ))
        }
        Err(error) => {
            guard.abandon().await;
            Err(error.into())
        }
    }
}

/// A decision's note.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

/// Approve or reject requested work order `id` as `actor`, and audit-log the decision: what the
/// back-office and the API both do. 404 if there is no such order, 409 if it is decided.
pub(crate) async fn decide(
    state: &AppState,
    id: i64,
    approve: bool,
    actor_kind: &str,
    actor: &str,
    note: &str,
) -> Result<WorkOrder, ApiError> {
    let already = |order: &WorkOrder| {
        ApiError::new(StatusCode::CONFLICT, "already_decided", "Already decided").detail(format!(
            "work order {id} was {} by {}: a decision is final",
            order.status,
            order.decided_by.as_deref().unwrap_or("someone")
        ))
    };
    let order = stored(state, id).await?;
    if order.status != "requested" {
        return Err(already(&order));
    }
    let decided = work_orders::decide_work_order(
        &state.store,
        id,
        approve,
        actor,
        note.trim(),
        state.clock.as_ref(),
    )
    .await?;
    let Some(order) = decided else {
        return Err(already(&stored(state, id).await?));
    };
    state
        .store
        .audit(&AuditEntry {
            at_us: state.clock.now().as_microsecond(),
            actor_kind: actor_kind.to_owned(),
            actor: actor.to_owned(),
            action: if approve {
                "approve_work_order"
            } else {
                "reject_work_order"
            }
            .to_owned(),
            target: format!("customer:{}", order.customer_id),
            detail: format!("work order {id}: {} {}", order.kind, order.subject),
        })
        .await?;
    Ok(order)
}

async fn decide_by_token(
    state: Arc<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
    id: i64,
    approve: bool,
) -> Result<Response, ApiError> {
    let principal: Principal = caller.require(Scope::Billing)?.clone();
    let decision: Decision = if body.is_empty() {
        Decision::default()
    } else {
        crate::extract::json_body(&headers, &body)?
    };
    if decision.note.chars().count() > 500 {
        return Err(rejected("note", "(long)", "at most 500 characters"));
    }
    let route = format!(
        "POST /api/v1/work-orders/{id}/{}",
        if approve { "approve" } else { "reject" }
    );
    let guard = match idempotency::begin(&state, &principal, &headers, &route, &body).await? {
        Idempotent::Replay(response) => return Ok(response),
        Idempotent::Proceed(guard) => guard,
    };
    match decide(
        &state,
        id,
        approve,
        "service_account",
        &principal.name,
        &decision.note,
    )
    .await
    {
        Ok(order) => {
            guard
                .finish(StatusCode::OK, &WireWorkOrder::from(&order))
                .await
        }
        Err(error) => {
            guard.abandon().await;
            Err(error)
        }
    }
}

/// Approve a requested work order: a move out ends the customer's contracts on the point on the
/// moving day, a move in starts its contracts then. 409 if it is decided already.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/approve", tag = "work orders",
    request_body(content = Option<Decision>, description = "An optional note"),
    params(("id" = i64, Path, description = "The work order's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key get the first answer")),
    security(("bearer" = ["billing"])),
    responses((status = 200, body = WireWorkOrder), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn approve_work_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide_by_token(state, caller, headers, body, id, true).await
}

/// Reject a requested work order: nothing else changes. 409 if it is decided already.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/reject", tag = "work orders",
    request_body(content = Option<Decision>, description = "An optional note"),
    params(("id" = i64, Path, description = "The work order's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key get the first answer")),
    security(("bearer" = ["billing"])),
    responses((status = 200, body = WireWorkOrder), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn reject_work_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide_by_token(state, caller, headers, body, id, false).await
}

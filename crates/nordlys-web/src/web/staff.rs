//! The back-office for the utility's staff: sign-in of local staff (argon2id password and a
//! TOTP code), finding a customer by name, address, e-mail, phone, customer or metering point
//! number, invoice number or KID, the 360° view of a customer (accounts, contracts, metering
//! points with their latest readings, documents, work orders, the change journal of each),
//! billing runs with their not-ready lists, the correction preview (`corrections`), and the
//! audit log; staff sign in locally or through an OpenID provider (Entra ID). Every view of a
//! customer, every staff action and every sign-in (or refusal) is written to the audit log.
//! A customer's session gets 404 here, as for anything not theirs.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nordlys_store::{AuditEntry, ChangeRecord, CustomerFilter, Domain, WebSubject};
use serde::Deserialize;

mod corrections;
mod customer_parts;

use super::oidc;
use super::session::{RequireSession, SignedIn};
use super::{Frame, html, not_found_page};
use crate::AppState;
use crate::extract::ApiPath;
use crate::problem::ApiError;

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: None,
    }
}

fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: Some(href.into()),
    }
}

pub struct Section {
    pub heading: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Template)]
#[template(path = "staff_tables.html")]
struct TablesPage {
    page: Frame,
    title: String,
    search: bool,
    query: String,
    intro: Vec<String>,
    sections: Vec<Section>,
    /// Links after the tables: to earlier or later pages.
    links: Vec<PageLink>,
}

pub struct PageLink {
    pub text: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "staff_signin.html")]
struct StaffSignInPage {
    page: Frame,
    title: String,
    message: Option<String>,
    /// The staff OpenID provider's button, if one is configured.
    oidc_button: Option<String>,
}

/// The staff sign-in page with `message_id`'s text, if any, answered with `status`.
async fn staff_sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message_id: Option<&str>,
) -> Response {
    let page = staff_frame(state, headers, None, "/staff/signin", "").await;
    let title = page.t("staff-signin-title");
    let message = message_id.map(|id| page.t(id));
    let oidc_button = state
        .options
        .staff_oidc
        .as_ref()
        .map(|p| page.tv("signin-oidc", &[("provider", p.label())]));
    html(
        status,
        &StaffSignInPage {
            page,
            title,
            message,
            oidc_button,
        },
    )
}

/// Start a session for staff member `name` and send the browser to the back-office.
async fn staff_session(state: &AppState, name: String) -> Response {
    let subject = WebSubject {
        kind: "staff".to_owned(),
        subject: name,
    };
    let mut response = super::session::signed_in_response(state, &subject).await;
    if let Some(location) = response.headers_mut().get_mut(axum::http::header::LOCATION) {
        *location = axum::http::HeaderValue::from_static("/staff");
    }
    response
}

async fn staff_frame(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: Option<&SignedIn>,
    path: &str,
    current: &str,
) -> Frame {
    state.frame(headers, signed_in, None, path, current).await
}

async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), ApiError> {
    state
        .store
        .audit(&AuditEntry {
            at_us: state.clock.now().as_microsecond(),
            actor_kind: "staff".to_owned(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_owned(),
        })
        .await
        .map_err(ApiError::from)
}

async fn get_sign_in(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    staff_sign_in_page(&state, &headers, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct StaffForm {
    name: String,
    password: String,
    code: String,
}

async fn post_sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<StaffForm>,
) -> Response {
    let name = form.name.trim().to_owned();
    let fail = |status: StatusCode, id: &'static str| {
        let state = Arc::clone(&state);
        let headers = headers.clone();
        async move { staff_sign_in_page(&state, &headers, status, Some(id)).await }
    };
    if !state
        .sign_in_limiter
        .allow(super::client_ip(&headers), &format!("staff:{name}"))
    {
        return fail(StatusCode::TOO_MANY_REQUESTS, "signin-limited").await;
    }
    let now = state.clock.now();
    let unix = u64::try_from(now.as_second()).unwrap_or(0);
    match nordlys_app::staff::verify_staff(&state.store, &name, &form.password, &form.code, unix)
        .await
    {
        Ok(true) => {
            if let Err(error) = audit(
                &state,
                &name,
                "staff_sign_in",
                &format!("staff:{name}"),
                "password and TOTP",
            )
            .await
            {
                return error.into_response();
            }
            staff_session(&state, name).await
        }
        Ok(false) => fail(StatusCode::UNAUTHORIZED, "staff-signin-failed").await,
        Err(error) => ApiError::internal(&error).into_response(),
    }
}

/// Start a staff sign-in at the staff OpenID provider (404 without one).
async fn oidc_start(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match state.options.staff_oidc.as_ref() {
        Some(provider) => oidc::redirect_to_provider(&state, provider).await,
        None => not_found_page(&state, &headers).await,
    }
}

/// The staff provider sends the browser back here: the verified claim must name an existing
/// staff user; anyone else is refused, and the refusal is audited.
async fn oidc_callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::extract::Query(answer): axum::extract::Query<oidc::Callback>,
) -> Response {
    let Some(provider) = state.options.staff_oidc.as_ref() else {
        return not_found_page(&state, &headers).await;
    };
    let via = format!("OpenID Connect, {}", provider.issuer());
    let refusal = match oidc::verified_claim(&state, provider, answer).await {
        Ok(name) => {
            match nordlys_app::staff::may_sign_in_through_provider(&state.store, &name).await {
                Ok(true) => {
                    if let Err(error) = audit(
                        &state,
                        &name,
                        "staff_sign_in",
                        &format!("staff:{name}"),
                        &via,
                    )
                    .await
                    {
                        return error.into_response();
                    }
                    tracing::info!(staff = %name, provider = %provider.issuer(), "staff signed in (OpenID Connect)");
                    return staff_session(&state, name).await;
                }
                Ok(false) => {
                    let detail = format!("{via}: no staff user of this name");
                    if let Err(error) = audit(
                        &state,
                        &name,
                        "staff_sign_in_refused",
                        &format!("staff:{name}"),
                        &detail,
                    )
                    .await
                    {
                        return error.into_response();
                    }
                    oidc::unknown("no staff user matches the claim")
                }
                Err(error) => oidc::Refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "signin-oidc-failed",
                    error.to_string(),
                ),
            }
        }
        Err(refusal) => {
            if refusal.1 == oidc::CLAIM_MISSING {
                let detail = format!("{via}: the ID token has no claim {}", provider.claim());
                if let Err(error) =
                    audit(&state, "-", "staff_sign_in_refused", "staff", &detail).await
                {
                    return error.into_response();
                }
            }
            refusal
        }
    };
    let oidc::Refusal(status, message, reason) = refusal;
    tracing::warn!(%reason, "staff OpenID sign-in refused");
    let message = match message {
        "signin-oidc-unknown" => "staff-oidc-unknown",
        other => other,
    };
    staff_sign_in_page(&state, &headers, status, Some(message)).await
}

/// A back-office page needs a staff session; anyone else gets 404.
async fn staff_of(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
) -> Result<String, Response> {
    match signed_in.staff() {
        Some(name) => Ok(name.to_owned()),
        None => Err(not_found_page(state, headers).await),
    }
}

/// A back-office page's staff member: without a session the browser is sent to sign in, any
/// other session gets 404 (see [`staff_of`]).
pub(crate) struct RequireStaff {
    pub name: String,
    pub signed_in: SignedIn,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for RequireStaff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let RequireSession(signed_in) = RequireSession::from_request_parts(parts, state).await?;
        let name = staff_of(state, &parts.headers, &signed_in).await?;
        Ok(RequireStaff { name, signed_in })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff {
        name: staff,
        signed_in,
    }: RequireStaff,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Response {
    let page = staff_frame(&state, &headers, Some(&signed_in), "/staff", "/staff").await;
    let q = query.q.unwrap_or_default().trim().to_owned();
    let mut sections = Vec::new();
    if !q.is_empty() {
        let found = async {
            let mut ids: Vec<String> = Vec::new();
            if q.len() == 18 && q.bytes().all(|b| b.is_ascii_digit()) {
                ids.extend(state.store.customers_of_point(&q).await?);
            }
            if let Ok(nordlys_app::wire::DocumentKey::Number(number)) =
                nordlys_app::wire::DocumentKey::parse(&q)
                && let Some(id) = state.store.document_id_by_number(&number).await?
                && let Some(document) = state.store.document(id).await?
                && let Some(account) = state.store.account(&document.account_id).await?
            {
                ids.push(account.customer_id);
            }
            if q.bytes().all(|b| b.is_ascii_digit()) {
                ids.extend(state.store.customers_by_kid(&q).await?);
            }
            let mut customers = Vec::new();
            for id in &ids {
                if let Some(c) = state.store.customer(id).await? {
                    customers.push(c);
                }
            }
            let page = state
                .store
                .customers_page(
                    &CustomerFilter {
                        text: Some(q.clone()),
                    },
                    None,
                    50,
                )
                .await?;
            for c in page.items {
                if !customers
                    .iter()
                    .any(|k: &nordlys_core::model::Customer| k.customer_id == c.customer_id)
                {
                    customers.push(c);
                }
            }
            Ok::<_, nordlys_store::StoreError>(customers)
        }
        .await;
        let customers = match found {
            Ok(customers) => customers,
            Err(error) => return ApiError::from(error).into_response(),
        };
        if let Err(error) = audit(
            &state,
            &staff,
            "search",
            "customers",
            &format!("{} found", customers.len()),
        )
        .await
        {
            return error.into_response();
        }
        sections.push(Section {
            heading: page.t("staff-results"),
            headers: vec![
                page.t("col-id"),
                page.t("col-name"),
                page.t("col-address"),
                page.t("col-email"),
                page.t("col-phone"),
            ],
            rows: customers
                .iter()
                .map(|c| {
                    vec![
                        link(
                            c.customer_id.clone(),
                            format!("/staff/customers/{}", c.customer_id),
                        ),
                        cell(c.name.clone()),
                        cell(format!(
                            "{}, {} {}",
                            c.address.street, c.address.postcode, c.address.city
                        )),
                        cell(c.email.clone()),
                        cell(c.phone.clone()),
                    ]
                })
                .collect(),
        });
    }
    let title = page.t("staff-search-title");
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: true,
            query: q,
            intro: Vec::new(),
            sections,
            links: Vec::new(),
        },
    )
}

/// What a change did, field by field: `email: a → b` for an update, the fields set for a create.
fn change_summary(change: &ChangeRecord) -> String {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "–".to_owned(),
        other => other.to_string(),
    };
    match (
        change.before.as_ref().and_then(|b| b.as_object()),
        change.after.as_ref().and_then(|a| a.as_object()),
    ) {
        (Some(before), Some(after)) => after
            .iter()
            .filter(|(key, value)| before.get(*key) != Some(value))
            .map(|(key, value)| {
                format!(
                    "{key}: {} → {}",
                    before.get(key).map(text).unwrap_or_default(),
                    text(value)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        (None, Some(after)) => after
            .iter()
            .filter(|(_, value)| !value.is_null())
            .take(6)
            .map(|(key, value)| format!("{key}: {}", text(value)))
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    }
}

/// A row per change record, in the order given.
fn change_rows(changes: &[ChangeRecord]) -> Vec<Vec<Cell>> {
    changes
        .iter()
        .map(|c| {
            vec![
                cell(c.changed_at.strftime("%Y-%m-%d %H:%M:%S").to_string()),
                cell(format!("{} {}", c.domain.code(), c.key)),
                cell(c.op.code()),
                cell(change_summary(c)),
            ]
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerQuery {
    /// The journal page: changes before this sequence number.
    changes_before: Option<i64>,
}

async fn customer_view(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff {
        name: staff,
        signed_in,
    }: RequireStaff,
    ApiPath(id): ApiPath<String>,
    axum::extract::Query(query): axum::extract::Query<CustomerQuery>,
) -> Response {
    let holdings = match nordlys_app::self_service::Holdings::load(&state.store, &id).await {
        Ok(holdings) => holdings,
        Err(nordlys_app::self_service::SelfServiceError::NotFound) => {
            return not_found_page(&state, &headers).await;
        }
        Err(nordlys_app::self_service::SelfServiceError::Store(e)) => {
            return ApiError::from(e).into_response();
        }
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    if let Err(error) = audit(
        &state,
        &staff,
        "view_customer",
        &format!("customer:{id}"),
        "360° view, identity number shown",
    )
    .await
    {
        return error.into_response();
    }
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        &format!("/staff/customers/{id}"),
        "/staff",
    )
    .await;
    let language = page.language;
    let c = &holdings.customer;
    let intro = vec![
        format!(
            "{} · {} · {}",
            c.name,
            c.identity.kind().code(),
            c.identity.as_str()
        ),
        format!(
            "{}, {} {} · {} · {}",
            c.address.street, c.address.postcode, c.address.city, c.email, c.phone
        ),
    ];
    let mut sections = vec![Section {
        heading: page.t("staff-accounts"),
        headers: vec![
            page.t("col-id"),
            page.t("col-payer"),
            page.t("col-channel"),
            page.t("col-email"),
        ],
        rows: holdings
            .accounts
            .iter()
            .map(|a| {
                vec![
                    cell(a.account_id.clone()),
                    link(
                        a.payer_customer_id.clone(),
                        format!("/staff/customers/{}", a.payer_customer_id),
                    ),
                    cell(a.invoice_channel.code()),
                    cell(a.email.clone()),
                ]
            })
            .collect(),
    }];
    let mut contracts = Vec::new();
    for account in &holdings.accounts {
        match state
            .store
            .contracts_page(Some(&account.account_id), None, None, 500)
            .await
        {
            Ok(page) => contracts.extend(page.items),
            Err(error) => return ApiError::from(error).into_response(),
        }
    }
    sections.push(Section {
        heading: page.t("staff-contracts"),
        headers: vec![
            page.t("col-contract"),
            page.t("col-product"),
            page.t("col-role"),
            page.t("col-point"),
            page.t("col-start"),
            page.t("col-end"),
        ],
        rows: contracts
            .iter()
            .map(|k| {
                vec![
                    cell(k.contract_id.clone()),
                    cell(k.product_code.clone()),
                    cell(k.role.code()),
                    cell(
                        k.metering_point_id
                            .as_ref()
                            .map(|g| g.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
                    cell(k.start.to_string()),
                    cell(k.end.map(|e| e.to_string()).unwrap_or_default()),
                ]
            })
            .collect(),
    });
    match customer_parts::points_section(&state, &page, &holdings.points).await {
        Ok(section) => sections.push(section),
        Err(error) => return ApiError::from(error).into_response(),
    }
    let documents = match holdings.documents(&state.store, 200).await {
        Ok(documents) => documents,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    sections.push(Section {
        heading: page.t("staff-documents"),
        headers: vec![
            page.t("col-number"),
            page.t("col-period"),
            page.t("col-total"),
            "KID".to_owned(),
        ],
        rows: documents
            .iter()
            .map(|d| {
                vec![
                    link(
                        d.display_number(),
                        format!("/api/v1/invoices/{}", d.display_number()),
                    ),
                    cell(d.period.clone()),
                    cell(nordlys_documents::i18n::format::money(
                        d.gross, d.currency, language,
                    )),
                    cell(d.kid.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    });
    let orders = match state.store.work_orders(Some(&id), None, 200).await {
        Ok(orders) => orders,
        Err(error) => return ApiError::from(error).into_response(),
    };
    sections.push(customer_parts::work_orders_section(&page, &orders));
    let keys: Vec<(Domain, String)> = std::iter::once((Domain::Customer, c.customer_id.clone()))
        .chain(
            holdings
                .accounts
                .iter()
                .map(|a| (Domain::Account, a.account_id.clone())),
        )
        .chain(holdings.points.iter().map(|p| {
            (
                Domain::MeteringPoint,
                p.metering_point_id.as_str().to_owned(),
            )
        }))
        .chain(
            contracts
                .iter()
                .map(|k| (Domain::Contract, k.contract_id.clone())),
        )
        .chain(
            documents
                .iter()
                .map(|d| (Domain::Document, d.display_number())),
        )
        .chain(orders.iter().map(|o| (Domain::WorkOrder, o.id.to_string())))
        .collect();
    let changes = match customer_parts::changes_of(&state, &keys).await {
        Ok(changes) => changes,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let path = format!("/staff/customers/{id}");
    let (shown, older) = customer_parts::changes_page(&page, &changes, query.changes_before, &path);
    sections.push(Section {
        heading: page.t("staff-history"),
        headers: vec![
            page.t("col-when"),
            page.t("col-target"),
            page.t("col-what"),
            page.t("col-detail"),
        ],
        rows: change_rows(shown),
    });
    let title = page.tv("staff-customer", &[("id", &id)]);
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: false,
            query: String::new(),
            intro,
            sections,
            links: older.into_iter().collect(),
        },
    )
}

async fn runs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff { signed_in, .. }: RequireStaff,
) -> Response {
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        "/staff/runs",
        "/staff/runs",
    )
    .await;
    let runs = match state.store.runs(100).await {
        Ok(runs) => runs,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let sections = vec![Section {
        heading: page.t("staff-runs-title"),
        headers: vec![
            page.t("col-id"),
            page.t("col-kind"),
            page.t("col-period"),
            page.t("col-status"),
            page.t("col-invoices"),
            page.t("col-credit-notes"),
            page.t("col-not-ready"),
        ],
        rows: runs
            .iter()
            .map(|r| {
                let wire = nordlys_app::wire::runs::WireRun::from(r);
                vec![
                    link(r.id.to_string(), format!("/staff/runs/{}", r.id)),
                    cell(r.kind.clone()),
                    cell(r.period.clone()),
                    cell(wire.status),
                    cell(r.invoices.to_string()),
                    cell(r.credit_notes.to_string()),
                    cell(r.not_ready.to_string()),
                ]
            })
            .collect(),
    }];
    let title = page.t("staff-runs-title");
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: false,
            query: String::new(),
            intro: Vec::new(),
            sections,
            links: Vec::new(),
        },
    )
}

async fn run(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff { signed_in, .. }: RequireStaff,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        "/staff/runs",
        "/staff/runs",
    )
    .await;
    let loaded = async {
        let Some(run) = state.store.run(id).await? else {
            return Ok(None);
        };
        let batches = state.store.run_batches(id).await?;
        let documents = state.store.run_documents(id).await?;
        let tasks = state.store.missing_basis_tasks().await?;
        Ok::<_, nordlys_store::StoreError>(Some(nordlys_app::wire::runs::WireRunReport::new(
            &run, &documents, &batches, &tasks,
        )))
    }
    .await;
    let report = match loaded {
        Ok(Some(report)) => report,
        Ok(None) => return not_found_page(&state, &headers).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let intro = report
        .documents
        .iter()
        .map(|s| {
            format!(
                "{} {}: {} ({}–{}), {} {}",
                s.series,
                s.currency,
                s.documents,
                s.first_number,
                s.last_number,
                s.gross,
                s.currency
            )
        })
        .collect();
    let sections = vec![Section {
        heading: page.t("staff-not-ready"),
        headers: vec![
            page.t("col-contract"),
            page.t("col-point"),
            page.t("col-reason"),
        ],
        rows: report
            .not_ready_list
            .iter()
            .map(|t| {
                vec![
                    cell(t.contract_id.clone()),
                    cell(t.metering_point.clone().unwrap_or_default()),
                    cell(t.reason.clone()),
                ]
            })
            .collect(),
    }];
    let title = page.tv(
        "staff-run-title",
        &[
            ("id", &id.to_string()),
            ("kind", &report.run.kind),
            ("period", &report.run.period),
        ],
    );
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: false,
            query: String::new(),
            intro,
            sections,
            links: Vec::new(),
        },
    )
}

async fn audit_log(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff { signed_in, .. }: RequireStaff,
) -> Response {
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        "/staff/audit",
        "/staff/audit",
    )
    .await;
    let entries = match state.store.audit_log(None, 500).await {
        Ok(entries) => entries,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let sections = vec![Section {
        heading: page.t("staff-audit-title"),
        headers: vec![
            page.t("col-when"),
            page.t("col-who"),
            page.t("col-what"),
            page.t("col-target"),
            page.t("col-detail"),
        ],
        rows: entries
            .iter()
            .map(|e| {
                vec![
                    cell(
                        jiff::Timestamp::from_microsecond(e.at_us)
                            .map(|t| t.to_string())
                            .unwrap_or_default(),
                    ),
                    cell(format!("{} {}", e.actor_kind, e.actor)),
                    cell(e.action.clone()),
                    cell(e.target.clone()),
                    cell(e.detail.clone()),
                ]
            })
            .collect(),
    }];
    let title = page.t("staff-audit-title");
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: false,
            query: String::new(),
            intro: Vec::new(),
            sections,
            links: Vec::new(),
        },
    )
}

pub struct OrderView {
    pub id: i64,
    pub heading: String,
    pub text: String,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "staff_work_orders.html")]
struct WorkOrdersPage {
    page: Frame,
    title: String,
    message: Option<String>,
    orders: Vec<OrderView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecidedQuery {
    decided: Option<String>,
}

async fn work_orders(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff { signed_in, .. }: RequireStaff,
    axum::extract::Query(query): axum::extract::Query<DecidedQuery>,
) -> Response {
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        "/staff/work-orders",
        "/staff/work-orders",
    )
    .await;
    let orders = match state.store.work_orders(None, None, 200).await {
        Ok(orders) => orders,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let orders = orders
        .iter()
        .map(|o| OrderView {
            id: o.id,
            heading: format!(
                "#{} · {} {} · {}",
                o.id,
                page.t(&format!("order-{}", o.kind)),
                o.subject,
                page.t(&format!("status-{}", o.status))
            ),
            text: format!(
                "{} · {} {} · {}{}{}",
                o.customer_id,
                o.account_id,
                o.requested_date,
                o.product_code
                    .as_ref()
                    .map(|product| format!("{product} · "))
                    .unwrap_or_default(),
                o.detail,
                o.decided_by
                    .as_ref()
                    .map(|by| format!(" · {by}: {}", o.decision_note.clone().unwrap_or_default()))
                    .unwrap_or_default()
            ),
            open: o.status == "requested",
        })
        .collect();
    let title = page.t("staff-orders-title");
    let message = query.decided.map(|_| page.t("staff-decided"));
    html(
        StatusCode::OK,
        &WorkOrdersPage {
            page,
            title,
            message,
            orders,
        },
    )
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let staff = match staff_of(&state, &headers, &signed_in).await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    if !signed_in.csrf_ok(&form.csrf) {
        return super::csrf_page(&state, &headers, &signed_in).await;
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return ApiError::invalid("decision", format!("decision {other:?}: approve or reject"))
                .into_response();
        }
    };
    // The API decides the same way: the decision and its audit entry; 404 or 409 otherwise.
    match crate::api::work_orders::decide(&state, id, approve, "staff", &staff, &form.note).await {
        Ok(_) => axum::response::Redirect::to("/staff/work-orders?decided=1").into_response(),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            not_found_page(&state, &headers).await
        }
        Err(error) => error.into_response(),
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/staff/signin", get(get_sign_in).post(post_sign_in))
        .route("/staff/signin/oidc", get(oidc_start))
        .route("/staff/auth/callback", get(oidc_callback))
        .route("/staff", get(search))
        .route("/staff/customers/{id}", get(customer_view))
        .route(
            "/staff/points/{id}/readings",
            get(customer_parts::point_readings),
        )
        .route(
            "/staff/corrections",
            get(corrections::preview).post(corrections::issue),
        )
        .route("/staff/runs", get(runs))
        .route("/staff/runs/{id}", get(run))
        .route("/staff/audit", get(audit_log))
        .route("/staff/work-orders", get(work_orders))
        .route("/staff/work-orders/{id}", axum::routing::post(decide))
}

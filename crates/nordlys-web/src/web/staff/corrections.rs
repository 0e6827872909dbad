//! The correction preview of the back-office: what a corrections run would issue right now — per
//! (period, account) what stands billed, what the latest data rate to, the difference and the
//! lines that change — computed by the app's correction run as a dry run, so viewing it stores
//! nothing. A form (POST, CSRF) starts the corrections run as the API starts a settlement run;
//! both the view and the start are audited.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use nordlys_app::NoProgress;
use nordlys_app::billing::{CorrectionPreview, correct, plan_corrections};
use nordlys_core::document::DocumentKind;
use nordlys_documents::i18n::format;
use nordlys_rating::Statutory;

use super::{RequireStaff, Section, audit, cell, link, staff_frame};
use crate::AppState;
use crate::api::runs::{billing_problem, server_policy, start_worker};
use crate::problem::ApiError;
use crate::web::{CsrfForm, Frame, html};

#[derive(Template)]
#[template(path = "staff_corrections.html")]
struct CorrectionsPage {
    page: Frame,
    title: String,
    intro: Vec<String>,
    sections: Vec<Section>,
    /// Whether there is anything to issue (the form is shown).
    can_issue: bool,
}

/// The rows of the corrections table: one per (period, account).
fn correction_rows(
    page: &Frame,
    corrections: &[CorrectionPreview],
    customers: &[String],
) -> Vec<Vec<super::Cell>> {
    let language = page.language;
    corrections
        .iter()
        .zip(customers)
        .map(|(c, customer)| {
            let money = |value| format::money(value, c.currency, language);
            let documents = c
                .documents
                .iter()
                .map(|(kind, gross)| {
                    let kind = match kind {
                        DocumentKind::Invoice => page.t("staff-kind-invoice"),
                        DocumentKind::CreditNote => page.t("staff-kind-credit-note"),
                    };
                    format!("{kind} {}", money(*gross))
                })
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                cell(c.period.clone()),
                link(c.account_id.clone(), format!("/staff/customers/{customer}")),
                cell(c.corrects.join(", ")),
                cell(money(c.billed_net)),
                cell(money(c.corrected_net)),
                cell(money(c.difference_net())),
                cell(documents),
            ]
        })
        .collect()
}

/// What a corrections run would issue now; nothing is stored.
pub(super) async fn preview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff {
        name: staff,
        signed_in,
    }: RequireStaff,
) -> Response {
    let report = match correct(
        &state.store,
        &server_policy(),
        Arc::new(Statutory::default()),
        state.clock.as_ref(),
        Arc::new(NoProgress),
        true,
    )
    .await
    {
        Ok(report) => report,
        Err(error) => return billing_problem(error).into_response(),
    };
    let mut customers = Vec::with_capacity(report.corrections.len());
    for c in &report.corrections {
        match state.store.account(&c.account_id).await {
            Ok(account) => customers.push(account.map(|a| a.customer_id).unwrap_or_default()),
            Err(error) => return ApiError::from(error).into_response(),
        }
    }
    if let Err(error) = audit(
        &state,
        &staff,
        "preview_corrections",
        "corrections",
        &format!("{} to correct", report.corrections.len()),
    )
    .await
    {
        return error.into_response();
    }
    let page = staff_frame(
        &state,
        &headers,
        Some(&signed_in),
        "/staff/corrections",
        "/staff/corrections",
    )
    .await;
    let language = page.language;
    let intro = vec![page.tv(
        "staff-corrections-intro",
        &[
            ("checked", &report.checked_after_change.to_string()),
            ("unchanged", &report.unchanged_after_correction.to_string()),
        ],
    )];
    let mut sections = vec![Section {
        heading: page.t("staff-corrections-accounts"),
        headers: vec![
            page.t("col-period"),
            page.t("col-account"),
            page.t("col-corrects"),
            page.t("col-billed"),
            page.t("col-corrected"),
            page.t("col-difference"),
            page.t("col-documents"),
        ],
        rows: correction_rows(&page, &report.corrections, &customers),
    }];
    sections.push(Section {
        heading: page.t("staff-corrections-lines"),
        headers: vec![
            page.t("col-account"),
            page.t("col-contract"),
            page.t("col-line"),
            page.t("col-billed-quantity"),
            page.t("col-billed"),
            page.t("col-corrected-quantity"),
            page.t("col-corrected"),
        ],
        rows: report
            .corrections
            .iter()
            .flat_map(|c| {
                c.changes.iter().map(move |change| {
                    let money = |value| format::money(value, c.currency, language);
                    let quantity = |value| format::decimal(value, language, 0, 3);
                    vec![
                        cell(c.account_id.clone()),
                        cell(change.contract_id.clone()),
                        cell(change.description.clone()),
                        cell(quantity(change.billed_quantity)),
                        cell(money(change.billed_net)),
                        cell(quantity(change.rated_quantity)),
                        cell(money(change.rated_net)),
                    ]
                })
            })
            .collect(),
    });
    sections.push(Section {
        heading: page.t("staff-not-ready"),
        headers: vec![
            page.t("col-contract"),
            page.t("col-account"),
            page.t("col-period"),
            page.t("col-reason"),
        ],
        rows: report
            .not_ready
            .iter()
            .map(|n| {
                vec![
                    cell(n.contract_id.clone()),
                    cell(n.account_id.clone()),
                    cell(n.period.clone()),
                    cell(n.reason.to_string()),
                ]
            })
            .collect(),
    });
    let title = page.t("staff-corrections-title");
    html(
        StatusCode::OK,
        &CorrectionsPage {
            page,
            title,
            intro,
            sections,
            can_issue: !report.corrections.is_empty(),
        },
    )
}

/// Start the corrections run, as `POST /api/v1/billing-runs` starts a settlement: planned in
/// batches and billed by this server's worker; then to the run's page.
pub(super) async fn issue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff {
        name: staff,
        signed_in,
    }: RequireStaff,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return crate::web::csrf_page(&state, &headers, &signed_in).await;
    }
    let policy = server_policy();
    let statutory = Arc::new(Statutory::default());
    let planned = match plan_corrections(
        &state.store,
        &policy,
        &statutory,
        state.clock.as_ref(),
        policy.accounts_per_transaction,
    )
    .await
    {
        Ok(planned) => planned,
        Err(error) => return billing_problem(error).into_response(),
    };
    if let Err(error) = audit(
        &state,
        &staff,
        "issue_corrections",
        &format!("run:{}", planned.run_id),
        &format!(
            "corrections run {}: {} accounts in {} batches{}",
            planned.run_id,
            planned.accounts,
            planned.batches,
            if planned.resumed { ", resumed" } else { "" }
        ),
    )
    .await
    {
        return error.into_response();
    }
    tracing::info!(run = planned.run_id, staff = %staff, "corrections run started from the back-office");
    start_worker(&state, &planned, policy, statutory);
    Redirect::to(&format!("/staff/runs/{}", planned.run_id)).into_response()
}

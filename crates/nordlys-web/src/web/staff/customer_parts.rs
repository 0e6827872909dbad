//! The parts of the 360° view beyond master data: each metering point's latest readings in
//! brief (last reading, energy of the last 7 days, missing intervals) with a paged readings
//! table per local day, the customer's work orders with their decisions, and the change journal
//! of everything the customer holds (customer, accounts, contracts, metering points, documents,
//! work orders), newest first, a page at a time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nordlys_app::consumption::{RECENT_DAYS, recent_readings};
use nordlys_core::model::MeteringPoint;
use nordlys_core::time::format_local;
use nordlys_documents::i18n::format;
use nordlys_store::{ChangeRecord, Domain, StoreError, WorkOrder};
use serde::Deserialize;

use super::{Cell, PageLink, RequireStaff, Section, TablesPage, audit, cell, link, staff_frame};
use crate::AppState;
use crate::api::readings::local_day_readings;
use crate::extract::ApiPath;
use crate::problem::ApiError;
use crate::web::{Frame, html, not_found_page};

/// How many change records one page of the 360° view shows.
pub(super) const CHANGES_PER_PAGE: usize = 100;

/// The metering points with their latest readings in brief and a link to their readings.
pub(super) async fn points_section(
    state: &AppState,
    page: &Frame,
    points: &[MeteringPoint],
) -> Result<Section, StoreError> {
    let mut rows = Vec::with_capacity(points.len());
    for p in points {
        let gsrn = p.metering_point_id.as_str();
        let recent = recent_readings(&state.store, p).await?;
        let tz = p.market.time_zone();
        let (last, energy, missing) = match &recent {
            Some(r) => (
                format_local(r.last_reading_end, &tz),
                format::energy_kwh(r.energy_wh, page.language, 1),
                r.missing_intervals.to_string(),
            ),
            None => (page.t("staff-no-readings"), String::new(), String::new()),
        };
        rows.push(vec![
            cell(gsrn),
            cell(p.price_area.code()),
            cell(p.address.street.clone()),
            cell(format!("{} {}", p.utility.code(), p.resolution.code())),
            cell(last),
            cell(energy),
            cell(missing),
            link(
                page.t("staff-readings-link"),
                format!("/staff/points/{gsrn}/readings"),
            ),
        ]);
    }
    let days = RECENT_DAYS.to_string();
    Ok(Section {
        heading: page.t("staff-points"),
        headers: vec![
            page.t("col-point"),
            page.t("col-area"),
            page.t("col-address"),
            page.t("col-kind"),
            page.t("col-last-reading"),
            page.tv("col-recent-kwh", &[("days", &days)]),
            page.tv("col-missing", &[("days", &days)]),
            page.t("col-readings"),
        ],
        rows,
    })
}

/// The customer's work orders of every status, with the decision and who made it.
pub(super) fn work_orders_section(page: &Frame, orders: &[WorkOrder]) -> Section {
    Section {
        heading: page.t("staff-orders-title"),
        headers: vec![
            page.t("col-id"),
            page.t("col-kind"),
            page.t("col-subject"),
            page.t("col-requested"),
            page.t("col-status"),
            page.t("col-decided-by"),
            page.t("col-note"),
        ],
        rows: orders
            .iter()
            .map(|o| {
                vec![
                    cell(o.id.to_string()),
                    cell(page.t(&format!("order-{}", o.kind))),
                    cell(o.subject.clone()),
                    cell(o.requested_date.clone()),
                    cell(page.t(&format!("status-{}", o.status))),
                    cell(o.decided_by.clone().unwrap_or_default()),
                    cell(o.decision_note.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

/// The journal records of every `(domain, key)`, newest first.
pub(super) async fn changes_of(
    state: &AppState,
    keys: &[(Domain, String)],
) -> Result<Vec<ChangeRecord>, StoreError> {
    let mut changes = Vec::new();
    for (domain, key) in keys {
        changes.extend(state.store.history(*domain, key).await?);
    }
    changes.sort_by_key(|c| std::cmp::Reverse(c.seq));
    changes.dedup_by_key(|c| c.seq);
    Ok(changes)
}

/// One page of `changes` (newest first): those before sequence `before`, and the link to the
/// next older page if there is one.
pub(super) fn changes_page<'a>(
    page: &Frame,
    changes: &'a [ChangeRecord],
    before: Option<i64>,
    path: &str,
) -> (&'a [ChangeRecord], Option<PageLink>) {
    let start = before.map_or(0, |before| changes.partition_point(|c| c.seq >= before));
    let shown = &changes[start..changes.len().min(start + CHANGES_PER_PAGE)];
    let older = (start + shown.len() < changes.len())
        .then(|| shown.last())
        .flatten()
        .map(|last| PageLink {
            text: page.t("staff-older-changes"),
            href: format!("{path}?changes_before={}", last.seq),
        });
    (shown, older)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadingsQuery {
    /// The local day to show, `YYYY-MM-DD` (default: the day of the last reading).
    day: Option<String>,
}

/// One local day of a metering point's readings, with links to the day before and after.
pub(super) async fn point_readings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireStaff {
        name: staff,
        signed_in,
    }: RequireStaff,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<ReadingsQuery>,
) -> Response {
    let gsrn = match crate::api::master::gsrn(&id) {
        Ok(gsrn) => gsrn,
        Err(error) => return error.into_response(),
    };
    let asked = match query.day.as_deref() {
        Some(text) => match crate::api::readings::date_param("day", text) {
            Ok(day) => Some(day),
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let loaded = async {
        let Some(point) = state.store.metering_point(&gsrn).await? else {
            return Ok(None);
        };
        let tz = point.market.time_zone();
        let local_day = |at: jiff::Timestamp| tz.to_offset(at).to_datetime(at).date();
        let day = match asked {
            Some(day) => day,
            None => match recent_readings(&state.store, &point).await? {
                Some(recent) => {
                    local_day(recent.last_reading_end - jiff::SignedDuration::from_secs(1))
                }
                None => local_day(state.clock.now()),
            },
        };
        let next = day.tomorrow().unwrap_or(day);
        let found = local_day_readings(&state.store, &gsrn, day, next, None).await?;
        Ok::<_, StoreError>(found.map(|(point, readings)| (point, day, readings)))
    }
    .await;
    let (point, day, readings) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return not_found_page(&state, &headers).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if let Err(error) = audit(
        &state,
        &staff,
        "view_readings",
        &format!("metering_point:{}", gsrn.as_str()),
        &format!("readings of {day}"),
    )
    .await
    {
        return error.into_response();
    }
    let path = format!("/staff/points/{}/readings", gsrn.as_str());
    let page = staff_frame(&state, &headers, Some(&signed_in), &path, "/staff").await;
    let tz = point.market.time_zone();
    let rows: Vec<Vec<Cell>> = readings
        .iter()
        .map(|r| {
            vec![
                cell(format_local(r.start, &tz)),
                cell(format::energy_kwh(r.energy.0, page.language, 3)),
                cell(r.quality.code()),
            ]
        })
        .collect();
    let energy_wh: i64 = readings.iter().map(|r| r.energy.0).sum();
    let intro = vec![page.tv(
        "staff-readings-intro",
        &[
            ("day", &format::date(day, page.language)),
            ("count", &readings.len().to_string()),
            ("kwh", &format::energy_kwh(energy_wh, page.language, 1)),
        ],
    )];
    let sections = vec![Section {
        heading: page.t("staff-readings-table"),
        headers: vec![
            page.t("col-start"),
            page.t("col-kwh"),
            page.t("col-quality"),
        ],
        rows,
    }];
    let mut links = Vec::new();
    if let Ok(before) = day.yesterday() {
        links.push(PageLink {
            text: page.t("staff-day-before"),
            href: format!("{path}?day={before}"),
        });
    }
    if let Ok(after) = day.tomorrow() {
        links.push(PageLink {
            text: page.t("staff-day-after"),
            href: format!("{path}?day={after}"),
        });
    }
    let title = page.tv("staff-readings-title", &[("point", gsrn.as_str())]);
    html(
        StatusCode::OK,
        &TablesPage {
            page,
            title,
            search: false,
            query: String::new(),
            intro,
            sections,
            links,
        },
    )
}

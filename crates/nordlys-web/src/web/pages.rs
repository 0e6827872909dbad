//! The customer's pages: overview, consumption (chart, table, CSV, the previous period), the
//! peak power view, invoices (list, one with its lines and why, PDF and EHF as issued) and
//! settings (invoice channel, contact details). Each page loads the customer's holdings first;
//! an id that is not among them is 404.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_app::consumption::{ConsumptionSeries, Step, boundaries, consumption};
use nordlys_app::cost::{CostRater, CostScope};
use nordlys_app::peak_view::{PeakViewError, peak_view};
use nordlys_app::receivables::ledger::OpenItem;
use nordlys_app::self_service::{
    Holdings, SelfServiceError, change_invoice_channel, update_contact,
};
use nordlys_core::document::DocumentKind;
use nordlys_core::model::{InvoiceChannel, Language};
use nordlys_core::time::start_of_local_day;
use nordlys_documents::i18n::format;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::session::{RequireSession, SignedIn};
use super::{Frame, csrf_page, html, not_found_page};
use crate::AppState;
use crate::extract::ApiPath;
use crate::problem::ApiError;

/// A page's failure: its status page, never a stack of internals.
enum PageError {
    NotFound,
    Api(ApiError),
}

impl From<SelfServiceError> for PageError {
    fn from(error: SelfServiceError) -> Self {
        match error {
            SelfServiceError::NotFound => PageError::NotFound,
            SelfServiceError::Invalid(e) => PageError::Api(ApiError::rejected(&e)),
            SelfServiceError::Store(e) => PageError::Api(e.into()),
        }
    }
}

impl From<nordlys_store::StoreError> for PageError {
    fn from(error: nordlys_store::StoreError) -> Self {
        PageError::Api(error.into())
    }
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    result: Result<Response, PageError>,
) -> Response {
    match result {
        Ok(response) => response,
        Err(PageError::NotFound) => not_found_page(state, headers).await,
        Err(PageError::Api(error)) => error.into_response(),
    }
}

/// The signed-in customer's holdings (staff have no customer pages).
async fn holdings(state: &AppState, signed_in: &SignedIn) -> Result<Holdings, PageError> {
    let customer = signed_in.customer_id().ok_or(PageError::NotFound)?;
    Ok(Holdings::load(&state.store, customer).await?)
}

fn preferred_language(holdings: &Holdings) -> Option<Language> {
    holdings.accounts.first().map(|a| a.language)
}

/// The signed-in customer's holdings and the frame of their page at `path`.
async fn customer_page(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    path: &str,
) -> Result<(Holdings, Frame), PageError> {
    let holdings = holdings(state, signed_in).await?;
    let page = state
        .frame(
            headers,
            Some(signed_in),
            preferred_language(&holdings),
            path,
            path,
        )
        .await;
    Ok((holdings, page))
}

/// The customer's metering points as (GSRN, label) for a chooser.
fn point_choices(holdings: &Holdings) -> Vec<(String, String)> {
    holdings
        .points
        .iter()
        .map(|p| {
            let id = p.metering_point_id.as_str().to_owned();
            let label = format!("{id} · {}", p.address.street);
            (id, label)
        })
        .collect()
}

/// The metering point a page asks for (the customer's first if none).
fn chosen_point<'h>(
    holdings: &'h Holdings,
    asked: &Option<String>,
) -> Result<&'h nordlys_core::model::MeteringPoint, PageError> {
    match asked {
        Some(p) => Ok(holdings.point(p)?),
        None => holdings.points.first().ok_or(PageError::NotFound),
    }
}

/// Today in the customer's zone, and the last day with readings (today if none).
async fn today_and_last(state: &AppState, holdings: &Holdings) -> Result<(Date, Date), PageError> {
    let today = today(state, holdings);
    let last = last_day_with_readings(state, holdings, today)
        .await?
        .unwrap_or(today);
    Ok((today, last))
}

/// Energy for reading, to 0.1 kWh.
fn kwh(energy_wh: i64, language: Language) -> String {
    format::decimal(Decimal::new(energy_wh, 3).round_dp(1), language, 1, 1)
}

/// The last local day with readings of the customer's first metering point, no later than
/// `today` (the month the pages open on).
async fn last_day_with_readings(
    state: &AppState,
    holdings: &Holdings,
    today: Date,
) -> Result<Option<Date>, PageError> {
    let Some(point) = holdings.points.first() else {
        return Ok(None);
    };
    let Some(end) = state.store.readings_end(&point.metering_point_id).await? else {
        return Ok(None);
    };
    let Some(point_id) = state
        .store
        .metering_point_id(&point.metering_point_id)
        .await?
    else {
        return Ok(None);
    };
    let day_before = end - jiff::SignedDuration::from_hours(24);
    let readings = state
        .store
        .meter_values(point_id, day_before, end, None)
        .await?;
    let Some(last) = readings.last() else {
        return Ok(None);
    };
    let tz = point.market.time_zone();
    let day = tz.to_offset(last.start).to_datetime(last.start).date();
    Ok(Some(day.min(today)))
}

fn today(state: &AppState, holdings: &Holdings) -> Date {
    let tz = holdings
        .points
        .first()
        .map(|p| p.market.time_zone())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let now = state.clock.now();
    tz.to_offset(now).to_datetime(now).date()
}

struct DocumentRow {
    number: String,
    kind: String,
    period: String,
    issued: String,
    due: String,
    total: String,
    /// The invoice's state in the ledger (empty for a credit note).
    status: String,
    /// What is left to pay, when something is.
    open: Option<String>,
}

/// The month so far on the overview: its cost (when every basis is in) and its energy.
#[derive(Clone)]
pub(crate) struct MonthSummary {
    cost: Option<nordlys_app::cost::MonthToDate>,
    total_wh: i64,
    /// Days with readings.
    days: usize,
}

/// The customer's invoices as the ledger stands today, by document id (computed once per
/// customer, day and journal head: a payment, a dunning step or a new document moves the head).
async fn ledger_items(
    state: &AppState,
    holdings: &Holdings,
) -> Result<Arc<std::collections::HashMap<i64, OpenItem>>, PageError> {
    let day = today(state, holdings);
    let key = (holdings.customer.customer_id.clone(), day);
    Ok(state
        .ledger_cache
        .get_or_compute(&state.store, key, || async {
            let accounts: Vec<String> = holdings
                .accounts
                .iter()
                .map(|a| a.account_id.clone())
                .collect();
            nordlys_app::receivables::items_of_accounts(&state.store, &accounts, day)
                .await
                .map(Arc::new)
        })
        .await?)
}

/// The documents with their due dates as postponed (what the customer now owes by when).
async fn postponed(
    state: &AppState,
    holdings: &Holdings,
    documents: &mut [nordlys_store::DocumentSummary],
) -> Result<(), PageError> {
    let dates =
        nordlys_app::work_orders::postponed_due_dates(&state.store, &holdings.customer.customer_id)
            .await?;
    for d in documents {
        if let Some(date) = dates.get(&d.display_number()) {
            d.due_date = Some(*date);
        }
    }
    Ok(())
}

fn document_row(
    frame: &Frame,
    d: &nordlys_store::DocumentSummary,
    item: Option<&OpenItem>,
) -> DocumentRow {
    let language = frame.language;
    DocumentRow {
        status: item
            .map(|i| frame.t(&format!("status-{}", i.status.code())))
            .unwrap_or_default(),
        open: item
            .filter(|i| i.open_minor > 0)
            .map(|i| format::money(Decimal::new(i.open_minor, 2), i.currency, language)),
        number: d.display_number(),
        kind: frame.t(match d.kind {
            DocumentKind::Invoice => "kind-invoice",
            DocumentKind::CreditNote => "kind-credit_note",
        }),
        period: d.period.clone(),
        issued: format::date(d.issue_date, language),
        due: d
            .due_date
            .map(|due| frame.tv("overview-due", &[("date", &format::date(due, language))]))
            .unwrap_or_default(),
        total: format::money(d.gross, d.currency, language),
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    page: Frame,
    title: String,
    month_heading: String,
    month_lines: Vec<String>,
    latest: Option<DocumentRow>,
    open: Vec<DocumentRow>,
    accounts: Vec<String>,
}

async fn overview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/").await?;
        let language = page.language;
        let today = today(&state, &holdings);
        let last = last_day_with_readings(&state, &holdings, today).await?;
        let (month_heading, month_lines) = match last {
            Some(last) => {
                let month = last.first_of_month();
                let month_end = month.checked_add(1.month()).unwrap_or(month);
                let days_in_month = i64::from(month.days_in_month());
                let mut lines = Vec::new();
                // Computed once per customer, last day and journal head.
                let summary = state
                    .month_cost_cache
                    .get_or_compute(
                        &state.store,
                        (holdings.customer.customer_id.clone(), last),
                        || async {
                            let mut total_wh = 0i64;
                            let mut days = 0usize;
                            for point in &holdings.points {
                                if let Ok(series) = consumption(
                                    &state.store,
                                    &point.metering_point_id,
                                    month,
                                    month_end,
                                    Step::Day,
                                )
                                .await
                                {
                                    total_wh += series.total_wh;
                                    days = days.max(
                                        series.energy_wh.iter().filter(|v| v.is_some()).count(),
                                    );
                                }
                            }
                            let mut rater = CostRater::new(&state.store).await?;
                            let cost = rater.month_to_date(&state.store, &holdings, last).await?;
                            Ok::<_, PageError>(MonthSummary {
                                cost,
                                total_wh,
                                days,
                            })
                        },
                    )
                    .await?;
                let (cost, total, days) = (summary.cost, summary.total_wh, summary.days);
                if let Some(cost) = cost {
                    lines.push(page.tv(
                        "overview-month-cost",
                        &[
                            (
                                "amount",
                                &format::money(cost.so_far, cost.currency, language),
                            ),
                            ("date", &format::date(cost.through, language)),
                        ],
                    ));
                    if let Some(forecast) = cost.forecast {
                        lines.push(page.tv(
                            "overview-month-cost-forecast",
                            &[("amount", &format::money(forecast, cost.currency, language))],
                        ));
                    }
                    // The month's invoice is made when the month is settled, early the next.
                    let next_month = month.checked_add(1.month()).unwrap_or(month);
                    lines.push(page.tv(
                        "overview-next-invoice",
                        &[
                            ("month", &format::month(month, language)),
                            ("next", &format::month(next_month, language)),
                            (
                                "amount",
                                &format::money(
                                    cost.forecast.unwrap_or(cost.so_far),
                                    cost.currency,
                                    language,
                                ),
                            ),
                        ],
                    ));
                }
                lines.push(page.tv(
                    "overview-month-so-far",
                    &[("kwh", &kwh(total, language)), ("days", &days.to_string())],
                ));
                if days > 0 && (days as i64) < days_in_month {
                    lines.push(page.tv(
                        "overview-month-forecast",
                        &[("kwh", &kwh(total * days_in_month / days as i64, language))],
                    ));
                }
                (
                    page.tv(
                        "overview-month",
                        &[("month", &format::month(month, language))],
                    ),
                    lines,
                )
            }
            None => (page.t("nav-consumption"), Vec::new()),
        };
        let mut documents = holdings.documents(&state.store, 50).await?;
        postponed(&state, &holdings, &mut documents).await?;
        let items = ledger_items(&state, &holdings).await?;
        let latest = documents
            .first()
            .map(|d| document_row(&page, d, items.get(&d.id)));
        let open = documents
            .iter()
            .filter(|d| items.get(&d.id).is_some_and(|i| i.open_minor > 0))
            .map(|d| document_row(&page, d, items.get(&d.id)))
            .collect();
        let accounts = holdings
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "{} · {}",
                    a.account_id,
                    page.t(&format!("channel-{}", a.invoice_channel.code()))
                )
            })
            .collect();
        let title = page.tv("overview-title", &[("name", &holdings.customer.name)]);
        Ok(html(
            StatusCode::OK,
            &OverviewPage {
                page,
                title,
                month_heading,
                month_lines,
                latest,
                open,
                accounts,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumptionQuery {
    point: Option<String>,
    from: Option<String>,
    to: Option<String>,
    resolution: Option<String>,
}

#[derive(Template)]
#[template(path = "consumption.html")]
struct ConsumptionPage {
    page: Frame,
    title: String,
    points: Vec<(String, String)>,
    point: String,
    resolutions: Vec<(String, String)>,
    resolution: String,
    from: String,
    to: String,
    message: Option<String>,
    total: String,
    cost: Option<String>,
    previous_total: Option<String>,
    previous_href: String,
    last_year_total: Option<String>,
    last_year_href: String,
    csv_href: String,
    chart: String,
    /// Start, kWh, spot price, and the cost where each interval is rated on its own (months).
    rows: Vec<(String, String, String, Option<String>)>,
    cost_column: bool,
}

/// The range a consumption page shows: as asked, or the month of the last readings.
struct Range {
    point: String,
    from: Date,
    to: Date,
    step: Step,
}

async fn range_of(
    state: &AppState,
    holdings: &Holdings,
    query: &ConsumptionQuery,
) -> Result<Range, PageError> {
    let point = match &query.point {
        Some(point) => holdings.point(point)?.metering_point_id.as_str().to_owned(),
        None => holdings
            .points
            .first()
            .map(|p| p.metering_point_id.as_str().to_owned())
            .ok_or(PageError::NotFound)?,
    };
    let step = match query.resolution.as_deref() {
        None | Some("") => Step::Day,
        Some(code) => Step::parse(code).map_err(|e| PageError::Api(ApiError::rejected(&e)))?,
    };
    let parse = |field: &'static str, text: &Option<String>| -> Result<Option<Date>, PageError> {
        text.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| {
                nordlys_core::time::parse_date(field, t)
                    .map_err(|e| PageError::Api(ApiError::rejected(&e)))
            })
            .transpose()
    };
    let (from, to) = match (parse("from", &query.from)?, parse("to", &query.to)?) {
        (Some(from), Some(to)) => (from, to),
        _ => {
            let today = today(state, holdings);
            let last = last_day_with_readings(state, holdings, today)
                .await?
                .unwrap_or(today);
            let from = last.first_of_month();
            (from, from.checked_add(1.month()).unwrap_or(from))
        }
    };
    Ok(Range {
        point,
        from,
        to,
        step,
    })
}

/// Spot prices of the point's area averaged over each interval of `[from, to)` at `step`.
async fn spot_per_interval(
    state: &AppState,
    holdings: &Holdings,
    range: &Range,
) -> Result<Vec<Option<Decimal>>, PageError> {
    let point = holdings.point(&range.point)?;
    let tz = point.market.time_zone();
    let edges = boundaries(range.from, range.to, range.step, &tz);
    let prices = state
        .store
        .spot_prices(point.price_area, edges[0], edges[edges.len() - 1])
        .await?;
    let mut out = vec![None; edges.len() - 1];
    let mut index = 0;
    let mut sums: Vec<(Decimal, i64)> = vec![(Decimal::ZERO, 0); edges.len() - 1];
    for price in &prices {
        while index + 1 < edges.len() - 1 && price.start >= edges[index + 1] {
            index += 1;
        }
        sums[index].0 += price.price_per_mwh;
        sums[index].1 += 1;
    }
    for (slot, (sum, n)) in sums.into_iter().enumerate() {
        if n > 0 {
            out[slot] = Some((sum / Decimal::from(n)).round_dp(2));
        }
    }
    Ok(out)
}

fn interval_label(
    series: &ConsumptionSeries,
    index: usize,
    step: Step,
    from: Date,
    tz: &jiff::tz::TimeZone,
    language: Language,
) -> String {
    match step {
        Step::Month => from
            .first_of_month()
            .checked_add((index as i64).months())
            .map(|d| format::month(d, language))
            .unwrap_or_default(),
        Step::Day => from
            .checked_add((index as i64).days())
            .map(|d| format::date(d, language))
            .unwrap_or_default(),
        Step::Hour | Step::QuarterHour => {
            let seconds = if step == Step::Hour { 3600 } else { 900 };
            let start = start_of_local_day(from, tz)
                + jiff::SignedDuration::from_secs(index as i64 * seconds);
            let local = tz.to_offset(start).to_datetime(start);
            let _ = series;
            format!(
                "{} {:02}:{:02}",
                format::date(local.date(), language),
                local.hour(),
                local.minute()
            )
        }
    }
}

fn consumption_href(path: &str, point: &str, from: Date, to: Date, step: Step) -> String {
    format!(
        "{path}?point={point}&from={from}&to={to}&resolution={}",
        step.code()
    )
}

async fn consumption_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<ConsumptionQuery>,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/consumption").await?;
        let language = page.language;
        let range = range_of(&state, &holdings, &query).await?;
        let point = holdings.point(&range.point)?;
        let tz = point.market.time_zone();
        let mut message = None;
        let series = match consumption(
            &state.store,
            &point.metering_point_id,
            range.from,
            range.to,
            range.step,
        )
        .await
        {
            Ok(series) => Some(series),
            Err(nordlys_app::consumption::ConsumptionError::Invalid(e)) => {
                message = Some(format!("{}: {}", e.field, e.rule));
                None
            }
            Err(e) => return Err(PageError::Api(ApiError::internal(&e))),
        };
        let length = range.from.until(range.to).map_or(0, |s| s.get_days());
        let previous_from = range
            .from
            .checked_sub(i64::from(length).days())
            .unwrap_or(range.from);
        let previous = consumption(
            &state.store,
            &point.metering_point_id,
            previous_from,
            range.from,
            range.step,
        )
        .await
        .ok()
        .filter(|s| s.energy_wh.iter().any(Option::is_some));
        let (last_year_from, last_year_to) = (
            range.from.checked_sub(1.year()).unwrap_or(range.from),
            range.to.checked_sub(1.year()).unwrap_or(range.to),
        );
        let last_year = consumption(
            &state.store,
            &point.metering_point_id,
            last_year_from,
            last_year_to,
            range.step,
        )
        .await
        .ok()
        .filter(|s| s.energy_wh.iter().any(Option::is_some));
        let mut rater = CostRater::new(&state.store).await?;
        let scope = CostScope::MeteringPoint(&range.point);
        let mut cost_of = async |from: Date, to: Date| -> Result<Option<String>, PageError> {
            Ok(rater
                .cost(&state.store, &holdings, scope, from, to)
                .await?
                .map(|c| format::money(c.gross, c.currency, language)))
        };
        let with_cost = |kwh_text: String, cost: Option<String>| match cost {
            Some(cost) => format!("{kwh_text} · {cost}"),
            None => kwh_text,
        };
        let mut compared = Vec::new();
        for (series, key, from, to) in [
            (
                previous,
                "consumption-previous-total",
                previous_from,
                range.from,
            ),
            (
                last_year,
                "consumption-last-year-total",
                last_year_from,
                last_year_to,
            ),
        ] {
            compared.push(match series {
                Some(series) => Some(with_cost(
                    page.tv(key, &[("kwh", &kwh(series.total_wh, language))]),
                    cost_of(from, to).await?,
                )),
                None => None,
            });
        }
        let last_year_total = compared.pop().flatten();
        let previous_total = compared.pop().flatten();
        let cost_column = range.step == Step::Month;
        let mut month_costs = Vec::new();
        if cost_column && series.is_some() {
            for (from, to) in nordlys_app::cost::month_parts(range.from, range.to) {
                month_costs.push(cost_of(from, to).await?);
            }
        }
        let cost = match &series {
            Some(_) => cost_of(range.from, range.to)
                .await?
                .map(|amount| page.tv("consumption-cost", &[("amount", &amount)])),
            None => None,
        };
        let (chart, rows, total) = match &series {
            Some(series) => {
                let spot = spot_per_interval(&state, &holdings, &range).await?;
                let mut partial = vec![false; series.energy_wh.len()];
                for n in &series.not_measured {
                    partial[n.index] = true;
                }
                let every = (series.energy_wh.len() / 6).max(1);
                let ticks: Vec<(usize, String)> = (0..series.energy_wh.len())
                    .step_by(every)
                    .map(|i| {
                        (
                            i,
                            interval_label(series, i, range.step, range.from, &tz, language),
                        )
                    })
                    .collect();
                let chart = super::chart::svg(
                    &series.energy_wh,
                    &partial,
                    &spot,
                    &ticks,
                    &page.t("consumption-chart"),
                );
                let rows = series
                    .energy_wh
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let mut value = e
                            .map(|e| kwh(e, language))
                            .unwrap_or_else(|| "–".to_owned());
                        if let Some(n) = series.not_measured.iter().find(|n| n.index == i) {
                            value = format!(
                                "{value} ({})",
                                page.tv("consumption-not-measured", &[("quality", n.quality)])
                            );
                        }
                        (
                            interval_label(series, i, range.step, range.from, &tz, language),
                            value,
                            spot[i]
                                .map(|p| format::decimal(p, language, 2, 2))
                                .unwrap_or_default(),
                            month_costs.get(i).cloned().flatten(),
                        )
                    })
                    .collect();
                (
                    chart,
                    rows,
                    page.tv(
                        "consumption-total",
                        &[("kwh", &kwh(series.total_wh, language))],
                    ),
                )
            }
            None => (String::new(), Vec::new(), String::new()),
        };
        let title = page.t("consumption-title");
        let points = point_choices(&holdings);
        let resolutions = Step::ALL
            .iter()
            .filter(|s| {
                **s != Step::QuarterHour
                    || point.resolution == nordlys_core::time::Resolution::Pt15m
            })
            .map(|s| {
                (
                    s.code().to_owned(),
                    page.t(&format!("resolution-{}", s.code())),
                )
            })
            .collect();
        Ok(html(
            StatusCode::OK,
            &ConsumptionPage {
                cost,
                previous_total,
                last_year_total,
                last_year_href: consumption_href(
                    "/consumption",
                    &range.point,
                    last_year_from,
                    last_year_to,
                    range.step,
                ),
                cost_column,
                previous_href: consumption_href(
                    "/consumption",
                    &range.point,
                    previous_from,
                    range.from,
                    range.step,
                ),
                csv_href: consumption_href(
                    "/consumption.csv",
                    &range.point,
                    range.from,
                    range.to,
                    range.step,
                ),
                page,
                title,
                points,
                point: range.point.clone(),
                resolutions,
                resolution: range.step.code().to_owned(),
                from: range.from.to_string(),
                to: range.to.to_string(),
                message,
                total,
                chart,
                rows,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

async fn consumption_csv(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<ConsumptionQuery>,
) -> Response {
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let range = range_of(&state, &holdings, &query).await?;
        let point = holdings.point(&range.point)?;
        let tz = point.market.time_zone();
        let series = consumption(
            &state.store,
            &point.metering_point_id,
            range.from,
            range.to,
            range.step,
        )
        .await
        .map_err(|e| match e {
            nordlys_app::consumption::ConsumptionError::Invalid(e) => {
                PageError::Api(ApiError::rejected(&e))
            }
            other => PageError::Api(ApiError::internal(&other)),
        })?;
        let edges = boundaries(range.from, range.to, range.step, &tz);
        let mut out = String::from("start,end,quantity_kwh,quality\n");
        for (i, energy) in series.energy_wh.iter().enumerate() {
            let quality = series
                .not_measured
                .iter()
                .find(|n| n.index == i)
                .map_or("measured", |n| n.quality);
            out.push_str(&format!(
                "{},{},{},{}\n",
                nordlys_core::time::format_local(edges[i], &tz),
                nordlys_core::time::format_local(edges[i + 1], &tz),
                energy
                    .map(|e| nordlys_core::quantity::EnergyWh(e).to_kwh_string())
                    .unwrap_or_default(),
                quality
            ));
        }
        Ok(csv_download(
            out,
            &format!(
                "consumption-{}-{}-{}.csv",
                range.point, range.from, range.to
            ),
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointQuery {
    point: Option<String>,
}

#[derive(Template)]
#[template(path = "peaks.html")]
struct PeaksPage {
    page: Frame,
    title: String,
    points: Vec<(String, String)>,
    point: String,
    intro: Vec<String>,
    peaks: Vec<(String, String, String)>,
    standing: Vec<String>,
}

async fn peaks_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<PointQuery>,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/peaks").await?;
        let language = page.language;
        let point = chosen_point(&holdings, &query.point)?;
        let (today, last) = today_and_last(&state, &holdings).await?;
        // The month of the latest readings; "today" is their last day when the clock is past them.
        let tz = point.market.time_zone();
        let now = if last < today {
            start_of_local_day(last, &tz) + jiff::SignedDuration::from_hours(12)
        } else {
            state.clock.now()
        };
        let money = |amount: Decimal| format::money(amount, point.market.currency(), language);
        let kw = |value: Decimal| format::decimal(value, language, 2, 3);
        let (intro, peaks, standing) =
            match peak_view(&state.store, &point.metering_point_id, last, now).await {
                Ok(view) => {
                    let period = page.t(&format!("period-{}", view.price_period));
                    let intro = vec![
                        page.tv("peaks-intro", &[("count", &view.peaks_counted.to_string())]),
                        format!("{} · {}", view.product, format::month(view.month, language)),
                    ];
                    let peaks = view
                        .top_peaks
                        .iter()
                        .map(|p| {
                            (
                                format::date(p.day, language),
                                format!("{:02}:00", p.hour),
                                kw(Decimal::new(p.energy_wh, 3)),
                            )
                        })
                        .collect();
                    let mut standing =
                        vec![page.tv("peaks-average", &[("kw", &kw(view.average_kw))])];
                    standing.push(match view.step.to {
                        Some(to) => page.tv(
                            "peaks-step",
                            &[
                                ("from", &kw(view.step.from)),
                                ("to", &kw(to)),
                                ("price", &money(view.step.price)),
                                ("period", &period),
                            ],
                        ),
                        None => page.tv(
                            "peaks-step-open",
                            &[
                                ("from", &kw(view.step.from)),
                                ("price", &money(view.step.price)),
                                ("period", &period),
                            ],
                        ),
                    });
                    match &view.next_step {
                        Some((next, below)) => standing.push(page.tv(
                            "peaks-next",
                            &[
                                ("kw", &kw(*below)),
                                ("price", &money(next.price)),
                                ("period", &period),
                            ],
                        )),
                        None => standing.push(page.t("peaks-top")),
                    }
                    if let Some(today) = &view.today {
                        standing.push(page.tv(
                            "peaks-today",
                            &[
                                ("kw", &kw(Decimal::new(today.energy_wh, 3))),
                                ("hour", &format!("{:02}:00", today.hour)),
                            ],
                        ));
                    }
                    if let Some(lower) = &view.step_if_today_lower {
                        standing.push(page.tv(
                            "peaks-if-lower",
                            &[
                                ("from", &kw(lower.from)),
                                ("to", &lower.to.map(kw).unwrap_or_default()),
                                ("price", &money(lower.price)),
                                ("period", &period),
                            ],
                        ));
                    }
                    // With peaks on different days counted, a coming day changes the step only if its
                    // peak beats the lowest peak counted and lifts the average over the step's end.
                    if let Some((next, _)) = view
                        .next_step
                        .as_ref()
                        .filter(|_| view.top_peaks.len() == view.peaks_counted)
                    {
                        let counted = Decimal::from(view.peaks_counted as i64);
                        let lowest = view
                            .top_peaks
                            .last()
                            .map_or(Decimal::ZERO, |p| Decimal::new(p.energy_wh, 3));
                        let needed = next.from * counted - (view.average_kw * counted - lowest);
                        standing.push(
                            page.tv("peaks-forecast", &[("kw", &kw(needed.max(Decimal::ZERO)))]),
                        );
                    }
                    (intro, peaks, standing)
                }
                Err(PeakViewError::NoCapacityTariff(_)) => {
                    (vec![page.t("peaks-none")], Vec::new(), Vec::new())
                }
                Err(e) => return Err(PageError::Api(ApiError::internal(&e))),
            };
        let title = page.t("peaks-title");
        let points = point_choices(&holdings);
        Ok(html(
            StatusCode::OK,
            &PeaksPage {
                page,
                title,
                points,
                point: point.metering_point_id.as_str().to_owned(),
                intro,
                peaks,
                standing,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Template)]
#[template(path = "invoices.html")]
struct InvoicesPage {
    page: Frame,
    title: String,
    documents: Vec<DocumentRow>,
}

async fn invoices_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/invoices").await?;
        let mut summaries = holdings.documents(&state.store, 200).await?;
        postponed(&state, &holdings, &mut summaries).await?;
        let items = ledger_items(&state, &holdings).await?;
        let documents = summaries
            .iter()
            .map(|d| document_row(&page, d, items.get(&d.id)))
            .collect();
        let title = page.t("invoices-title");
        Ok(html(
            StatusCode::OK,
            &InvoicesPage {
                page,
                title,
                documents,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

struct LineRow {
    description: String,
    quantity: String,
    price: String,
    amount: String,
    why: Vec<String>,
}

struct PostponeForm {
    min: String,
    max: String,
    hint: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    page: Frame,
    title: String,
    number: String,
    facts: Vec<String>,
    lines: Vec<LineRow>,
    totals: Vec<(String, String)>,
    postpone: Option<PostponeForm>,
    message: Option<String>,
}

async fn invoice_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(number): ApiPath<String>,
) -> Response {
    invoice_response(&state, &headers, &signed_in, &number, StatusCode::OK, None).await
}

async fn invoice_response(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    number: &str,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let (state, headers, signed_in, number) = (state, headers, signed_in, number.to_owned());
    let result = async {
        let holdings = holdings(state, signed_in).await?;
        let summary = holdings.document(&state.store, &number).await?;
        let page = state
            .frame(
                headers,
                Some(signed_in),
                preferred_language(&holdings),
                "/invoices",
                "/invoices",
            )
            .await;
        let language = page.language;
        let key = nordlys_app::wire::DocumentKey::Id(summary.id);
        let document = nordlys_app::wire::find_document(&state.store, &key)
            .await?
            .ok_or(PageError::NotFound)?;
        let items = ledger_items(state, &holdings).await?;
        let item = items.get(&summary.id);
        let row = document_row(&page, &summary, item);
        let mut facts = vec![row.period.clone(), row.issued.clone()];
        if !row.due.is_empty() {
            facts.push(row.due.clone());
        }
        if let Some(kid) = &document.kid {
            facts.push(format!("{} {kid}", page.t("invoice-kid")));
        }
        if !row.status.is_empty() {
            facts.push(match &row.open {
                Some(open) => page.tv(
                    "invoice-status-open",
                    &[("status", &row.status), ("amount", open)],
                ),
                None => row.status.clone(),
            });
        }
        if !document.corrects_all.is_empty() {
            facts.push(page.tv(
                "invoice-corrects",
                &[("numbers", &document.corrects_all.join(", "))],
            ));
        }
        let postponed = nordlys_app::work_orders::postponed_due_date(
            &state.store,
            &holdings.customer.customer_id,
            &row.number,
        )
        .await?;
        if let Some(date) = postponed {
            facts.push(page.tv(
                "invoice-postponed",
                &[("date", &format::date(date, language))],
            ));
        }
        let rules = state.options.postpone_rules;
        let postpone = match (summary.kind, summary.due_date, postponed) {
            (DocumentKind::Invoice, Some(due), None) => Some(PostponeForm {
                min: due.tomorrow().unwrap_or(due).to_string(),
                max: due
                    .checked_add(rules.max_days.days())
                    .unwrap_or(due)
                    .to_string(),
                hint: page.tv(
                    "invoice-postpone-hint",
                    &[
                        ("days", &rules.max_days.to_string()),
                        ("due", &format::date(due, language)),
                    ],
                ),
            }),
            _ => None,
        };
        let lines = document
            .lines
            .unwrap_or_default()
            .into_iter()
            .map(|l| LineRow {
                description: l.description,
                quantity: format!("{} {}", format::decimal(l.quantity, language, 0, 3), l.unit),
                price: format::decimal(l.unit_price, language, 2, 4),
                amount: format::amount(l.net, language),
                why: l.explanation,
            })
            .collect();
        let totals = vec![
            (
                page.t("invoice-net"),
                format::money(summary.net, summary.currency, language),
            ),
            (
                page.t("invoice-vat"),
                format::money(summary.vat, summary.currency, language),
            ),
            (
                page.t("invoices-total"),
                format::money(summary.gross, summary.currency, language),
            ),
        ];
        let title = page.tv(
            "invoice-title",
            &[("kind", &row.kind), ("number", &row.number)],
        );
        Ok(html(
            status,
            &InvoicePage {
                page,
                title,
                number: row.number,
                facts,
                lines,
                totals,
                postpone,
                message: message.clone(),
            },
        ))
    }
    .await;
    answer(state, headers, result).await
}

#[derive(Deserialize)]
struct PostponeFormData {
    csrf: String,
    date: String,
}

async fn post_postpone(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(number): ApiPath<String>,
    Form(form): Form<PostponeFormData>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let holdings = match holdings(&state, &signed_in).await {
        Ok(holdings) => holdings,
        Err(error) => return answer(&state, &headers, Err(error)).await,
    };
    let refused = |rule: String| {
        invoice_response(
            &state,
            &headers,
            &signed_in,
            &number,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(rule),
        )
    };
    let date = match nordlys_core::time::parse_date("date", &form.date) {
        Ok(date) => date,
        Err(e) => return refused(e.rule.to_string()).await,
    };
    match nordlys_app::work_orders::postpone_invoice(
        &state.store,
        &holdings,
        &number,
        date,
        state.options.postpone_rules,
        state.clock.as_ref(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/invoices/{number}")).into_response(),
        Err(SelfServiceError::Invalid(e)) => refused(e.rule.to_string()).await,
        Err(e) => answer(&state, &headers, Err(e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "move.html")]
struct MovePage {
    page: Frame,
    title: String,
    message: Option<String>,
    points: Vec<(String, String)>,
    products: Vec<(String, String)>,
    move_in_date_hint: String,
    orders: Vec<String>,
    /// The refusal of the form sent, tied to its field.
    refused: Option<MoveRefusal>,
    /// What the move-in form holds (as typed, after a refusal).
    typed: MoveInForm,
}

/// Why a move form was refused: which form (`out` or `in`), which of its fields, and the rule.
struct MoveRefusal {
    form: &'static str,
    field: &'static str,
    message: String,
}

impl MovePage {
    /// The refusal's message, if it is about `field` of `form`.
    fn error_of(&self, form: &str, field: &str) -> Option<&str> {
        self.refused
            .as_ref()
            .filter(|r| r.form == form && r.field == field)
            .map(|r| r.message.as_str())
    }

    /// The refusal's message, if it is about no one field of `form`.
    fn form_error(&self, form: &str) -> Option<&str> {
        self.refused
            .as_ref()
            .filter(|r| r.form == form && !["point", "date", "product", "note"].contains(&r.field))
            .map(|r| r.message.as_str())
    }
}

/// The form field a rule's field is shown at.
fn move_field(field: &str) -> &'static str {
    match field {
        "metering_point" | "point" => "point",
        "date" => "date",
        "product" => "product",
        "note" => "note",
        _ => "form",
    }
}

async fn move_response(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    status: StatusCode,
    message: Option<String>,
    refused: Option<MoveRefusal>,
    typed: MoveInForm,
) -> Result<Response, PageError> {
    let holdings = holdings(state, signed_in).await?;
    let page = state
        .frame(
            headers,
            Some(signed_in),
            preferred_language(&holdings),
            "/move",
            "/move",
        )
        .await;
    let language = page.language;
    let orders = state
        .store
        .work_orders(Some(&holdings.customer.customer_id), None, 50)
        .await?
        .iter()
        .map(|o| {
            let date = o
                .requested_date
                .parse::<Date>()
                .map(|d| format::date(d, language))
                .unwrap_or_default();
            page.tv(
                "order-line",
                &[
                    ("kind", &page.t(&format!("order-{}", o.kind))),
                    ("subject", &o.subject),
                    ("date", &date),
                    ("status", &page.t(&format!("status-{}", o.status))),
                ],
            )
        })
        .collect();
    let points = holdings
        .points
        .iter()
        .map(|p| {
            (
                p.metering_point_id.as_str().to_owned(),
                format!("{} · {}", p.metering_point_id.as_str(), p.address.street),
            )
        })
        .collect();
    let products = nordlys_app::work_orders::move_in_products(&state.store, None).await?;
    let rules = state.options.move_in_rules;
    let move_in_date_hint = page.tv(
        "move-in-date-hint",
        &[
            ("back", &rules.days_back.to_string()),
            ("ahead", &rules.days_ahead.to_string()),
        ],
    );
    let title = page.t("move-title");
    Ok(html(
        status,
        &MovePage {
            page,
            title,
            message,
            points,
            products,
            move_in_date_hint,
            orders,
            refused,
            typed,
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveQuery {
    reported: Option<String>,
}

async fn move_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<MoveQuery>,
) -> Response {
    let message = match query.reported.as_deref() {
        None => None,
        Some(which) => {
            let frame = state.frame(&headers, None, None, "/", "").await;
            Some(frame.t(if which == "in" {
                "move-in-reported"
            } else {
                "move-reported"
            }))
        }
    };
    let result = move_response(
        &state,
        &headers,
        &signed_in,
        StatusCode::OK,
        message,
        None,
        MoveInForm::default(),
    )
    .await;
    answer(&state, &headers, result).await
}

#[derive(Deserialize)]
struct MoveForm {
    csrf: String,
    point: String,
    date: String,
    #[serde(default)]
    note: String,
}

/// The move-in form as sent (and shown again after a refusal).
#[derive(Deserialize, Default)]
struct MoveInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    gsrn: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    note: String,
}

/// Answer a move form: to the page with a note of success, or the page again with the
/// refusal at its field (422).
async fn move_answer(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    form: &'static str,
    outcome: Result<nordlys_store::WorkOrder, SelfServiceError>,
    typed: MoveInForm,
) -> Result<Response, PageError> {
    match outcome {
        // `reported=1` (a move out) is what the page has always been sent to.
        Ok(_) => Ok(Redirect::to(if form == "in" {
            "/move?reported=in"
        } else {
            "/move?reported=1"
        })
        .into_response()),
        Err(SelfServiceError::Invalid(e)) => {
            move_response(
                state,
                headers,
                signed_in,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(MoveRefusal {
                    form,
                    field: move_field(e.field),
                    message: e.rule,
                }),
                typed,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn post_move(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<MoveForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let outcome = match nordlys_core::time::parse_date("date", &form.date) {
            Ok(date) => {
                nordlys_app::work_orders::request_move_out(
                    &state.store,
                    &holdings,
                    &form.point,
                    date,
                    &form.note,
                    state.clock.as_ref(),
                )
                .await
            }
            Err(e) => Err(SelfServiceError::Invalid(e)),
        };
        move_answer(
            &state,
            &headers,
            &signed_in,
            "out",
            outcome,
            MoveInForm::default(),
        )
        .await
    }
    .await;
    answer(&state, &headers, result).await
}

async fn post_move_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<MoveInForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let outcome = match nordlys_core::time::parse_date("date", &form.date) {
            Ok(day) => {
                nordlys_app::work_orders::request_move_in(
                    &state.store,
                    &holdings,
                    &nordlys_app::work_orders::MoveIn {
                        gsrn: form.gsrn.clone(),
                        day,
                        product_code: form.product.clone(),
                        note: form.note.clone(),
                    },
                    state.options.move_in_rules,
                    state.clock.as_ref(),
                )
                .await
            }
            Err(e) => Err(SelfServiceError::Invalid(e)),
        };
        move_answer(&state, &headers, &signed_in, "in", outcome, form).await
    }
    .await;
    answer(&state, &headers, result).await
}

async fn invoice_file(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    number: &str,
    pdf: bool,
) -> Response {
    let result = async {
        let holdings = holdings(state, signed_in).await?;
        let summary = holdings.document(&state.store, number).await?;
        crate::api::documents::rendition(state, &summary.display_number(), pdf)
            .await
            .map_err(PageError::Api)
    }
    .await;
    answer(state, headers, result).await
}

/// The readings and spot prices behind an invoice, as CSV.
async fn invoice_data(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(number): ApiPath<String>,
) -> Response {
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let csv =
            nordlys_app::invoice_data::invoice_data_csv(&state.store, &holdings, &number).await?;
        Ok(csv_download(csv, &format!("invoice-{number}-data.csv")))
    }
    .await;
    answer(&state, &headers, result).await
}

/// `text` as a CSV file to save as `filename`.
fn csv_download(text: String, filename: &str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn invoice_pdf(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(number): ApiPath<String>,
) -> Response {
    invoice_file(&state, &headers, &signed_in, &number, true).await
}

async fn invoice_xml(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    ApiPath(number): ApiPath<String>,
) -> Response {
    invoice_file(&state, &headers, &signed_in, &number, false).await
}

struct AccountChannels {
    id: String,
    legend: String,
    channels: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Frame,
    title: String,
    message: Option<String>,
    message_class: &'static str,
    accounts: Vec<AccountChannels>,
    email: String,
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsQuery {
    saved: Option<String>,
}

async fn settings_response(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    status: StatusCode,
    message: Option<(String, &'static str)>,
) -> Result<Response, PageError> {
    let holdings = holdings(state, signed_in).await?;
    let page = state
        .frame(
            headers,
            Some(signed_in),
            preferred_language(&holdings),
            "/settings",
            "/settings",
        )
        .await;
    let accounts = holdings
        .accounts
        .iter()
        .map(|a| AccountChannels {
            id: a.account_id.clone(),
            legend: page.tv("settings-channel-account", &[("account", &a.account_id)]),
            channels: [
                InvoiceChannel::Ehf,
                InvoiceChannel::Email,
                InvoiceChannel::EFaktura,
                InvoiceChannel::Paper,
            ]
            .into_iter()
            .map(|c| {
                (
                    c.code().to_owned(),
                    page.t(&format!("channel-{}", c.code())),
                    c == a.invoice_channel,
                )
            })
            .collect(),
        })
        .collect();
    let title = page.t("settings-title");
    let (message, message_class) = match message {
        Some((text, class)) => (Some(text), class),
        None => (None, "ok"),
    };
    Ok(html(
        status,
        &SettingsPage {
            page,
            title,
            message,
            message_class,
            accounts,
            email: holdings.customer.email.clone(),
            phone: holdings.customer.phone.clone(),
        },
    ))
}

async fn settings_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<SettingsQuery>,
) -> Response {
    let frame_language = state.frame(&headers, None, None, "/", "").await;
    let message = match query.saved.as_deref() {
        Some("1") => Some((frame_language.t("settings-saved"), "ok")),
        Some("0") => Some((frame_language.t("settings-unchanged"), "ok")),
        _ => None,
    };
    let result = settings_response(&state, &headers, &signed_in, StatusCode::OK, message).await;
    answer(&state, &headers, result).await
}

#[derive(Deserialize)]
struct ChannelForm {
    csrf: String,
    account: String,
    channel: String,
}

async fn post_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<ChannelForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let channel = InvoiceChannel::parse(&form.channel)
            .map_err(|e| PageError::Api(ApiError::rejected(&e)))?;
        match change_invoice_channel(
            &state.store,
            &holdings,
            &form.account,
            channel,
            state.clock.as_ref(),
        )
        .await
        {
            Ok(changed) => Ok(Redirect::to(if changed {
                "/settings?saved=1"
            } else {
                "/settings?saved=0"
            })
            .into_response()),
            Err(SelfServiceError::Invalid(e)) => {
                settings_response(
                    &state,
                    &headers,
                    &signed_in,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some((e.rule.to_string(), "error")),
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Deserialize)]
struct ContactForm {
    csrf: String,
    email: String,
    phone: String,
}

async fn post_contact(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<ContactForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        match update_contact(
            &state.store,
            &holdings,
            &form.email,
            &form.phone,
            state.clock.as_ref(),
        )
        .await
        {
            Ok(changed) => Ok(Redirect::to(if changed {
                "/settings?saved=1"
            } else {
                "/settings?saved=0"
            })
            .into_response()),
            Err(SelfServiceError::Invalid(e)) => {
                settings_response(
                    &state,
                    &headers,
                    &signed_in,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some((format!("{} {:?}: {}", e.field, e.value, e.rule), "error")),
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    answer(&state, &headers, result).await
}

struct PriceDay {
    heading: String,
    summary: String,
    rows: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "prices.html")]
struct PricesPage {
    page: Frame,
    title: String,
    intro: String,
    days: Vec<PriceDay>,
}

/// Spot prices of the customer's area today and tomorrow (the last day with prices is "today"
/// when the clock is past the stored prices, as in the demo).
async fn prices_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/prices").await?;
        let language = page.language;
        let point = holdings.points.first().ok_or(PageError::NotFound)?;
        let tz = point.market.time_zone();
        let mut today = today(&state, &holdings);
        let now_prices = state
            .store
            .spot_prices(
                point.price_area,
                start_of_local_day(today, &tz),
                start_of_local_day(today.tomorrow().unwrap_or(today), &tz),
            )
            .await?;
        if now_prices.is_empty()
            && let Some(last) = last_day_with_readings(&state, &holdings, today).await?
        {
            today = last;
        }
        let mut currency = String::new();
        let mut days = Vec::new();
        for (offset, id) in [(0i64, "prices-today"), (1, "prices-tomorrow")] {
            let day = today.checked_add(offset.days()).unwrap_or(today);
            let end = day.tomorrow().unwrap_or(day);
            let prices = state
                .store
                .spot_prices(
                    point.price_area,
                    start_of_local_day(day, &tz),
                    start_of_local_day(end, &tz),
                )
                .await?;
            let hour_of = |t: jiff::Timestamp| {
                let local = tz.to_offset(t).to_datetime(t);
                format!("{:02}:{:02}", local.hour(), local.minute())
            };
            let rows: Vec<(String, String)> = prices
                .iter()
                .map(|p| {
                    (
                        hour_of(p.start),
                        format::decimal(p.price_per_mwh, language, 2, 2),
                    )
                })
                .collect();
            let summary = match (
                prices
                    .iter()
                    .min_by(|a, b| a.price_per_mwh.cmp(&b.price_per_mwh)),
                prices
                    .iter()
                    .max_by(|a, b| a.price_per_mwh.cmp(&b.price_per_mwh)),
            ) {
                (Some(low), Some(high)) => {
                    currency = low.currency.code().to_owned();
                    let sum: Decimal = prices.iter().map(|p| p.price_per_mwh).sum();
                    let average = (sum / Decimal::from(prices.len() as i64)).round_dp(2);
                    page.tv(
                        "prices-summary",
                        &[
                            ("low", &format::decimal(low.price_per_mwh, language, 2, 2)),
                            ("low_hour", &hour_of(low.start)),
                            ("high", &format::decimal(high.price_per_mwh, language, 2, 2)),
                            ("high_hour", &hour_of(high.start)),
                            ("average", &format::decimal(average, language, 2, 2)),
                        ],
                    )
                }
                _ => String::new(),
            };
            days.push(PriceDay {
                heading: page.tv(id, &[("date", &format::date(day, language))]),
                summary,
                rows,
            });
        }
        let title = page.t("prices-title");
        let intro = page.tv(
            "prices-intro",
            &[("area", point.price_area.code()), ("currency", &currency)],
        );
        Ok(html(
            StatusCode::OK,
            &PricesPage {
                page,
                title,
                intro,
                days,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    page: Frame,
    title: String,
    points: Vec<(String, String)>,
    point: String,
    intro: String,
    rows: Vec<(String, String, String)>,
    norgespris: Vec<String>,
}

async fn compare_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    axum::extract::Query(query): axum::extract::Query<PointQuery>,
) -> Response {
    let result = async {
        let (holdings, page) = customer_page(&state, &headers, &signed_in, "/compare").await?;
        let language = page.language;
        let point = chosen_point(&holdings, &query.point)?;
        let (_, last) = today_and_last(&state, &holdings).await?;
        let comparison = nordlys_app::compare::compare_agreements(
            &state.store,
            &holdings,
            point.metering_point_id.as_str(),
            last,
        )
        .await?;
        let currency = nordlys_core::quantity::Currency::parse(&comparison.currency)
            .unwrap_or(point.market.currency());
        let money = |amount: Decimal| format::money(amount, currency, language);
        let mine = comparison
            .products
            .iter()
            .find(|p| p.current)
            .map(|p| p.total);
        let rows = comparison
            .products
            .iter()
            .map(|p| {
                let difference = match mine {
                    _ if p.current => page.t("compare-yours"),
                    Some(mine) if p.total > mine => {
                        page.tv("compare-more", &[("amount", &money(p.total - mine))])
                    }
                    Some(mine) => page.tv("compare-less", &[("amount", &money(mine - p.total))]),
                    None => String::new(),
                };
                (
                    format!("{} ({})", p.name, p.product),
                    money(p.total),
                    difference,
                )
            })
            .collect();
        let months = match (comparison.months.first(), comparison.months.last()) {
            (Some(first), Some(last)) if first != last => format!("{first} – {last}"),
            (Some(first), _) => first.clone(),
            _ => String::new(),
        };
        let norgespris = comparison
            .norgespris
            .map(|(spot, fixed)| {
                vec![page.tv(
                    "compare-norgespris",
                    &[("norgespris", &money(fixed)), ("spot", &money(spot))],
                )]
            })
            .unwrap_or_default();
        let title = page.t("compare-title");
        let intro = page.tv("compare-intro", &[("months", &months)]);
        let points = point_choices(&holdings);
        Ok(html(
            StatusCode::OK,
            &ComparePage {
                page,
                title,
                points,
                point: point.metering_point_id.as_str().to_owned(),
                intro,
                rows,
                norgespris,
            },
        ))
    }
    .await;
    answer(&state, &headers, result).await
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    page: Frame,
    title: String,
}

async fn privacy_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
) -> Response {
    let result = async {
        let (_, page) = customer_page(&state, &headers, &signed_in, "/privacy").await?;
        let title = page.t("privacy-title");
        Ok(html(StatusCode::OK, &PrivacyPage { page, title }))
    }
    .await;
    answer(&state, &headers, result).await
}

/// Everything held about the customer as a ZIP; each export is written to the audit log.
async fn privacy_export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let result = async {
        let holdings = holdings(&state, &signed_in).await?;
        let now = state.clock.now();
        let files =
            nordlys_app::personal_data::personal_data_files(&state.store, &holdings, now).await?;
        let archive = nordlys_app::personal_data::zip_files(&files)?;
        state
            .store
            .audit(&nordlys_store::AuditEntry {
                at_us: now.as_microsecond(),
                actor_kind: "customer".to_owned(),
                actor: holdings.customer.customer_id.clone(),
                action: "personal_data_export".to_owned(),
                target: format!("customer:{}", holdings.customer.customer_id),
                detail: format!(
                    "{} files, {} bytes, self-service",
                    files.len(),
                    archive.len()
                ),
            })
            .await?;
        let mut response = archive.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!(
            "attachment; filename=\"nordlys-{}-{}.zip\"",
            holdings.customer.customer_id,
            now.strftime("%Y%m%d")
        )) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        Ok(response)
    }
    .await;
    answer(&state, &headers, result).await
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview))
        .route("/consumption", get(consumption_page))
        .route("/consumption.csv", get(consumption_csv))
        .route("/peaks", get(peaks_page))
        .route("/invoices", get(invoices_page))
        .route("/invoices/{number}", get(invoice_page))
        .route("/invoices/{number}/pdf", get(invoice_pdf))
        .route("/invoices/{number}/xml", get(invoice_xml))
        .route("/invoices/{number}/data.csv", get(invoice_data))
        .route("/invoices/{number}/postpone", post(post_postpone))
        .route("/move", get(move_page).post(post_move))
        .route("/move/in", post(post_move_in))
        .route("/settings", get(settings_page))
        .route("/settings/channel", post(post_channel))
        .route("/settings/contact", post(post_contact))
        .route("/prices", get(prices_page))
        .route("/compare", get(compare_page))
        .route("/privacy", get(privacy_page))
        .route("/privacy/export", post(privacy_export))
}

//! `/api/v1` readings: a metering point's consumption series (15-minute to monthly), its
//! readings as stored (also as known at an earlier instant), and writing readings — as CSV in
//! the meter-values import format or as JSON — through the import itself, so the API refuses
//! exactly what the import refuses and a request is stored whole or not at all.

use std::io::Cursor;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use nordlys_app::NoProgress;
use nordlys_app::access::Scope;
use nordlys_app::consumption::{ConsumptionError, ConsumptionSeries, Step, consumption};
use nordlys_app::import::{ImportError, MeterValueLimits, import_meter_values};
use nordlys_core::model::{MeteringPoint, Reading};
use nordlys_core::time::{parse_date, parse_instant, start_of_local_day};
use nordlys_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::master::gsrn;
use crate::AppState;
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::idempotency::{self, Idempotent};
use crate::problem::{ApiError, Problem, ProblemItem, RequestId};

/// The local days `[from, to)` of a query, at most `max_days` long.
pub(crate) fn day_range(from: &str, to: &str, max_days: i32) -> Result<(Date, Date), ApiError> {
    let from = date_param("from", from)?;
    let to = date_param("to", to)?;
    if to <= from || from.until(to).map_or(i32::MAX, |s| s.get_days()) > max_days {
        return Err(ApiError::invalid(
            "to",
            format!("to {to}: give a day 1 to {max_days} days after from ({from})"),
        ));
    }
    Ok((from, to))
}

pub(crate) fn date_param(field: &'static str, text: &str) -> Result<Date, ApiError> {
    parse_date(field, text)
        .map_err(|e| ApiError::invalid(field, format!("{field} {:?}: {}", e.value, e.rule)))
}

/// The range and resolution of a consumption series.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsumptionQuery {
    /// First local day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// The local day after the last, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub to: String,
    /// `quarter_hour`, `hour` (default), `day` or `month`.
    #[param(pattern = "^(quarter_hour|hour|day|month)$")]
    pub resolution: Option<String>,
}

/// A metering point's consumption over local days: one value per interval, in Wh.
#[utoipa::path(get, path = "/api/v1/metering-points/{gsrn}/consumption", tag = "readings",
    params(("gsrn" = String, Path, description = "GSRN, 18 digits", pattern = "^[0-9]{18}$"), ConsumptionQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = ConsumptionSeries), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_consumption(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ConsumptionQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let gsrn = gsrn(&id)?;
    let from = date_param("from", &query.from)?;
    let to = date_param("to", &query.to)?;
    let step = match query.resolution.as_deref() {
        None => Step::Hour,
        Some(code) => Step::parse(code).map_err(|e| {
            ApiError::invalid(
                "resolution",
                format!("resolution {:?}: {}", e.value, e.rule),
            )
        })?,
    };
    let body = state
        .consumption_cache
        .get_or_compute(&state.store, &gsrn, from, to, step, || async {
            match consumption(&state.store, &gsrn, from, to, step).await {
                Ok(series) => Ok(series),
                Err(ConsumptionError::UnknownPoint(p)) => Err(ApiError::not_found(format!(
                    "metering point {p} does not exist"
                ))),
                Err(ConsumptionError::Invalid(e)) => Err(ApiError::invalid(
                    e.field,
                    format!("{} {:?}: {}", e.field, e.value, e.rule),
                )),
                Err(ConsumptionError::Store(e)) => Err(e.into()),
            }
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The range of a readings read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadingsQuery {
    /// First local day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// The local day after the last, `YYYY-MM-DD` (at most 93 days after `from`).
    #[param(format = Date)]
    pub to: String,
    /// The readings as they were known at this instant (RFC 3339), e.g. when an invoice was made.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

/// One stored reading.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireReading {
    /// Start of the interval, RFC 3339 with the local offset.
    pub start: String,
    /// Energy in kWh, exact (a decimal string with up to 3 decimals).
    pub quantity_kwh: String,
    /// `measured`, `estimated`, `missing` or `corrected`.
    pub quality: &'static str,
}

/// Readings of a metering point as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireReadings {
    pub metering_point: String,
    /// `PT15M` or `PT60M`.
    pub resolution: String,
    pub readings: Vec<WireReading>,
}

/// A metering point's readings as stored, or as they were known at `as_of`.
#[utoipa::path(get, path = "/api/v1/metering-points/{gsrn}/readings", tag = "readings",
    params(("gsrn" = String, Path, description = "GSRN, 18 digits", pattern = "^[0-9]{18}$"), ReadingsQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireReadings), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_readings(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ReadingsQuery>,
) -> Result<Json<WireReadings>, ApiError> {
    caller.require(Scope::Read)?;
    let gsrn = gsrn(&id)?;
    let (from, to) = day_range(&query.from, &query.to, 93)?;
    let as_of = query
        .as_of
        .as_deref()
        .map(|t| {
            parse_instant("as_of", t)
                .map_err(|e| ApiError::invalid("as_of", format!("as_of {:?}: {}", e.value, e.rule)))
        })
        .transpose()?;
    let (point, readings) = local_day_readings(&state.store, &gsrn, from, to, as_of)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("metering point {id} does not exist")))?;
    let tz = point.market.time_zone();
    Ok(Json(WireReadings {
        metering_point: gsrn.as_str().to_owned(),
        resolution: point.resolution.code().to_owned(),
        readings: readings
            .iter()
            .map(|r| WireReading {
                start: nordlys_core::time::format_local(r.start, &tz),
                quantity_kwh: r.energy.to_kwh_string(),
                quality: r.quality.code(),
            })
            .collect(),
    }))
}

/// The stored readings of metering point `gsrn` over its local days `[from, to)` (as known at
/// `as_of`, if given), with the point; `None` if there is no such point.
pub(crate) async fn local_day_readings(
    store: &nordlys_store::Store,
    gsrn: &nordlys_core::ids::Gsrn,
    from: Date,
    to: Date,
    as_of: Option<jiff::Timestamp>,
) -> Result<Option<(MeteringPoint, Vec<Reading>)>, StoreError> {
    let (Some(point), Some(point_id)) = (
        store.metering_point(gsrn).await?,
        store.metering_point_id(gsrn).await?,
    ) else {
        return Ok(None);
    };
    let tz = point.market.time_zone();
    let readings = store
        .meter_values(
            point_id,
            start_of_local_day(from, &tz),
            start_of_local_day(to, &tz),
            as_of,
        )
        .await?;
    Ok(Some((point, readings)))
}

/// One reading to write, as in a row of the meter-values import.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReading {
    /// GSRN, 18 digits.
    pub metering_point_id: String,
    /// RFC 3339 with offset, on a resolution boundary.
    pub start: String,
    /// RFC 3339 with offset; `end − start` is the point's resolution.
    pub end: String,
    /// Energy in kWh with at most 3 decimals: a decimal string (a JSON number is taken too).
    #[schema(value_type = String, example = "1.250")]
    pub quantity_kwh: serde_json::Value,
    /// `measured`, `estimated`, `missing` or `corrected`.
    pub quality: String,
}

/// Readings to write in one all-or-nothing request.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReadings {
    pub readings: Vec<NewReading>,
}

/// What a write of readings did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadingsWritten {
    /// Readings read.
    pub rows: u64,
    /// UTC days of readings (the unit they are stored in) stored for the first time.
    pub days_new: u64,
    /// UTC days stored as a new version (a changed reading keeps the old one as history).
    pub days_changed: u64,
    /// UTC days given again unchanged.
    pub days_unchanged: u64,
}

/// `body` as CSV in the import format: as sent (`text/csv`), or made from JSON readings.
fn csv_of(headers: &HeaderMap, body: &Bytes) -> Result<(Vec<u8>, bool), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        "text/csv" => Ok((body.to_vec(), false)),
        "application/json" => {
            let readings: NewReadings = serde_json::from_slice(body).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    "Invalid body",
                )
                .field("body")
                .detail(format!("the body is not readings JSON: {e}"))
            })?;
            if readings.readings.is_empty() {
                return Err(ApiError::invalid("readings", "give at least one reading"));
            }
            let mut out = csv::Writer::from_writer(Vec::new());
            let write = |out: &mut csv::Writer<Vec<u8>>, row: [&str; 5]| {
                out.write_record(row).map_err(|e| ApiError::internal(&e))
            };
            write(
                &mut out,
                [
                    "metering_point_id",
                    "start",
                    "end",
                    "quantity_kwh",
                    "quality",
                ],
            )?;
            for (i, r) in readings.readings.iter().enumerate() {
                let quantity = match &r.quantity_kwh {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "rejected",
                            "Rejected input",
                        )
                        .field(format!("readings[{i}].quantity_kwh"))
                        .detail(format!(
                            "readings[{i}].quantity_kwh {other}: a decimal kWh value"
                        )));
                    }
                };
                write(
                    &mut out,
                    [
                        &r.metering_point_id,
                        &r.start,
                        &r.end,
                        &quantity,
                        &r.quality,
                    ],
                )?;
            }
            let bytes = out
                .into_inner()
                .map_err(|e| ApiError::internal(&e.to_string()))?;
            Ok((bytes, true))
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
        )
        .detail(
            "send readings as application/json or as text/csv in the meter-values import format",
        )),
    }
}

/// The problem of a rejected import; for JSON, lines are named as items of `readings`.
fn import_problem(error: ImportError, json: bool) -> ApiError {
    match error {
        ImportError::Rejected { errors, more, .. } => {
            let items: Vec<ProblemItem> = errors
                .iter()
                .map(|e| ProblemItem {
                    field: if json && e.line >= 2 {
                        format!("readings[{}].{}", e.line - 2, e.column)
                    } else {
                        format!("line {}: {}", e.line, e.column)
                    },
                    message: e.message.clone(),
                })
                .collect();
            let first = items
                .first()
                .map(|i| format!("{}: {}", i.field, i.message))
                .unwrap_or_default();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                "Rejected input",
            )
            .field(items.first().map(|i| i.field.clone()).unwrap_or_default())
            .detail(format!(
                "{} reading(s) break the import rules{}; nothing was stored. First: {first}",
                items.len(),
                if more { " (and more)" } else { "" }
            ))
            .items(items)
        }
        ImportError::NoRows { .. } => ApiError::invalid("body", "give at least one reading"),
        ImportError::Io { error, .. } => {
            ApiError::invalid("body", format!("unreadable body: {error}"))
        }
        ImportError::Store(e) => e.into(),
        ImportError::Products(e) => ApiError::internal(&e),
    }
}

/// Write readings; all are stored or none. A changed reading is stored as a new version
/// (the earlier one stays as history), an identical one changes nothing.
#[utoipa::path(post, path = "/api/v1/readings", tag = "readings",
    request_body(content((NewReadings = "application/json"), (String = "text/csv")),
        description = "JSON readings, or CSV in the meter-values import format"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key get the first answer")),
    security(("bearer" = ["write"])),
    responses((status = 200, body = ReadingsWritten),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn post_readings(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    axum::Extension(request_id): axum::Extension<RequestId>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let principal = caller.require(Scope::Write)?.clone();
    let (csv, json) = csv_of(&headers, &body)?;
    let guard =
        match idempotency::begin(&state, &principal, &headers, "POST /api/v1/readings", &body)
            .await?
        {
            Idempotent::Replay(response) => return Ok(response),
            Idempotent::Proceed(guard) => guard,
        };
    let source = format!("api request {} ({})", request_id.0, principal.name);
    let result = import_meter_values(
        &state.store,
        &source,
        Cursor::new(csv),
        None,
        state.clock.as_ref(),
        Arc::new(NoProgress),
        MeterValueLimits::default(),
    )
    .await;
    match result {
        Ok(report) => {
            state.consumption_cache.clear();
            let written = ReadingsWritten {
                rows: report.rows,
                days_new: report.inserted,
                days_changed: report.updated,
                days_unchanged: report.unchanged,
            };
            guard.finish(StatusCode::OK, &written).await
        }
        Err(error) => {
            guard.abandon().await;
            Err(import_problem(error, json))
        }
    }
}

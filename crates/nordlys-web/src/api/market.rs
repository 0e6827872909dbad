//! `/api/v1` market data and products: day-ahead spot prices of an area over local days, and
//! the products (tariffs as data) with their versions.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use nordlys_app::access::Scope;
use nordlys_app::wire::exact_string;
use nordlys_core::model::PriceArea;
use nordlys_core::time::{format_local, start_of_local_day};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::readings::day_range;
use crate::AppState;
use crate::extract::{ApiQuery, Caller};
use crate::problem::{ApiError, Problem};

/// The area and local days of a spot price read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpotQuery {
    /// Price area, e.g. `NO1`, `DK2`.
    pub area: String,
    /// First local day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// The local day after the last (at most 93 days after `from`).
    #[param(format = Date)]
    pub to: String,
}

/// One day-ahead price.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireSpotPrice {
    /// RFC 3339 with the area's local offset.
    pub start: String,
    pub end: String,
    /// Price per MWh, exact decimal string.
    pub price_per_mwh: String,
    /// `EUR`, `NOK`, `DKK` …
    pub currency: String,
}

/// Day-ahead prices of an area.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireSpotPrices {
    pub area: String,
    /// The zone the days are counted in.
    pub zone: String,
    pub prices: Vec<WireSpotPrice>,
}

/// Day-ahead spot prices of an area over local days, the latest version of each.
#[utoipa::path(get, path = "/api/v1/spot-prices", tag = "market data", params(SpotQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireSpotPrices), (status = 400, body = Problem)))]
pub async fn list_spot_prices(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SpotQuery>,
) -> Result<Json<WireSpotPrices>, ApiError> {
    caller.require(Scope::Read)?;
    let area = PriceArea::parse(&query.area)
        .map_err(|e| ApiError::invalid("area", format!("area {:?}: {}", e.value, e.rule)))?;
    let (from, to) = day_range(&query.from, &query.to, 93)?;
    let zone_name = area
        .market()
        .map_or("Europe/Stockholm", |m| m.time_zone_name());
    let tz = jiff::tz::TimeZone::get(zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let prices = state
        .store
        .spot_prices(
            area,
            start_of_local_day(from, &tz),
            start_of_local_day(to, &tz),
        )
        .await?;
    Ok(Json(WireSpotPrices {
        area: area.code().to_owned(),
        zone: zone_name.to_owned(),
        prices: prices
            .iter()
            .map(|p| WireSpotPrice {
                start: format_local(p.start, &tz),
                end: format_local(p.end, &tz),
                price_per_mwh: exact_string(p.price_per_mwh),
                currency: p.currency.code().to_owned(),
            })
            .collect(),
    }))
}

/// A product (tariff as data) as stored, latest version.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireProduct {
    pub code: String,
    pub version: i64,
    /// The file format it was imported from: `toml` or `urdb`.
    pub format: String,
    /// Where it came from.
    pub source: String,
    /// The product's text as imported.
    pub body: String,
}

/// The products the utility offers and bills with.
#[utoipa::path(get, path = "/api/v1/products", tag = "market data",
    security(("bearer" = ["read"])),
    responses((status = 200, body = Vec<WireProduct>)))]
pub async fn list_products(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<WireProduct>>, ApiError> {
    caller.require(Scope::Read)?;
    let products = state.store.products().await?;
    Ok(Json(
        products
            .into_iter()
            .map(|p| WireProduct {
                code: p.code,
                version: p.version,
                format: p.format,
                source: p.source,
                body: p.body,
            })
            .collect(),
    ))
}

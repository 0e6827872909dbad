//! "What would this load cost under these tariffs": rating a load file with products, spot
//! prices and the statutory tables, month by month, without a database.

use std::collections::HashMap;
use std::io::Read;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use nordlys_core::model::{PriceArea, SpotPrice, UsageKind};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::{
    LocalPeriod, Resolution, format_local, parse_instant, start_of_local_day,
};
use nordlys_rating::{MeterInput, Product, Rating, RatingContext, RatingPlan, Statutory, Totals};
use rust_decimal::Decimal;

use crate::billing::inputs::align_spot_prices;
use crate::import::{ImportError, RowError};

/// A load: energy per interval at one resolution, keyed by interval start.
#[derive(Debug, Clone)]
pub struct Load {
    pub resolution: Resolution,
    pub energy_wh: HashMap<i64, i64>,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// Read a load in the meter-values CSV format (`metering_point_id` and `quality` optional).
pub fn read_load(source: &str, input: impl Read) -> Result<Load, ImportError> {
    let mut table = crate::import::csv_table::CsvTable::open(
        input,
        &["start", "end", "quantity_kwh"],
        &["metering_point_id", "quality"],
    )
    .map_err(|e| ImportError::rejected(source, e, false))?;
    let mut record = csv::StringRecord::new();
    let mut errors = crate::import::ErrorList::default();
    let mut energy = HashMap::new();
    let mut resolution: Option<Resolution> = None;
    let (mut first, mut last) = (Timestamp::MAX, Timestamp::MIN);
    while let Some(next) = table.next_row(&mut record) {
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let row = table.row(&record);
        let parsed = (|| {
            let start = parse_instant("start", row.get(0))?;
            let end = parse_instant("end", row.get(1))?;
            let seconds = end.as_second() - start.as_second();
            let res = Resolution::from_seconds(seconds).ok_or_else(|| {
                nordlys_core::ParseError::new(
                    "end",
                    row.get(1),
                    format!("the interval is {seconds} s; loads are per 15 or 60 minutes"),
                )
            })?;
            let wh = EnergyWh::parse_kwh("quantity_kwh", row.get(2))?;
            if wh.0 < 0 {
                // The rule `import meter-values` applies: a load is consumption.
                return Err(nordlys_core::ParseError::new(
                    "quantity_kwh",
                    row.get(2),
                    "a consumption value cannot be negative",
                ));
            }
            Ok::<_, nordlys_core::ParseError>((start, res, wh))
        })();
        match parsed {
            Err(e) => errors.push(RowError::from_parse(line, e)),
            Ok((start, res, wh)) => {
                let first_resolution = *resolution.get_or_insert(res);
                if first_resolution != res {
                    errors.push(RowError::new(
                        line,
                        "end",
                        format!(
                            "this interval is {res} but the load's first interval is {first_resolution}"
                        ),
                    ));
                } else if energy.insert(start.as_second(), wh.0).is_some() {
                    errors.push(RowError::new(
                        line,
                        "start",
                        format!("{:?}: this interval appears twice", row.get(0)),
                    ));
                }
                first = first.min(start);
                last = last.max(start);
            }
        }
        if errors.is_full() {
            break;
        }
    }
    errors.into_result(source)?;
    let resolution = resolution.ok_or_else(|| {
        ImportError::rejected(
            source,
            vec![RowError::new(1, "row", "the load has no rows")],
            false,
        )
    })?;
    Ok(Load {
        resolution,
        energy_wh: energy,
        first,
        last,
    })
}

/// Calendar months in `tz` from the load's first to last interval.
pub fn months_of(load: &Load, tz: &TimeZone) -> Result<Vec<LocalPeriod>, RateLoadError> {
    let first = tz.to_datetime(load.first).date().first_of_month();
    let last = tz.to_datetime(load.last).date();
    let mut out = Vec::new();
    let mut month = first;
    while month <= last {
        let next = month
            .checked_add(jiff::Span::new().months(1))
            .map_err(|_| RateLoadError::OutOfCalendar(month))?;
        out.push(LocalPeriod {
            start: month,
            end: next,
        });
        month = next;
    }
    Ok(out)
}

/// One rated period.
pub struct RatedPeriod {
    pub period: LocalPeriod,
    pub start: Timestamp,
    pub end: Timestamp,
    pub rating: Rating,
    pub totals: Totals,
}

/// The products of one tariff file, as read.
pub struct TariffFile {
    /// Where the products came from (the file name), for messages.
    pub source: String,
    pub products: Vec<Product>,
}

/// Why a load could not be rated. Each says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateLoadError {
    #[error("give at least one --tariff with a product in it")]
    NoProducts,
    #[error("no product in the tariff files has code {code:?}; the choices are: {}", .choices.join(", "))]
    UnknownProductCode { code: String, choices: Vec<String> },
    #[error(
        "{file} has no product for {usage} customers (it has {}); choose one with --product CODE",
        .choices.join(", ")
    )]
    NoProductForUsage {
        file: String,
        usage: UsageKind,
        choices: Vec<String>,
    },
    #[error(
        "{file} has {} products for {usage} customers; choose one with --product CODE: {}",
        .choices.len(),
        .choices.join(", ")
    )]
    SeveralProducts {
        file: String,
        usage: UsageKind,
        choices: Vec<String>,
    },
    #[error("the month after {0} is beyond the calendar")]
    OutOfCalendar(Date),
    #[error("price area {0} has no supported market")]
    NoMarket(PriceArea),
    #[error("{0}")]
    Plan(#[from] nordlys_rating::PlanError),
    #[error("{0}")]
    Rating(nordlys_rating::RateError),
    /// The statutory tables of the market are in another currency than the tariff.
    #[error("{0}: rate it with --no-statutory")]
    StatutoryCurrency(nordlys_rating::RateError),
    #[error("the load has a hole: no value for {at} (period {period_start}..{period_end})")]
    LoadHole {
        at: String,
        period_start: Date,
        period_end: Date,
    },
    /// The spot prices do not serve the period (a gap, another currency without a rate).
    #[error("{0}")]
    Prices(String),
}

/// The products a user means: with `--product` codes, exactly those (each code must exist);
/// otherwise, from each file, the one product for `usage`. A file of customer groups (fri-nettleie)
/// contributes its group for `usage`; a file with several candidates left is an error listing
/// them, never a sum of alternatives.
pub fn choose_products(
    files: Vec<TariffFile>,
    usage: UsageKind,
    codes: &[String],
) -> Result<Vec<Product>, RateLoadError> {
    let all_codes = || {
        files
            .iter()
            .flat_map(|f| f.products.iter().map(|p| p.code.clone()))
            .collect::<Vec<_>>()
    };
    if !codes.is_empty() {
        if let Some(code) = codes.iter().find(|c| {
            !files
                .iter()
                .any(|f| f.products.iter().any(|p| &p.code == *c))
        }) {
            return Err(RateLoadError::UnknownProductCode {
                code: code.clone(),
                choices: all_codes(),
            });
        }
        return Ok(files
            .into_iter()
            .flat_map(|f| f.products)
            .filter(|p| codes.contains(&p.code))
            .collect());
    }
    let mut chosen = Vec::new();
    for file in files {
        let choices: Vec<String> = file.products.iter().map(|p| p.code.clone()).collect();
        let mut candidates: Vec<Product> = file
            .products
            .into_iter()
            .filter(|p| p.usage.is_none_or(|u| u == usage))
            .collect();
        match candidates.len() {
            0 if choices.is_empty() => {}
            0 => {
                return Err(RateLoadError::NoProductForUsage {
                    file: file.source,
                    usage,
                    choices,
                });
            }
            1 => chosen.append(&mut candidates),
            _ => {
                return Err(RateLoadError::SeveralProducts {
                    file: file.source,
                    usage,
                    choices: candidates.into_iter().map(|p| p.code).collect(),
                });
            }
        }
    }
    if chosen.is_empty() {
        return Err(RateLoadError::NoProducts);
    }
    Ok(chosen)
}

/// What to rate and where.
pub struct RateRequest<'a> {
    pub products: &'a [Product],
    pub statutory: &'a Statutory,
    pub area: PriceArea,
    pub municipality: String,
    pub usage: UsageKind,
    pub apply_statutory: bool,
    /// Main fuse size, for grid tariffs priced by it.
    pub main_fuse_amperes: Option<u32>,
    /// The day a Norgespris agreement took effect, if the point has one.
    pub norgespris_from: Option<jiff::civil::Date>,
    pub prices: Option<&'a [SpotPrice]>,
    /// 1 unit of the prices' currency in the products' currency, when they differ.
    pub exchange_rate: Option<Decimal>,
}

/// Rate `load` for each period. A hole in the load or prices is an error naming the instant.
pub fn rate_load(
    request: &RateRequest<'_>,
    load: &Load,
    periods: &[LocalPeriod],
) -> Result<Vec<RatedPeriod>, RateLoadError> {
    let first = request.products.first().ok_or(RateLoadError::NoProducts)?;
    let tz = first.time_zone.clone();
    let market = request
        .area
        .market()
        .ok_or(RateLoadError::NoMarket(request.area))?;
    let context = RatingContext {
        market,
        price_area: request.area,
        municipality: request.municipality.clone(),
        usage: request.usage,
        apply_statutory: request.apply_statutory,
        norgespris_from: request.norgespris_from,
        main_fuse_amperes: request.main_fuse_amperes,
    };
    let mut out = Vec::new();
    for &period in periods {
        let plan = RatingPlan::new(
            request.products,
            request.statutory,
            market,
            period,
            load.resolution,
        )?;
        let (start, end) = (
            start_of_local_day(period.start, &tz),
            start_of_local_day(period.end, &tz),
        );
        let step = load.resolution.seconds();
        let mut energy = Vec::with_capacity(plan.intervals());
        let mut t = start.as_second();
        for _ in 0..plan.intervals() {
            let Some(&wh) = load.energy_wh.get(&t) else {
                return Err(RateLoadError::LoadHole {
                    at: Timestamp::from_second(t)
                        .map_or_else(|_| format!("{t} s"), |at| format_local(at, &tz)),
                    period_start: period.start,
                    period_end: period.end,
                });
            };
            energy.push(wh);
            t += step;
        }
        let spot = match request.prices {
            None => None,
            Some(prices) => Some(
                align_spot_prices(
                    prices,
                    request.area,
                    start.as_second(),
                    step,
                    plan.intervals(),
                    &tz,
                    |price, _| {
                        if price.currency == first.currency {
                            return Ok(price.price_per_mwh);
                        }
                        let rate = request.exchange_rate.ok_or_else(|| {
                            format!(
                                "prices are in {} but the tariff in {}: give --exchange-rate",
                                price.currency, first.currency
                            )
                        })?;
                        price.price_per_mwh.checked_mul(rate).ok_or_else(|| {
                            format!(
                                "{} {} per MWh × exchange rate {rate} is out of range",
                                price.price_per_mwh, price.currency
                            )
                        })
                    },
                )
                .map_err(RateLoadError::Prices)?,
            ),
        };
        let input = MeterInput {
            energy_wh: &energy,
            spot_price: spot.as_deref(),
            ..MeterInput::default()
        };
        let rating = plan.rate(&context, &input).map_err(|e| match e {
            nordlys_rating::RateError::CurrencyMismatch { .. } => {
                RateLoadError::StatutoryCurrency(e)
            }
            e => RateLoadError::Rating(e),
        })?;
        let totals = rating.totals();
        out.push(RatedPeriod {
            period,
            start,
            end,
            rating,
            totals,
        });
    }
    Ok(out)
}

/// A period `[from, to)` from two local dates.
pub fn period_between(from: Date, to: Date) -> Result<LocalPeriod, nordlys_core::ParseError> {
    LocalPeriod::new(from, to)
}

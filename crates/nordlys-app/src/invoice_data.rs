//! The data behind an invoice, for the customer who received it: every reading of every
//! metering point the invoice bills, over the days its lines cover, as the readings stood when
//! the invoice was issued (later corrections show on a correction document, not here), each
//! with the spot price of its interval. One CSV a spreadsheet opens.

use std::collections::BTreeMap;

use jiff::civil::Date;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::SpotPrice;
use nordlys_core::time::{format_local, start_of_local_day};
use rust_decimal::Decimal;

use crate::self_service::{Holdings, SelfServiceError};

/// The CSV's header.
pub const INVOICE_DATA_HEADER: &str =
    "metering_point,start,end,quantity_kwh,quality,price_area,spot_price_per_mwh,spot_currency";

/// The data behind invoice (or credit note) `number` of the customer, as CSV.
pub async fn invoice_data_csv(
    store: &nordlys_store::Store,
    holdings: &Holdings,
    number: &str,
) -> Result<String, SelfServiceError> {
    let summary = holdings.document(store, number).await?;
    let lines = store.document_lines(summary.id).await?;
    let points = store.document_metering_points(summary.id).await?;
    // The days each metering point's lines cover: [first, last).
    let mut spans: BTreeMap<String, (Date, Date)> = BTreeMap::new();
    for line in &lines {
        let Some(gsrn) = points.get(&line.contract_id) else {
            continue;
        };
        let span = spans.entry(gsrn.clone()).or_insert((line.from, line.to));
        span.0 = span.0.min(line.from);
        span.1 = span.1.max(line.to);
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(INVOICE_DATA_HEADER.split(','))
        .map_err(crate::cost::failed)?;
    for (gsrn, (from, to)) in spans {
        let point = holdings.point(&gsrn)?;
        let tz = point.market.time_zone();
        let (start, end) = (start_of_local_day(from, &tz), start_of_local_day(to, &tz));
        let id = Gsrn::parse(&gsrn).map_err(SelfServiceError::Invalid)?;
        let Some(point_id) = store.metering_point_id(&id).await? else {
            continue;
        };
        let readings = store
            .meter_values(point_id, start, end, Some(summary.issued_at))
            .await?;
        let prices = store.spot_prices(point.price_area, start, end).await?;
        let step = jiff::SignedDuration::from_secs(point.resolution.seconds());
        for reading in readings {
            let reading_end = reading.start + step;
            let (price, currency) = price_of(&prices, reading.start, reading_end);
            out.write_record([
                gsrn.as_str(),
                &format_local(reading.start, &tz),
                &format_local(reading_end, &tz),
                &reading.energy.to_kwh_string(),
                reading.quality.code(),
                point.price_area.code(),
                &price.map(|p| p.to_string()).unwrap_or_default(),
                currency.unwrap_or_default(),
            ])
            .map_err(crate::cost::failed)?;
        }
    }
    let bytes = out.into_inner().map_err(crate::cost::failed)?;
    String::from_utf8(bytes).map_err(crate::cost::failed)
}

/// The spot price of `[start, end)`: the price whose interval holds it, or the mean of the
/// shorter intervals within it (15-minute prices under an hourly reading), to 2 decimals.
fn price_of(
    prices: &[SpotPrice],
    start: jiff::Timestamp,
    end: jiff::Timestamp,
) -> (Option<Decimal>, Option<&'static str>) {
    let first = prices.partition_point(|p| p.end <= start);
    let within: Vec<&SpotPrice> = prices[first..]
        .iter()
        .take_while(|p| p.start < end)
        .collect();
    let Some(currency) = within.first().map(|p| p.currency.code()) else {
        return (None, None);
    };
    let sum: Decimal = within.iter().map(|p| p.price_per_mwh).sum();
    let mean = sum / Decimal::from(within.len());
    (Some(mean.round_dp(2).normalize()), Some(currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nordlys_core::model::PriceArea;
    use nordlys_core::quantity::Currency;

    fn price(start_s: i64, end_s: i64, per_mwh: i64) -> SpotPrice {
        SpotPrice {
            area: PriceArea::No1,
            start: jiff::Timestamp::from_second(start_s).unwrap(),
            end: jiff::Timestamp::from_second(end_s).unwrap(),
            price_per_mwh: Decimal::from(per_mwh),
            currency: Currency::Eur,
        }
    }

    #[test]
    fn an_interval_gets_the_price_that_holds_it_or_the_mean_of_those_within_it() {
        let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        let hourly = [price(0, 3600, 40), price(3600, 7200, 60)];
        // A quarter hour inside the second hour.
        assert_eq!(
            price_of(&hourly, at(4500), at(5400)),
            (Some(Decimal::from(60)), Some("EUR"))
        );
        let quarters = [
            price(0, 900, 10),
            price(900, 1800, 20),
            price(1800, 2700, 30),
            price(2700, 3600, 41),
            price(3600, 4500, 99),
        ];
        // An hour over four quarter-hour prices: their mean.
        assert_eq!(
            price_of(&quarters, at(0), at(3600)),
            (Some(Decimal::new(2525, 2)), Some("EUR"))
        );
        assert_eq!(price_of(&quarters, at(7200), at(10800)), (None, None));
    }
}

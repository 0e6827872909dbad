//! Spot prices and exchange rates.

use nordlys_app::import;
use nordlys_core::model::PriceArea;
use rust_decimal::Decimal;

use crate::fixtures::*;

const PRICES: &str = "area,start,end,price,currency,unit
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,MWh
NO1,2025-01-01T01:00:00+01:00,2025-01-01T02:00:00+01:00,0.08211,EUR,kWh
DK1,2025-10-01T00:00:00+02:00,2025-10-01T00:15:00+02:00,-3.5,EUR,MWh
";

#[tokio::test]
async fn spot_prices_import_normalised_and_corrections_are_versions() {
    let db = empty_db().await;
    let report = import::import_spot_prices(
        &db.store,
        "prices.csv",
        PRICES.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((report.rows, report.inserted), (3, 3));
    let again = import::import_spot_prices(
        &db.store,
        "prices.csv",
        PRICES.as_bytes(),
        &clock("2025-01-02T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(again.unchanged, 3);
    let corrected = PRICES.replace("85.12", "86.00");
    let fix = import::import_spot_prices(
        &db.store,
        "prices.csv",
        corrected.as_bytes(),
        &clock("2025-01-03T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((fix.updated, fix.unchanged), (1, 2));

    let no1 = db
        .store
        .spot_prices(
            PriceArea::No1,
            "2024-12-31T23:00:00Z".parse().unwrap(),
            "2025-01-01T23:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    let prices: Vec<Decimal> = no1.iter().map(|p| p.price_per_mwh).collect();
    assert_eq!(prices, [Decimal::new(8600, 2), Decimal::new(8211, 2)]);
    assert_eq!(
        db.store.summary().await.unwrap().spot_prices,
        4,
        "the old price stays as version 1"
    );
}

#[tokio::test]
async fn bad_spot_price_rows() {
    let db = empty_db().await;
    let csv = "area,start,end,price,currency,unit
NO6,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,MWh
NO1,2025-01-01T00:00:00+01:00,2025-01-01T00:30:00+01:00,85.12,EUR,MWh
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85,12,EUR
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,GBP,MWh
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,Wh
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,MWh
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.13,EUR,MWh
";
    let error = import::import_spot_prices(
        &db.store,
        "p.csv",
        csv.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "p.csv:2: area: \"NO6\": must be one of: NO1, NO2, NO3, NO4, NO5, DK1, DK2, SE1, SE2, SE3, SE4",
            "p.csv:3: end: \"2025-01-01T00:30:00+01:00\": the interval is 1800 s long; prices are per 15 or 60 minutes",
            "p.csv:4: currency: \"12\": must be one of: NOK, DKK, EUR, SEK, USD",
            "p.csv:5: currency: \"GBP\": must be one of: NOK, DKK, EUR, SEK, USD",
            "p.csv:6: unit: \"Wh\": must be one of: MWh, kWh",
            "p.csv:8: start: \"2025-01-01T00:00:00+01:00\": the NO1 price from 2024-12-31T23:00:00Z is already given on line 7 of this file",
        ]
    );
    assert_eq!(db.store.summary().await.unwrap().spot_prices, 0);
}

#[tokio::test]
async fn exchange_rates() {
    let db = empty_db().await;
    let csv = "date,base,quote,rate\n2025-01-02,EUR,NOK,11.795\n2025-01-02,EUR,DKK,7.4587\n";
    let report = import::import_exchange_rates(
        &db.store,
        "fx.csv",
        csv.as_bytes(),
        &clock("2025-01-03T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(report.inserted, 2);
    let bad = "date,base,quote,rate\n2025-01-02,EUR,NOK,-1\n2025-13-02,EUR,NOK,11\n2025-01-02,EUR,EUR,1\n";
    let error = import::import_exchange_rates(
        &db.store,
        "fx.csv",
        bad.as_bytes(),
        &clock("2025-01-03T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "fx.csv:2: rate: \"-1\": an exchange rate must be positive",
            "fx.csv:3: date: \"2025-13-02\": not a date written YYYY-MM-DD",
            "fx.csv:4: quote: \"EUR\": must differ from base",
        ]
    );
}

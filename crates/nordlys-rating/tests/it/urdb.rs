//! OpenEI URDB rates imported from our own fixture files (written for these tests in the URDB
//! API's shape) and rated on hand-checkable loads: January 2025 in America/New_York, hourly.

use jiff::civil::{Date, DateTime, Weekday, date};
use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution, zone};
use nordlys_rating::openei_urdb::{UrdbError, import_urdb};
use nordlys_rating::{LineKind, MeterInput, Product, RatingContext, Statutory, rate};
use rust_decimal::Decimal;

fn fixture(name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/urdb")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn import(name: &str) -> Vec<Product> {
    import_urdb(name, &fixture(name), "America/New_York").unwrap_or_else(|e| panic!("{e}"))
}

/// January 2025 hour by hour: `kwh(local time)` in Wh.
fn january(kwh: impl Fn(DateTime) -> i64) -> Vec<i64> {
    let tz = zone("America/New_York").unwrap();
    let period = LocalPeriod::parse_month("2025-01").unwrap();
    let (start, end) = period.to_utc(&tz);
    let mut out = Vec::new();
    let mut t = start;
    while t < end {
        out.push(kwh(tz.to_datetime(t)));
        t += jiff::SignedDuration::from_hours(1);
    }
    out
}

fn rated(products: &[Product], energy: &[i64]) -> nordlys_rating::Rating {
    let context = RatingContext {
        market: Market::No,
        price_area: PriceArea::No1,
        municipality: String::new(),
        usage: UsageKind::Business,
        apply_statutory: false,
        norgespris_from: None,
        main_fuse_amperes: None,
    };
    let input = MeterInput {
        energy_wh: energy,
        ..MeterInput::default()
    };
    rate(
        products,
        &Statutory::default(),
        &context,
        LocalPeriod::parse_month("2025-01").unwrap(),
        Resolution::Pt60m,
        &input,
    )
    .unwrap()
}

fn net(rating: &nordlys_rating::Rating) -> Decimal {
    rating.totals().gross
}

#[test]
fn time_of_use_energy_fixed_charge_and_a_minimum_that_does_not_bind() {
    let products = import("tou-residential.json");
    assert_eq!(products.len(), 1);
    assert_eq!(products[0].code, "urdb-test-tou-residential");
    let rating = rated(&products, &january(|_| 1000));
    // 23 weekdays × 5 on-peak hours (16:00–21:00) = 115 kWh × 0.25 = 28.75;
    // the other 629 kWh × (0.10 + 0.01 adj) = 69.19; fixed 10.00. Minimum 5 does not bind.
    // Off-peak spans weekday evenings and weekends: one line, as in the rate.
    let energy: Vec<String> = rating
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Energy)
        .map(|l| format!("{} {}", l.quantity, l.net))
        .collect();
    assert_eq!(energy.len(), 2, "{energy:?}");
    assert!(
        energy.contains(&"115.000 28.75".to_owned())
            && energy.contains(&"629.000 69.19".to_owned()),
        "{energy:?}"
    );
    assert!(
        rating.lines.iter().all(|l| l.kind != LineKind::Fee),
        "the minimum does not bind"
    );
    assert_eq!(net(&rating), Decimal::new(10794, 2), "no VAT on URDB rates");
}

#[test]
fn tiered_energy_topped_up_to_the_minimum_charge() {
    let products = import("tiered-minimum.json");
    let rating = rated(&products, &january(|_| 1000));
    // 744 kWh: 500 × 0.08 = 40.00 + 244 × 0.10 = 24.40 = 64.40 < 100 minimum → 35.60 top-up.
    let fee = rating
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Fee)
        .expect("a minimum-charge line");
    assert_eq!(fee.net, Decimal::new(3560, 2));
    assert_eq!(net(&rating), Decimal::new(10000, 2));
}

#[test]
fn flat_demand_tiers_and_time_of_use_demand_from_the_items_wrapper() {
    let products = import("commercial-demand.json");
    let on = |t: DateTime, day: Date, hour: i8| t.date() == day && t.hour() == hour;
    let rating = rated(
        &products,
        &january(|t| {
            if on(t, date(2025, 1, 15), 14) {
                20_000 // Wednesday, on-peak: 20 kW
            } else if on(t, date(2025, 1, 18), 13) {
                assert_eq!(t.date().weekday(), Weekday::Saturday);
                15_000 // Saturday: off-peak
            } else {
                1000
            }
        }),
    );
    // Flat demand 20 kW: 10 × 5 + 10 × 7 = 120. On-peak demand 20 kW × 12 = 240. Off-peak
    // (weekday off hours and weekends together: one period) 15 kW × 0 = 0.
    // Energy 742 + 20 + 15 = 777 kWh × 0.05 = 38.85. Total 398.85.
    let demand: Vec<String> = rating
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Demand)
        .map(|l| format!("{}: {} {}", l.description, l.quantity, l.net))
        .collect();
    let off_peak = demand.iter().filter(|d| d.contains("period 1")).count();
    assert_eq!(
        off_peak, 1,
        "one off-peak period although it spans weekdays and weekends: {demand:?}"
    );
    assert!(
        demand
            .iter()
            .any(|d| d.contains("period 2") && d.ends_with("20.000 240.00")),
        "{demand:?}"
    );
    assert!(
        demand.iter().any(|d| d.ends_with("15.000 0.00")),
        "off-peak max is the Saturday: {demand:?}"
    );
    assert_eq!(net(&rating), Decimal::new(39885, 2), "{demand:?}");
}

fn refused(json: &str) -> String {
    match import_urdb("rate.json", json, "America/New_York") {
        Err(e) => e.to_string(),
        Ok(p) => panic!("accepted: {p:?}"),
    }
}

#[test]
fn unsupported_features_are_refused_by_name() {
    let base = fixture("tou-residential.json");
    let with =
        |field: &str, value: &str| base.replacen('{', &format!("{{\"{field}\": {value},"), 1);
    let cases = [
        (
            with("coincidentratestructure", "[[{\"rate\": 3}]]"),
            "coincidentratestructure: is not supported",
        ),
        (
            with("fueladjustmentsmonthly", "[0.01,0,0,0,0,0,0,0,0,0,0,0]"),
            "fueladjustmentsmonthly: is not supported",
        ),
        (
            with("demandratchetpercentage", "[0.8,0.8,0,0,0,0,0,0,0,0,0,0]"),
            "demandratchetpercentage: is not supported",
        ),
        (
            with("demandwindow", "30"),
            "demandwindow: 30 minutes is not supported",
        ),
        (
            with("fixedchargeeaaddl", "4"),
            "fixedchargeeaaddl: is not supported",
        ),
        (
            base.replace("\"unit\": \"kWh\"}], [", "\"unit\": \"kWh daily\"}], ["),
            "energyratestructure[0][0].unit: \"kWh daily\" is not supported",
        ),
    ];
    for (json, expected) in cases {
        let message = refused(&json);
        assert!(
            message.contains("rate \"test-tou-residential\"") && message.contains(expected),
            "{expected}: {message}"
        );
    }
    // Fields that carry nothing (all zero) are accepted.
    assert!(
        import_urdb(
            "rate.json",
            &with("demandratchetpercentage", "[0,0,0,0,0,0,0,0,0,0,0,0]"),
            "America/New_York"
        )
        .is_ok()
    );
    assert!(refused("[1, 2]").contains("expected a rate object"));
    assert!(refused("{\"items\": []}").contains("no rates"));
    assert!(refused("not json").starts_with("rate.json: not URDB JSON"));
    let err = import_urdb("rate.json", &base, "Mars/Olympus").unwrap_err();
    assert!(
        matches!(err, UrdbError::Field { .. })
            && err.to_string().contains("not a known IANA time zone"),
        "{err}"
    );
}

#[test]
fn tiers_inside_time_of_use_energy_and_demand_periods() {
    // On-peak energy tiered: first 100 kWh of the month at 0.20, the rest at 0.25.
    let tiered = fixture("tou-residential.json").replace(
        "[{\"rate\": 0.25, \"unit\": \"kWh\"}]",
        "[{\"max\": 100, \"rate\": 0.2}, {\"rate\": 0.25}]",
    );
    let products = import_urdb("tiered.json", &tiered, "America/New_York").unwrap();
    let rating = rated(&products, &january(|_| 1000));
    // 115 on-peak kWh: 100 × 0.20 = 20.00 + 15 × 0.25 = 3.75; off-peak 629 × 0.11 = 69.19; fixed 10.
    let energy: Vec<String> = rating
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Energy)
        .map(|l| format!("{} {}", l.quantity, l.net))
        .collect();
    assert!(
        energy.contains(&"100 20.00".to_owned()) && energy.contains(&"15.000 3.75".to_owned()),
        "{energy:?}"
    );
    assert_eq!(net(&rating), Decimal::new(10294, 2));

    // On-peak demand tiered: first 10 kW at 12, the rest at 15 → 20 kW costs 270 instead of 240.
    let commercial = fixture("commercial-demand.json").replace(
        "[[{\"rate\": 0}], [{\"rate\": 12}]]",
        "[[{\"rate\": 0}], [{\"max\": 10, \"rate\": 12}, {\"rate\": 15}]]",
    );
    let products = import_urdb("c.json", &commercial, "America/New_York").unwrap();
    let on = |t: DateTime, day: Date, hour: i8| t.date() == day && t.hour() == hour;
    let rating = rated(
        &products,
        &january(|t| {
            if on(t, date(2025, 1, 15), 14) {
                20_000
            } else {
                1000
            }
        }),
    );
    // Flat 20 kW: 120; on-peak 270; energy (743 + 20) × 0.05 = 38.15. Total 428.15.
    assert_eq!(net(&rating), Decimal::new(42815, 2));
}

/// The time-of-use prices of the energy component of a product, in period order.
fn energy_prices(product: &Product) -> Vec<Decimal> {
    product
        .components
        .iter()
        .filter(|c| c.code == "energy")
        .flat_map(|c| match &c.pricing {
            nordlys_rating::product::Pricing::TimeOfUse { periods, .. } => {
                periods.iter().map(|p| p.price).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn numbers_are_read_exactly_from_their_text_never_through_f64() {
    // 18 significant digits: f64 would make it 123456789.12345679.
    let text = fixture("tou-residential.json").replace(
        r#"{"rate": 0.1, "adj": 0.01, "unit": "kWh"}"#,
        r#"{"rate": 123456789.123456789, "adj": 0.01, "unit": "kWh"}"#,
    );
    let products = import_urdb("exact.json", &text, "America/New_York").unwrap();
    let prices = energy_prices(&products[0]);
    assert!(
        prices.contains(&"123456789.133456789".parse().unwrap()),
        "{prices:?}"
    );
    // More decimals than a price may have: refused, and the message shows the exact number.
    let text = fixture("tou-residential.json").replace(
        r#"{"rate": 0.1, "adj": 0.01, "unit": "kWh"}"#,
        r#"{"rate": 0.12345678901234567891, "unit": "kWh"}"#,
    );
    let error = import_urdb("exact.json", &text, "America/New_York").unwrap_err();
    assert!(
        error.to_string().contains("0.12345678901234567891"),
        "{error}"
    );
}

#[test]
fn hostile_urdb_files_are_refused_with_a_bounded_message() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let error = import_urdb("deep.json", &deep, "UTC")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "deep.json: not URDB JSON: nested deeper than 32 arrays and objects at line 1, column 33"
    );
    let twice = fixture("tou-residential.json").replacen(
        r#""fixedchargefirstmeter": 10,"#,
        r#""fixedchargefirstmeter": 10, "fixedchargefirstmeter": 1000,"#,
        1,
    );
    let error = import_urdb("twice.json", &twice, "UTC")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the key \"fixedchargefirstmeter\" appears twice in one object"),
        "{error}"
    );
    // An unsupported field with a huge value: the value is echoed as a short prefix.
    let huge = fixture("tou-residential.json").replacen(
        r#""dgrules": "Net Metering""#,
        &format!(
            r#""dgrules": "Net Metering", "coincidentrate": "{}""#,
            "x".repeat(1_000_000)
        ),
        1,
    );
    let error = import_urdb("huge.json", &huge, "UTC")
        .unwrap_err()
        .to_string();
    assert!(error.contains("coincidentrate"), "{error}");
    assert!(
        error.contains("…") && error.len() < 400,
        "{} bytes: {}",
        error.len(),
        &error[..400.min(error.len())]
    );
    let big = " ".repeat(nordlys_rating::openei_urdb::MAX_URDB_FILE_BYTES + 1);
    let error = import_urdb("big.json", &big, "UTC")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is larger than the limit of 8388608 bytes"),
        "{error}"
    );
}

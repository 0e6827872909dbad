//! The shipped example products and statutory table load, and the remaining component
//! kinds (demand, time-of-use demand, tiered energy, monthly-average spot) rate as written.

use jiff::civil::date;
use nordlys_core::model::{Market, UsageKind};
use nordlys_core::time::Resolution;
use nordlys_rating::statutory::DEFAULT_STATUTORY_TOML;
use nordlys_rating::{LineKind, MeterInput, RatingPlan, Statutory, parse_product_toml};

use crate::support::*;

#[test]
fn every_example_product_is_valid() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/products");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            parse_product_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
    }
    assert_eq!(count, 7);
    // The demo's grid tariffs, written by us in the fri-nettleie format.
    let mut grid = 0;
    for entry in std::fs::read_dir(dir.join("fri-nettleie")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let products = nordlys_rating::fri_nettleie::import_fri_nettleie(&stem, &text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let codes: Vec<&str> = products.iter().map(|p| p.code.as_str()).collect();
        assert!(
            codes.contains(&format!("{stem}-husholdning").as_str()),
            "{codes:?}"
        );
        grid += 1;
    }
    assert_eq!(grid, 6);
}

#[test]
fn the_embedded_statutory_table_loads() {
    let st = Statutory::from_toml(DEFAULT_STATUTORY_TOML).unwrap();
    assert_eq!(st, Statutory::default());
    let codes: Vec<&str> = st.charges.iter().map(|c| c.code.as_str()).collect();
    assert!(
        codes.contains(&"elavgift") && codes.contains(&"norgespris") && codes.contains(&"elafgift")
    );
    let tiltak = st.zone("no-tiltakssone").unwrap();
    assert!(
        tiltak.contains("5601")
            && tiltak.contains("2012")
            && tiltak.contains("5534")
            && !tiltak.contains("5501")
    );
}

const BUSINESS: &str = r#"
[product]
code = "naering-effekt"
name = "Næring effekttariff"
currency = "NOK"
time_zone = "Europe/Oslo"
holidays = "NO"

[[component]]
code = "effekt"
name = "Effektledd"
kind = "demand"
vat = "standard"
valid_from = "2025-01-01"
measure = "hour"
tier = [{ up_to_kw = "10", price_per_kw = "50" }, { price_per_kw = "80" }]

[[component]]
code = "topp"
name = "Toppeffekt"
kind = "time_of_use_demand"
vat = "standard"
valid_from = "2025-01-01"
measure = "interval"
[[component.period]]
name = "høylast"
days = ["working_day"]
hours = ["07:00-20:00"]
price_per_kw = "30"

[[component]]
code = "energi"
name = "Energi"
kind = "tiered_energy"
vat = "standard"
valid_from = "2025-01-01"
tier = [{ up_to_kwh = "1000", price_per_kwh = "0.50" }, { price_per_kwh = "0.40" }]

[[component]]
code = "spot"
name = "Spot månedssnitt"
kind = "spot"
vat = "standard"
valid_from = "2025-01-01"
averaging = "monthly_average"
markup_per_kwh = "0.02"
"#;

#[test]
fn demand_tiered_energy_and_monthly_spot_rate_as_written() {
    let product = parse_product_toml(BUSINESS).unwrap();
    let period = month("2025-01");
    let plan = RatingPlan::new(
        std::slice::from_ref(&product),
        &Statutory::default(),
        Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    // 500 Wh per quarter (2 kW); Tue 14 Jan 12:00–13:00: 5000 Wh per quarter (20 kW);
    // Sat 18 Jan 10:00–10:15: 6000 Wh (24 kW in that quarter, a weekend).
    let energy = series(period, &product.time_zone, Resolution::Pt15m, |t| {
        match (t.day(), t.hour(), t.minute()) {
            (14, 12, _) => 5000,
            (18, 10, 0) => 6000,
            _ => 500,
        }
    });
    // Spot 0.30 in the first half of the month, 0.50 in the second (by interval count).
    let n = energy.len();
    let spot: Vec<i64> = (0..n)
        .map(|i| if i < n / 2 { 300_000_000 } else { 500_000_000 })
        .collect();
    let mut ctx = ctx_no("0301", UsageKind::Business);
    ctx.apply_statutory = false;
    let rating = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                ..Default::default()
            },
        )
        .unwrap();
    let table = render(&rating.lines);
    // Hourly demand: the highest clock hour is 14 Jan 12:00 = 20 kWh/h = 20 kW (the 24 kW
    // quarter is 6 + 3 × 0.5 = 7.5 kWh in its hour). 10 kW × 50 + 10 kW × 80 = 1300.
    assert_eq!(
        nets(&rating.lines, "effekt"),
        ["500.00", "800.00"],
        "{table}"
    );
    // Interval demand in working-day 07–20: 5000 Wh × 4 = 20 kW × 30 = 600 (the Saturday
    // quarter is outside the period).
    assert_eq!(nets(&rating.lines, "topp"), ["600.00"], "{table}");
    let topp = rating.lines.iter().find(|l| &*l.code == "topp").unwrap();
    assert_eq!(
        topp.explanation[0].to_string(),
        "highest demand 20.000 kW at 2025-01-14 12:00 (høylast)"
    );
    // Energy: 2976 quarters × 0.5 kWh = 1488 kWh + 4 × 4.5 + 5.5 = 1511.5 kWh:
    // 1000 × 0.50 = 500.00; 511.5 × 0.40 = 204.60.
    assert_eq!(
        nets(&rating.lines, "energi"),
        ["500.00", "204.60"],
        "{table}"
    );
    // Monthly average spot: (0.30 + 0.50) / 2 = 0.40, + 0.02 markup: 1511.5 × 0.42 = 634.83.
    assert_eq!(nets(&rating.lines, "spot"), ["634.83"], "{table}");
    assert!(rating.lines.iter().all(|l| l.kind != LineKind::Tax));
    assert_eq!(
        (rating.lines[0].from, rating.lines[0].to),
        (date(2025, 1, 1), date(2025, 2, 1))
    );
}

//! `nordlys rate` and `nordlys bench rate` as a user runs them: which products a tariff file
//! contributes, bad loads refused as `import` refuses them, any tariff benchmarked.

use super::{Workdir, arg, example};

/// An hourly load over `[from, to)` (UTC instants), the same `kwh` every hour.
fn hourly_load(from: &str, to: &str, kwh: &str) -> String {
    let (from, to): (jiff::Timestamp, jiff::Timestamp) =
        (from.parse().unwrap(), to.parse().unwrap());
    let mut csv = String::from("start,end,quantity_kwh\n");
    let mut t = from;
    while t < to {
        let next = t + jiff::SignedDuration::from_hours(1);
        csv.push_str(&format!("{t},{next},{kwh}\n"));
        t = next;
    }
    csv
}

/// NO5 spot prices per hour over `[from, to)`, all at `nok_per_kwh`.
fn hourly_prices(from: &str, to: &str, nok_per_kwh: &str) -> String {
    let mut csv = String::from("area,start,end,price,currency,unit\n");
    for line in hourly_load(from, to, "0").lines().skip(1) {
        let (start, rest) = line.split_once(',').unwrap();
        let (end, _) = rest.split_once(',').unwrap();
        csv.push_str(&format!("NO5,{start},{end},{nok_per_kwh},NOK,kWh\n"));
    }
    csv
}

/// October 2025 in Europe/Oslo, as UTC instants (summer time ends on the 26th: 745 hours).
const OCTOBER_2025: (&str, &str) = ("2025-09-30T22:00:00Z", "2025-10-31T23:00:00Z");

fn real_bkk() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/fri-nettleie/tariffer/bkk.yml");
    if path.is_file() {
        Some(path.display().to_string())
    } else {
        eprintln!(
            "skipped: {} is absent (the shared data lies beside the repository)",
            path.display()
        );
        None
    }
}

/// `nordlys rate` of BKK's tariff over October 2025 in Bergen (NO5, 4601), as JSON.
fn rate_bkk_october(w: &Workdir, tariff: &str, prices: &str, extra: &[&str]) -> serde_json::Value {
    let load = w.write(
        "load.csv",
        &hourly_load(OCTOBER_2025.0, OCTOBER_2025.1, "1.000"),
    );
    let prices = w.write(
        "prices.csv",
        &hourly_prices(OCTOBER_2025.0, OCTOBER_2025.1, prices),
    );
    let mut args = vec![
        "rate",
        "--tariff",
        tariff,
        "--load",
        arg(&load),
        "--prices",
        arg(&prices),
        "--area",
        "NO5",
        "--municipality",
        "4601",
        "--period",
        "2025-10",
        "--format",
        "json",
    ];
    args.extend(extra);
    serde_json::from_str(&w.ok(&args)).unwrap()
}

fn sources(json: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = json["periods"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"].as_str().unwrap().to_owned())
        .collect();
    out.dedup();
    out
}

#[test]
fn a_household_is_rated_with_the_household_group_of_a_fri_nettleie_file_only() {
    let Some(bkk) = real_bkk() else { return };
    let w = Workdir::new();
    // Spot prices below the strømstøtte threshold: no subsidy, every figure by hand.
    let json = rate_bkk_october(&w, &bkk, "0.10", &["--household"]);
    assert_eq!(json["products"], serde_json::json!(["bkk-husholdning"]));
    assert!(
        !sources(&json)
            .iter()
            .any(|s| s.starts_with("bkk-") && s != "bkk-husholdning"),
        "{json}"
    );
    // 1 kWh every hour: capacity step 0–2 kW, 1 488 kr/year = 124.00; 23 working days ×
    // 16 day hours = 368 kWh × 0.2877 = 105.87; 377 other kWh × 0.1899 = 71.59; elavgift
    // 745 kWh × 0.1253 = 93.35; Enova 745 × 0.01 = 7.45. Net 402.26, VAT 25 % 100.57.
    let period = &json["periods"][0];
    assert_eq!(period["net"], "402.26", "{json}");
    assert_eq!(period["vat"], "100.57", "{json}");
    assert_eq!(json["total"], "502.83", "{json}");
    // The default kind is the household; the choice is the same product.
    let default = rate_bkk_october(&w, &bkk, "0.10", &[]);
    assert_eq!(default["total"], json["total"]);

    // A business gets `liten_næring` and the business rules (no per-kWh Enova).
    let business = rate_bkk_october(&w, &bkk, "0.10", &["--business"]);
    assert_eq!(
        business["products"],
        serde_json::json!(["bkk-liten_naering"])
    );
    assert!(
        !sources(&business)
            .iter()
            .any(|s| s == "bkk-husholdning" || s == "bkk-fritid"),
        "{business}"
    );
}

#[test]
fn a_holiday_home_is_rated_with_the_fritid_group_and_its_rules() {
    let Some(bkk) = real_bkk() else { return };
    let w = Workdir::new();
    // Spot at 2.00 NOK/kWh: a household gets strømstøtte, a holiday home does not.
    let household = rate_bkk_october(&w, &bkk, "2.00", &["--household"]);
    let lines = household["periods"][0]["lines"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| l["code"] == "stromstotte"),
        "{household}"
    );
    let holiday = rate_bkk_october(&w, &bkk, "2.00", &["--holiday-home"]);
    assert_eq!(holiday["products"], serde_json::json!(["bkk-fritid"]));
    let lines = holiday["periods"][0]["lines"].as_array().unwrap();
    assert!(
        !lines.iter().any(|l| l["code"] == "stromstotte"),
        "{holiday}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["kind"] == "energy" || l["kind"] == "capacity")
            .all(|l| l["source"] == "bkk-fritid"),
        "{holiday}"
    );
}

#[test]
fn the_table_names_the_product_of_each_line() {
    let w = Workdir::new();
    let load = w.write(
        "load.csv",
        &hourly_load("2025-01-05T23:00:00Z", "2025-01-06T23:00:00Z", "1.000"),
    );
    let out = w.ok(&[
        "rate",
        "--tariff",
        &example("no-elvia-grid-2025.toml"),
        "--tariff",
        &example("fri-nettleie/bkk.yml"),
        "--product",
        "no-elvia-husholdning",
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
        "--no-statutory",
    ]);
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("product")),
        "{out}"
    );
    let energy: Vec<&str> = out.lines().filter(|l| l.contains(" energy ")).collect();
    assert!(!energy.is_empty(), "{out}");
    assert!(
        energy
            .iter()
            .all(|l| l.trim_start().starts_with("no-elvia-husholdning")),
        "{out}"
    );
}

/// A fri-nettleie file with two tariff areas for households.
const TWO_AREAS: &str = "netteier: Testnett AS
tariffer:
  - navn: Nord
    kundegrupper: [husholdning]
    fastledd: { metode: MND_MAX, terskel_inkludert: true, terskler: [{ terskel: 0, pris: 1200 }] }
    energiledd: { grunnpris: 10 }
    gyldig_fra: '2025-01-01'
  - navn: Sør
    kundegrupper: [husholdning]
    fastledd: { metode: MND_MAX, terskel_inkludert: true, terskler: [{ terskel: 0, pris: 2400 }] }
    energiledd: { grunnpris: 20 }
    gyldig_fra: '2025-01-01'
";

#[test]
fn several_candidates_are_an_error_listing_the_product_choices() {
    let w = Workdir::new();
    let tariff = w.write("testnett.yml", TWO_AREAS);
    let load = w.write(
        "load.csv",
        &hourly_load("2025-01-05T23:00:00Z", "2025-01-06T23:00:00Z", "1.000"),
    );
    let base = [
        "rate",
        "--tariff",
        arg(&tariff),
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
        "--no-statutory",
    ];
    let (code, stderr) = w.fails(&base);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("has 2 products for household customers; choose one with --product CODE: testnett-nord-husholdning, testnett-sor-husholdning"),
        "{stderr}"
    );
    let (_, stderr) = w.fails(&[&base[..], &["--business"]].concat());
    assert!(
        stderr.contains("has no product for business customers"),
        "{stderr}"
    );
    let (_, stderr) = w.fails(&[&base[..], &["--product", "testnett-vest"]].concat());
    assert!(
        stderr.contains("no product in the tariff files has code \"testnett-vest\"; the choices are: testnett-nord-husholdning, testnett-sor-husholdning"),
        "{stderr}"
    );
    let out = w.ok(&[
        &base[..],
        &["--product", "testnett-sor-husholdning", "--format", "json"],
    ]
    .concat());
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    // 24 kWh × 0.20 = 4.80; 2 400 a year = 200 a month, one day of 31: 6.45.
    assert_eq!(json["net"], "11.25", "{out}");
}

fn urdb_rate() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../nordlys-rating/tests/it/urdb/tou-residential.json")
        .display()
        .to_string()
}

#[test]
fn bench_rate_takes_any_tariff_with_no_statutory_and_a_timezone() {
    let w = Workdir::new();
    let rate = urdb_rate();
    let bench = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "rate",
            "--tariff",
            &rate,
            "--metering-points",
            "20",
            "--peer",
            "none",
            "--format",
            "json",
        ];
        args.extend(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let args = bench(&["--no-statutory", "--timezone", "America/New_York"]);
    let out = w.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["products"],
        serde_json::json!(["urdb-test-tou-residential"])
    );
    assert_eq!(json["statutory_charges"], false);
    assert!(json["metering_point_months_per_second"].as_f64().unwrap() > 0.0);
    // With the Norwegian statutory charges, a USD rate is refused with what to do.
    let args = bench(&["--timezone", "America/New_York"]);
    let (_, stderr) = w.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr.contains(
            "statutory charges are in NOK but the products are priced in USD: benchmark it with --no-statutory"
        ),
        "{stderr}"
    );
    let args = bench(&["--no-statutory", "--timezone", "Mars/Olympus"]);
    let (_, stderr) = w.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stderr.contains("not a known IANA time zone"), "{stderr}");
}

#[test]
fn a_negative_load_value_is_refused_as_import_refuses_it() {
    let w = Workdir::new();
    let mut load = hourly_load("2025-01-05T23:00:00Z", "2025-01-06T23:00:00Z", "1.000");
    load = load
        .replacen(",1.000\n", ",-1.000\n", 2)
        .replacen(",-1.000\n", ",1.000\n", 1);
    let load = w.write("load.csv", &load);
    let (code, stderr) = w.fails(&[
        "rate",
        "--tariff",
        &example("no-spot.toml"),
        "--load",
        arg(&load),
        "--no-statutory",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "load.csv:3: quantity_kwh: \"-1.000\": a consumption value cannot be negative"
        ),
        "{stderr}"
    );
}

//! The fri-nettleie import: every real file imports; the mapping is checked on Elvia.

use std::path::PathBuf;

use nordlys_rating::fri_nettleie::import_fri_nettleie;
use nordlys_rating::product::{CapacityMethod, Pricing};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/fri-nettleie/tariffer");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_fri_nettleie_file_imports() {
    let Some(dir) = data_dir() else {
        println!("skipped: shared/data/fri-nettleie not present (lone clone)");
        return;
    };
    let mut files = Vec::new();
    for sub in [dir.clone(), dir.join("old")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 70,
        "expected the whole data set, found {} files",
        files.len()
    );
    let mut products = 0;
    let mut failures = Vec::new();
    for path in &files {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        match import_fri_nettleie(stem, &text) {
            Ok(p) => {
                assert!(!p.is_empty(), "{stem}: no products");
                products += p.len();
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    println!("imported {} files into {products} products", files.len());
}

#[test]
fn elvia_maps_groups_versions_hours_and_methods() {
    let Some(dir) = data_dir() else {
        println!("skipped: shared/data/fri-nettleie not present (lone clone)");
        return;
    };
    let text = std::fs::read_to_string(dir.join("elvia.yml")).unwrap();
    let products = import_fri_nettleie("elvia", &text).unwrap();
    let codes: Vec<&str> = products.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        codes,
        ["elvia-husholdning", "elvia-fritid", "elvia-liten_naering"]
    );
    let household = &products[0];
    // Four dated versions × (fastledd, energiledd).
    assert_eq!(household.components.len(), 8);
    let april = household
        .components
        .iter()
        .find(|c| c.code == "fastledd" && c.valid_from.to_string() == "2025-04-01")
        .unwrap();
    assert_eq!(april.valid_to.unwrap().to_string(), "2026-07-01");
    let Pricing::Capacity {
        method,
        threshold_inclusive,
        steps,
        ..
    } = &april.pricing
    else {
        panic!("capacity expected")
    };
    assert_eq!(*method, CapacityMethod::DailyPeaks { peaks: 3 });
    assert!(*threshold_inclusive);
    assert_eq!(steps.len(), 10);
    assert_eq!(
        (
            steps[1].from.to_string(),
            steps[1].to.unwrap().to_string(),
            steps[1].price.to_string()
        ),
        ("2".into(), "5".into(), "1824".into())
    );
    assert!(steps[9].to.is_none());
    let energy = household
        .components
        .iter()
        .find(|c| c.code == "energiledd" && c.valid_from.to_string() == "2025-04-01")
        .unwrap();
    let Pricing::TimeOfUse {
        default_price_per_kwh,
        periods,
        ..
    } = &energy.pricing
    else {
        panic!("time of use expected")
    };
    assert_eq!(default_price_per_kwh.unwrap().to_string(), "0.1299");
    assert_eq!(periods[0].price.to_string(), "0.2099");
    assert_eq!(periods[0].when.hours, 0x003f_ffc0, "6-21 is [06:00, 22:00)");
    // liten_næring only from 2025-04-01.
    assert_eq!(products[2].components.len(), 4);
}

/// One tariff entry for households, valid from `from` (open-ended).
fn entry(from: &str) -> String {
    format!(
        "  - kundegrupper: [husholdning]
    fastledd: {{ metode: MND_MAX, terskel_inkludert: true, terskler: [{{ terskel: 0, pris: 1200 }}] }}
    energiledd: {{ grunnpris: 10 }}
    gyldig_fra: '{from}'
"
    )
}

#[test]
fn products_carry_the_usage_of_their_customer_group() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/products/fri-nettleie/bkk.yml"),
    )
    .unwrap();
    let products = import_fri_nettleie("bkk", &text).unwrap();
    let usage: Vec<(&str, Option<nordlys_core::model::UsageKind>)> = products
        .iter()
        .map(|p| (p.code.as_str(), p.usage))
        .collect();
    use nordlys_core::model::UsageKind::*;
    assert_eq!(
        usage,
        [
            ("bkk-husholdning", Some(Household)),
            ("bkk-fritid", Some(HolidayHome)),
            ("bkk-liten_naering", Some(Business)),
        ]
    );
}

#[test]
fn deeply_nested_yaml_is_refused_before_it_is_parsed() {
    // 100,000 levels in 200 KB, block and flow: refused by the pre-scan, not after minutes.
    let block = format!("netteier: X\ntariffer:\n{}x\n", "- ".repeat(100_000));
    let error = import_fri_nettleie("deep", &block).unwrap_err().to_string();
    assert_eq!(
        error,
        "deep.yml: line 3: indented deeper than 64 columns (nesting without a bound is refused)"
    );
    let flow = format!("netteier: X\ntariffer: {}\n", "[".repeat(100_000));
    let error = import_fri_nettleie("deep", &flow).unwrap_err().to_string();
    assert_eq!(
        error,
        "deep.yml: line 2, column 43: nested deeper than 32 levels of [ ] and { }"
    );
}

#[test]
fn a_file_of_many_errors_reports_twenty_and_counts_the_rest() {
    // 1,000 entries for the same group, all from the same day: every one overlaps another.
    let mut text = String::from("netteier: X\ntariffer:\n");
    for _ in 0..1000 {
        text.push_str(&entry("2025-01-01"));
    }
    let error = import_fri_nettleie("many", &text).unwrap_err().to_string();
    let listed = error
        .lines()
        .filter(|l| l.contains("valid at the same time"))
        .count();
    assert_eq!(listed, 20, "{error}");
    assert!(
        error.ends_with("… and 1978 more"),
        "{}",
        &error[error.len() - 100..]
    );
    assert!(error.len() < 20 * 300, "{} bytes", error.len());
    // More entries than any grid company publishes: refused before they are read.
    text.push_str(&entry("2025-01-01"));
    let error = import_fri_nettleie("many", &text).unwrap_err().to_string();
    assert_eq!(
        error,
        "many.yml: tariffer = \"1001 entries\": a file holds at most 1000 tariff entries"
    );
}

#[test]
fn an_offending_value_is_echoed_as_a_short_prefix() {
    let text = format!(
        "netteier: X\ntariffer:\n{}",
        entry("2025-01-01").replace("[husholdning]", &format!("[{}]", "x".repeat(1_000_000)))
    );
    let error = import_fri_nettleie("long", &text).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "long.yml: tariffer[0].kundegrupper = \"{}…\": must be one of: husholdning, fritid, liten_næring",
            "x".repeat(64)
        )
    );
}

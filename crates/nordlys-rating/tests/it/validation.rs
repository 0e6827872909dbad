//! Products and statutory tables that must be refused, and what the refusal says.

use nordlys_core::model::{Market, UsageKind};
use nordlys_core::time::Resolution;
use nordlys_rating::{
    MeterInput, PlanError, RateError, RatingPlan, Statutory, parse_product_toml, read_product_toml,
};

use crate::support::*;

const HEADER: &str = r#"
[product]
code = "test"
name = "Test"
currency = "NOK"
time_zone = "Europe/Oslo"
holidays = "NO"
"#;

fn errors(body: &str) -> String {
    parse_product_toml(&format!("{HEADER}{body}"))
        .unwrap_err()
        .to_string()
}

#[test]
fn an_unknown_field_is_named() {
    let e = errors(
        r#"
[[component]]
code = "energi"
kind = "energy"
vat = "electricity"
valid_from = "2025-01-01"
price_per_kwhh = "0.5"
"#,
    );
    assert!(
        e.contains("component \"energi\"") && e.contains("unknown field `price_per_kwhh`"),
        "{e}"
    );
    let e = parse_product_toml(&format!("{HEADER}colour = \"red\""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `colour`"), "{e}");
}

#[test]
fn a_component_without_vat_treatment_is_refused() {
    let e = errors(
        r#"
[[component]]
code = "energi"
kind = "energy"
valid_from = "2025-01-01"
price_per_kwh = "0.5"
"#,
    );
    assert!(
        e.contains("component \"energi\", field vat: every component needs a VAT treatment"),
        "{e}"
    );
}

#[test]
fn a_time_of_use_calendar_with_uncovered_hours_is_refused() {
    let e = errors(
        r#"
[[component]]
code = "nett"
kind = "time_of_use"
vat = "standard"
valid_from = "2025-01-01"
[[component.period]]
name = "dag"
hours = ["06:00-22:00"]
price_per_kwh = "0.3"
[[component.period]]
name = "natt vinter"
months = ["oct-mar"]
hours = ["22:00-06:00"]
price_per_kwh = "0.1"
"#,
    );
    assert!(e.contains("component \"nett@2025-01-01\", field period = \"month 4, Monday, 00:00-01:00\": the time-of-use calendar leaves this hour uncovered"), "{e}");
}

#[test]
fn overlapping_time_of_use_periods_are_refused() {
    let e = errors(
        r#"
[[component]]
code = "nett"
kind = "time_of_use"
vat = "standard"
valid_from = "2025-01-01"
default_price_per_kwh = "0.1"
[[component.period]]
name = "dag"
hours = ["06:00-22:00"]
price_per_kwh = "0.3"
[[component.period]]
name = "kveld"
days = ["weekday"]
hours = ["17:00-21:00"]
price_per_kwh = "0.5"
"#,
    );
    assert!(
        e.contains("periods \"dag\" and \"kveld\" both match this hour"),
        "{e}"
    );
}

fn capacity(steps: &str) -> String {
    errors(&format!(
        r#"
[[component]]
code = "fastledd"
kind = "capacity"
vat = "electricity"
valid_from = "2025-01-01"
method = "daily_peaks"
threshold_inclusive = true
per = "year"
step = [{steps}]
"#
    ))
}

#[test]
fn capacity_steps_with_gaps_or_overlaps_are_refused() {
    let gap = capacity(r#"{ from = "0", to = "2", price = "1" }, { from = "3", price = "2" }"#);
    assert!(gap.contains("field step[1].from = \"3\": capacity steps must be contiguous: the previous step ends at 2, so this one must start there (gap)"), "{gap}");
    let overlap = capacity(r#"{ from = "0", to = "5", price = "1" }, { from = "2", price = "2" }"#);
    assert!(overlap.contains("(overlap)"), "{overlap}");
    let open = capacity(r#"{ from = "0", price = "1" }, { from = "2", price = "2" }"#);
    assert!(
        open.contains("only the last step may be open-ended"),
        "{open}"
    );
    let start = capacity(r#"{ from = "1", price = "1" }"#);
    assert!(start.contains("the first step must start at 0"), "{start}");
}

#[test]
fn overlapping_versions_of_a_component_are_refused() {
    let e = errors(
        r#"
[[component]]
code = "energi"
kind = "energy"
vat = "electricity"
valid_from = "2025-01-01"
valid_to = "2025-07-01"
price_per_kwh = "0.5"

[[component]]
code = "energi"
kind = "energy"
vat = "electricity"
valid_from = "2025-06-01"
price_per_kwh = "0.6"
"#,
    );
    assert!(e.contains("component \"energi\", field valid_from = \"2025-01-01..2025-07-01 and 2025-06-01..open\": two versions of the same component are valid at the same time"), "{e}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = read_product_toml(&format!(
        "{HEADER}{}",
        r#"
[[component]]
code = "a"
kind = "fixed"
vat = "sometimes"
valid_from = "2025-13-01"
price = "1"
per = "fortnight"
"#
    ))
    .unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["valid_from", "vat", "per"], "{e}");
}

#[test]
fn methods_the_engine_cannot_rate_are_refused_with_the_reason() {
    let text = format!(
        "{HEADER}{}",
        r#"
[[component]]
code = "fastledd"
kind = "capacity"
vat = "electricity"
valid_from = "2025-01-01"
method = "weighted_weekly_peaks_year"
threshold_inclusive = true
per = "year"
step = [{ from = "0", price = "2000" }]
"#
    );
    let product = parse_product_toml(&text).unwrap(); // valid as data
    let period = month("2025-01");
    let energy = vec![0; 744];
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = false;
    let e = nordlys_rating::rate(
        &[product],
        &Statutory::default(),
        &ctx,
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: &energy,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(
        e,
        RateError::Unsupported {
            method: "weighted_weekly_peaks_year",
            ..
        }
    ));
    assert!(
        e.to_string()
            .contains("five highest weekly maxima over the last 12 months"),
        "{e}"
    );
}

#[test]
fn a_main_fuse_tariff_needs_the_fuse_size() {
    let text = format!(
        "{HEADER}{}",
        r#"
[[component]]
code = "fastledd"
kind = "capacity"
vat = "electricity"
valid_from = "2025-01-01"
method = "main_fuse"
threshold_inclusive = false
per = "year"
step = [{ from = "0", to = "125", price = "3500" }, { from = "125", price = "4500" }]
"#
    );
    let product = parse_product_toml(&text).unwrap();
    let period = month("2025-01");
    let energy = vec![0; 744];
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = false;
    let run = |ctx: &nordlys_rating::RatingContext| {
        nordlys_rating::rate(
            std::slice::from_ref(&product),
            &Statutory::default(),
            ctx,
            period,
            Resolution::Pt60m,
            &MeterInput {
                energy_wh: &energy,
                ..Default::default()
            },
        )
    };
    assert!(matches!(run(&ctx), Err(RateError::MissingMainFuse { .. })));
    // 125 A exactly, threshold not inclusive: lower step, 3500 / 12 = 291.67.
    ctx.main_fuse_amperes = Some(125);
    assert_eq!(run(&ctx).unwrap().lines[0].net.to_string(), "291.67");
    ctx.main_fuse_amperes = Some(160);
    assert_eq!(run(&ctx).unwrap().lines[0].net.to_string(), "375.00");
}

#[test]
fn rating_refuses_wrong_inputs_with_what_to_fix() {
    let product = example("no-fixed-price.toml");
    let st = Statutory::default();
    let ctx = ctx_no("0301", UsageKind::Household);
    let plan = RatingPlan::new(
        std::slice::from_ref(&product),
        &st,
        Market::No,
        month("2025-01"),
        Resolution::Pt15m,
    )
    .unwrap();
    let short = vec![0; 100];
    let e = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &short,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "energy_wh has 100 values but the period has 2976 intervals at this resolution"
    );
    // A household gets strømstøtte, which needs spot prices.
    let energy = vec![0; 2976];
    let e = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &energy,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(e, RateError::MissingSpotPrices { ref code } if code == "stromstotte"),
        "{e}"
    );
    // No statutory rates beyond the table: an error, not a silent zero.
    let product2 = {
        let mut p = product.clone();
        for c in &mut p.components {
            c.valid_to = None;
        }
        p
    };
    let plan = RatingPlan::new(
        &[product2],
        &st,
        Market::No,
        month("2031-01"),
        Resolution::Pt60m,
    )
    .unwrap();
    let energy = vec![0; 744];
    let spot = vec![0; 744];
    let e = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table has no elavgift rate for 2031-01-01; load an updated statutory table"
    );
    // Products of different currencies cannot share a plan.
    let dk = example("dk-n1-grid-tou.toml");
    let e = RatingPlan::new(
        &[product, dk],
        &st,
        Market::No,
        month("2025-01"),
        Resolution::Pt60m,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::Mismatch {
                what: "currency",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn statutory_tables_are_checked_when_loaded() {
    let e = Statutory::from_toml("[[charge]]\ncode = \"x\"\nname = \"x\"\nmarket = \"NO\"\nkind = \"tax\"\nrule = \"per_kwh\"\nusage = [\"household\"]\nvat = \"standard\"\nrates = []\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `rates`"), "{e}");
    let e = Statutory::from_toml(
        "[[charge]]\ncode = \"x\"\nname = \"x\"\nmarket = \"NO\"\nkind = \"tax\"\nrule = \"per_kwh\"\nusage = [\"household\"]\nvat = \"standard\"\nrate = [{ from = \"2025-01-01\", to = \"2025-06-01\", value = \"1\" }, { from = \"2025-05-01\", value = \"2\" }]\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table, [[charge]] x field rate.from = \"2025-05-01\": rates must be in date order and must not overlap"
    );
    // Opt-in and replacement are honoured day by day from an agreement's first day only for
    // price hedges replacing subsidies; other combinations are refused rather than applied all month.
    let charge = |code: &str, rule: &str, extra: &str| {
        format!(
            "[[charge]]\ncode = \"{code}\"\nname = \"{code}\"\nmarket = \"NO\"\nkind = \"subsidy\"\nrule = \"{rule}\"\nusage = [\"household\"]\nvat = \"standard\"\n{extra}rate = [{{ from = \"2025-01-01\", value = \"1\"{basis} }}]\n",
            basis = if rule == "price_hedge" {
                ", basis = \"hourly_average\""
            } else {
                ""
            }
        )
    };
    let e = Statutory::from_toml(&charge("x", "per_kwh", "opt_in = true\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table, [[charge]] x field opt_in: not used by rule = \"per_kwh\""
    );
    let hedge = charge(
        "hedge",
        "price_hedge",
        "opt_in = true\ncap_kwh_per_month = { household = \"5000\" }\nreplaces = [\"tax\"]\n",
    );
    let e = Statutory::from_toml(&format!("{hedge}{}", charge("tax", "per_kwh", ""))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table, [[charge]] hedge field replaces = \"tax\": only spot_subsidy or price_hedge charges can be replaced"
    );
    // A spot subsidy says which spot price it compares with (dated, per rate row).
    let e = Statutory::from_toml(&charge(
        "s",
        "spot_subsidy",
        "percent = \"90\"\ncap_kwh_per_month = { household = \"5000\" }\n",
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table, [[charge]] s field rate.basis: a spot_subsidy rate needs the spot price it compares with, one of: hourly_average, interval"
    );
    let e = Statutory::from_toml(&hedge).unwrap_err();
    assert!(
        e.to_string()
            .contains("no charge in the table has this code"),
        "{e}"
    );
}

#[test]
fn tiers_of_a_time_of_use_period_are_checked_and_named() {
    let tiered = r#"
[[component]]
code = "energi"
kind = "time_of_use"
vat = "standard"
valid_from = "2025-01-01"
default_price_per_kwh = "0.2"

[[component.period]]
name = "dag"
hours = ["08:00-20:00"]
tier = [{ up_to_kwh = "100", price_per_kwh = "0.50" }, { up_to_kwh = "50", price_per_kwh = "0.80" }]
"#;
    let e = errors(&tiered.replace("tier = ", "price_per_kwh = \"0.5\"\ntier = "));
    assert!(
        e.contains(
            "period[0].price_per_kwh: give either one price or tiers for a period, not both"
        ),
        "{e}"
    );
    let e = errors(tiered);
    assert!(
        e.contains("field period[0].tier[1].up_to = \"50\": the last tier must be open-ended"),
        "{e}"
    );
}

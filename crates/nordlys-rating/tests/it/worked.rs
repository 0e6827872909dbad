//! Worked examples, written out by hand: each expected amount is computed in the comment
//! above the assertion from the published prices (DOMAIN.md) and the statutory table.

use jiff::civil::{DateTime, Weekday, date};
use nordlys_core::model::UsageKind;
use nordlys_core::time::Resolution;
use nordlys_rating::invoice::{Explanation, HourPeak};
use nordlys_rating::{
    ContractSpan, LineKind, MeterInput, RatingPlan, Statutory, UsageQuantity, VatCategory,
};

use crate::support::*;

const NOK_PER_KWH: i64 = 1_000_000_000; // engine scale: nano per kWh

/// January 2025 load for the Elvia example: 1 kWh every hour, and peaks on
/// Wed 15 Jan 17:00 (6 kWh) and 18:00 (5 kWh, same day: does not count), Mon 20 Jan 08:00
/// (4 kWh), Wed 22 Jan 19:00 (3.5 kWh).
fn elvia_january_load(t: DateTime) -> i64 {
    match (t.day(), t.hour()) {
        (15, 17) => 6000,
        (15, 18) => 5000,
        (20, 8) => 4000,
        (22, 19) => 3500,
        _ => 1000,
    }
}

#[test]
fn norwegian_household_on_elvia_in_winter() {
    let product = elvia_household();
    let st = Statutory::default();
    let period = month("2025-01");
    let plan = RatingPlan::new(
        std::slice::from_ref(&product),
        &st,
        nordlys_core::model::Market::No,
        period,
        Resolution::Pt60m,
    )
    .unwrap();
    let energy = series(
        period,
        &product.time_zone,
        Resolution::Pt60m,
        elvia_january_load,
    );
    assert_eq!(energy.len(), 744);
    let spot = vec![NOK_PER_KWH; 744]; // 1.00 NOK/kWh every hour
    let ctx = ctx_no("0301", UsageKind::Household); // Oslo
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
    let lines = &rating.lines;
    let table = render(lines);

    // Capacity: daily maxima 6 (15th), 4 (20th), 3.5 (22nd) kWh; the 5 kWh hour on the
    // 15th is the same day and does not count. Average 4.5 kW → step 2–5 kW, 2064 kr/yr
    // → 172.00 kr/month. (Had both peaks of the 15th counted: 5.0 kW → step 5–10.)
    let capacity = kinds(lines, LineKind::Capacity);
    assert_eq!(capacity.len(), 1, "{table}");
    assert_eq!(capacity[0].net.to_string(), "172.00", "{table}");
    let Explanation::Peaks {
        peaks,
        average_w,
        step_from,
        ..
    } = &capacity[0].explanation[0]
    else {
        panic!("{table}")
    };
    assert_eq!(
        peaks,
        &[
            HourPeak {
                date: date(2025, 1, 15),
                hour: 17,
                energy_wh: 6000
            },
            HourPeak {
                date: date(2025, 1, 20),
                hour: 8,
                energy_wh: 4000
            },
            HourPeak {
                date: date(2025, 1, 22),
                hour: 19,
                energy_wh: 3500
            },
        ]
    );
    assert_eq!((*average_w, step_from.to_string()), (4500, "2".to_owned()));

    // Energy: 758.5 kWh in all (744 + 14.5 extra). Working days (Mon–Fri except 1 Jan):
    // 22 × 16 day hours = 352 kWh + 14.5 kWh of peaks = 366.5 kWh × 0.2321 = 85.06465;
    // the other 392 kWh × 0.1521 = 59.6232.
    assert_eq!(nets(lines, "energiledd"), ["85.06", "59.62"], "{table}");
    let day_line = lines.iter().find(|l| &*l.code == "energiledd").unwrap();
    assert_eq!(day_line.quantity.to_string(), "366.500");
    assert!(matches!(
        &day_line.explanation[0],
        Explanation::EnergyShare {
            energy_wh: 366_500,
            component_energy_wh: 758_500,
            ..
        }
    ));

    // Elavgift Jan–Mar 2025 9.79 øre: 758.5 × 0.0979 = 74.25715. Enova 1 øre: 7.585 → 7.59.
    assert_eq!(nets(lines, "elavgift"), ["74.26"]);
    assert_eq!(nets(lines, "enova"), ["7.59"]);
    // Strømstøtte: 90 % × (1.00 − 0.75) = 0.225/kWh on 758.5 kWh = 170.6625 → −170.66.
    assert_eq!(nets(lines, "stromstotte"), ["-170.66"]);

    // Oslo: 25 % VAT on everything. Net 227.87, VAT 56.9675 → 56.97.
    assert!(
        lines
            .iter()
            .all(|l| l.vat_category == VatCategory::Standard && l.vat_percent.to_string() == "25")
    );
    let totals = rating.totals();
    assert_eq!(
        (
            totals.net.to_string(),
            totals.vat_total.to_string(),
            totals.gross.to_string()
        ),
        ("227.87".into(), "56.97".into(), "284.84".into()),
        "{table}"
    );
}

#[test]
fn a_value_exactly_on_a_threshold_goes_to_the_higher_step() {
    let product = elvia_household();
    let st = Statutory::default();
    let period = month("2025-02");
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = false;
    let rate = |peaks: [i64; 3], product: &nordlys_rating::Product| {
        let energy = series(period, &product.time_zone, Resolution::Pt60m, |t| {
            match (t.day(), t.hour()) {
                (3, 12) => peaks[0],
                (4, 12) => peaks[1],
                (5, 12) => peaks[2],
                _ => 500,
            }
        });
        let rating = nordlys_rating::rate(
            std::slice::from_ref(product),
            &st,
            &ctx,
            period,
            Resolution::Pt60m,
            &MeterInput {
                energy_wh: &energy,
                ..Default::default()
            },
        )
        .unwrap();
        kinds(&rating.lines, LineKind::Capacity)[0].net.to_string()
    };
    // 5.000 kW average, threshold inclusive → step 5–10 kW: 3360 / 12 = 280.00.
    assert_eq!(rate([5000, 5000, 5000], &product), "280.00");
    // 4.99967 kW → step 2–5 kW: 2064 / 12 = 172.00.
    assert_eq!(rate([5000, 5000, 4999], &product), "172.00");
    // The same tariff with terskel_inkludert = false keeps 5.000 kW in the lower step.
    let mut exclusive = product.clone();
    for c in &mut exclusive.components {
        if let nordlys_rating::product::Pricing::Capacity {
            threshold_inclusive,
            ..
        } = &mut c.pricing
        {
            *threshold_inclusive = false;
        }
    }
    assert_eq!(rate([5000, 5000, 5000], &exclusive), "172.00");
    assert_eq!(rate([5000, 5000, 5001], &exclusive), "280.00");
}

#[test]
fn march_with_the_spring_dst_day_at_15_minutes() {
    let product = elvia_household();
    let st = Statutory::default();
    let period = month("2025-03");
    let plan = RatingPlan::new(
        std::slice::from_ref(&product),
        &st,
        nordlys_core::model::Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    // 31 × 96 − 4 quarter-hours: 30 March has no 02:00 hour.
    assert_eq!(plan.intervals(), 2972);
    // 250 Wh per quarter; Sunday 30 March 03:00–04:00 (just after the jump) 4 × 1500 Wh.
    let energy = series(period, &product.time_zone, Resolution::Pt15m, |t| {
        if t.day() == 30 && t.hour() == 3 {
            1500
        } else {
            250
        }
    });
    assert_eq!(energy.len(), 2972);
    let spot = vec![NOK_PER_KWH / 2; 2972]; // 0.50, below the strømstøtte threshold
    let rating = plan
        .rate(
            &ctx_no("0301", UsageKind::Household),
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                ..Default::default()
            },
        )
        .unwrap();
    let table = render(&rating.lines);
    // 2972 × 0.25 + 5 = 748 kWh. 21 working days × 16 h = 336 kWh day; 412 kWh other.
    // 336 × 0.2321 = 77.9856; 412 × 0.1521 = 62.6652.
    assert_eq!(
        nets(&rating.lines, "energiledd"),
        ["77.99", "62.67"],
        "{table}"
    );
    // Peaks summed to clock hours: 6 kWh on the 30th at 03:00, then 1 kWh hours.
    // (6 + 1 + 1) / 3 = 2.667 kW → step 2–5 kW (2064 kr/yr) = 172.00.
    let capacity = kinds(&rating.lines, LineKind::Capacity);
    assert_eq!(capacity[0].net.to_string(), "172.00", "{table}");
    let Explanation::Peaks { peaks, .. } = &capacity[0].explanation[0] else {
        panic!("{table}")
    };
    assert_eq!(
        peaks[0],
        HourPeak {
            date: date(2025, 3, 30),
            hour: 3,
            energy_wh: 6000
        }
    );
    // Elavgift 748 × 0.0979 = 73.2292. No strømstøtte: the spot price is below 0.75.
    assert_eq!(nets(&rating.lines, "elavgift"), ["73.23"]);
    assert!(nets(&rating.lines, "stromstotte").is_empty(), "{table}");
}

#[test]
fn october_with_the_repeated_autumn_hour_at_15_minutes() {
    let product = elvia_household();
    let st = Statutory::default();
    let period = month("2025-10");
    let tz = product.time_zone.clone();
    let plan = RatingPlan::new(
        &[product],
        &st,
        nordlys_core::model::Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    // 31 × 96 + 4 quarter-hours: 26 October has 02:00 twice.
    assert_eq!(plan.intervals(), 2980);
    // 250 Wh per quarter; both 02:00 hours of Sunday 26 Oct: 4 × 1000 Wh each.
    let energy = series(period, &tz, Resolution::Pt15m, |t| {
        if t.day() == 26 && t.hour() == 2 {
            1000
        } else {
            250
        }
    });
    let rating = plan
        .rate(
            &ctx_no("0301", UsageKind::Household),
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&vec![NOK_PER_KWH / 2; 2980]),
                ..Default::default()
            },
        )
        .unwrap();
    let table = render(&rating.lines);
    // The repeated hour is two clock hours of 4 kWh, not one of 8: peaks 4, 1, 1 kWh →
    // exactly 2.000 kW → threshold inclusive → step 2–5 kW at the April 2025 price,
    // 1824 / 12 = 152.00.
    let capacity = kinds(&rating.lines, LineKind::Capacity);
    assert_eq!(capacity[0].net.to_string(), "152.00", "{table}");
    let Explanation::Peaks {
        peaks, average_w, ..
    } = &capacity[0].explanation[0]
    else {
        panic!("{table}")
    };
    assert_eq!(
        peaks[0],
        HourPeak {
            date: date(2025, 10, 26),
            hour: 2,
            energy_wh: 4000
        }
    );
    assert_eq!(*average_w, 2000);
    // 2980 × 0.25 + 6 = 751 kWh; 23 working days × 16 = 368 kWh × 0.2099 = 77.2432;
    // 383 kWh × 0.1299 = 49.7517. Elavgift from 1 Oct 2025: 751 × 0.1253 = 94.1003.
    assert_eq!(
        nets(&rating.lines, "energiledd"),
        ["77.24", "49.75"],
        "{table}"
    );
    assert_eq!(nets(&rating.lines, "elavgift"), ["94.10"], "{table}");
}

#[test]
fn stromstotte_pays_above_the_threshold_up_to_the_monthly_cap() {
    let product = example("no-fixed-price.toml");
    let st = Statutory::default();
    let period = month("2025-02");
    // 10 kWh every hour: 672 h → 6720 kWh. Spot 1.25 in even clock hours, 0.50 in odd ones.
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 10_000);
    let spot = series(period, &product.time_zone, Resolution::Pt60m, |t| {
        if t.hour() % 2 == 0 {
            NOK_PER_KWH * 5 / 4
        } else {
            NOK_PER_KWH / 2
        }
    });
    let rating = nordlys_rating::rate(
        &[product],
        &st,
        &ctx_no("0301", UsageKind::Household),
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: &energy,
            spot_price: Some(&spot),
            ..Default::default()
        },
    )
    .unwrap();
    let table = render(&rating.lines);
    // The cap of 5000 kWh is reached after 500 hours; 250 of them are above the 0.75
    // threshold: 2500 kWh × 0.9 × (1.25 − 0.75) = 1125.00 credited. 1720 kWh are capped.
    let support = kinds(&rating.lines, LineKind::Subsidy);
    assert_eq!(support.len(), 1, "{table}");
    assert_eq!(
        (support[0].net.to_string(), support[0].quantity.to_string()),
        ("-1125.00".into(), "2500.000".into()),
        "{table}"
    );
    assert_eq!(
        support[0].explanation[0],
        Explanation::Subsidy {
            threshold_per_kwh: d("0.75"),
            percent: d("90"),
            covered_wh: 2_500_000,
            capped_wh: 1_720_000
        }
    );
    assert!(
        rating
            .diagnostics
            .iter()
            .any(|x| x.message.contains("1720.000 kWh above the monthly cap"))
    );
    // The fixed-price energy itself: 6720 × 0.89 = 5980.80.
    assert_eq!(nets(&rating.lines, "energi"), ["5980.80"]);
}

#[test]
fn norgespris_replaces_stromstotte_from_the_agreement_day() {
    let product = example("no-fixed-price.toml");
    let period = month("2025-11");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 1000);
    // Spot 0.90 by day (06–22), 0.10 at night; Norgespris 0.40, strømstøtte above 0.75.
    let spot = series(period, &product.time_zone, Resolution::Pt60m, |t| {
        if (6..22).contains(&t.hour()) {
            NOK_PER_KWH * 9 / 10
        } else {
            NOK_PER_KWH / 10
        }
    });
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.norgespris_from = Some(date(2025, 11, 16));
    let rating = rate_with_spot(&ctx, period, &energy, &spot);
    let table = render(&rating.lines);
    // 1–15 November, strømstøtte: 15 days × 16 day hours × 1 kWh × 0.9 × (0.90 − 0.75) = 32.40
    // credited (night spot 0.10 is below the threshold).
    let support = kinds(&rating.lines, LineKind::Subsidy);
    let line = |code: &str| {
        let l = support.iter().find(|l| &*l.code == code).unwrap();
        (l.from.to_string(), l.to.to_string(), l.net.to_string())
    };
    assert_eq!(support.len(), 2, "{table}");
    assert_eq!(
        line("stromstotte"),
        ("2025-11-01".into(), "2025-11-16".into(), "-32.40".into()),
        "{table}"
    );
    // 16–30 November, Norgespris: 15 × 16 × (0.40 − 0.90) = −120.00 and 15 × 8 × (0.40 − 0.10)
    // = +36.00: −84.00.
    assert_eq!(
        line("norgespris"),
        ("2025-11-16".into(), "2025-12-01".into(), "-84.00".into()),
        "{table}"
    );
    // An agreement from before the month covers all of it: 30 × 16 × (0.40 − 0.90) = −240.00
    // and 30 × 8 × (0.40 − 0.10) = +72.00, −168.00; one from after the month, none of it.
    ctx.norgespris_from = Some(date(2025, 12, 1));
    let later = rate_with_spot(&ctx, period, &energy, &spot);
    assert!(nets(&later.lines, "norgespris").is_empty());
    assert_eq!(nets(&later.lines, "stromstotte").len(), 1);
    ctx.norgespris_from = Some(date(2025, 10, 1));
    let earlier = rate_with_spot(&ctx, period, &energy, &spot);
    assert!(nets(&earlier.lines, "stromstotte").is_empty());
    assert_eq!(nets(&earlier.lines, "norgespris"), ["-168.00"]);
}

fn rate_with_spot(
    ctx: &nordlys_rating::RatingContext,
    period: nordlys_core::time::LocalPeriod,
    energy: &[i64],
    spot: &[i64],
) -> nordlys_rating::Rating {
    nordlys_rating::rate(
        &[example("no-fixed-price.toml")],
        &Statutory::default(),
        ctx,
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: energy,
            spot_price: Some(spot),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn household_in_tromso_pays_elavgift_but_no_vat() {
    let product = example("no-fixed-price.toml");
    let st = Statutory::default();
    let period = month("2025-05");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 1000);
    let spot = vec![NOK_PER_KWH / 2; energy.len()];
    let rating = nordlys_rating::rate(
        &[product],
        &st,
        &ctx_no("5501", UsageKind::Household),
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: &energy,
            spot_price: Some(&spot),
            ..Default::default()
        },
    )
    .unwrap();
    // 744 kWh × 0.1693 (Apr–Sep 2025) = 125.9592.
    assert_eq!(nets(&rating.lines, "elavgift"), ["125.96"]);
    assert!(
        rating
            .lines
            .iter()
            .all(|l| l.vat_category == VatCategory::Zero),
        "{}",
        render(&rating.lines)
    );
    assert_eq!(rating.totals().vat_total.to_string(), "0.00");
}

#[test]
fn household_in_finnmark_pays_neither_elavgift_nor_vat() {
    let product = example("no-fixed-price.toml");
    let st = Statutory::default();
    let period = month("2025-05");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 1000);
    let spot = vec![NOK_PER_KWH / 2; energy.len()];
    for municipality in ["5601", "5428", "5544"] {
        // Alta (2024 number), Nordreisa (2020–2023 number), Nordreisa (2024 number).
        let rating = nordlys_rating::rate(
            std::slice::from_ref(&product),
            &st,
            &ctx_no(municipality, UsageKind::Household),
            period,
            Resolution::Pt60m,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            nets(&rating.lines, "elavgift").is_empty(),
            "{municipality}: {}",
            render(&rating.lines)
        );
        assert_eq!(
            nets(&rating.lines, "enova"),
            ["7.44"],
            "Enova applies everywhere"
        );
        assert!(
            rating
                .lines
                .iter()
                .all(|l| l.vat_category == VatCategory::Zero)
        );
    }
    // A business in Alta pays elavgift (the exemption is for households) and VAT.
    let rating = nordlys_rating::rate(
        &[product],
        &st,
        &ctx_no("5601", UsageKind::Business),
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: &energy,
            spot_price: Some(&spot),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(nets(&rating.lines, "elavgift"), ["125.96"]);
    // Enova for businesses is 800 kr/yr: 66.67 a month.
    assert_eq!(nets(&rating.lines, "enova-naering"), ["66.67"]);
    assert!(
        rating
            .lines
            .iter()
            .all(|l| l.vat_category == VatCategory::Standard)
    );
}

#[test]
fn danish_household_on_a_time_of_use_grid_tariff() {
    let product = example("dk-n1-grid-tou.toml");
    let period = month("2025-01");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 1000);
    let rating = rate_hourly(product, &ctx_dk("101"), period, &energy);
    let table = render(&rating.lines);
    // 1 kWh every hour of January: lavlast 6 h × 31 = 186 kWh × 0.1083 = 20.1438;
    // højlast vinter 14 h × 31 = 434 × 0.3250 = 141.05; spidslast vinter 4 h × 31 = 124 ×
    // 0.9751 = 120.9124. Netabonnement 400.30 / 12 = 33.358…
    assert_eq!(
        nets(&rating.lines, "nettarif"),
        ["20.14", "141.05", "120.91"],
        "{table}"
    );
    assert_eq!(nets(&rating.lines, "netabonnement"), ["33.36"]);
    // Statutory (UNCERTAIN values, see data/statutory.toml): elafgift 744 × 0.720 = 535.68;
    // Energinet nettarif 744 × 0.063 = 46.872; systemtarif 744 × 0.072 = 53.568;
    // systemabonnement 180 / 12 = 15.00.
    assert_eq!(nets(&rating.lines, "elafgift"), ["535.68"]);
    assert_eq!(nets(&rating.lines, "energinet-nettarif"), ["46.87"]);
    assert_eq!(nets(&rating.lines, "energinet-systemtarif"), ["53.57"]);
    assert_eq!(nets(&rating.lines, "energinet-systemabonnement"), ["15.00"]);
    // Net 966.58; VAT 25 % = 241.645 → 241.65 (half away from zero); gross 1208.23.
    let t = rating.totals();
    assert_eq!(
        (
            t.net.to_string(),
            t.vat_total.to_string(),
            t.gross.to_string()
        ),
        ("966.58".into(), "241.65".into(), "1208.23".into()),
        "{table}"
    );
}

#[test]
fn move_in_on_the_15th_prorates_the_fixed_fee() {
    let product = example("no-spot.toml");
    let st = Statutory::default();
    let period = month("2025-01");
    // Before the move-in someone else used 5 kWh/h: ignored. From the 15th: 1 kWh/h.
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |t| {
        if t.day() < 15 { 5000 } else { 1000 }
    });
    let spot = vec![NOK_PER_KWH * 4 / 5; energy.len()]; // 0.80
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = false; // a supplier invoice
    let input = MeterInput {
        energy_wh: &energy,
        spot_price: Some(&spot),
        contract: Some(ContractSpan {
            start: date(2025, 1, 15),
            end: None,
        }),
        ..Default::default()
    };
    let rating =
        nordlys_rating::rate(&[product], &st, &ctx, period, Resolution::Pt60m, &input).unwrap();
    let table = render(&rating.lines);
    // 17 of 31 days: 39 × 17 / 31 = 21.387… → 21.39.
    let fee = rating
        .lines
        .iter()
        .find(|l| &*l.code == "fastbelop")
        .unwrap();
    assert_eq!(
        (
            fee.net.to_string(),
            fee.quantity.to_string(),
            fee.unit.code()
        ),
        ("21.39".into(), "17".into(), "day"),
        "{table}"
    );
    assert_eq!(
        fee.explanation,
        [Explanation::Prorated {
            month: date(2025, 1, 1),
            days: 17,
            days_in_month: 31
        }]
    );
    assert_eq!((fee.from, fee.to), (date(2025, 1, 15), date(2025, 2, 1)));
    // Spot: 17 × 24 = 408 kWh × (0.80 + 0.049) = 346.392.
    assert_eq!(nets(&rating.lines, "spot"), ["346.39"], "{table}");
    assert!(
        rating
            .diagnostics
            .iter()
            .any(|x| x.message.contains("supply starts 2025-01-15"))
    );
}

#[test]
fn business_with_broadband_and_consulting_hours() {
    let product = example("broadband-business.toml");
    let st = Statutory::default();
    let period = month("2025-01");
    let mut ctx = ctx_no("5501", UsageKind::Business);
    ctx.apply_statutory = false;
    let usage = [UsageQuantity {
        component: "konsulent",
        quantity: d("7.5"),
    }];
    // Non-metered: no energy series.
    let input = MeterInput {
        usage: &usage,
        contract: Some(ContractSpan {
            start: date(2025, 1, 1),
            end: None,
        }),
        ..Default::default()
    };
    let rating =
        nordlys_rating::rate(&[product], &st, &ctx, period, Resolution::Pt60m, &input).unwrap();
    let table = render(&rating.lines);
    // Subscription 799; installation 2490 (contract starts in the period); 7.5 h × 1150 = 8625.
    assert_eq!(nets(&rating.lines, "abonnement"), ["799.00"], "{table}");
    assert_eq!(nets(&rating.lines, "etablering"), ["2490.00"], "{table}");
    assert_eq!(nets(&rating.lines, "konsulent"), ["8625.00"], "{table}");
    let kinds: Vec<&str> = rating.lines.iter().map(|l| l.kind.code()).collect();
    assert_eq!(kinds, ["subscription", "fee", "usage"]);
    // Standard VAT even in Tromsø: net 11914, VAT 2978.50, gross 14892.50.
    let t = rating.totals();
    assert_eq!(
        (
            t.net.to_string(),
            t.vat_total.to_string(),
            t.gross.to_string()
        ),
        ("11914.00".into(), "2978.50".into(), "14892.50".into())
    );
    // February: no installation fee any more.
    let rating = nordlys_rating::rate(
        &[example("broadband-business.toml")],
        &st,
        &ctx,
        month("2025-02"),
        Resolution::Pt60m,
        &MeterInput {
            contract: Some(ContractSpan {
                start: date(2025, 1, 1),
                end: None,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rating.lines.len(), 1);
}

#[test]
fn working_days_follow_norwegian_holidays() {
    // 17 May 2025 is a Saturday; 29 May (Ascension) a Thursday: its day hours are "other".
    let product = elvia_household();
    let st = Statutory::default();
    let period = month("2025-05");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |t| {
        if t.date() == date(2025, 5, 29) && t.hour() == 12 {
            10_000
        } else {
            0
        }
    });
    assert_eq!(date(2025, 5, 29).weekday(), Weekday::Thursday);
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = false;
    let rating = nordlys_rating::rate(
        &[product],
        &st,
        &ctx,
        period,
        Resolution::Pt60m,
        &MeterInput {
            energy_wh: &energy,
            ..Default::default()
        },
    )
    .unwrap();
    let energy_lines = kinds(&rating.lines, LineKind::Energy);
    assert_eq!(energy_lines.len(), 1, "{}", render(&rating.lines));
    // 10 kWh × 0.1299 (natt/helg) = 1.299 → 1.30.
    assert_eq!(energy_lines[0].net.to_string(), "1.30");
}

#[test]
fn a_quarter_is_rated_as_its_three_months() {
    // Capacity is per calendar month even when the period is a quarter; per-kWh lines add up.
    let product = elvia_household();
    let st = Statutory::default();
    let ctx = ctx_no("0301", UsageKind::Household);
    let quarter = nordlys_core::time::LocalPeriod::new(date(2025, 1, 1), date(2025, 4, 1)).unwrap();
    let load = |t: DateTime| {
        if t.hour() == 18 {
            1000 + i64::from(t.month()) * 1500
        } else {
            700
        }
    };
    let rate = |period| {
        let energy = series(period, &product.time_zone, Resolution::Pt15m, load);
        let spot = vec![NOK_PER_KWH; energy.len()];
        nordlys_rating::rate(
            std::slice::from_ref(&product),
            &st,
            &ctx,
            period,
            Resolution::Pt15m,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let whole = rate(quarter);
    let months: Vec<_> = ["2025-01", "2025-02", "2025-03"]
        .iter()
        .map(|m| rate(month(m)))
        .collect();
    let capacity: Vec<String> = kinds(&whole.lines, LineKind::Capacity)
        .iter()
        .map(|l| l.net.to_string())
        .collect();
    // Hour 18 is 4 × (1000 + 1500 m) Wh: 10, 16, 22 kW → steps 10–15, 15–20, 20–25 kW.
    assert_eq!(
        capacity,
        ["388.00", "496.00", "604.00"],
        "{}",
        render(&whole.lines)
    );
    for kind in [
        LineKind::Capacity,
        LineKind::Energy,
        LineKind::Tax,
        LineKind::Subsidy,
    ] {
        let sum = |r: &nordlys_rating::Rating| {
            r.lines
                .iter()
                .filter(|l| l.kind == kind)
                .map(|l| l.amount)
                .sum::<rust_decimal::Decimal>()
        };
        assert_eq!(sum(&whole), months.iter().map(sum).sum(), "{kind}");
    }
}

#[test]
fn a_time_of_use_period_with_tiers_written_in_toml() {
    // Peak hours 08–20: the month's first 100 kWh in the period at 0.50, the rest at 0.80;
    // night hours one price. 1 kWh every hour of January: 12 × 31 = 372 peak kWh.
    let product = nordlys_rating::parse_product_toml(
        r#"
[product]
code = "tiered-peak"
name = "Tiered peak"
currency = "NOK"
time_zone = "Europe/Oslo"
holidays = "NO"

[[component]]
code = "energi"
name = "Energi"
kind = "time_of_use"
vat = "standard"
valid_from = "2025-01-01"

[[component.period]]
name = "dag"
hours = ["08:00-20:00"]
tier = [{ up_to_kwh = "100", price_per_kwh = "0.50" }, { price_per_kwh = "0.80" }]

[[component.period]]
name = "natt"
hours = ["00:00-08:00", "20:00-24:00"]
price_per_kwh = "0.20"
"#,
    )
    .unwrap();
    let period = month("2025-01");
    let energy = series(period, &product.time_zone, Resolution::Pt60m, |_| 1000);
    let context = nordlys_rating::RatingContext {
        apply_statutory: false,
        ..ctx_no("0301", UsageKind::Business)
    };
    let rating = rate_hourly(product, &context, period, &energy);
    let table = render(&rating.lines);
    // dag: 100 × 0.50 = 50.00 and 272 × 0.80 = 217.60; natt: 372 × 0.20 = 74.40.
    let mut energi = nets(&rating.lines, "energi");
    energi.sort();
    assert_eq!(energi, ["217.60", "50.00", "74.40"], "{table}");
    assert_eq!(rating.totals().net, d("342.00"), "{table}");
}

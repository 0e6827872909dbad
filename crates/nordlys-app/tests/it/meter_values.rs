//! Meter values: DST days, each kind of bad row, all-or-nothing, idempotent re-import,
//! corrections as versions readable `as_of`, bounded memory.

use jiff::Timestamp;
use nordlys_app::import::MeterValueLimits;
use nordlys_core::model::Quality;
use nordlys_core::time::{format_local, zone};

use crate::fixtures::*;

/// A full local day of readings for `point` at `step_s`, value `wh(i)` for interval i.
fn day_csv(
    point: &str,
    first_utc: &str,
    intervals: usize,
    step_s: i64,
    wh: impl Fn(usize) -> i64,
    quality: &str,
) -> String {
    let tz = zone("Europe/Oslo").unwrap();
    let start: Timestamp = first_utc.parse().unwrap();
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for i in 0..intervals {
        let s = start + jiff::SignedDuration::from_secs(i as i64 * step_s);
        let e = s + jiff::SignedDuration::from_secs(step_s);
        let v = wh(i);
        csv.push_str(&format!(
            "{point},{},{},{}.{:03},{quality}\n",
            format_local(s, &tz),
            format_local(e, &tz),
            v / 1000,
            v % 1000
        ));
    }
    csv
}

#[tokio::test]
async fn dst_spring_day_has_92_quarter_hours_and_round_trips() {
    let db = db_with_master_data().await;
    // 2025-03-30 in Oslo: 00:00+01:00 = 23:00Z the day before; 92 quarter-hours.
    let csv = day_csv(
        QUARTER_POINT,
        "2025-03-29T23:00:00Z",
        92,
        900,
        |i| 100 + i as i64,
        "measured",
    );
    let report = import_values(&db, &csv, "2025-04-01T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(report.rows, 92);
    let mut out = Vec::new();
    let rows = nordlys_app::export::export_meter_values(
        &db.store,
        &QUARTER_POINT.parse().unwrap(),
        Some("2025-03-30".parse().unwrap()),
        Some("2025-03-31".parse().unwrap()),
        None,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(rows, 92);
    let exported = String::from_utf8(out).unwrap();
    assert_eq!(exported, csv, "export must reproduce the imported file");
    assert!(exported.contains(",2025-03-30T01:45:00+01:00,2025-03-30T03:00:00+02:00,"));
}

#[tokio::test]
async fn dst_autumn_day_has_25_hours() {
    let db = db_with_master_data().await;
    let csv = day_csv(
        HOURLY_POINT,
        "2025-10-25T22:00:00Z",
        25,
        3600,
        |i| 1000 + i as i64,
        "measured",
    );
    assert!(csv.contains("2025-10-26T02:00:00+02:00") && csv.contains("2025-10-26T02:00:00+01:00"));
    import_values(&db, &csv, "2025-11-01T00:00:00Z")
        .await
        .unwrap();
    let point = db.store.point_refs().await.unwrap()[HOURLY_POINT].id;
    let (from, to) = (
        "2025-10-25T22:00:00Z".parse().unwrap(),
        "2025-10-26T23:00:00Z".parse().unwrap(),
    );
    let readings = db.store.meter_values(point, from, to, None).await.unwrap();
    assert_eq!(readings.len(), 25);
    assert_eq!(
        readings.iter().map(|r| r.energy.0).sum::<i64>(),
        (0..25).map(|i| 1000 + i).sum::<i64>()
    );
}

#[tokio::test]
async fn each_kind_of_bad_row_is_named_and_nothing_is_stored() {
    let db = db_with_master_data().await;
    let csv = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n\
         {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1.000,measured\n\
         707057500000000032,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1.000,measured\n\
         707057500000000033,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1.000,measured\n\
         {HOURLY_POINT},2025-01-01T01:00:00+01:00,2025-01-01T01:15:00+01:00,1.000,measured\n\
         {HOURLY_POINT},2025-01-01T02:00:00+01:00,2025-01-01T03:00:00+01:00,-0.500,measured\n\
         {HOURLY_POINT},2025-01-01T03:00:00+01:00,2025-01-01T04:00:00+01:00,1.000,good\n\
         {HOURLY_POINT},2025-01-01T04:30:00+01:00,2025-01-01T05:30:00+01:00,1.000,measured\n\
         {HOURLY_POINT},2025-01-01 05:00,2025-01-01T06:00:00+01:00,1.000,measured\n\
         {HOURLY_POINT},2025-01-01T06:00:00+01:00,2025-01-01T07:00:00+01:00,1,5,measured\n\
         {HOURLY_POINT},2025-01-01T07:00:00+01:00,2025-01-01T08:00:00+01:00,0.0001,measured\n\
         {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,2.000,measured\n"
    );
    let error = import_values(&db, &csv, "2025-02-01T00:00:00Z")
        .await
        .unwrap_err();
    let lines = rejection_lines(error);
    assert_eq!(
        lines,
        [
            "values.csv:3: metering_point_id: \"707057500000000032\": unknown metering point (import metering points first)",
            "values.csv:4: metering_point_id: \"707057500000000033\": a GSRN check digit is 3 but the GS1 mod-10 rule gives 2",
            "values.csv:5: end: \"2025-01-01T01:15:00+01:00\": the interval is 900 s but metering point 707057500000000018 has resolution PT60M (3600 s)",
            "values.csv:6: quantity_kwh: \"-0.500\": a consumption value cannot be negative",
            "values.csv:7: quality: \"good\": must be one of: measured, estimated, missing, corrected",
            "values.csv:8: start: \"2025-01-01T04:30:00+01:00\": does not start on a PT60M boundary",
            "values.csv:9: start: \"2025-01-01 05:00\": not an RFC 3339 instant with offset, e.g. 2025-01-01T00:00:00+01:00",
            "values.csv:10: row: this row has 6 fields but the header has 5",
            "values.csv:11: quantity_kwh: \"0.0001\": at most 3 decimals of kWh (1 Wh) are kept; this value is finer",
            "values.csv:12: start: \"2025-01-01T00:00:00+01:00\": this interval of metering point 707057500000000018 is already given on line 2",
        ]
    );
    assert_eq!(
        db.store.summary().await.unwrap().meter_value_chunks,
        0,
        "nothing of a rejected file is stored"
    );
}

#[tokio::test]
async fn at_most_twenty_errors_are_listed() {
    let db = db_with_master_data().await;
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for hour in 0..30 {
        csv.push_str(&format!(
            "{HOURLY_POINT},2025-01-01T{hour:02}:00:00Z,2025-01-01T{hour:02}:30:00Z,1,measured\n"
        ));
    }
    let error = import_values(&db, &csv, "2025-02-01T00:00:00Z")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert_eq!(
        text.lines().filter(|l| l.contains("values.csv:")).count(),
        20
    );
    assert!(text.ends_with("(stopped after 20 errors)"), "{text}");
}

#[tokio::test]
async fn reimport_is_idempotent_and_a_correction_is_a_new_version() {
    let db = db_with_master_data().await;
    let original = day_csv(
        HOURLY_POINT,
        "2024-12-31T23:00:00Z",
        24,
        3600,
        |i| 500 + 10 * i as i64,
        "estimated",
    );
    let first = import_values(&db, &original, "2025-01-02T06:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        (first.inserted, first.updated, first.unchanged),
        (2, 0, 0),
        "a local day spans two UTC days"
    );

    let again = import_values(&db, &original, "2025-01-03T06:00:00Z")
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    let chunks_before = db.store.summary().await.unwrap().meter_value_chunks;

    // The grid company re-sends 12:00–13:00 measured and higher.
    let corrected = original.replace(
        ",2025-01-01T12:00:00+01:00,2025-01-01T13:00:00+01:00,0.620,estimated",
        ",2025-01-01T12:00:00+01:00,2025-01-01T13:00:00+01:00,0.750,corrected",
    );
    assert_ne!(corrected, original);
    let fix = import_values(&db, &corrected, "2025-01-10T06:00:00Z")
        .await
        .unwrap();
    assert_eq!((fix.inserted, fix.updated, fix.unchanged), (0, 1, 1));
    assert_eq!(
        db.store.summary().await.unwrap().meter_value_chunks,
        chunks_before + 1
    );

    let point = db.store.point_refs().await.unwrap()[HOURLY_POINT].id;
    let (from, to) = (
        "2024-12-31T23:00:00Z".parse().unwrap(),
        "2025-01-01T23:00:00Z".parse().unwrap(),
    );
    let noon = |readings: &[nordlys_core::model::Reading]| readings[12];
    let latest = db.store.meter_values(point, from, to, None).await.unwrap();
    assert_eq!(
        (noon(&latest).energy.0, noon(&latest).quality),
        (750, Quality::Corrected)
    );
    let before = db
        .store
        .meter_values(
            point,
            from,
            to,
            Some("2025-01-05T00:00:00Z".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        (noon(&before).energy.0, noon(&before).quality),
        (620, Quality::Estimated)
    );
    assert_eq!(before.len(), 24);
    let nothing_yet = db
        .store
        .meter_values(
            point,
            from,
            to,
            Some("2025-01-01T00:00:00Z".parse().unwrap()),
        )
        .await
        .unwrap();
    assert!(nothing_yet.is_empty());
}

#[tokio::test]
async fn memory_bound_flushes_give_the_same_result() {
    // Interleaved points and a tiny pending limit force partial days to be written and amended.
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for hour in 0..48 {
        for point in [HOURLY_POINT, DANISH_POINT] {
            csv.push_str(&format!(
                "{point},2025-01-{:02}T{:02}:00:00Z,2025-01-{:02}T{:02}:00:00Z,{}.{:03},measured\n",
                1 + hour / 24,
                hour % 24,
                1 + (hour + 1) / 24,
                (hour + 1) % 24,
                hour / 10,
                hour * 7 % 1000
            ));
        }
    }
    let small = db_with_master_data().await;
    let report = import_values_with(
        &small,
        &csv,
        "2025-02-01T00:00:00Z",
        MeterValueLimits { pending_days: 1 },
    )
    .await
    .unwrap();
    assert_eq!(report.rows, 96);
    let large = db_with_master_data().await;
    import_values(&large, &csv, "2025-02-01T00:00:00Z")
        .await
        .unwrap();
    for point in [HOURLY_POINT, DANISH_POINT] {
        let read = |db: &TestDb| {
            let store = db.store.clone();
            async move {
                let id = store.point_refs().await.unwrap()[point].id;
                store
                    .meter_values(
                        id,
                        "2025-01-01T00:00:00Z".parse().unwrap(),
                        "2025-01-03T00:00:00Z".parse().unwrap(),
                        None,
                    )
                    .await
                    .unwrap()
            }
        };
        assert_eq!(read(&small).await, read(&large).await);
        assert_eq!(read(&small).await.len(), 48);
    }
    // One version per day even though the small import wrote each day many times.
    assert_eq!(small.store.summary().await.unwrap().meter_value_chunks, 4);
}

#[tokio::test]
async fn missing_readings_have_no_quantity_and_others_need_one() {
    let db = db_with_master_data().await;
    let csv = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n\
         {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,,missing\n\
         {HOURLY_POINT},2025-01-01T01:00:00+01:00,2025-01-01T02:00:00+01:00,,measured\n\
         {HOURLY_POINT},2025-01-01T02:00:00+01:00,2025-01-01T03:00:00+01:00,0.000,missing\n"
    );
    let error = import_values(&db, &csv, "2025-02-01T00:00:00Z")
        .await
        .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "values.csv:3: quantity_kwh: \"\": a quantity in kWh is required (a decimal number such as 1.25)",
            "values.csv:4: quantity_kwh: \"0.000\": a reading of quality missing has no quantity; leave quantity_kwh empty",
        ]
    );
}

//! Writing through the API: readings under the import's rules, all or nothing; idempotent
//! POSTs; a billing run started over HTTP and billed by the server; revoked tokens.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{TestServer, get, get_json, post};

fn readings_of(point: &str, day: &str, kwh: &[&str]) -> Value {
    let readings: Vec<Value> = kwh
        .iter()
        .enumerate()
        .map(|(hour, q)| {
            json!({
                "metering_point_id": point,
                "start": format!("{day}T{hour:02}:00:00+01:00"),
                "end": format!("{day}T{:02}:00:00+01:00", hour + 1),
                "quantity_kwh": q,
                "quality": "measured",
            })
        })
        .collect();
    json!({ "readings": readings })
}

#[test]
fn readings_are_written_under_the_import_rules_and_an_idempotency_key_replays_the_answer() {
    let s = TestServer::start(12, false);
    let point = crate::hourly_point(&s);
    let url = s.url("/api/v1/readings");
    let head = s.block_on(s.store.journal_head()).unwrap();

    // One bad reading of three: nothing is stored, and the problem names it.
    let bad = readings_of(&point, "2025-02-03", &["1.250", "1.2345", "0.9"]);
    let (status, _, body) = post(
        &url,
        &s.admin,
        "application/json",
        &[],
        bad.to_string().as_bytes(),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "rejected");
    assert_eq!(
        body["errors"][0]["field"], "readings[1].quantity_kwh",
        "{body}"
    );
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), head);
    // Unknown metering point, and the read token may not write.
    let unknown = readings_of("707057500000000001", "2025-02-03", &["1"]);
    let (status, _, body) = post(
        &url,
        &s.admin,
        "application/json",
        &[],
        unknown.to_string().as_bytes(),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["field"]
            .as_str()
            .unwrap()
            .split('.')
            .next(),
        Some("readings[0]")
    );
    let good = readings_of(&point, "2025-02-03", &["1.250", "1.5", "0.75"]);
    let (status, _, _) = post(
        &url,
        &s.reader,
        "application/json",
        &[],
        good.to_string().as_bytes(),
    );
    assert_eq!(status, 403);

    // Stored once; the repeat with the same key gets the same answer and changes nothing.
    let key = [("Idempotency-Key", "readings-2025-02-03")];
    let (status, headers, first) = post(
        &url,
        &s.admin,
        "application/json",
        &key,
        good.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["rows"], 3);
    // 00:00 to 03:00 in Oslo spans two UTC days, the unit readings are stored in.
    assert_eq!(first["days_new"], 2);
    assert!(headers.get("idempotent-replayed").is_none());
    let after_first = s.block_on(s.store.journal_head()).unwrap();
    assert!(after_first > head);
    let (status, headers, again) = post(
        &url,
        &s.admin,
        "application/json",
        &key,
        good.to_string().as_bytes(),
    );
    assert_eq!((status, &again), (200, &first));
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), after_first);
    // The same key for another request is refused.
    let other = readings_of(&point, "2025-02-03", &["2", "2", "2"]);
    let (status, _, body) = post(
        &url,
        &s.admin,
        "application/json",
        &key,
        other.to_string().as_bytes(),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );

    // What was written is what the consumption series shows.
    let series = get_json(
        &s.url(&format!(
            "/api/v1/metering-points/{point}/consumption?from=2025-02-03&to=2025-02-04"
        )),
        &s.reader,
    );
    assert_eq!(series["energy_wh"][0], 1250);
    assert_eq!(series["energy_wh"][2], 750);
    assert_eq!(series["energy_wh"][3], Value::Null);
    assert_eq!(series["total_wh"], 3500);

    // CSV in the import format is accepted as well; a changed value is a new version.
    let csv = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n{point},2025-02-03T00:00:00+01:00,2025-02-03T01:00:00+01:00,1.300,corrected\n"
    );
    let (status, _, body) = post(&url, &s.admin, "text/csv", &[], csv.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days_changed"], 1);
    let series = get_json(
        &s.url(&format!(
            "/api/v1/metering-points/{point}/consumption?from=2025-02-03&to=2025-02-04"
        )),
        &s.reader,
    );
    assert_eq!(series["energy_wh"][0], 1300);
    assert_eq!(series["not_measured"][0]["quality"], "corrected");
}

#[test]
fn a_billing_run_started_over_http_is_billed_and_its_key_replays_the_same_run() {
    let s = TestServer::start(15, false);
    let url = s.url("/api/v1/billing-runs");
    let key = [("Idempotency-Key", "settle-2025-01")];
    let (status, _, started) = post(
        &url,
        &s.admin,
        "application/json",
        &key,
        br#"{"period": "2025-01"}"#,
    );
    assert_eq!(status, 202, "{started}");
    assert!(started["batches"].as_u64().unwrap() >= 1);
    let (status, headers, again) = post(
        &url,
        &s.admin,
        "application/json",
        &key,
        br#"{"period": "2025-01"}"#,
    );
    assert_eq!((status, &again["id"]), (202, &started["id"]));
    assert_eq!(headers["idempotent-replayed"], "true");
    let status_url = s.url(started["status_url"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let report = loop {
        let report = get_json(&status_url, &s.reader);
        if report["status"] == "finished" {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish: {report}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let invoices = report["invoices"].as_u64().unwrap();
    assert!(invoices > 0, "{report}");
    let listed = get_json(
        &s.url("/api/v1/invoices?period=2025-01&limit=500"),
        &s.reader,
    );
    assert_eq!(listed.as_array().unwrap().len() as u64, invoices);
    // A second run of the period settles nothing new.
    let (status, _, second) = post(
        &url,
        &s.admin,
        "application/json",
        &[],
        br#"{"period": "2025-01"}"#,
    );
    assert_eq!(status, 202, "{second}");
    // Only what was not ready is planned again.
    assert!(second["already_settled"].as_u64().unwrap() > 0, "{second}");
    assert!(
        second["accounts"].as_u64().unwrap() <= report["not_ready"].as_u64().unwrap(),
        "{second} {report}"
    );
}

#[test]
fn a_revoked_token_is_refused() {
    let s = TestServer::start(3, false);
    let made = s
        .block_on(nordlys_app::access::create_token(
            &s.store,
            "short-lived",
            &[nordlys_app::access::Scope::Read],
            &nordlys_app::SystemClock,
        ))
        .unwrap();
    assert_eq!(get(&s.url("/api/v1/products"), Some(&made.secret)).0, 200);
    assert!(
        s.block_on(nordlys_app::access::revoke_token(
            &s.store,
            "short-lived",
            &nordlys_app::SystemClock
        ))
        .unwrap()
    );
    // Within the token cache's 5 seconds the revocation takes effect.
    let deadline = Instant::now() + Duration::from_secs(7);
    loop {
        let status = get(&s.url("/api/v1/products"), Some(&made.secret)).0;
        if status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "a revoked token still works");
        std::thread::sleep(Duration::from_millis(250));
    }
    // Names are never reused.
    let again = s.block_on(nordlys_app::access::create_token(
        &s.store,
        "short-lived",
        &[nordlys_app::access::Scope::Read],
        &nordlys_app::SystemClock,
    ));
    assert!(again.is_err());
}

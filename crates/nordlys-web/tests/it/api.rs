//! Reading through the API what the store holds: pages, filters, consumption, documents, the
//! journal, the OpenAPI document, health and metrics.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{get, get_json, problem, shared};

#[test]
fn anonymous_and_unknown_tokens_get_401_and_a_read_token_cannot_see_identity_numbers() {
    let s = shared();
    for token in [None, Some("nordlys_00"), Some("not-a-token")] {
        let (status, headers, body) = get(&s.url("/api/v1/customers"), token);
        assert_eq!(status, 401);
        let problem = problem(status, &headers, &body);
        assert_eq!(problem["code"], "unauthorized");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let page = get_json(&s.url("/api/v1/customers?limit=500"), &s.reader);
    let people: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "person")
        .collect();
    assert!(!people.is_empty());
    assert!(people.iter().all(|c| c["identity"].is_null()));
    let page = get_json(&s.url("/api/v1/customers?limit=500"), &s.admin);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["identity"].as_str().is_some_and(|i| i.len() >= 8))
    );
}

#[test]
fn pages_cover_every_customer_once_and_filters_find_them() {
    let s = shared();
    let mut seen = Vec::new();
    let mut url = s.url("/api/v1/customers?limit=7");
    loop {
        let page = get_json(&url, &s.reader);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => url = s.url(&format!("/api/v1/customers?limit=7&after={next}")),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a customer came twice");
    assert_eq!(
        seen.len() as i64,
        s.block_on(s.store.summary()).unwrap().customers
    );

    // Find the first customer by part of its name, in another case.
    let first = get_json(&s.url("/api/v1/customers?limit=1"), &s.reader)["items"][0].clone();
    let name = first["name"].as_str().unwrap();
    let part: String = name.split_whitespace().last().unwrap().to_uppercase();
    let found = get_json(
        &s.url(&format!("/api/v1/customers?q={}", urlencode(&part))),
        &s.reader,
    );
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == first["id"]),
        "{part}: {found}"
    );
    // Its accounts, their metering points and contracts.
    let id = first["id"].as_str().unwrap();
    let accounts = get_json(
        &s.url(&format!("/api/v1/accounts?customer={id}")),
        &s.reader,
    );
    let account = accounts["items"][0]["id"].as_str().unwrap().to_owned();
    let points = get_json(
        &s.url(&format!("/api/v1/metering-points?account={account}")),
        &s.reader,
    );
    let point = points["items"][0]["id"].as_str().unwrap().to_owned();
    let contracts = get_json(
        &s.url(&format!(
            "/api/v1/contracts?account={account}&metering_point={point}"
        )),
        &s.reader,
    );
    let contracts = contracts["items"].as_array().unwrap();
    assert!(!contracts.is_empty());
    assert!(
        contracts
            .iter()
            .all(|c| c["account"] == account.as_str() && c["metering_point"] == point.as_str())
    );
    let one = get_json(
        &s.url(&format!("/api/v1/metering-points/{point}")),
        &s.reader,
    );
    assert_eq!(one["id"], point.as_str());
    let one = get_json(&s.url(&format!("/api/v1/accounts/{account}")), &s.reader);
    assert_eq!(one["customer"], id);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first metering point of the demo and its readings of January as stored.
fn a_point() -> String {
    let s = shared();
    get_json(&s.url("/api/v1/metering-points?limit=1"), &s.reader)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn consumption_sums_the_readings_at_every_resolution() {
    let s = shared();
    let point = a_point();
    let readings = get_json(
        &s.url(&format!(
            "/api/v1/metering-points/{point}/readings?from=2025-01-01&to=2025-02-01"
        )),
        &s.reader,
    );
    let stored_wh: i64 = readings["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            use rust_decimal::prelude::ToPrimitive;
            let kwh: rust_decimal::Decimal = r["quantity_kwh"].as_str().unwrap().parse().unwrap();
            (kwh * rust_decimal::Decimal::from(1000)).to_i64().unwrap()
        })
        .sum();
    let base = format!("/api/v1/metering-points/{point}/consumption?from=2025-01-01&to=2025-02-01");
    let hourly = get_json(&s.url(&base), &s.reader);
    assert_eq!(hourly["resolution"], "hour");
    assert_eq!(hourly["step"], "PT1H");
    assert_eq!(hourly["start"], "2025-01-01T00:00:00+01:00");
    assert_eq!(hourly["energy_wh"].as_array().unwrap().len(), 31 * 24);
    assert_eq!(hourly["total_wh"], stored_wh);
    let daily = get_json(&s.url(&format!("{base}&resolution=day")), &s.reader);
    assert_eq!(daily["energy_wh"].as_array().unwrap().len(), 31);
    assert_eq!(daily["total_wh"], stored_wh);
    let monthly = get_json(&s.url(&format!("{base}&resolution=month")), &s.reader);
    assert_eq!(
        monthly["energy_wh"].as_array().unwrap(),
        &vec![Value::from(stored_wh)]
    );
    // Days with no readings at all (February is not in the demo) are nulls, listed as missing.
    let february = get_json(
        &s.url(&format!(
            "/api/v1/metering-points/{point}/consumption?from=2025-03-29&to=2025-03-31&resolution=hour"
        )),
        &s.reader,
    );
    // 30 March 2025 has 23 hours in Oslo: 24 + 23.
    assert_eq!(february["energy_wh"].as_array().unwrap().len(), 47);
    assert!(
        february["energy_wh"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_null)
    );
    assert_eq!(february["not_measured"].as_array().unwrap().len(), 47);
    assert_eq!(february["not_measured"][0]["quality"], "missing");
}

#[test]
fn invoices_come_in_the_wire_schema_with_pdf_and_ehf_as_issued() {
    let s = shared();
    let list = get_json(&s.url("/api/v1/invoices?period=2025-01&limit=5"), &s.reader);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert!(
        list.iter()
            .all(|d| d["lines"].is_null() && d["line_count"].as_u64().unwrap() > 0)
    );
    let number = list[0]["number"].as_str().unwrap();
    let one = get_json(&s.url(&format!("/api/v1/invoices/{number}")), &s.reader);
    assert_eq!(one["number"], number);
    assert_eq!(
        one["lines"].as_array().unwrap().len() as u64,
        one["line_count"].as_u64().unwrap()
    );
    assert!(
        !one["lines"][0]["explanation"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (status, headers, pdf) = get(
        &s.url(&format!("/api/v1/invoices/{number}/pdf")),
        Some(&s.reader),
    );
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let (status, headers, xml) = get(
        &s.url(&format!("/api/v1/invoices/{number}/xml")),
        Some(&s.reader),
    );
    assert_eq!(status, 200);
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("<cbc:ID>") && xml.contains(number), "{xml}");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    // As kept: the second download is the same bytes.
    let (_, again_headers, again) = get(
        &s.url(&format!("/api/v1/invoices/{number}/xml")),
        Some(&s.reader),
    );
    assert_eq!(again_headers["etag"].to_str().unwrap(), etag);
    assert_eq!(String::from_utf8(again).unwrap(), xml);

    let (status, headers, body) = get(&s.url("/api/v1/invoices/F-999999"), Some(&s.reader));
    assert_eq!(status, 404);
    problem(status, &headers, &body);
}

#[test]
fn runs_tasks_products_prices_and_the_journal() {
    let s = shared();
    let runs = get_json(&s.url("/api/v1/billing-runs"), &s.reader);
    let run = &runs.as_array().unwrap()[0];
    assert_eq!(run["kind"], "settlement");
    assert_eq!(run["status"], "finished");
    let report = get_json(
        &s.url(&format!("/api/v1/billing-runs/{}", run["id"])),
        &s.reader,
    );
    assert_eq!(report["id"], run["id"]);
    let issued: i64 = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["documents"].as_i64().unwrap())
        .sum();
    assert_eq!(
        issued,
        run["invoices"].as_i64().unwrap() + run["credit_notes"].as_i64().unwrap()
    );
    let tasks = get_json(&s.url("/api/v1/tasks"), &s.reader);
    assert_eq!(
        tasks.as_array().unwrap().len() as i64,
        run["not_ready"].as_i64().unwrap()
    );

    let products = get_json(&s.url("/api/v1/products"), &s.reader);
    assert!(!products.as_array().unwrap().is_empty());
    let prices = get_json(
        &s.url("/api/v1/spot-prices?area=NO1&from=2025-01-01&to=2025-01-02"),
        &s.reader,
    );
    assert_eq!(prices["prices"].as_array().unwrap().len(), 24, "{prices}");
    assert_eq!(prices["prices"][0]["start"], "2025-01-01T00:00:00+01:00");

    let page = get_json(&s.url("/api/v1/changes?limit=50"), &s.reader);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    let next = page["next"].as_i64().unwrap();
    assert_eq!(items.last().unwrap()["seq"], next);
    let after = get_json(
        &s.url(&format!("/api/v1/changes?after={next}&limit=1")),
        &s.reader,
    );
    assert_eq!(after["items"][0]["seq"].as_i64().unwrap(), next + 1);
    let customers = get_json(
        &s.url("/api/v1/changes?domain=customer&limit=500"),
        &s.reader,
    );
    for record in customers["items"].as_array().unwrap() {
        assert_eq!(record["domain"], "customer");
        if record["after"]["kind"] == "person" {
            assert!(record["after"]["identity"].is_null(), "{record}");
        }
    }
}

#[test]
fn the_openapi_document_names_every_route_and_health_and_metrics_answer() {
    let s = shared();
    let (status, _, body) = get(&s.url("/api/openapi.json"), None);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/customers",
        "/api/v1/metering-points/{gsrn}/consumption",
        "/api/v1/readings",
        "/api/v1/billing-runs",
        "/api/v1/invoices/{number}/pdf",
        "/api/v1/changes",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let (status, _, body) = get(&s.url("/healthz"), None);
    assert_eq!(
        (
            status,
            serde_json::from_slice::<Value>(&body).unwrap()["status"].clone()
        ),
        (200, "ok".into())
    );
    let (status, _, body) = get(&s.url("/readyz"), None);
    assert_eq!(status, 200);
    let ready: Value = serde_json::from_slice(&body).unwrap();
    assert!(ready["journal_head"].as_i64().unwrap() > 0);
    get(&s.url("/api/v1/customers"), None);
    let (status, headers, body) = get(&s.url("/metrics"), None);
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(
            "nordlys_http_requests_total{method=\"GET\",route=\"/api/v1/customers\",status=\"401\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("nordlys_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("nordlys_documents "), "{text}");
}

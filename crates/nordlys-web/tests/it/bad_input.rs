//! Bad requests get a 4xx problem document that says what is wrong and where, never a 500,
//! and change nothing.

use crate::{TestServer, get, post, problem};

#[test]
fn bad_parameters_paths_and_methods_are_4xx_problems_naming_the_field() {
    // A server of its own: the head of its journal moves only if a bad request wrote.
    let s = TestServer::start(3, false);
    let point =
        crate::get_json(&s.url("/api/v1/metering-points?limit=1"), &s.reader)["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let head = s.block_on(s.store.journal_head()).unwrap();
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        (
            "/api/v1/customers?limit=0".into(),
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "/api/v1/customers?limit=100000".into(),
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "/api/v1/customers?colour=red".into(),
            400,
            "invalid_parameter",
            Some("colour"),
        ),
        (
            "/api/v1/customers?limit=abc".into(),
            400,
            "invalid_parameter",
            None,
        ),
        (
            "/api/v1/metering-points/123".into(),
            400,
            "invalid_parameter",
            Some("metering_point"),
        ),
        (
            "/api/v1/metering-points/707057500000000000".into(),
            400,
            "invalid_parameter",
            Some("metering_point"),
        ),
        (
            format!("/api/v1/metering-points/{point}/consumption?from=2025-01-01&to=2035-01-01"),
            400,
            "invalid_parameter",
            Some("to"),
        ),
        (
            format!("/api/v1/metering-points/{point}/consumption?from=2025-02-30&to=2025-03-01"),
            400,
            "invalid_parameter",
            Some("from"),
        ),
        (
            format!("/api/v1/metering-points/{point}/consumption?from=2025-02-01&to=2025-01-01"),
            400,
            "invalid_parameter",
            Some("to"),
        ),
        (
            format!(
                "/api/v1/metering-points/{point}/consumption?from=2025-01-01&to=2025-01-02&resolution=week"
            ),
            400,
            "invalid_parameter",
            Some("resolution"),
        ),
        (
            format!("/api/v1/metering-points/{point}/consumption?to=2025-01-02"),
            400,
            "invalid_parameter",
            None,
        ),
        (
            format!("/api/v1/metering-points/{point}/readings?from=2025-01-01&to=2026-01-01"),
            400,
            "invalid_parameter",
            Some("to"),
        ),
        (
            format!(
                "/api/v1/metering-points/{point}/readings?from=2025-01-01&to=2025-01-02&as_of=yesterday"
            ),
            400,
            "invalid_parameter",
            Some("as_of"),
        ),
        (
            "/api/v1/spot-prices?area=XX9&from=2025-01-01&to=2025-01-02".into(),
            400,
            "invalid_parameter",
            Some("area"),
        ),
        (
            "/api/v1/invoices?period=2025-13".into(),
            400,
            "invalid_parameter",
            Some("period"),
        ),
        (
            "/api/v1/invoices?account=nobody".into(),
            404,
            "not_found",
            None,
        ),
        (
            "/api/v1/invoices/not-a-number".into(),
            400,
            "invalid_parameter",
            Some("number"),
        ),
        (
            "/api/v1/billing-runs/abc".into(),
            400,
            "invalid_parameter",
            Some("path"),
        ),
        ("/api/v1/billing-runs/987654".into(), 404, "not_found", None),
        ("/api/v1/invoices/F-1/pdf".into(), 404, "not_found", None),
        ("/api/v1/customers/nobody".into(), 404, "not_found", None),
        (
            "/api/v1/changes?domain=weather".into(),
            400,
            "invalid_parameter",
            Some("domain"),
        ),
        (
            "/api/v1/changes?after=-5".into(),
            400,
            "invalid_parameter",
            Some("after"),
        ),
        ("/api/v1/nothing-here".into(), 404, "not_found", None),
        ("/nothing".into(), 404, "not_found", None),
        // Found by fuzzing: PostgreSQL refuses NUL in text, so no parameter may carry one.
        (
            "/api/v1/customers?after=%00abc".into(),
            400,
            "invalid_parameter",
            Some("query"),
        ),
        (
            "/api/v1/accounts?customer=K%1F1".into(),
            400,
            "invalid_parameter",
            Some("query"),
        ),
        (
            "/api/v1/customers/K%001".into(),
            400,
            "invalid_parameter",
            Some("path"),
        ),
    ];
    for (path, status, code, field) in cases {
        let (got, headers, body) = get(&s.url(&path), Some(&s.admin));
        assert_eq!(got, status, "{path}: {}", String::from_utf8_lossy(&body));
        let problem = problem(got, &headers, &body);
        assert_eq!(problem["code"], code, "{path}: {problem}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{path}: {problem}");
        }
    }
    // A wrong method.
    let (status, headers, body) = post(
        &s.url("/api/v1/customers"),
        &s.admin,
        "application/json",
        &[],
        b"{}",
    );
    assert_eq!(status, 405);
    assert_eq!(body["code"], "method_not_allowed");
    assert!(headers.get("allow").is_some());
    assert_eq!(
        s.block_on(s.store.journal_head()).unwrap(),
        head,
        "a bad request changed something"
    );
}

#[test]
fn bad_bodies_are_refused_whole_and_store_nothing() {
    let s = TestServer::start(3, false);
    let head = s.block_on(s.store.journal_head()).unwrap();
    let url = s.url("/api/v1/readings");
    // Malformed JSON, an unknown field, a wrong type, no readings, an unknown content type.
    let (status, _, body) = post(&url, &s.admin, "application/json", &[], b"{\"readings\": [");
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_body")),
        "{body}"
    );
    let (status, _, body) = post(
        &url,
        &s.admin,
        "application/json",
        &[],
        br#"{"readings": [], "colour": 1}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let (status, _, body) = post(
        &url,
        &s.admin,
        "application/json",
        &[],
        br#"{"readings": []}"#,
    );
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("readings")),
        "{body}"
    );
    let (status, _, body) = post(&url, &s.admin, "text/xml", &[], b"<readings/>");
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    // An oversized upload.
    let big = vec![b'x'; 9 * 1024 * 1024];
    let (status, _, body) = post(&url, &s.admin, "text/csv", &[], &big);
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    // A billing run for a month that does not exist, and with a read token.
    let runs = s.url("/api/v1/billing-runs");
    let (status, _, body) = post(
        &runs,
        &s.admin,
        "application/json",
        &[],
        br#"{"period": "2025-13"}"#,
    );
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("period")),
        "{body}"
    );
    let (status, _, body) = post(
        &runs,
        &s.admin,
        "application/json",
        &[],
        br#"{"period": "2025-01", "dry": true}"#,
    );
    assert_eq!(status, 422, "{body}");
    let (status, _, body) = post(
        &runs,
        &s.reader,
        "application/json",
        &[],
        br#"{"period": "2025-01"}"#,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(
        s.block_on(s.store.journal_head()).unwrap(),
        head,
        "a bad request changed something"
    );
}

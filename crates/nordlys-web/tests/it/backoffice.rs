//! The back-office beyond search: a metering point's readings in the 360° view and its paged
//! readings table, and the correction preview — what a corrections run would issue, shown
//! without storing anything, then issued from the page as a run whose documents reference the
//! originals.

use std::time::{Duration, Instant};

use nordlys_core::model::Language;
use nordlys_core::quantity::Currency;
use nordlys_documents::i18n::format;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::web::{csrf_of, request, staff_sign_in};
use crate::{TestServer, get_json, post};

/// The readings summary and link of `point` in a 360° view `body`, and its readings page.
pub(crate) fn check_the_readings_and_journal_of_the_360_view(
    s: &TestServer,
    staff: &str,
    body: &str,
    point: &str,
) {
    let readings = format!("/staff/points/{point}/readings");
    let row = body
        .split("<tr>")
        .find(|row| row.contains(&format!("href=\"{readings}\"")))
        .unwrap_or_else(|| panic!("the 360° view lacks the readings of {point}"));
    assert!(row.starts_with(&format!("<td>{point}</td>")), "{row}");
    // The demo's readings end with January 2025 (local time), a whole month without gaps.
    assert!(row.contains("<td>2025-02-01T00:00:00+01:00</td>"), "{row}");
    assert!(row.contains("<td>0</td>"), "no missing intervals: {row}");

    // The readings page: the last day by default, any day asked for, a day before and after.
    let (status, _, page) = request("GET", &s.url(&readings), Some(staff), None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("2025-01-31T23:"), "{page}");
    assert!(
        page.contains(&format!("{readings}?day=2025-01-30")),
        "{page}"
    );
    let (status, _, page) = request(
        "GET",
        &s.url(&format!("{readings}?day=2025-01-10")),
        Some(staff),
        None,
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("<td>2025-01-10T00:00:00+01:00</td>"),
        "{page}"
    );
    assert!(!page.contains("2025-01-11T00:00:00+01:00</td>"), "{page}");
    for (path, status) in [
        (format!("{readings}?day=2025-13-01"), 400),
        (format!("{readings}?days=2025-01-01"), 400),
        ("/staff/points/12345/readings".to_owned(), 400),
        ("/staff/points/707057500000000001/readings".to_owned(), 404),
    ] {
        assert_eq!(
            request("GET", &s.url(&path), Some(staff), None).0,
            status,
            "{path}"
        );
    }
    let audit = s
        .block_on(
            s.store
                .audit_log(Some(&format!("metering_point:{point}")), 10),
        )
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "view_readings"),
        "{audit:?}"
    );
}

/// The text of each cell of the table row that contains `needle`.
fn row_cells(page: &str, needle: &str) -> Vec<String> {
    let row = page
        .split("<tr>")
        .find(|row| row.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}: {page}"));
    row.split("<td>")
        .skip(1)
        .map(|cell| {
            let text = cell.split("</td>").next().unwrap();
            // A link's text.
            match text.split_once('>') {
                Some((_, inner)) if text.starts_with("<a") => {
                    inner.trim_end_matches("</a>").to_owned()
                }
                _ => text.to_owned(),
            }
        })
        .collect()
}

/// An amount as the English page writes it.
fn money(amount: Decimal, currency: &Value) -> String {
    let currency = Currency::parse(currency.as_str().unwrap()).unwrap();
    format::money(amount, currency, Language::En)
}

#[test]
fn a_correction_preview_shows_the_difference_stores_nothing_and_issuing_references_the_original() {
    let s = TestServer::start_with(12, true, true);
    let staff = format!("{}; nordlys_lang=en", staff_sign_in(&s, "kari"));
    let (status, _, page) = request("GET", &s.url("/staff/corrections"), Some(&staff), None);
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("action=\"/staff/corrections\""),
        "nothing to issue before a change"
    );

    // An hourly metering point, the account it is billed to and the account's invoice.
    let point = crate::hourly_point(&s);
    let (account, original) = s
        .block_on(s.store.customers_of_point(&point))
        .unwrap()
        .iter()
        .flat_map(|customer| {
            get_json(
                &s.url(&format!("/api/v1/accounts?customer={customer}")),
                &s.reader,
            )["items"]
                .as_array()
                .unwrap()
                .clone()
        })
        .find_map(|account| {
            let id = account["id"].as_str().unwrap().to_owned();
            let invoices = get_json(&s.url(&format!("/api/v1/invoices?account={id}")), &s.reader);
            let first = invoices.as_array().unwrap().first().cloned();
            first.map(|invoice| (id, invoice))
        })
        .unwrap();
    let original_number = original["number"].as_str().unwrap().to_owned();

    // A reading of January changes after billing.
    let reading = json!({ "readings": [{
        "metering_point_id": point,
        "start": "2025-01-15T00:00:00+01:00",
        "end": "2025-01-15T01:00:00+01:00",
        "quantity_kwh": "97.5",
        "quality": "measured",
    }]});
    let (status, _, body) = post(
        &s.url("/api/v1/readings"),
        &s.admin,
        "application/json",
        &[],
        reading.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // The preview lists the correction; viewing it stores nothing.
    let head = s.block_on(s.store.journal_head()).unwrap();
    let runs = s.block_on(s.store.runs(100)).unwrap().len();
    let (status, _, page) = request("GET", &s.url("/staff/corrections"), Some(&staff), None);
    assert_eq!(status, 200, "{page}");
    let cells = row_cells(&page, &format!(">{account}</a>"));
    assert_eq!(cells[0], "2025-01", "{cells:?}");
    assert_eq!(cells[2], original_number, "{cells:?}");
    assert!(
        cells[6].contains("Credit note") && cells[6].contains("Invoice"),
        "{cells:?}"
    );
    // The lines that change: at least the energy of the point's contracts.
    let line = row_cells(&page, &format!("<td>{account}</td>"));
    assert_eq!(line.len(), 7, "{line:?}");
    assert_ne!(line[3], line[5], "the quantity changes: {line:?}");
    assert_eq!(s.block_on(s.store.journal_head()).unwrap(), head);
    assert_eq!(s.block_on(s.store.runs(100)).unwrap().len(), runs);
    let listed = |account: &str| -> Vec<Value> {
        get_json(
            &s.url(&format!("/api/v1/invoices?account={account}")),
            &s.reader,
        )
        .as_array()
        .unwrap()
        .clone()
    };
    let before = listed(&account).len();

    // Issuing needs the form's CSRF token.
    let (status, _, _) = request(
        "POST",
        &s.url("/staff/corrections"),
        Some(&staff),
        Some("csrf=wrong"),
    );
    assert_eq!(status, 403);
    assert_eq!(s.block_on(s.store.runs(100)).unwrap().len(), runs);
    let (status, headers, _) = request(
        "POST",
        &s.url("/staff/corrections"),
        Some(&staff),
        Some(&format!("csrf={}", csrf_of(&page))),
    );
    assert_eq!(status, 303);
    let location = headers["location"].to_str().unwrap().to_owned();
    let run = location.strip_prefix("/staff/runs/").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let report = get_json(&s.url(&format!("/api/v1/billing-runs/{run}")), &s.reader);
        if report["status"] == "finished" {
            assert_eq!(report["kind"], "corrections", "{report}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish: {report}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A credit note and a reissue reference the original, for what the preview said.
    let documents = listed(&account);
    assert_eq!(documents.len(), before + 2, "{documents:?}");
    let referencing: Vec<&Value> = documents
        .iter()
        .filter(|d| d["corrects_all"] == json!([original_number]))
        .collect();
    let net_of = |kind: &str| -> Decimal {
        referencing
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} corrects {original_number}: {documents:?}"))["net"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (credit, reissue) = (net_of("credit_note"), net_of("invoice"));
    let currency = &referencing[0]["currency"];
    assert_eq!(
        [&cells[3], &cells[4], &cells[5]],
        [
            money(-credit, currency),
            money(reissue, currency),
            money(reissue + credit, currency)
        ]
        .each_ref(),
        "billed, corrected and difference as issued"
    );
    assert_ne!(reissue + credit, Decimal::ZERO);
    let audit = s.block_on(s.store.audit_log(None, 50)).unwrap();
    for action in ["preview_corrections", "issue_corrections"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == "kari"),
            "{action}: {audit:?}"
        );
    }
    // Corrected: nothing is left to preview.
    let (_, _, page) = request("GET", &s.url("/staff/corrections"), Some(&staff), None);
    assert!(!page.contains("action=\"/staff/corrections\""), "{page}");
}

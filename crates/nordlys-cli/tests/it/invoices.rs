//! `nordlys invoices` and the billing reports as a clerk uses them: documents found by their
//! number, one JSON wire schema for list and show, tables that say who, where and in which
//! currency, and output that survives a closed pipe.

use std::process::{Command, Stdio};

use rust_decimal::Decimal;
use serde_json::Value;

use super::{Workdir, documents_in};

/// The demo of `demo_builds_a_utility_and_refuses_a_used_database`: F-1…F-59 settle January,
/// a corrected day then gives credit note K-1 and invoice F-60 that both correct one original.
fn billed_demo() -> Workdir {
    let w = Workdir::new();
    w.ok(&crate::BILLED_DEMO_60);
    w
}

fn json(w: &Workdir, args: &[&str]) -> Value {
    let out = w.ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}): {out}"))
}

/// A decimal field: a JSON string holding an exact, normalised decimal.
fn decimal(value: &Value, field: &str) -> Decimal {
    let text = value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} must be a string: {value}"));
    text.parse()
        .unwrap_or_else(|_| panic!("{field} {text:?} is not a decimal"))
}

fn is_date(value: &Value) -> bool {
    value.as_str().is_some_and(|d| {
        d.len() == 10
            && d.as_bytes()[4] == b'-'
            && d.as_bytes()[7] == b'-'
            && d.parse::<jiff::civil::Date>().is_ok()
    })
}

const DOCUMENT_FIELDS: [&str; 19] = [
    "number",
    "id",
    "kind",
    "account",
    "customer",
    "payer",
    "period",
    "currency",
    "kid",
    "issue_date",
    "due_date",
    "corrects",
    "corrects_all",
    "net",
    "vat",
    "total",
    "vat_breakdown",
    "line_count",
    "lines",
];

const LINE_FIELDS: [&str; 16] = [
    "description",
    "quantity",
    "unit",
    "unit_code",
    "unit_price",
    "net",
    "vat_rate",
    "vat_category",
    "product",
    "component",
    "line_kind",
    "contract",
    "metering_point",
    "from",
    "to",
    "explanation",
];

fn assert_fields(object: &Value, expected: &[&str]) {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = expected.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{object}");
}

/// What a reader of one document checks: the fields are there, amounts add up, VAT is the
/// stored breakdown.
fn assert_consistent_document(doc: &Value) {
    assert_fields(doc, &DOCUMENT_FIELDS);
    assert!(is_date(&doc["issue_date"]), "{doc}");
    assert!(
        is_date(&doc["due_date"]) || doc["due_date"].is_null(),
        "{doc}"
    );
    assert!(!doc["customer"].as_str().unwrap().is_empty());
    let lines = doc["lines"].as_array().unwrap();
    assert_eq!(lines.len() as u64, doc["line_count"].as_u64().unwrap());
    let mut net = Decimal::ZERO;
    for line in lines {
        assert_fields(line, &LINE_FIELDS);
        for field in ["quantity", "unit_price", "vat_rate"] {
            let value = decimal(line, field);
            assert_eq!(
                line[field].as_str().unwrap(),
                value.normalize().to_string(),
                "{field} is normalised: {line}"
            );
        }
        assert!(is_date(&line["from"]) && is_date(&line["to"]), "{line}");
        let unit_code = match line["unit"].as_str().unwrap() {
            "kWh" => "KWH",
            "kW" => "KWT",
            "month" => "MON",
            "day" => "DAY",
            "piece" => "C62",
            other => panic!("the demo bills no unit {other}: {line}"),
        };
        assert_eq!(line["unit_code"], unit_code, "{line}");
        let gsrn = line["metering_point"].as_str().unwrap();
        assert!(
            gsrn.len() == 18 && gsrn.bytes().all(|b| b.is_ascii_digit()),
            "{line}"
        );
        net += decimal(line, "net");
    }
    assert_eq!(net, decimal(doc, "net"), "net is the sum of the lines");
    let breakdown = doc["vat_breakdown"].as_array().unwrap();
    assert!(!breakdown.is_empty());
    let taxable: Decimal = breakdown.iter().map(|v| decimal(v, "taxable")).sum();
    let vat: Decimal = breakdown.iter().map(|v| decimal(v, "vat")).sum();
    assert_eq!(taxable, net);
    assert_eq!(vat, decimal(doc, "vat"));
    assert_eq!(decimal(doc, "total"), net + vat);
}

#[test]
fn invoices_show_and_list_print_one_wire_schema_and_take_the_document_number() {
    let w = billed_demo();
    let credit = json(&w, &["invoices", "show", "K-1", "--format", "json"]);
    assert_eq!(credit["number"], "K-1");
    assert_eq!(credit["kind"], "credit_note");
    assert_consistent_document(&credit);
    // The correction names the original by its number, never by an internal id.
    let original = credit["corrects"].as_str().unwrap().to_owned();
    assert!(original.starts_with("F-"), "{credit}");
    assert_eq!(credit["corrects_all"], serde_json::json!([original]));

    let invoice = json(&w, &["invoices", "show", &original, "--format", "json"]);
    assert_eq!(invoice["number"], original.as_str());
    assert_eq!(invoice["kind"], "invoice");
    assert_eq!(invoice["corrects"], Value::Null);
    assert_eq!(invoice["corrects_all"], serde_json::json!([]));
    assert_consistent_document(&invoice);
    assert_eq!(invoice["account"], credit["account"]);
    assert_eq!(decimal(&invoice, "total"), -decimal(&credit, "total"));
    let by_id = json(
        &w,
        &[
            "invoices",
            "show",
            &invoice["id"].to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(by_id, invoice, "the id names the same document");

    let reissue = json(&w, &["invoices", "show", "F-60", "--format", "json"]);
    assert_eq!(reissue["corrects"], original.as_str());
    assert_consistent_document(&reissue);

    // The list holds the same document objects, without their lines; newest first.
    let list = json(
        &w,
        &["invoices", "list", "--limit", "1000", "--format", "json"],
    );
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 61, "F-1…F-60 and K-1");
    // A list cut by --limit says so (on standard error, the table stays a table).
    let cut = w.run(&["invoices", "list", "--limit", "2", "--format", "json"]);
    let cut_list: Value = serde_json::from_slice(&cut.stdout).unwrap();
    assert_eq!(cut_list.as_array().unwrap()[..], list[..2]);
    assert_eq!(
        String::from_utf8_lossy(&cut.stderr),
        "the 2 newest documents; --limit shows more\n"
    );
    assert_eq!(list[0]["number"], "F-60");
    for (shown, number) in [(&credit, "K-1"), (&invoice, original.as_str())] {
        let mut listed = list.iter().find(|d| d["number"] == number).unwrap().clone();
        let mut without_lines = shown.clone();
        without_lines.as_object_mut().unwrap().remove("lines");
        // The list adds each invoice's state in the ledger as of today (not a credit note's).
        let ledger = listed.as_object_mut().unwrap();
        let status = ledger.remove("status");
        let open = ledger.remove("open_amount");
        assert_eq!(status.is_some(), number != "K-1", "{number}");
        assert_eq!(open.is_some(), number != "K-1", "{number}");
        assert_eq!(listed, without_lines);
    }
}

#[test]
fn a_document_that_does_not_exist_or_a_bad_number_is_an_error() {
    let w = billed_demo();
    let (code, stderr) = w.fails(&["invoices", "show", "F-999"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("document \"F-999\": no document has this number or id"),
        "{stderr}"
    );
    let (code, stderr) = w.fails(&["invoices", "show", "F12"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("document \"F12\": name a document by its number, e.g. F-12"),
        "{stderr}"
    );
}

/// Run `nordlys ARGS` with its standard output closed before it writes anything, as
/// `nordlys … | head -1` leaves it once `head` has exited.
fn with_closed_stdout(w: &Workdir, args: &[&str]) -> std::process::Output {
    let mut child = nordlys(w, args).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// Run `nordlys ARGS` with both outputs closed (`nordlys … 2>&1 | head -1`); its exit code.
fn with_closed_outputs(w: &Workdir, args: &[&str]) -> Option<i32> {
    let mut child = nordlys(w, args).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap().code()
}

fn nordlys(w: &Workdir, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nordlys"));
    command
        .arg("--db")
        .arg(w.db())
        .args(args)
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(Stdio::piped());
    command
}

#[test]
fn a_closed_pipe_ends_the_output_quietly_with_success() {
    let w = billed_demo();
    let gsrn =
        json(&w, &["invoices", "show", "F-1", "--format", "json"])["lines"][0]["metering_point"]
            .as_str()
            .unwrap()
            .to_owned();
    for args in [
        vec!["invoices", "list", "--limit", "1000"],
        vec!["invoices", "list", "--limit", "1000", "--format", "json"],
        vec!["invoices", "show", "K-1"],
        vec!["export", "meter-values", "--metering-point", &gsrn],
        vec!["status"],
    ] {
        let out = with_closed_stdout(&w, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "nordlys {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "nordlys {args:?}");
    }
}

#[test]
fn a_closed_pipe_does_not_stop_a_billing_run_half_way() {
    let w = Workdir::new();
    w.ok(&["demo", "--customers", "30", "--months", "1", "--no-bill"]);
    let out = with_closed_stdout(&w, &["bill", "--period", "2025-01"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nobody read the report, but the run settled everything it could.
    assert_eq!(documents_in(&w), 29, "metering point 13 misses a day");
    let rerun = w.ok(&["bill", "--period", "2025-01"]);
    assert!(rerun.contains("contracts settled 0,"), "{rerun}");
}

/// The number after `label` in a report, e.g. `contracts settled 122`.
fn figure_after(report: &str, label: &str) -> u64 {
    report
        .split(label)
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in {report}"))
}

#[test]
fn bill_corrections_with_nothing_to_do_says_so() {
    let w = Workdir::new();
    let demo = w.ok(&crate::BILLED_DEMO_60);
    let settled = figure_after(&demo, "contracts settled ");
    let out = w.ok(&["bill", "corrections"]);
    assert_eq!(
        out.trim_end(),
        format!(
            "Corrections: nothing to correct: {settled} settled contract-periods checked, none changed"
        )
    );
    let dry = w.ok(&["bill", "corrections", "--dry-run"]);
    assert!(
        dry.starts_with("Corrections (dry run): nothing to correct"),
        "{dry}"
    );
}

#[test]
fn a_bad_period_or_an_unknown_account_is_an_error_naming_the_flag() {
    let w = billed_demo();
    let before = documents_in(&w);
    for args in [
        vec!["invoices", "list", "--period", "2025-13"],
        vec!["bill", "--period", "2025-13"],
    ] {
        let (code, stderr) = w.fails(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            stderr.contains("--period \"2025-13\": a month is written YYYY-MM"),
            "{args:?}: {stderr}"
        );
    }
    for args in [
        vec!["invoices", "list", "--account", "A999999"],
        vec!["bill", "--period", "2025-02", "--account", "A999999"],
    ] {
        let (code, stderr) = w.fails(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            stderr.contains("--account \"A999999\": no account has this id"),
            "{args:?}: {stderr}"
        );
    }
    let (code, stderr) = w.fails(&["bill", "corrections", "--period", "2025-01"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`bill corrections` corrects every settled period"),
        "{stderr}"
    );
    let (code, stderr) = w.fails(&["bill", "corrections", "--account", "A000001"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--account limits a settlement; `bill corrections` corrects every account"),
        "{stderr}"
    );
    assert_eq!(documents_in(&w), before, "a refused command stores nothing");
    // A known account and period still list: the corrected account has its original, the
    // credit note and the reissue.
    let credit = json(&w, &["invoices", "show", "K-1", "--format", "json"]);
    let account = credit["account"].as_str().unwrap();
    let listed = w.ok(&[
        "invoices",
        "list",
        "--account",
        account,
        "--period",
        "2025-01",
    ]);
    assert_eq!(
        listed.lines().count(),
        4,
        "header and 3 documents: {listed}"
    );
}

#[test]
fn invoices_show_names_the_customer_the_metering_points_and_the_currency() {
    let w = billed_demo();
    let doc = json(&w, &["invoices", "show", "K-1", "--format", "json"]);
    let table = w.ok(&["invoices", "show", "K-1"]);
    let currency = doc["currency"].as_str().unwrap();
    assert!(
        table.starts_with(&format!(
            "Credit note K-1  period 2025-01  currency {currency}\n"
        )),
        "{table}"
    );
    let customer = doc["customer"].as_str().unwrap();
    assert!(
        table.contains(&format!(
            "  customer {customer}  account {}",
            doc["account"].as_str().unwrap()
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!("corrects {}", doc["corrects"].as_str().unwrap())),
        "{table}"
    );
    for line in doc["lines"].as_array().unwrap() {
        let heading = format!(
            "  contract {}  metering point {}\n",
            line["contract"].as_str().unwrap(),
            line["metering_point"].as_str().unwrap()
        );
        assert!(table.contains(&heading), "{heading} in {table}");
    }
    assert!(table.ends_with(&format!(" {currency}\n")), "{table}");
}

#[test]
fn tables_show_unit_prices_with_at_most_six_decimals_and_json_keeps_them_exact() {
    let w = billed_demo();
    for number in ["F-1", "F-2", "F-60", "K-1"] {
        let doc = json(&w, &["invoices", "show", number, "--format", "json"]);
        let table = w.ok(&["invoices", "show", number]);
        // A line row starts with its kind after 4 spaces; explanations are indented deeper.
        let priced: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     ") && l.contains(" × "))
            .collect();
        let lines = doc["lines"].as_array().unwrap();
        assert_eq!(priced.len(), lines.len(), "{table}");
        for (row, line) in priced.iter().zip(lines) {
            let shown = row
                .split(" × ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            let decimals = shown.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 6, "{row}");
            let exact = decimal(line, "unit_price");
            let rounded = exact
                .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .normalize();
            assert_eq!(shown, rounded.to_string(), "{row} against {exact}");
        }
    }
}

#[test]
fn closed_outputs_never_make_a_panic_and_keep_the_exit_code() {
    let w = Workdir::new();
    w.ok(&["demo", "--customers", "30", "--months", "1", "--no-bill"]);
    assert_eq!(
        with_closed_outputs(&w, &["invoices", "show", "999"]),
        Some(1),
        "a failure stays a failure, not a panic (101)"
    );
    assert_eq!(
        with_closed_outputs(&w, &["bill", "--period", "2025-01"]),
        Some(0)
    );
    assert_eq!(documents_in(&w), 29, "the run settled what it could");
}

#[test]
fn every_command_survives_a_closed_pipe_even_one_that_prints_with_println() {
    // `rate` prints with `println!`, which in this crate is the closed-pipe-safe one.
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let file = |path: &str| examples.join(path).display().to_string();
    let (tariff, load) = (
        file("products/no-elvia-grid-2025.toml"),
        file("loads/household-oslo-2025-01.csv"),
    );
    let args = [
        "rate",
        "--tariff",
        &tariff,
        "--load",
        &load,
        "--period",
        "2025-01",
        "--no-statutory",
    ];
    let w = Workdir::new();
    assert!(
        w.ok(&args).contains("Energiledd"),
        "the command itself works"
    );
    let out = with_closed_stdout(&w, &args);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned()
        ),
        (Some(0), String::new())
    );
}

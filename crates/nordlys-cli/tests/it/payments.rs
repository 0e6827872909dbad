//! `nordlys import payments`, `payments list` and `ledger show` on a billed demo utility: OCR
//! files made by the library the import reads them with, paying the demo's invoices by KID, in
//! part, too much, by an invoice number in the text, and not at all; the same file twice, the
//! same payment in another file, a broken file, and two imports at once.

use jiff::civil::Date;
use nordlys_payments::{OcrAssignment, OcrPayment, OcrTransactionType, OcrTransmission, write_ocr};
use serde_json::Value;

use crate::{BILLED_DEMO_60, Workdir, arg};

/// The day the demo's invoices were issued (today): payments come after.
fn issued(invoice: &Value) -> Date {
    invoice["issue_date"].as_str().unwrap().parse().unwrap()
}

/// A payment on `day` of `amount_minor` with `kid` (or the text), archive reference `archive`.
fn payment(
    day: Date,
    n: u32,
    amount_minor: i64,
    kid: Option<&str>,
    text: Option<&str>,
    archive: u64,
) -> OcrPayment {
    OcrPayment {
        transaction_type: if text.is_some() {
            OcrTransactionType::PurchaseWithText
        } else {
            OcrTransactionType::GiroDebitedAccount
        },
        transaction_number: n,
        settlement_date: day,
        centre_id: "13".into(),
        day_code: "10".into(),
        partial_settlement: "1".into(),
        serial_number: "00001".into(),
        amount_minor,
        kid: kid.map(str::to_owned),
        form_number: format!("{:010}", 9_000_000_000u64 + u64::from(n)),
        archive_reference: format!("{archive:09}"),
        bank_date: Some(day),
        debit_account: Some(format!("{:011}", 12_345_678_900u64 + u64::from(n))),
        free_text: text.map(str::to_owned),
        line: 0,
    }
}

fn ocr_file(
    w: &Workdir,
    name: &str,
    transmission: &str,
    payments: Vec<OcrPayment>,
) -> std::path::PathBuf {
    let day = payments[0].settlement_date;
    let file = write_ocr(&OcrTransmission {
        sender: "00008080".into(),
        transmission_number: transmission.into(),
        recipient: "00010200".into(),
        nets_date: day,
        assignments: vec![OcrAssignment {
            agreement_id: "001008566".into(),
            assignment_number: transmission.into(),
            payee_account: "15030100001".into(),
            nets_date: day,
            payments,
        }],
    })
    .unwrap();
    let path = w.path(name);
    std::fs::write(&path, file).unwrap();
    path
}

/// Øre of a decimal text ("1234.50").
fn ore(text: &Value) -> i64 {
    let d: rust_decimal::Decimal = text.as_str().unwrap().parse().unwrap();
    i64::try_from(d * rust_decimal::Decimal::from(100)).unwrap()
}

/// Every document as `invoices list --format json` gives it.
fn all_documents(w: &Workdir) -> Vec<Value> {
    serde_json::from_str(&w.ok(&["invoices", "list", "--limit", "500", "--format", "json"]))
        .unwrap()
}

/// Start `nordlys --db … ARGS` without waiting for it (to run two at once).
fn spawn(w: &Workdir, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .arg("--db")
        .arg(w.db())
        .args(args)
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn ledger(w: &Workdir, account: &str, as_of: &str) -> Value {
    serde_json::from_str(&w.ok(&[
        "ledger", "show", account, "--as-of", as_of, "--format", "json",
    ]))
    .unwrap()
}

fn item<'l>(ledger: &'l Value, number: &str) -> &'l Value {
    ledger["open_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == number)
        .unwrap_or_else(|| panic!("{number} in {ledger}"))
}

#[test]
fn payments_in_settle_invoices_by_kid_part_too_much_and_text_and_the_rest_waits() {
    let w = Workdir::new();
    w.ok(&BILLED_DEMO_60);
    let invoices = all_documents(&w);
    let mut invoices: Vec<&Value> = invoices
        .iter()
        // OCR giro is Norway's: payments in NOK.
        .filter(|d| d["kind"] == "invoice" && d["status"] == "open" && d["currency"] == "NOK")
        .collect();
    invoices.sort_by_key(|d| d["id"].as_i64());
    let day = issued(invoices[0]);
    // Before any payment every invoice is open or overdue, with all of it open.
    assert!(
        invoices.iter().all(|d| d["open_amount"] == d["total"]),
        "{invoices:?}"
    );
    let (full, part, over, text) = (invoices[0], invoices[1], invoices[2], invoices[3]);
    let total = |d: &Value| ore(&d["total"]);
    let kid = |d: &Value| d["kid"].as_str().unwrap().to_owned();
    let number = |d: &Value| d["number"].as_str().unwrap().to_owned();
    let file = ocr_file(
        &w,
        "ocr-1.txt",
        "0000001",
        vec![
            payment(day, 1, total(full), Some(&kid(full)), None, 100_001),
            payment(day, 2, total(part) / 2, Some(&kid(part)), None, 100_002),
            payment(
                day,
                3,
                total(over) + 10_000,
                Some(&kid(over)),
                None,
                100_003,
            ),
            payment(
                day,
                4,
                total(text),
                None,
                Some(&format!("Betaling {}", number(text))),
                100_004,
            ),
            // A valid MOD10 KID of no invoice: the worklist.
            payment(day, 5, 12_345, Some("99999999999999999995"), None, 100_005),
        ],
    );
    let out = w.ok(&["import", "payments", arg(&file)]);
    assert!(
        out.contains("5 payments (ocr)")
            && out.contains("3 matched by KID, 1 by reference, 1 unmatched"),
        "{out}"
    );
    let as_of = &day.to_string();
    let account = |d: &Value| d["account"].as_str().unwrap().to_owned();
    assert_eq!(
        item(&ledger(&w, &account(full), as_of), &number(full))["status"],
        "paid"
    );
    let partly = ledger(&w, &account(part), as_of);
    assert_eq!(
        ore(&item(&partly, &number(part))["open_amount"]),
        total(part) - total(part) / 2
    );
    let overpaid = ledger(&w, &account(over), as_of);
    assert_eq!(item(&overpaid, &number(over))["status"], "paid");
    assert_eq!(
        ore(&overpaid["credit"]),
        10_000,
        "the 100.00 too much is the account's credit"
    );
    assert_eq!(ore(&overpaid["balance"]), -10_000, "{overpaid}");
    let by_text = ledger(&w, &account(text), as_of);
    assert_eq!(item(&by_text, &number(text))["status"], "paid");
    assert!(
        by_text["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "payment"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("invoice number {} in the text", number(text)))),
        "the evidence of the match is kept: {by_text}"
    );
    let unmatched: Vec<Value> =
        serde_json::from_str(&w.ok(&["payments", "list", "--unmatched", "--format", "json"]))
            .unwrap();
    assert_eq!(unmatched.len(), 1, "{unmatched:?}");
    assert_eq!(unmatched[0]["reference"], "99999999999999999995");
    // invoices list gives the status and what is open.
    let listed = all_documents(&w);
    let status_of = |n: &str| listed.iter().find(|d| d["number"] == n).unwrap()["status"].clone();
    assert_eq!(status_of(&number(full)), "paid");
    assert_eq!(status_of(&number(part)), "partially_paid");
    let due: Date = part["due_date"].as_str().unwrap().parse().unwrap();
    let late = ledger(&w, &account(part), &due.tomorrow().unwrap().to_string());
    assert_eq!(
        item(&late, &number(part))["status"],
        "overdue",
        "half paid, after the due date"
    );

    // The same file again changes nothing.
    let again = w.ok(&["import", "payments", arg(&file)]);
    assert!(
        again.contains("imported before; nothing changed"),
        "{again}"
    );
    let all: Vec<Value> =
        serde_json::from_str(&w.ok(&["payments", "list", "--format", "json"])).unwrap();
    assert_eq!(all.len(), 5);
    // Another file with one payment of the first: refused whole, with the line.
    let twice = ocr_file(
        &w,
        "ocr-2.txt",
        "0000002",
        vec![
            payment(day, 1, 50_000, None, None, 200_001),
            payment(day, 2, total(full), Some(&kid(full)), None, 100_001),
        ],
    );
    let (_, error) = w.fails(&["import", "payments", arg(&twice)]);
    assert!(
        error.contains("ocr-2.txt:5:") && error.contains("000100001 was imported before"),
        "{error}"
    );
    // A file cut short: refused with where it ends.
    let whole = std::fs::read_to_string(&twice).unwrap();
    let cut = w.write("ocr-cut.txt", &whole[..whole.len() - 82]);
    let (_, error) = w.fails(&["import", "payments", arg(&cut)]);
    assert!(error.contains("ocr-cut.txt:"), "{error}");
    let after: Vec<Value> =
        serde_json::from_str(&w.ok(&["payments", "list", "--format", "json"])).unwrap();
    assert_eq!(after.len(), 5, "nothing of a refused file is stored");
}

#[test]
fn two_imports_at_once_never_settle_one_invoice_twice() {
    let w = Workdir::new();
    w.ok(&BILLED_DEMO_60);
    let invoices = all_documents(&w);
    let invoice = invoices
        .iter()
        .find(|d| d["kind"] == "invoice" && d["status"] == "open")
        .unwrap();
    let day = issued(invoice);
    let amount = ore(&invoice["total"]);
    let kid = invoice["kid"].as_str().unwrap();
    // Two banks' files, each paying the whole invoice.
    let files: Vec<_> = (0..2u64)
        .map(|i| {
            ocr_file(
                &w,
                &format!("ocr-{i}.txt"),
                &format!("{:07}", 10 + i),
                vec![payment(day, 1, amount, Some(kid), None, 300_000 + i)],
            )
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| spawn(&w, &["import", "payments", arg(f)]))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let account = invoice["account"].as_str().unwrap();
    let l = ledger(&w, account, &day.to_string());
    let it = item(&l, invoice["number"].as_str().unwrap());
    assert_eq!(ore(&it["paid"]), amount, "paid once: {l}");
    assert_eq!(it["status"], "paid");
    assert_eq!(
        ore(&l["credit"]),
        amount,
        "the second payment is the account's credit: {l}"
    );
}

fn dunning(w: &Workdir, args: &[&str]) -> Value {
    let mut all = vec!["dunning", "run", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&w.ok(&all)).unwrap()
}

#[test]
fn dunning_reminds_the_unpaid_never_the_paid_once_a_day_and_hands_over_at_the_end() {
    let w = Workdir::new();
    w.ok(&BILLED_DEMO_60);
    let invoices = all_documents(&w);
    let open: Vec<&Value> = invoices.iter().filter(|d| d["status"] == "open").collect();
    let nok: Vec<&Value> = open
        .iter()
        .copied()
        .filter(|d| d["currency"] == "NOK")
        .collect();
    let paid = nok[0];
    let due: Date = paid["due_date"].as_str().unwrap().parse().unwrap();
    let file = ocr_file(
        &w,
        "ocr.txt",
        "0000001",
        vec![payment(
            issued(paid),
            1,
            ore(&paid["total"]),
            paid["kid"].as_str(),
            None,
            500_001,
        )],
    );
    w.ok(&["import", "payments", arg(&file)]);
    let day = |n: i64| {
        due.checked_add(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };

    // 13 days after the due date: Danish reminders (10 days), no Norwegian one (14); a dry run
    // stores nothing.
    let dry = dunning(&w, &["--as-of", &day(13), "--dry-run"]);
    let danish = open.iter().filter(|d| d["currency"] == "DKK").count() as u64;
    assert_eq!(dry["reminders"], danish, "{dry}");
    assert_eq!(
        dunning(&w, &["--as-of", &day(13), "--dry-run"])["reminders"],
        danish
    );
    // 14 days after: every unpaid invoice is reminded, the paid one is not.
    let run = dunning(&w, &["--as-of", &day(14)]);
    assert_eq!(run["reminders"], (open.len() - 1) as u64, "{run}");
    let sent: Vec<&str> = run["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["number"].as_str().unwrap())
        .collect();
    assert!(
        !sent.contains(&paid["number"].as_str().unwrap()),
        "a paid invoice is never reminded"
    );
    // The same day again: nothing new.
    assert_eq!(dunning(&w, &["--as-of", &day(14)])["reminders"], 0);
    // The fee is the 2026 one-twentieth of the inkassosats, on the claim.
    let reminded = nok[1];
    let account = reminded["account"].as_str().unwrap();
    let l = ledger(&w, account, &day(14));
    let it = item(&l, reminded["number"].as_str().unwrap());
    assert_eq!(it["status"], "reminded", "{l}");
    assert_eq!(
        ore(&it["open_amount"]),
        ore(&reminded["total"]) + 3_800,
        "{l}"
    );
    assert!(
        l["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "fee"),
        "{l}"
    );

    // Two runs at once after the reminders' deadline: each notice is sent once.
    let notice_day = day(14 + 16);
    let children: Vec<_> = (0..2)
        .map(|_| {
            spawn(
                &w,
                &["dunning", "run", "--format", "json", "--as-of", &notice_day],
            )
        })
        .collect();
    let mut notices = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        notices += report["collection_notices"].as_u64().unwrap();
    }
    let norwegian_unpaid = (nok.len() - 1) as u64;
    assert_eq!(
        notices, norwegian_unpaid,
        "each Norwegian invoice's notice once, whichever run sent it"
    );
    let l = ledger(&w, account, &notice_day);
    assert_eq!(
        ore(&item(&l, reminded["number"].as_str().unwrap())["fees"]),
        7_600,
        "two fees, once each: {l}"
    );
    // After the notice's deadline the claim goes to collection, with the export for the agency.
    let export = w.path("handover.csv");
    let handover = dunning(
        &w,
        &[
            "--as-of",
            &day(14 + 16 + 16),
            "--handover-out",
            arg(&export),
        ],
    );
    assert!(
        handover["handovers"].as_u64().unwrap() >= norwegian_unpaid,
        "{handover}"
    );
    let csv = std::fs::read_to_string(&export).unwrap();
    assert!(csv.starts_with("invoice,account,payer_kind,issue_date,due_date,currency,principal,fees,interest,paid,credited,open,steps"), "{csv}");
    assert!(csv.contains(reminded["number"].as_str().unwrap()), "{csv}");
    let l = ledger(&w, account, &day(14 + 16 + 16));
    assert_eq!(
        item(&l, reminded["number"].as_str().unwrap())["status"],
        "in_collection"
    );
    // The KPIs as of that day: one invoice of those due paid by its due date, the Norwegian
    // unpaid ones with the collection agency.
    let kpis: Value = serde_json::from_str(&w.ok(&[
        "receivables",
        "kpis",
        "--as-of",
        &day(14 + 16 + 16),
        "--format",
        "json",
    ]))
    .unwrap();
    let all = &kpis["groups"][0];
    assert_eq!(all["group"], "all");
    let due = all["invoices_due"].as_u64().unwrap();
    assert!(due >= open.len() as u64, "{all}");
    // The paid one and the demo's corrected F-12 (credited in full when its correction came).
    let percent = |field: &str| -> f64 { all[field].as_str().unwrap().parse().unwrap() };
    assert!(
        (percent("paid_by_due_date_percent") - 200.0 / due as f64).abs() < 0.1,
        "{all}"
    );
    let dso = percent("dso_countback_days");
    assert!(
        dso > 30.0 && dso < 62.0,
        "a month's sales, almost all open, for 61 days: {all}"
    );
    let collected = percent("sent_to_collection_percent");
    assert!(
        collected >= 100.0 * norwegian_unpaid as f64 / due as f64 - 0.1,
        "{all}"
    );
    assert!(ore(&all["ageing"]["days_31_60"]) > 0, "{all}");
    assert_eq!(kpis["month_ends"].as_array().unwrap().len(), 12);
}

#[test]
fn a_camt_notification_pays_by_kid_and_a_foreign_currency_refuses_it_whole() {
    let w = Workdir::new();
    w.ok(&BILLED_DEMO_60);
    let camt = include_str!("../../../nordlys-payments/tests/fixtures/camt054_v02_no.xml");
    let f1 = all_documents(&w)
        .into_iter()
        .find(|d| d["number"] == "F-1")
        .unwrap();
    assert_eq!(
        f1["kid"], "0000000018",
        "the fixture pays the demo's F-1 by its KID"
    );
    // A currency no account is kept in refuses the whole file, with where.
    let foreign = w.write(
        "camt-sek.xml",
        &camt.replace("Ccy=\"NOK\">556.00", "Ccy=\"SEK\">556.00"),
    );
    let (_, error) = w.fails(&["import", "payments", arg(&foreign)]);
    assert!(
        error.contains("camt-sek.xml:") && error.contains("SEK"),
        "{error}"
    );
    assert_eq!(
        all_payments(&w).len(),
        0,
        "nothing of a refused file is stored"
    );
    let file = w.write("camt054.xml", camt);
    let out = w.ok(&["import", "payments", arg(&file)]);
    assert!(
        out.contains("(camt)") && out.contains("1 matched by KID"),
        "{out}"
    );
    let l = ledger(
        &w,
        f1["account"].as_str().unwrap(),
        f1["issue_date"].as_str().unwrap(),
    );
    let it = item(&l, "F-1");
    assert_eq!(ore(&it["paid"]), 55_600, "{l}");
    assert_eq!(it["status"], "partially_paid");
    let unmatched: Vec<Value> =
        serde_json::from_str(&w.ok(&["payments", "list", "--unmatched", "--format", "json"]))
            .unwrap();
    assert_eq!(
        unmatched.len(),
        all_payments(&w).len() - 1,
        "the payments to no invoice wait in the worklist: {unmatched:?}"
    );
}

fn all_payments(w: &Workdir) -> Vec<Value> {
    serde_json::from_str(&w.ok(&["payments", "list", "--format", "json"])).unwrap()
}

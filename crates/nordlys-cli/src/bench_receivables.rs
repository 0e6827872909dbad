//! `nordlys bench receivables`: on a billed run (`--db`, a copy of the `settle.db` that `bench
//! settle --keep --dir D` leaves — the bench writes to it), a dunning run over every open
//! invoice, then one OCR giro file paying them as customers pay (most in full by KID, some in
//! part, some by the invoice number in the text, a few to no invoice) imported and matched.

use std::time::Instant;

use anyhow::{Result, bail};
use jiff::ToSpan;
use nordlys_app::SystemClock;
use nordlys_app::receivables::dunning::run_dunning;
use nordlys_app::receivables::import::import_payment_file;
use nordlys_app::receivables::ledger::ledgers;
use nordlys_core::quantity::Currency;
use nordlys_dunning::{DunningTables, StepKind};
use nordlys_payments::{OcrAssignment, OcrPayment, OcrTransactionType, OcrTransmission, write_ocr};

/// OCR giro assignments hold at most this many payments here (as a bank splits a day's file).
const PAYMENTS_PER_ASSIGNMENT: usize = 10_000;

pub async fn run(db: &str) -> Result<()> {
    let store = crate::open(db).await?;
    println!("machine: {}", crate::bench::machine());
    let started = Instant::now();
    let basis = store.receivables_basis().await?;
    let read_s = started.elapsed().as_secs_f64();
    let Some(due) = basis.documents.iter().filter_map(|d| d.due_date).max() else {
        bail!("{db} holds no invoice: bill a run first (nordlys bench settle --keep --dir D)");
    };
    let started = Instant::now();
    let open: Vec<_> = ledgers(&basis, due)
        .into_values()
        .flat_map(|l| l.items)
        .filter(|i| i.open_minor > 0)
        .collect();
    println!(
        "the ledger's basis read in {read_s:.2} s; every account's ledger computed in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "input: {} documents, {} open invoices, due by {due}",
        basis.documents.len(),
        open.len()
    );

    // Dunning: 14 days after the last due date every open invoice is due a reminder.
    let as_of = due.checked_add(14.days())?;
    let tables = DunningTables::default();
    let started = Instant::now();
    let dry = run_dunning(&store, &tables, as_of, true, &SystemClock).await?;
    let dry_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let real = run_dunning(&store, &tables, as_of, false, &SystemClock).await?;
    let real_s = started.elapsed().as_secs_f64();
    println!(
        "dunning as of {as_of}: {} open invoices evaluated; dry run {dry_s:.2} s; the run {real_s:.2} s ({} reminders recorded, fees {}); {:.0} invoices/s",
        dry.evaluated,
        real.count(StepKind::Reminder),
        rust_decimal::Decimal::new(real.fees_minor(), 2),
        real.evaluated as f64 / real_s
    );
    let again = run_dunning(&store, &tables, as_of, false, &SystemClock).await?;
    println!("dunning again the same day: {} new steps", again.sent.len());

    // Payments for the Norwegian invoices (OCR giro is Norway's).
    let day = due.checked_add(2.days())?;
    let mut payments = Vec::new();
    for (n, item) in open
        .iter()
        .filter(|i| i.currency == Currency::Nok)
        .enumerate()
    {
        let (amount, kid, text) = match n % 100 {
            // A few pay to no invoice (a mistyped KID): the worklist.
            0 | 1 => (
                item.open_minor,
                Some("00000000000000000000".to_owned()),
                None,
            ),
            // Some pay by the invoice number in the text.
            2..=4 => (
                item.open_minor,
                None,
                Some(format!("Faktura {}", item.number)),
            ),
            // Some pay half.
            5..=9 => (item.open_minor / 2, item.kid.clone(), None),
            _ => (item.open_minor, item.kid.clone(), None),
        };
        payments.push(OcrPayment {
            transaction_type: if text.is_some() {
                OcrTransactionType::PurchaseWithText
            } else {
                OcrTransactionType::GiroDebitedAccount
            },
            transaction_number: (n % PAYMENTS_PER_ASSIGNMENT) as u32 + 1,
            settlement_date: day,
            centre_id: "13".into(),
            day_code: format!("{:02}", day.day()),
            partial_settlement: "1".into(),
            serial_number: format!("{:05}", n / 1000),
            amount_minor: amount.max(1),
            kid,
            form_number: format!("{:010}", 9_000_000_000u64 + n as u64),
            archive_reference: format!("{:09}", 100_000_000 + n),
            bank_date: Some(day),
            debit_account: Some(format!("{:011}", 12_000_000_000u64 + n as u64)),
            free_text: text,
            line: 0,
        });
    }
    let count = payments.len();
    let assignments = payments
        .chunks(PAYMENTS_PER_ASSIGNMENT)
        .enumerate()
        .map(|(a, chunk)| OcrAssignment {
            agreement_id: "001008566".into(),
            assignment_number: format!("{:07}", a + 1),
            payee_account: "15030100001".into(),
            nets_date: day,
            payments: chunk.to_vec(),
        })
        .collect();
    let file = write_ocr(&OcrTransmission {
        sender: "00008080".into(),
        transmission_number: "0000001".into(),
        recipient: "00010200".into(),
        nets_date: day,
        assignments,
    })?;
    let started = Instant::now();
    let report = import_payment_file(&store, "bench-ocr.txt", &file, &SystemClock).await?;
    let import_s = started.elapsed().as_secs_f64();
    println!(
        "payment import: {count} payments ({:.1} MB OCR giro) parsed, checked, matched and stored in {import_s:.2} s = {:.0} payments/s; {} by KID, {} by reference, {} unmatched",
        file.len() as f64 / 1e6,
        count as f64 / import_s,
        report.matched_by_kid,
        report.matched_by_reference,
        report.unmatched
    );
    let started = Instant::now();
    let again = import_payment_file(&store, "bench-ocr.txt", &file, &SystemClock).await?;
    println!(
        "the same file again: imported before = {} ({:.2} s)",
        again.already_imported,
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}

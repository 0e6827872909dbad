//! OCR giro parsing throughput: a file of 100,000 payments written by `write_ocr` (KIDs with
//! MOD10 check digits, one assignment per 10,000 payments, every fifth payment of type 21
//! with free text), parsed whole, totals checked.
//!
//! Run: `cargo bench -p nordlys-payments`. Besides divan's timings, `throughput` prints
//! payments/s for one thread with the machine's core count and the file's size.

use std::hint::black_box;
use std::time::Instant;

use jiff::civil::{Date, date};
use nordlys_core::kid::{KidAlgorithm, kid_for_document_number};
use nordlys_payments::{
    OcrAssignment, OcrPayment, OcrTransactionType, OcrTransmission, parse_ocr, write_ocr,
};

const PAYMENTS: usize = 100_000;
const PAYMENTS_PER_ASSIGNMENT: usize = 10_000;

fn main() {
    throughput();
    divan::main();
}

fn transmission() -> OcrTransmission {
    let first_day = date(2026, 1, 2);
    let assignments = (0..PAYMENTS / PAYMENTS_PER_ASSIGNMENT)
        .map(|a| {
            let payments = (0..PAYMENTS_PER_ASSIGNMENT)
                .map(|i| payment(a * PAYMENTS_PER_ASSIGNMENT + i, first_day))
                .collect();
            OcrAssignment {
                agreement_id: format!("{:09}", 1_008_566 + a),
                assignment_number: format!("{:07}", a + 1),
                payee_account: "99991042764".into(),
                nets_date: first_day,
                payments,
            }
        })
        .collect();
    OcrTransmission {
        sender: "00008080".into(),
        transmission_number: "0170031".into(),
        recipient: "00010200".into(),
        nets_date: first_day,
        assignments,
    }
}

fn payment(n: usize, day: Date) -> OcrPayment {
    let free_text = n.is_multiple_of(5);
    OcrPayment {
        transaction_type: if free_text {
            OcrTransactionType::PurchaseWithText
        } else {
            OcrTransactionType::GiroDebitedAccount
        },
        transaction_number: n as u32 + 1,
        settlement_date: day,
        centre_id: "13".into(),
        day_code: "02".into(),
        partial_settlement: "1".into(),
        serial_number: format!("{:05}", n / 1000),
        amount_minor: 10_000 + (n as i64 * 7919) % 500_000,
        kid: Some(
            kid_for_document_number(n as i64 + 1, KidAlgorithm::Mod10)
                .unwrap()
                .to_string(),
        ),
        form_number: format!("{:010}", 9_797_596_016u64 + n as u64),
        archive_reference: format!("{:09}", 97_596_016 + n),
        bank_date: Some(day),
        debit_account: Some(format!("{:011}", 99_991_005_524u64 + n as u64)),
        free_text: free_text.then(|| format!("Straum januar, kunde {n}")),
        line: 0,
    }
}

fn throughput() {
    let file = write_ocr(&transmission()).unwrap();
    parse_ocr(&file).unwrap();
    let rounds = 10;
    let started = Instant::now();
    for _ in 0..rounds {
        black_box(parse_ocr(black_box(&file)).unwrap());
    }
    let seconds = started.elapsed().as_secs_f64() / f64::from(rounds);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "parse_ocr: {PAYMENTS} payments ({:.1} MB) in {:.1} ms = {:.0} payments/s on one thread ({cores} cores available)",
        file.len() as f64 / 1e6,
        seconds * 1e3,
        PAYMENTS as f64 / seconds
    );
}

#[divan::bench(sample_count = 10)]
fn parse_100_000_payments(bencher: divan::Bencher) {
    let file = write_ocr(&transmission()).unwrap();
    bencher.bench(|| parse_ocr(black_box(&file)).unwrap());
}

#[divan::bench(sample_count = 10)]
fn write_100_000_payments(bencher: divan::Bencher) {
    let transmission = transmission();
    bencher.bench(|| write_ocr(black_box(&transmission)).unwrap());
}

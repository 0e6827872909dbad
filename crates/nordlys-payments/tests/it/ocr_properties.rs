//! OCR giro laws: any transmission the writer accepts parses back to itself, and no input —
//! random, garbled or truncated — makes the parser panic.

use jiff::civil::Date;
use nordlys_payments::{
    OcrAssignment, OcrPayment, OcrTransactionType, OcrTransmission, parse_ocr, write_ocr,
};
use proptest::prelude::*;

fn digits(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, len)
        .prop_map(|d| d.into_iter().map(|d| char::from(b'0' + d)).collect())
}

fn ocr_date() -> impl Strategy<Value = Date> {
    (1969i16..=2068, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn latin1_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0xa0u8..=0xff], 1..=max).prop_map(|bytes| {
        let text: String = bytes.into_iter().map(char::from).collect();
        text.trim_end_matches(' ').to_string()
    })
}

fn payment() -> impl Strategy<Value = OcrPayment> {
    (
        (
            proptest::sample::select(OcrTransactionType::ALL.to_vec()),
            0u32..=9_999_999,
            ocr_date(),
        ),
        (digits(2), digits(2), digits(1), digits(5)),
        (
            -99_999_999_999_999i64..=99_999_999_999_999,
            proptest::option::of((1usize..=25).prop_flat_map(digits)),
        ),
        (
            digits(10),
            latin1_text(9).prop_map(|t| format!("{t:<9}")),
            proptest::option::of(ocr_date()),
        ),
        (
            proptest::option::of(digits(11)),
            proptest::option::of(latin1_text(40)),
        ),
    )
        .prop_map(
            |(
                (transaction_type, transaction_number, settlement_date),
                (centre_id, day_code, partial_settlement, serial_number),
                (amount_minor, kid),
                (form_number, archive_reference, bank_date),
                (debit_account, free_text),
            )| OcrPayment {
                transaction_type,
                transaction_number,
                settlement_date,
                centre_id,
                day_code,
                partial_settlement,
                serial_number,
                amount_minor,
                kid,
                form_number,
                archive_reference,
                bank_date,
                debit_account: debit_account.filter(|a| a.bytes().any(|b| b != b'0')),
                free_text: free_text.filter(|t| !t.is_empty() && transaction_type.has_free_text()),
                line: 0,
            },
        )
}

fn transmission() -> impl Strategy<Value = OcrTransmission> {
    let assignment = (
        digits(9),
        digits(7),
        digits(11),
        ocr_date(),
        proptest::collection::vec(payment(), 1..6),
    )
        .prop_map(
            |(agreement_id, assignment_number, payee_account, nets_date, payments)| OcrAssignment {
                agreement_id,
                assignment_number,
                payee_account,
                nets_date,
                payments,
            },
        );
    (
        digits(8),
        digits(7),
        digits(8),
        ocr_date(),
        proptest::collection::vec(assignment, 1..4),
    )
        .prop_map(
            |(sender, transmission_number, recipient, nets_date, assignments)| OcrTransmission {
                sender,
                transmission_number,
                recipient,
                nets_date,
                assignments,
            },
        )
}

/// The lines the file gives the payments: 10 and 20 first, two or three records a payment,
/// 88 then 20 between assignments.
fn with_file_lines(mut transmission: OcrTransmission) -> OcrTransmission {
    let mut line = 2;
    for assignment in &mut transmission.assignments {
        line += 1;
        for payment in &mut assignment.payments {
            payment.line = line;
            line += if payment.transaction_type.has_free_text() {
                3
            } else {
                2
            };
        }
        line += 1;
    }
    transmission
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn writer_then_parser_round_trips(transmission in transmission()) {
        let written = write_ocr(&transmission).unwrap();
        let parsed = parse_ocr(&written).unwrap();
        prop_assert_eq!(&parsed, &with_file_lines(transmission));
        prop_assert_eq!(write_ocr(&parsed).unwrap(), written);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_ocr(&bytes);
    }

    #[test]
    fn garbled_or_truncated_files_are_rejected_not_panicked_on(
        transmission in transmission(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let written = write_ocr(&transmission).unwrap();
        let truncated = &written[..cut.index(written.len())];
        // A cut that leaves the last line break or less is still the whole file.
        if truncated.len() + 2 < written.len() {
            prop_assert!(parse_ocr(truncated).is_err());
        }
        let mut garbled = written.clone();
        for (at, byte) in &flips {
            let at = at.index(garbled.len());
            garbled[at] = *byte;
        }
        // Any result is fine (a flip may land in a field nothing checks); a panic is not.
        if let Ok(parsed) = parse_ocr(&garbled) {
            prop_assert_eq!(parsed.assignments.len(), transmission.assignments.len());
        }
    }
}

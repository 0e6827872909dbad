//! The common payment record: what each fixture becomes, which entries are skipped and why,
//! the bank reference (the dedupe key) with its fallbacks, references classified and checked,
//! and duplicate bank references within a file.

use jiff::civil::date;
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::quantity::Currency;
use nordlys_payments::camt::CreditorReference;
use nordlys_payments::{
    IncomingPayment, OcrTransactionType, PaymentReference, PaymentSource, ReferenceScheme,
    SkipReason, check_kid, classify_creditor_reference, duplicate_bank_references, parse_camt,
    parse_ocr, write_ocr,
};

use crate::camt::{DANISH_054_V08, NORDIC, NORWEGIAN_053_V02, NORWEGIAN_054_V02, line_of};

fn summary(p: &IncomingPayment) -> (&str, i64, &PaymentReference) {
    (p.bank_reference.as_str(), p.amount_minor, &p.reference)
}

#[test]
fn the_norwegian_notification_gives_four_payments_and_three_skipped_entries() {
    let result = parse_camt(NORWEGIAN_054_V02.as_bytes(), NORDIC)
        .unwrap()
        .incoming_payments();
    let summaries: Vec<_> = result.payments.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            (
                "2026120100017",
                102_000,
                &PaymentReference::Kid("0036633".into())
            ),
            // No transaction reference, the second of the entry's two.
            (
                "7001234567/2",
                55_600,
                &PaymentReference::Kid("0000000018".into())
            ),
            // No transaction reference, the entry's only transaction.
            ("7001234568", 85_000, &PaymentReference::None),
            (
                "2026120100022",
                250_000,
                &PaymentReference::Rf(
                    nordlys_payments::RfCreditorReference::parse("RF18539007547034").unwrap()
                )
            ),
        ]
    );
    let kari = &result.payments[0];
    assert_eq!(kari.source, PaymentSource::Camt);
    assert_eq!(kari.booking_date, date(2026, 12, 1));
    assert_eq!(kari.currency, Currency::Nok);
    assert_eq!(kari.payer_name.as_deref(), Some("Kari Nordmann"));
    assert_eq!(kari.payer_account.as_deref(), Some("99991005524"));
    assert_eq!(kari.payee_account, "99991042764");
    assert_eq!(kari.line, line_of(NORWEGIAN_054_V02, "<TxDtls>", 1));
    assert_eq!(
        result.payments[2].free_text.as_deref(),
        Some("Faktura 2026-1044 strøm november")
    );
    let skipped: Vec<_> = result
        .skipped
        .iter()
        .map(|s| {
            (
                s.entry_reference.as_deref(),
                s.amount_minor,
                s.reason.clone(),
                s.line,
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                Some("4"),
                9_900,
                SkipReason::Debit,
                line_of(NORWEGIAN_054_V02, "<Ntry>", 4)
            ),
            (
                Some("5"),
                30_000,
                SkipReason::NotBooked("PDNG".into()),
                line_of(NORWEGIAN_054_V02, "<Ntry>", 5)
            ),
            (
                Some("6"),
                12_000,
                SkipReason::Reversal,
                line_of(NORWEGIAN_054_V02, "<Ntry>", 6)
            ),
        ]
    );
    // The KIDs are valid in their series and not in the other.
    assert_eq!(
        check_kid("0036633", &[KidAlgorithm::Mod11]).unwrap().1,
        KidAlgorithm::Mod11
    );
    assert_eq!(
        check_kid("0000000018", &[KidAlgorithm::Mod11, KidAlgorithm::Mod10])
            .unwrap()
            .1,
        KidAlgorithm::Mod10
    );
    assert_eq!(
        result.payments[0]
            .reference
            .clone()
            .checked(&[KidAlgorithm::Mod10]),
        PaymentReference::Invalid {
            scheme: ReferenceScheme::Kid,
            value: "0036633".into(),
            rule: "the Mod10 check character should be 2".into()
        }
    );
}

#[test]
fn danish_fik_71_ids_in_any_written_form_and_a_wrong_check_digit() {
    let result = parse_camt(DANISH_054_V08.as_bytes(), NORDIC)
        .unwrap()
        .incoming_payments();
    assert!(result.skipped.is_empty());
    let fik =
        |id: &str| PaymentReference::Fik71(nordlys_core::fik::Fik71PaymentId::parse(id).unwrap());
    let summaries: Vec<_> = result.payments.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            ("DK-2026-000991-01", 50_000, &fik("026840149965328")),
            ("DK-2026-000991-02", 24_550, &fik("004040400000669")),
            (
                "DK-2026-000992",
                120_000,
                &PaymentReference::Rf(
                    nordlys_payments::RfCreditorReference::parse("RF712348231").unwrap()
                )
            ),
            // Neither the transaction nor the entry has a bank reference: the report id and the
            // entry's position.
            (
                "DK-NTF-0001/3/1",
                10_000,
                &PaymentReference::Invalid {
                    scheme: ReferenceScheme::Fik71,
                    value: "026840149965327".into(),
                    rule: "the modulus-10 check digit should be 8".into()
                }
            ),
        ]
    );
    assert!(
        result
            .payments
            .iter()
            .all(|p| p.currency == Currency::Dkk && p.payee_account == "DK5000400440116243")
    );
}

#[test]
fn a_statement_lump_sum_without_details_is_one_payment() {
    let result = parse_camt(NORWEGIAN_053_V02.as_bytes(), NORDIC)
        .unwrap()
        .incoming_payments();
    let [lump] = result.payments.as_slice() else {
        panic!("one payment: {:?}", result.payments)
    };
    assert_eq!(
        summary(lump),
        ("STM-7001234567", 492_600, &PaymentReference::None)
    );
    assert_eq!(lump.line, line_of(NORWEGIAN_053_V02, "<Ntry>", 1));
    assert_eq!(result.skipped[0].reason, SkipReason::Debit);
}

#[test]
fn creditor_references_are_classified_by_scheme() {
    let reference = |code: Option<&str>,
                     proprietary: Option<&str>,
                     issuer: Option<&str>,
                     value: &str| CreditorReference {
        code: code.map(str::to_owned),
        proprietary: proprietary.map(str::to_owned),
        issuer: issuer.map(str::to_owned),
        reference: value.to_owned(),
    };
    let scor = |value: &str| reference(Some("SCOR"), None, None, value);
    let nok = Some(Currency::Nok);
    assert!(matches!(
        classify_creditor_reference(&scor("+71<026840149965328<"), nok),
        PaymentReference::Fik71(_)
    ));
    assert!(matches!(
        classify_creditor_reference(&scor("+71 026840149965328"), nok),
        PaymentReference::Fik71(_)
    ));
    // 15 digits on a Norwegian account are a KID; on a Danish one a +71 id.
    assert_eq!(
        classify_creditor_reference(&scor("026840149965328"), nok),
        PaymentReference::Kid("026840149965328".into())
    );
    assert!(matches!(
        classify_creditor_reference(&scor("026840149965328"), Some(Currency::Dkk)),
        PaymentReference::Fik71(_)
    ));
    assert_eq!(
        classify_creditor_reference(&scor("12345-"), nok),
        PaymentReference::Kid("12345-".into()),
        "a MOD11 KID may end in -"
    );
    assert_eq!(
        classify_creditor_reference(&scor("INV-2026-1044"), nok),
        PaymentReference::Other("INV-2026-1044".into())
    );
    assert!(matches!(
        classify_creditor_reference(
            &reference(Some("SCOR"), None, Some("ISO"), "RF18539007547035"),
            nok
        ),
        PaymentReference::Invalid {
            scheme: ReferenceScheme::Rf,
            ..
        }
    ));
    assert!(matches!(
        classify_creditor_reference(&scor("rf18 5390 0754 7034"), nok),
        PaymentReference::Rf(_)
    ));
    let err = check_kid("0036633", &[]).unwrap_err();
    assert_eq!(err.rule, "no KID scheme is accepted for this account");
}

fn sample_transmission() -> nordlys_payments::OcrTransmission {
    let lines = [
        "NY000010000080800170031000102000000000000000000000000000000000000000000000000000",
        "NY090020001008566000000299991042764000000000000000000000000000000000000000000000",
        "NY09103000000022001921320101464000000000000102000                  0036633000000",
        "NY091031000000297975960160975960161883206160192999910055240000000000000000000000",
        "NY090088000000010000000400000000000102000200192200192200192000000000000000000000",
        "NY000089000000010000000600000000000102000200192000000000000000000000000000000000",
    ];
    parse_ocr((lines.join("\n") + "\n").as_bytes()).unwrap()
}

#[test]
fn ocr_payments_map_into_the_common_record() {
    let transmission = sample_transmission();
    let [payment] = transmission.incoming_payments().try_into().unwrap();
    assert_eq!(
        payment,
        IncomingPayment {
            source: PaymentSource::Ocr,
            bank_reference: "097596016".into(),
            booking_date: date(1992, 1, 20),
            amount_minor: 102_000,
            currency: Currency::Nok,
            reference: PaymentReference::Kid("0036633".into()),
            payer_name: None,
            payer_account: Some("99991005524".into()),
            free_text: None,
            payee_account: "99991042764".into(),
            reversal: false,
            line: 3,
        }
    );
    // A reversal takes the money back; type 12's field 26-34 is the payer's agreement id, so
    // its key adds the date and the transaction number.
    let mut reversed = transmission.clone();
    reversed.assignments[0].payments[0].transaction_type = OcrTransactionType::ReversalWithKid;
    let [reversal] = reversed.incoming_payments().try_into().unwrap();
    assert_eq!((reversal.amount_minor, reversal.reversal), (-102_000, true));
    let mut direct = transmission;
    direct.assignments[0].payments[0].transaction_type = OcrTransactionType::DirectRemittance;
    assert_eq!(
        direct.incoming_payments()[0].bank_reference,
        "097596016/1992-01-20/2"
    );
}

#[test]
fn the_same_payment_twice_in_a_file_is_flagged_with_both_lines() {
    let mut transmission = sample_transmission();
    let again = transmission.assignments[0].payments[0].clone();
    transmission.assignments[0].payments.push(again);
    let reparsed = parse_ocr(&write_ocr(&transmission).unwrap()).unwrap();
    let duplicates = duplicate_bank_references(&reparsed.incoming_payments());
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0].bank_reference, "097596016");
    assert_eq!(duplicates[0].lines, [3, 5]);

    let camt = parse_camt(NORWEGIAN_054_V02.as_bytes(), NORDIC)
        .unwrap()
        .incoming_payments();
    assert!(duplicate_bank_references(&camt.payments).is_empty());
    let twice = NORWEGIAN_054_V02.replacen(
        "<AcctSvcrRef>2026120100022</AcctSvcrRef>",
        "<AcctSvcrRef>2026120100017</AcctSvcrRef>",
        1,
    );
    let camt = parse_camt(twice.as_bytes(), NORDIC)
        .unwrap()
        .incoming_payments();
    let duplicates = duplicate_bank_references(&camt.payments);
    assert_eq!(duplicates.len(), 1);
    assert_eq!(
        duplicates[0].lines,
        [
            line_of(&twice, "<TxDtls>", 1),
            line_of(&twice, "<TxDtls>", 4)
        ]
    );
}

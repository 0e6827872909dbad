//! OCR giro: the public sample of PAYMENTS.md §1, hostile variants of it, the century rule,
//! and the writer (byte layout, refusals, round trip).

use jiff::civil::date;
use nordlys_payments::ocr::century_year;
use nordlys_payments::{OcrError, OcrTransactionType, parse_ocr, write_ocr};

/// The sample of PAYMENTS.md §1 exactly as published: an excerpt of a 20-transaction file, so
/// its end records still count 20 transactions, 43 and 45 records and NOK 51 449,00.
const SAMPLE_EXCERPT: [&str; 6] = [
    "NY000010000080800170031000102000000000000000000000000000000000000000000000000000",
    "NY090020001008566000000299991042764000000000000000000000000000000000000000000000",
    "NY09103000000022001921320101464000000000000102000                  0036633000000",
    "NY091031000000297975960160975960161883206160192999910055240000000000000000000000",
    "NY090088000000200000004300000000005144900200192200192200192000000000000000000000",
    "NY000089000000200000004500000000005144900200192000000000000000000000000000000000",
];

/// The end of assignment (88) and of transmission (89) of a one-assignment file dated
/// 20.01.92 with one transaction of 102 000 øre in `assignment_records` records.
fn end_records(assignment_records: u64) -> [String; 2] {
    let (transactions, sum) = (1, 102_000);
    [
        format!(
            "NY090088{transactions:08}{assignment_records:08}{sum:017}200192200192200192{}",
            "0".repeat(21)
        ),
        format!(
            "NY000089{transactions:08}{:08}{sum:017}200192{}",
            assignment_records + 2,
            "0".repeat(33)
        ),
    ]
}

/// The excerpt with its end records counting what it holds: 1 transaction, 4 records in the
/// assignment (20, 30, 31, 88), 6 in the transmission, 102 000 øre.
fn sample_lines() -> Vec<String> {
    let mut lines: Vec<String> = SAMPLE_EXCERPT.iter().map(|l| l.to_string()).collect();
    lines.splice(4.., end_records(4));
    lines
}

fn file(lines: &[String], newline: &str) -> Vec<u8> {
    let mut text = lines.join(newline);
    text.push_str(newline);
    text.into_bytes()
}

fn rejected(lines: &[String]) -> OcrError {
    parse_ocr(&file(lines, "\n")).expect_err("the file must be rejected")
}

#[test]
fn the_published_excerpt_is_rejected_because_its_totals_are_those_of_the_whole_file() {
    let lines: Vec<String> = SAMPLE_EXCERPT.iter().map(|l| l.to_string()).collect();
    let err = rejected(&lines);
    assert_eq!(err.line, 5);
    assert_eq!(err.field, "number of transactions");
    assert_eq!(err.positions, Some((9, 16)));
    assert_eq!(err.value, "00000020");
    assert_eq!(err.rule, "the assignment has 1 transactions");
    assert!(
        err.to_string()
            .starts_with("line 5: number of transactions (positions 9-16) \"00000020\"")
    );
}

#[test]
fn the_sample_gives_the_amounts_dates_and_kids_it_states() {
    let transmission = parse_ocr(&file(&sample_lines(), "\r\n")).unwrap();
    assert_eq!(transmission.sender, "00008080");
    assert_eq!(transmission.transmission_number, "0170031");
    assert_eq!(transmission.recipient, "00010200");
    assert_eq!(transmission.nets_date, date(1992, 1, 20));
    assert_eq!(transmission.assignments.len(), 1);
    let assignment = &transmission.assignments[0];
    assert_eq!(assignment.agreement_id, "001008566");
    assert_eq!(assignment.assignment_number, "0000002");
    assert_eq!(assignment.payee_account, "99991042764");
    assert_eq!(assignment.nets_date, date(1992, 1, 20));
    let [payment] = assignment.payments.as_slice() else {
        panic!("one payment expected: {:?}", assignment.payments)
    };
    assert_eq!(
        payment.transaction_type,
        OcrTransactionType::GiroDebitedAccount
    );
    assert_eq!(payment.transaction_type.code(), 10);
    assert_eq!(payment.transaction_number, 2);
    assert_eq!(payment.settlement_date, date(1992, 1, 20));
    assert_eq!(
        (
            payment.centre_id.as_str(),
            payment.day_code.as_str(),
            payment.partial_settlement.as_str(),
            payment.serial_number.as_str()
        ),
        ("13", "20", "1", "01464")
    );
    assert_eq!(payment.amount_minor, 102_000, "NOK 1 020,00");
    assert_eq!(payment.kid.as_deref(), Some("0036633"));
    assert_eq!(payment.form_number, "9797596016");
    assert_eq!(payment.archive_reference, "097596016");
    assert_eq!(payment.bank_date, Some(date(1992, 1, 16)));
    assert_eq!(payment.debit_account.as_deref(), Some("99991005524"));
    assert_eq!(payment.free_text, None);
    assert_eq!(payment.line, 3);
    // LF and CR LF give the same transmission.
    assert_eq!(
        parse_ocr(&file(&sample_lines(), "\n")).unwrap(),
        transmission
    );
}

#[test]
fn the_writer_reproduces_the_sample_byte_for_byte_but_the_unread_filler() {
    let transmission = parse_ocr(&file(&sample_lines(), "\r\n")).unwrap();
    let mut expected = sample_lines();
    // Item 2 positions 35-41 carry data in the bank's file; nothing reads them, we write zeros.
    expected[3].replace_range(34..41, "0000000");
    assert_eq!(
        String::from_utf8(write_ocr(&transmission).unwrap()).unwrap(),
        String::from_utf8(file(&expected, "\r\n")).unwrap()
    );
}

/// A file with a type-21 transaction (three items, free text) and an unknown debit account.
fn free_text_lines() -> Vec<String> {
    let mut lines = sample_lines();
    lines.splice(
        2..4,
        [
            "NY09213000000012001921320101464000000000000102000                  0000531000000"
                .to_string(),
            "NY092131000000196368271940990385620000000000000000000000000000000000000000000000"
                .to_string(),
            format!(
                "NY0921320000001{:<40}{}",
                "Straum januar, Bjørnstjerne",
                "0".repeat(25)
            ),
        ],
    );
    lines.splice(5.., end_records(5));
    lines
}

fn latin1(lines: &[String]) -> Vec<u8> {
    let text = lines.join("\r\n") + "\r\n";
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[test]
fn free_text_is_read_as_iso_8859_1_and_zeros_are_absent_values() {
    let bytes = latin1(&free_text_lines());
    assert!(bytes.contains(&0xf8), "ø is one byte in ISO-8859-1");
    let transmission = parse_ocr(&bytes).unwrap();
    let payment = &transmission.assignments[0].payments[0];
    assert_eq!(
        payment.transaction_type,
        OcrTransactionType::PurchaseWithText
    );
    assert_eq!(
        payment.free_text.as_deref(),
        Some("Straum januar, Bjørnstjerne")
    );
    assert_eq!(payment.bank_date, None);
    assert_eq!(payment.debit_account, None);
    assert_eq!(payment.kid.as_deref(), Some("0000531"));
    assert_eq!(write_ocr(&transmission).unwrap(), bytes);
}

#[test]
fn item_3_is_required_for_types_20_and_21_and_refused_for_others() {
    let mut lines = free_text_lines();
    lines.remove(4);
    let err = rejected(&lines);
    assert_eq!((err.line, err.field), (5, "record"));
    assert!(err.rule.contains("expected amount item 3"), "{err}");

    let mut lines = sample_lines();
    lines.insert(
        4,
        format!("NY0910320000002{:<40}{}", "text", "0".repeat(25)),
    );
    let err = rejected(&lines);
    assert_eq!(
        (err.line, err.field, err.positions),
        (5, "record type", Some((7, 8)))
    );
    assert!(
        err.rule.contains("only transaction types 20 and 21"),
        "{err}"
    );
}

/// A change to the sample and the error it must give.
struct Hostile {
    name: &'static str,
    edit: fn(&mut Vec<String>),
    line: usize,
    field: &'static str,
    positions: Option<(usize, usize)>,
    /// Checked unless empty.
    value: &'static str,
    rule: &'static str,
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "truncated: no end of transmission",
        edit: |l| {
            l.pop();
        },
        line: 5,
        field: "record",
        positions: None,
        value: "",
        rule: "the file ends here; expected a start of assignment (NY090020) or the end of transmission (NY000089)",
    },
    Hostile {
        name: "a record of 79 characters",
        edit: |l| {
            l[2].pop();
        },
        line: 3,
        field: "record",
        positions: None,
        value: "",
        rule: "a record is 80 characters; this one has 79",
    },
    Hostile {
        name: "the assignment's sum is off by one øre",
        edit: |l| l[4].replace_range(24..41, "00000000000102001"),
        line: 5,
        field: "sum of amounts",
        positions: Some((25, 41)),
        value: "00000000000102001",
        rule: "the amounts of the assignment add up to 102000 øre (reversals and credit notes added)",
    },
    Hostile {
        name: "the transmission counts a record too many",
        edit: |l| l[5].replace_range(16..24, "00000007"),
        line: 6,
        field: "number of records",
        positions: Some((17, 24)),
        value: "00000007",
        rule: "the transmission has 6 records, its start and end included",
    },
    Hostile {
        name: "item 2 of another transaction",
        edit: |l| l[3].replace_range(8..15, "0000003"),
        line: 4,
        field: "transaction number",
        positions: Some((9, 15)),
        value: "0000003",
        rule: "amount item 2 has the transaction number of its item 1 on line 3 (0000002)",
    },
    Hostile {
        name: "item 2 of another transaction type",
        edit: |l| l[3].replace_range(4..6, "11"),
        line: 4,
        field: "transaction type",
        positions: Some((5, 6)),
        value: "11",
        rule: "amount item 2 has the transaction type of its item 1 on line 3 (10), not 11",
    },
    Hostile {
        name: "a letter in the amount",
        edit: |l| l[2].replace_range(44..45, "O"),
        line: 3,
        field: "amount",
        positions: Some((33, 49)),
        value: "000000000001O2000",
        rule: "a numeric field of 17 digits (zero-filled)",
    },
    Hostile {
        name: "30 February",
        edit: |l| l[2].replace_range(15..21, "300292"),
        line: 3,
        field: "settlement date",
        positions: Some((16, 21)),
        value: "300292",
        rule: "not a date DDMMYY (years 69-99 are 1969-1999, 00-68 are 2000-2068): day 30, month 2",
    },
    Hostile {
        name: "an unknown record type",
        edit: |l| l[3].replace_range(6..8, "33"),
        line: 4,
        field: "record type",
        positions: Some((7, 8)),
        value: "33",
        rule: "unknown record type: OCR giro records are 20, 30, 31, 32 and 88",
    },
    Hostile {
        name: "an unknown transaction type",
        edit: |l| l[2].replace_range(4..6, "22"),
        line: 3,
        field: "transaction type",
        positions: Some((5, 6)),
        value: "22",
        rule: "transaction types are 10 to 21",
    },
    Hostile {
        name: "a letter in the KID",
        edit: |l| l[2].replace_range(70..71, "X"),
        line: 3,
        field: "KID",
        positions: Some((50, 74)),
        value: "                  003X633",
        rule: "a KID is digits only, right-justified and blank-filled on the left",
    },
    Hostile {
        name: "a sign other than 0 or -",
        edit: |l| l[2].replace_range(31..32, "+"),
        line: 3,
        field: "sign",
        positions: Some((32, 32)),
        value: "+",
        rule: "the sign is '0' or '-' (credit note)",
    },
    Hostile {
        name: "an AvtaleGiro claim record",
        edit: |l| l[1].replace_range(2..4, "21"),
        line: 2,
        field: "service code",
        positions: Some((3, 4)),
        value: "21",
        rule: "an OCR giro file has service code 00 (transmission) or 09 (OCR giro)",
    },
    Hostile {
        name: "a record after the end",
        edit: |l| l.push(l[5].clone()),
        line: 7,
        field: "record",
        positions: None,
        value: "NY000089",
        rule: "nothing follows the end of transmission (NY000089)",
    },
];

#[test]
fn hostile_variants_are_rejected_with_line_field_value_and_rule() {
    for case in HOSTILE {
        let mut lines = sample_lines();
        (case.edit)(&mut lines);
        let err = rejected(&lines);
        assert_eq!(
            (err.line, err.field, err.positions, err.rule.as_str()),
            (case.line, case.field, case.positions, case.rule),
            "{}: {err}",
            case.name
        );
        if !case.value.is_empty() {
            assert_eq!(err.value, case.value, "{}", case.name);
        }
    }
}

#[test]
fn files_that_are_not_ocr_are_rejected() {
    let err = parse_ocr(b"").unwrap_err();
    assert_eq!((err.line, err.field), (0, "record"));
    assert!(
        err.rule.contains("expected a start of transmission"),
        "{err}"
    );
    let mut control = file(&sample_lines(), "\n");
    control[85] = 0x09;
    let err = parse_ocr(&control).unwrap_err();
    assert_eq!((err.line, err.field), (2, "record"));
    assert_eq!(err.rule, "a control character (byte 0x09) at position 5");
    let mut lines = sample_lines();
    lines[1].replace_range(0..2, "XY");
    assert_eq!(rejected(&lines).field, "format code");
    // A start of assignment where the transmission should start.
    let err = rejected(&sample_lines()[1..]);
    assert_eq!(
        err.rule,
        "expected a start of transmission (NY000010), found a start of assignment (NY090020)"
    );
}

#[test]
fn a_credit_note_is_negative_and_counted_by_its_magnitude() {
    let mut lines = sample_lines();
    lines[2].replace_range(31..32, "-");
    let transmission = parse_ocr(&file(&lines, "\n")).unwrap();
    assert_eq!(
        transmission.assignments[0].payments[0].amount_minor,
        -102_000
    );
    assert_eq!(
        write_ocr(&transmission).unwrap(),
        file(
            &{
                let mut expected = lines.clone();
                expected[3].replace_range(34..41, "0000000");
                expected
            },
            "\r\n"
        )
    );
}

#[test]
fn the_century_rule_pivots_at_69() {
    assert_eq!(century_year(68), 2068);
    assert_eq!(century_year(0), 2000);
    assert_eq!(century_year(69), 1969);
    assert_eq!(century_year(92), 1992);
    let mut lines = sample_lines();
    for (index, range) in [
        (2, 15..21),
        (4, 41..47),
        (4, 47..53),
        (4, 53..59),
        (5, 41..47),
    ] {
        lines[index].replace_range(range, "011226");
    }
    let transmission = parse_ocr(&file(&lines, "\n")).unwrap();
    assert_eq!(
        transmission.assignments[0].payments[0].settlement_date,
        date(2026, 12, 1)
    );
    assert_eq!(transmission.nets_date, date(2026, 12, 1));
}

#[test]
fn the_end_of_assignment_states_the_earliest_and_latest_settlement_dates() {
    let mut lines = sample_lines();
    lines[4].replace_range(53..59, "210192");
    let err = rejected(&lines);
    assert_eq!(
        (err.line, err.field, err.value.as_str()),
        (5, "latest settlement date", "210192")
    );
    assert_eq!(
        err.rule,
        "the latest settlement date of the assignment's transactions is 1992-01-20"
    );
}

#[test]
fn the_writer_refuses_what_the_format_cannot_carry() {
    let base = parse_ocr(&file(&sample_lines(), "\n")).unwrap();
    let mut t = base.clone();
    t.assignments[0].payments[0].kid = Some("12A4".into());
    let err = write_ocr(&t).unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.rule.as_str()),
        ("assignments[0].payments[0].kid", "a KID is 1 to 25 digits")
    );
    let mut t = base.clone();
    t.assignments[0].payments[0].settlement_date = date(2069, 1, 1);
    assert_eq!(
        write_ocr(&t).unwrap_err().path,
        "assignments[0].payments[0].settlement_date"
    );
    let mut t = base.clone();
    t.assignments[0].payments[0].free_text = Some("hei".into());
    assert_eq!(
        write_ocr(&t).unwrap_err().rule,
        "only transaction types 20 and 21 carry free text"
    );
    let mut t = base.clone();
    t.assignments[0].payments[0].amount_minor = 100_000_000_000_000_000;
    assert_eq!(
        write_ocr(&t).unwrap_err().path,
        "assignments[0].payments[0].amount_minor"
    );
    let mut t = base.clone();
    t.assignments[0].payments[0].amount_minor = 99_999_999_999_999_999;
    t.assignments.push(t.assignments[0].clone());
    let err = write_ocr(&t).unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.rule.as_str()),
        ("assignments", "sum of amounts is 17 digits")
    );
    let mut t = base.clone();
    t.assignments[0].payee_account = "1234".into();
    assert_eq!(
        write_ocr(&t).unwrap_err().rule,
        "payee account is 11 digits"
    );
    let mut t = base;
    t.assignments[0].payments.clear();
    assert_eq!(write_ocr(&t).unwrap_err().path, "assignments[0].payments");
}

#[test]
fn reversals_are_added_to_the_control_totals() {
    // Type 18 (reversal with KID) with the sample's totals unchanged: its amount is added.
    let mut lines = sample_lines();
    for line in &mut lines[2..4] {
        line.replace_range(4..6, "18");
    }
    let transmission = parse_ocr(&file(&lines, "\n")).unwrap();
    let payment = &transmission.assignments[0].payments[0];
    assert_eq!(
        payment.transaction_type,
        OcrTransactionType::ReversalWithKid
    );
    assert!(payment.transaction_type.is_reversal());
    assert_eq!(payment.amount_minor, 102_000, "the amount as sent");
}

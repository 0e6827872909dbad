//! camt.054 / camt.053: the fixtures read element by element, the rules that reject a whole
//! document (currency, sums, decimals, namespace, dates), and the errors' paths and lines.

use jiff::civil::{date, datetime};
use jiff::tz::Offset;
use nordlys_core::quantity::Currency;
use nordlys_payments::camt::{AccountId, CopyDuplicate, CreditDebit};
use nordlys_payments::{CamtError, CamtVersion, parse_camt};

pub const NORWEGIAN_054_V02: &str = include_str!("../fixtures/camt054_v02_no.xml");
pub const DANISH_054_V08: &str = include_str!("../fixtures/camt054_v08_dk.xml");
pub const NORWEGIAN_053_V02: &str = include_str!("../fixtures/camt053_v02_no.xml");

pub const NORDIC: &[Currency] = &[Currency::Nok, Currency::Dkk, Currency::Eur];

/// The 1-based line of the `occurrence`-th (1-based) line containing `needle`.
pub fn line_of(text: &str, needle: &str, occurrence: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(needle))
        .nth(occurrence - 1)
        .map(|(index, _)| index + 1)
        .unwrap_or_else(|| panic!("{needle:?} #{occurrence} is not in the fixture"))
}

fn rejected(xml: &str) -> CamtError {
    parse_camt(xml.as_bytes(), NORDIC).expect_err("the document must be rejected")
}

#[test]
fn the_norwegian_notification_is_read_element_by_element() {
    let document = parse_camt(NORWEGIAN_054_V02.as_bytes(), NORDIC).unwrap();
    assert_eq!(document.version, CamtVersion::Notification02);
    assert_eq!(document.message_id, "NO-NTF-20261201-0001");
    assert_eq!(
        document.created_at,
        datetime(2026, 12, 1, 6, 15, 2, 517_000_000)
    );
    assert_eq!(document.created_offset, Some(Offset::constant(1)));
    let [report] = document.reports.as_slice() else {
        panic!("one notification")
    };
    assert_eq!(report.id, "NTF-20261201-001");
    assert_eq!(report.copy_duplicate, None);
    assert_eq!(
        report.account,
        AccountId::Other {
            id: "99991042764".into(),
            scheme: Some("BBAN".into())
        }
    );
    assert_eq!(report.account_currency, Some(Currency::Nok));
    assert_eq!(report.entries.len(), 6);

    let lump = &report.entries[0];
    assert_eq!(lump.entry_reference.as_deref(), Some("1"));
    assert_eq!((lump.amount_minor, lump.currency), (157_600, Currency::Nok));
    assert_eq!(
        (lump.direction, lump.reversal, lump.status.as_str()),
        (CreditDebit::Credit, false, "BOOK")
    );
    assert_eq!(lump.booking_date, Some(date(2026, 12, 1)));
    assert_eq!(lump.value_date, Some(date(2026, 12, 1)));
    assert_eq!(
        lump.account_servicer_reference.as_deref(),
        Some("7001234567")
    );
    assert_eq!(
        lump.bank_transaction_code.as_deref(),
        Some("PMNT/RCDT/VCOM")
    );
    assert_eq!(lump.proprietary_transaction_code.as_deref(), Some("230"));
    assert_eq!(lump.line, line_of(NORWEGIAN_054_V02, "<Ntry>", 1));
    let [kari, ola] = lump.transactions.as_slice() else {
        panic!("two transactions")
    };
    assert_eq!(
        kari.account_servicer_reference.as_deref(),
        Some("2026120100017")
    );
    assert_eq!(kari.end_to_end_id.as_deref(), Some("NOTPROVIDED"));
    assert_eq!(kari.amount_minor, 102_000);
    assert_eq!(kari.debtor_name.as_deref(), Some("Kari Nordmann"));
    assert_eq!(
        kari.debtor_account,
        Some(AccountId::Other {
            id: "99991005524".into(),
            scheme: Some("BBAN".into())
        })
    );
    let reference = kari.structured[0].creditor_reference.as_ref().unwrap();
    assert_eq!(
        (reference.code.as_deref(), reference.reference.as_str()),
        (Some("SCOR"), "0036633")
    );
    assert_eq!(kari.line, line_of(NORWEGIAN_054_V02, "<TxDtls>", 1));
    assert_eq!(ola.account_servicer_reference, None);
    assert_eq!(
        (
            ola.instruction_id.as_deref(),
            ola.end_to_end_id.as_deref(),
            ola.transaction_id.as_deref()
        ),
        (
            Some("INSTR-88812"),
            Some("E2E-2026-11-30-4471"),
            Some("TX-4471")
        )
    );
    assert_eq!(ola.amount_minor, 55_600);

    let text_only = &report.entries[1].transactions[0];
    assert_eq!(
        text_only.unstructured,
        ["Faktura 2026-1044", "strøm november"]
    );
    assert!(text_only.structured.is_empty());

    let rf = &report.entries[2];
    assert_eq!(rf.amount_minor, 250_000, "2500 without decimals");
    assert_eq!(
        rf.booking_date,
        Some(date(2026, 12, 1)),
        "the date of BookgDt/DtTm"
    );
    let tx = &rf.transactions[0];
    assert_eq!(
        tx.amount_minor, 250_000,
        "the one transaction without an amount has the entry's"
    );
    let strd = &tx.structured[0];
    assert_eq!(strd.referred_documents[0].kind.as_deref(), Some("CINV"));
    assert_eq!(
        strd.referred_documents[0].number.as_deref(),
        Some("2026-1045")
    );
    assert_eq!(strd.remitted_amount_minor, Some(250_000));
    assert_eq!(
        strd.creditor_reference.as_ref().unwrap().issuer.as_deref(),
        Some("ISO")
    );

    assert_eq!(report.entries[3].direction, CreditDebit::Debit);
    assert_eq!(report.entries[4].status, "PDNG");
    assert_eq!(report.entries[4].booking_date, None);
    assert!(report.entries[5].reversal);
}

#[test]
fn the_danish_notification_in_version_08() {
    let document = parse_camt(DANISH_054_V08.as_bytes(), NORDIC).unwrap();
    assert_eq!(document.version, CamtVersion::Notification08);
    assert_eq!(document.created_offset, Some(Offset::UTC));
    let report = &document.reports[0];
    assert_eq!(report.copy_duplicate, Some(CopyDuplicate::Copy));
    assert_eq!(report.account, AccountId::Iban("DK5000400440116243".into()));
    let entry = &report.entries[0];
    assert_eq!(entry.status, "BOOK", "Sts/Cd");
    assert_eq!(entry.amount_minor, 74_550);
    let [jens, mette] = entry.transactions.as_slice() else {
        panic!("two transactions")
    };
    assert_eq!(
        (jens.amount_minor, mette.amount_minor),
        (50_000, 24_550),
        "TxDtls/Amt"
    );
    assert_eq!(
        jens.debtor_name.as_deref(),
        Some("Jens Hansen"),
        "Dbtr/Pty/Nm"
    );
    assert_eq!(
        jens.debtor_account,
        Some(AccountId::Iban("DK9520000123456789".into()))
    );
    assert_eq!(mette.debtor_name.as_deref(), Some("Mette Jørgensen"));
}

#[test]
fn a_statement_is_read_like_a_notification() {
    let document = parse_camt(NORWEGIAN_053_V02.as_bytes(), NORDIC).unwrap();
    assert_eq!(document.version, CamtVersion::Statement02);
    assert_eq!(document.created_offset, None);
    assert_eq!(document.created_at, datetime(2026, 12, 1, 23, 59, 0, 0));
    let report = &document.reports[0];
    assert_eq!(report.id, "STM-20261201-99991042764");
    assert_eq!(report.account, AccountId::Iban("NO9799991042764".into()));
    assert_eq!(report.entries.len(), 2, "balances are not entries");
    assert_eq!(report.entries[0].amount_minor, 492_600);
    assert!(report.entries[0].transactions.is_empty());
    // The same document as camt.053.001.08 (its status then as Sts/Cd).
    let v08 = NORWEGIAN_053_V02
        .replace("camt.053.001.02", "camt.053.001.08")
        .replace("<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>");
    let document_08 = parse_camt(v08.as_bytes(), NORDIC).unwrap();
    assert_eq!(document_08.version, CamtVersion::Statement08);
    assert_eq!(document_08.reports, document.reports);
}

/// A change to a fixture and the error it must give.
struct Hostile {
    name: &'static str,
    fixture: &'static str,
    from: &'static str,
    to: &'static str,
    path: &'static str,
    /// The line holding this text (first occurrence) is the error's line.
    line_of: &'static str,
    value: &'static str,
    rule: &'static str,
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "an unknown currency",
        fixture: NORWEGIAN_054_V02,
        from: r#"<Amt Ccy="NOK">1576.00</Amt>"#,
        to: r#"<Amt Ccy="XYZ">1576.00</Amt>"#,
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/Amt",
        line_of: r#"<Amt Ccy="XYZ">"#,
        value: "XYZ",
        rule: "unknown currency: must be one of: NOK, DKK, EUR, SEK, USD",
    },
    Hostile {
        name: "a currency the caller does not book",
        fixture: NORWEGIAN_054_V02,
        from: "<Ccy>NOK</Ccy>",
        to: "<Ccy>USD</Ccy>",
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Acct/Ccy",
        line_of: "<Ccy>USD</Ccy>",
        value: "USD",
        rule: "not an allowed currency (allowed: NOK, DKK, EUR)",
    },
    Hostile {
        name: "an entry in another currency than its account's",
        fixture: NORWEGIAN_054_V02,
        from: r#"<Amt Ccy="NOK">850.00</Amt>
        <CdtDbtInd>"#,
        to: r#"<Amt Ccy="EUR">850.00</Amt>
        <CdtDbtInd>"#,
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[2]/Amt",
        line_of: r#"<Amt Ccy="EUR">"#,
        value: "EUR",
        rule: "the account's currency is NOK",
    },
    Hostile {
        name: "a transaction in another currency than its entry's",
        fixture: NORWEGIAN_054_V02,
        from: r#"<Amt Ccy="NOK">556.00</Amt>"#,
        to: r#"<Amt Ccy="EUR">556.00</Amt>"#,
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/NtryDtls/TxDtls[2]/AmtDtls/TxAmt/Amt",
        line_of: r#"<Amt Ccy="EUR">556.00</Amt>"#,
        value: "EUR",
        rule: "the entry's currency is NOK",
    },
    Hostile {
        name: "transactions that do not add up to their entry",
        fixture: NORWEGIAN_054_V02,
        from: r#"<Amt Ccy="NOK">556.00</Amt>"#,
        to: r#"<Amt Ccy="NOK">555.99</Amt>"#,
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/Amt",
        line_of: r#"<Amt Ccy="NOK">1576.00</Amt>"#,
        value: "1576.00",
        rule: "the entry's 2 transactions (TxDtls) add up to 157599 minor units, not 157600",
    },
    Hostile {
        name: "three decimals",
        fixture: NORWEGIAN_054_V02,
        from: r#"<Amt Ccy="NOK">1020.00</Amt>"#,
        to: r#"<Amt Ccy="NOK">1020.000</Amt>"#,
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/NtryDtls/TxDtls[1]/AmtDtls/TxAmt/Amt",
        line_of: "1020.000",
        value: "1020.000",
        rule: "an amount has at most 2 decimals (minor units)",
    },
    Hostile {
        name: "a batch count that is not the transactions'",
        fixture: NORWEGIAN_054_V02,
        from: "<NbOfTxs>2</NbOfTxs>",
        to: "<NbOfTxs>3</NbOfTxs>",
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/NtryDtls/Btch/NbOfTxs",
        line_of: "<NbOfTxs>3</NbOfTxs>",
        value: "3",
        rule: "the batch has 2 TxDtls",
    },
    Hostile {
        name: "a booked entry without a date",
        fixture: NORWEGIAN_053_V02,
        from: "<BookgDt>\n          <Dt>2026-12-01</Dt>\n        </BookgDt>\n        <AcctSvcrRef>STM-7001234567",
        to: "<AcctSvcrRef>STM-7001234567",
        path: "Document/BkToCstmrStmt/Stmt/Ntry[1]/BookgDt/Dt",
        line_of: "<Ntry>",
        value: "",
        rule: "required",
    },
    Hostile {
        name: "a date that does not exist",
        fixture: NORWEGIAN_053_V02,
        from: "<Dt>2026-12-01</Dt>\n        </BookgDt>\n        <AcctSvcrRef>STM-7001234567",
        to: "<Dt>2026-11-31</Dt>\n        </BookgDt>\n        <AcctSvcrRef>STM-7001234567",
        path: "Document/BkToCstmrStmt/Stmt/Ntry[1]/BookgDt/Dt",
        line_of: "2026-11-31",
        value: "2026-11-31",
        rule: "an ISO date YYYY-MM-DD",
    },
    Hostile {
        name: "neither CRDT nor DBIT",
        fixture: DANISH_054_V08,
        from: "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
        to: "<CdtDbtInd>CRED</CdtDbtInd>\n        <Sts>",
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/CdtDbtInd",
        line_of: "CRED",
        value: "CRED",
        rule: "CdtDbtInd is CRDT or DBIT",
    },
    Hostile {
        name: "a debit transaction in a credit entry",
        fixture: DANISH_054_V08,
        from: "<CdtDbtInd>CRDT</CdtDbtInd>\n            <RltdPties>",
        to: "<CdtDbtInd>DBIT</CdtDbtInd>\n            <RltdPties>",
        path: "Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/NtryDtls/TxDtls[1]/CdtDbtInd",
        line_of: "<CdtDbtInd>DBIT</CdtDbtInd>",
        value: "DBIT",
        rule: "a transaction has its entry's CdtDbtInd",
    },
    Hostile {
        name: "an unsupported version",
        fixture: DANISH_054_V08,
        from: "xsd:camt.054.001.08",
        to: "xsd:camt.054.001.04",
        path: "Document",
        line_of: "<Document",
        value: "urn:iso:std:iso:20022:tech:xsd:camt.054.001.04",
        rule: "not a supported camt namespace: camt.054.001.02, camt.054.001.08, camt.053.001.02 or camt.053.001.08",
    },
    Hostile {
        name: "a notification without its message id",
        fixture: DANISH_054_V08,
        from: "<MsgId>DK-20261201-77812</MsgId>",
        to: "",
        path: "Document/BkToCstmrDbtCdtNtfctn/GrpHdr/MsgId",
        line_of: "<BkToCstmrDbtCdtNtfctn>",
        value: "",
        rule: "required",
    },
];

#[test]
fn hostile_documents_are_rejected_whole_with_path_line_value_and_rule() {
    for case in HOSTILE {
        assert!(
            case.fixture.contains(case.from),
            "{}: the edit must apply",
            case.name
        );
        let xml = case.fixture.replacen(case.from, case.to, 1);
        let err = rejected(&xml);
        assert_eq!(
            (err.path.as_str(), err.value.as_str(), err.rule.as_str()),
            (case.path, case.value, case.rule),
            "{}: {err}",
            case.name
        );
        assert_eq!(
            err.line,
            line_of(&xml, case.line_of, 1),
            "{}: {err}",
            case.name
        );
    }
}

#[test]
fn what_is_not_a_camt_document_is_rejected_with_its_line() {
    let err = rejected(&DANISH_054_V08.replacen("745.50</Amt>", "745.50</Amtx>", 1));
    assert_eq!(err.line, line_of(DANISH_054_V08, "745.50</Amt>", 1));
    assert!(err.rule.starts_with("not well-formed XML"), "{err}");
    let doctype = NORWEGIAN_053_V02.replacen(
        "<Document",
        "<!DOCTYPE Document [<!ENTITY x \"x\">]>\n<Document",
        1,
    );
    assert!(
        rejected(&doctype).rule.starts_with("not well-formed XML"),
        "no DTD is read"
    );
    let mut latin1 = NORWEGIAN_054_V02.as_bytes().to_vec();
    let at = NORWEGIAN_054_V02.find("strøm").unwrap() + 3;
    latin1.splice(at..at + 2, [0xf8]);
    let err = parse_camt(&latin1, NORDIC).unwrap_err();
    assert_eq!(
        (err.line, err.rule.as_str()),
        (
            line_of(NORWEGIAN_054_V02, "strøm", 1),
            "a camt document is UTF-8"
        )
    );
    let err = rejected(&NORWEGIAN_053_V02.replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn"));
    assert_eq!(
        (err.path.as_str(), err.rule.as_str()),
        ("Document/BkToCstmrStmt", "required")
    );
}

//! ISO 20022 bank-to-customer messages: camt.054 (debit/credit notification) and camt.053
//! (statement), versions .001.02 and .001.08, as typed values — the elements of PAYMENTS.md
//! §3 and no more. The file's rules (entry amounts, currencies, booked dates) are checked in
//! `parse`; decimal amounts become minor units in `amount`.

mod amount;
mod parse;

use std::fmt;

use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use nordlys_core::quantity::Currency;

pub use amount::parse_amount_minor;
pub use parse::parse_camt;

/// Largest camt document read (bytes). A day's notification of 100,000 payments is about
/// 150 MB at the banks' verbosity; larger files are split by the banks.
pub const CAMT_MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// The message and version, from the document's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CamtVersion {
    /// `urn:iso:std:iso:20022:tech:xsd:camt.054.001.02`
    Notification02,
    /// `urn:iso:std:iso:20022:tech:xsd:camt.054.001.08`
    Notification08,
    /// `urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`
    Statement02,
    /// `urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`
    Statement08,
}

impl CamtVersion {
    pub const ALL: [CamtVersion; 4] = [
        Self::Notification02,
        Self::Notification08,
        Self::Statement02,
        Self::Statement08,
    ];

    pub fn namespace(self) -> &'static str {
        match self {
            Self::Notification02 => "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02",
            Self::Notification08 => "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08",
            Self::Statement02 => "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
            Self::Statement08 => "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
        }
    }

    /// The element under `Document`: `BkToCstmrDbtCdtNtfctn` or `BkToCstmrStmt`.
    pub fn message_element(self) -> &'static str {
        if self.is_notification() {
            "BkToCstmrDbtCdtNtfctn"
        } else {
            "BkToCstmrStmt"
        }
    }

    /// The element of one report in the message: `Ntfctn` or `Stmt`.
    pub fn report_element(self) -> &'static str {
        if self.is_notification() {
            "Ntfctn"
        } else {
            "Stmt"
        }
    }

    pub fn is_notification(self) -> bool {
        matches!(self, Self::Notification02 | Self::Notification08)
    }
}

/// One camt document: its group header and its notifications (or statements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtDocument {
    pub version: CamtVersion,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm` as written: the wall-clock time and the offset when one is given.
    pub created_at: DateTime,
    pub created_offset: Option<Offset>,
    /// `Ntfctn` (camt.054) or `Stmt` (camt.053), 1..n.
    pub reports: Vec<CamtReport>,
}

/// One notification or statement: one account's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtReport {
    /// `Ntfctn/Id` or `Stmt/Id`.
    pub id: String,
    /// `CpyDplctInd`: a copy or duplicate of a report sent before (e.g. `COPY` on re-order).
    pub copy_duplicate: Option<CopyDuplicate>,
    /// `Acct/Id`.
    pub account: AccountId,
    /// `Acct/Ccy`.
    pub account_currency: Option<Currency>,
    pub entries: Vec<CamtEntry>,
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyDuplicate {
    /// `CODU`: copy of a duplicate.
    CopyOfDuplicate,
    /// `COPY`.
    Copy,
    /// `DUPL`.
    Duplicate,
}

/// An account as camt identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountId {
    /// `Id/IBAN`.
    Iban(String),
    /// `Id/Othr/Id` with `Othr/SchmeNm/Cd` (e.g. `BBAN`) or `SchmeNm/Prtry`.
    Other { id: String, scheme: Option<String> },
}

impl AccountId {
    /// The identifier without its scheme.
    pub fn as_str(&self) -> &str {
        match self {
            AccountId::Iban(iban) => iban,
            AccountId::Other { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditDebit {
    /// `CRDT`: money into the account.
    Credit,
    /// `DBIT`: money out of the account.
    Debit,
}

/// One entry (`Ntry`): a booking on the account, often the lump sum of many payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtEntry {
    /// `NtryRef`: unique within the report only.
    pub entry_reference: Option<String>,
    /// `Amt`, in minor units (never negative: the direction says which way).
    pub amount_minor: i64,
    /// `Amt@Ccy`.
    pub currency: Currency,
    /// `CdtDbtInd`.
    pub direction: CreditDebit,
    /// `RvslInd`: the entry reverses an earlier one.
    pub reversal: bool,
    /// `Sts` (.02) or `Sts/Cd` (.08): `BOOK`, `PDNG`, `INFO`…
    pub status: String,
    /// `BookgDt/Dt` (or the date of `BookgDt/DtTm`).
    pub booking_date: Option<Date>,
    /// `ValDt/Dt` (or the date of `ValDt/DtTm`).
    pub value_date: Option<Date>,
    /// `AcctSvcrRef`: the bank's reference of the entry.
    pub account_servicer_reference: Option<String>,
    /// `BkTxCd/Domn`: domain, family and sub-family codes, e.g. `PMNT/RCDT/VCOM`.
    pub bank_transaction_code: Option<String>,
    /// `BkTxCd/Prtry/Cd`, e.g. `230` (MPS/DNB: payment with KID).
    pub proprietary_transaction_code: Option<String>,
    /// Every `NtryDtls/TxDtls`, in order.
    pub transactions: Vec<CamtTransaction>,
    pub line: usize,
}

/// One transaction of an entry (`TxDtls`): usually one payer's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtTransaction {
    /// `Refs/AcctSvcrRef` (not every bank sends it).
    pub account_servicer_reference: Option<String>,
    /// `Refs/EndToEndId` (`NOTPROVIDED` is kept as sent).
    pub end_to_end_id: Option<String>,
    /// `Refs/InstrId`.
    pub instruction_id: Option<String>,
    /// `Refs/TxId`.
    pub transaction_id: Option<String>,
    /// `Amt` (.08) or `AmtDtls/TxAmt/Amt`; the entry's amount when the entry has this one
    /// transaction and it states none.
    pub amount_minor: i64,
    /// `RltdPties/Dbtr/Nm` (.08 `Dbtr/Pty/Nm`).
    pub debtor_name: Option<String>,
    /// `RltdPties/DbtrAcct/Id`.
    pub debtor_account: Option<AccountId>,
    /// `RmtInf/Strd`, each block in order.
    pub structured: Vec<StructuredRemittance>,
    /// `RmtInf/Ustrd`, each line in order.
    pub unstructured: Vec<String>,
    pub line: usize,
}

/// One `RmtInf/Strd` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructuredRemittance {
    /// `RfrdDocInf`: the invoices (`CINV`) or credit notes (`CREN`) paid.
    pub referred_documents: Vec<ReferredDocument>,
    /// `RfrdDocAmt/RmtdAmt`.
    pub remitted_amount_minor: Option<i64>,
    /// `RfrdDocAmt/CdtNoteAmt`.
    pub credit_note_amount_minor: Option<i64>,
    /// `CdtrRefInf`.
    pub creditor_reference: Option<CreditorReference>,
}

/// `Strd/RfrdDocInf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferredDocument {
    /// `Tp/CdOrPrtry/Cd` (`CINV`, `CREN`…) or `Tp/CdOrPrtry/Prtry`.
    pub kind: Option<String>,
    /// `Nb`.
    pub number: Option<String>,
}

/// `Strd/CdtrRefInf`: the structured creditor reference (KID, RF, FIK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditorReference {
    /// `Tp/CdOrPrtry/Cd`, e.g. `SCOR`.
    pub code: Option<String>,
    /// `Tp/CdOrPrtry/Prtry`.
    pub proprietary: Option<String>,
    /// `Tp/Issr`: `ISO` for an RF reference.
    pub issuer: Option<String>,
    /// `Ref`.
    pub reference: String,
}

/// Why a camt document was rejected: the element path, its line, the value and the rule.
/// One error rejects the whole document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CamtError {
    /// E.g. `Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[2]/Amt`; empty for the file.
    pub path: String,
    /// 1-based line of the element; 0 when unknown (the file as a whole).
    pub line: usize,
    pub value: String,
    pub rule: String,
}

impl fmt::Display for CamtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} {:?}: {}",
            self.line, self.path, self.value, self.rule
        )
    }
}

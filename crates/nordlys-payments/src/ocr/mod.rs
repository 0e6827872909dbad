//! Norwegian OCR giro files (innbetalingsfil from Mastercard Payment Services, formerly
//! Nets/BBS): the typed transmission, its error, the record layout shared by the parser
//! (`parse`) and the writer (`write`), and the century rule for `DDMMYY` dates.
//!
//! Layout and rules: `docs/payments.md` §OCR giro; field positions are the spec's 1-based,
//! inclusive ones.

mod layout;
mod parse;
mod write;

use std::fmt;

use jiff::civil::Date;

pub use parse::parse_ocr;
pub use write::{OcrWriteError, write_ocr};

/// Largest OCR file read (bytes): 100,000 payments are about 16 MB, so this is far above a
/// day's file from the bank and far below what would strain memory.
pub const OCR_MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// One OCR giro transmission: a file as the bank sent it, every assignment in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrTransmission {
    /// Positions 9-16 of the start record: the data sender (MPS is `00008080`).
    pub sender: String,
    /// Positions 17-23: the transmission number.
    pub transmission_number: String,
    /// Positions 24-31: the data recipient (the payee's customer unit id).
    pub recipient: String,
    /// Positions 42-47 of the end record (89).
    pub nets_date: Date,
    pub assignments: Vec<OcrAssignment>,
}

/// One assignment (oppdrag): the payments to one payee account under one agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrAssignment {
    /// Positions 9-17 of the start record (20).
    pub agreement_id: String,
    /// Positions 18-24.
    pub assignment_number: String,
    /// Positions 25-35: the payee's account (BBAN, 11 digits).
    pub payee_account: String,
    /// Positions 42-47 of the end record (88).
    pub nets_date: Date,
    pub payments: Vec<OcrPayment>,
}

/// One transaction: amount items 1 and 2, and item 3 for types 20 and 21.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrPayment {
    pub transaction_type: OcrTransactionType,
    /// Positions 9-15 of every item: links items 2 and 3 to item 1.
    pub transaction_number: u32,
    /// Item 1, positions 16-21: the Nets (settlement) date.
    pub settlement_date: Date,
    /// Item 1, positions 22-23.
    pub centre_id: String,
    /// Item 1, positions 24-25.
    pub day_code: String,
    /// Item 1, position 26.
    pub partial_settlement: String,
    /// Item 1, positions 27-31: groups the payments of one lump sum on the bank statement.
    pub serial_number: String,
    /// Item 1, positions 32-49: the amount in øre, negative when the sign (32) is `-`
    /// (a credit note, where agreed). Reversals (types 18 and 20) keep the amount as sent.
    pub amount_minor: i64,
    /// Item 1, positions 50-74: the KID, digits only; `None` when blank.
    pub kid: Option<String>,
    /// Item 2, positions 16-25.
    pub form_number: String,
    /// Item 2, positions 26-34: the archive reference (for type 12 the payer's agreement
    /// id), exactly as sent.
    pub archive_reference: String,
    /// Item 2, positions 42-47: the payer's order date; `None` when `000000`.
    pub bank_date: Option<Date>,
    /// Item 2, positions 48-58: the payer's account; `None` when zeros (unknown).
    pub debit_account: Option<String>,
    /// Item 3, positions 16-55 (types 20 and 21 only), trailing blanks removed.
    pub free_text: Option<String>,
    /// The file line (1-based) of item 1.
    pub line: usize,
}

/// Transaction types of positions 5-6 of the amount items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcrTransactionType {
    /// 10: giro debited an account.
    GiroDebitedAccount,
    /// 11: standing order (faste oppdrag).
    StandingOrder,
    /// 12: direkte remittering.
    DirectRemittance,
    /// 13: BTG (business terminal giro).
    BusinessTerminalGiro,
    /// 14: counter giro (skrankegiro).
    CounterGiro,
    /// 15: AvtaleGiro.
    AvtaleGiro,
    /// 16: telegiro.
    Telegiro,
    /// 17: giro paid in cash.
    GiroPaidInCash,
    /// 18: reversal with KID.
    ReversalWithKid,
    /// 19: purchase with KID.
    PurchaseWithKid,
    /// 20: reversal with free text.
    ReversalWithText,
    /// 21: purchase with free text.
    PurchaseWithText,
}

impl OcrTransactionType {
    pub const ALL: [OcrTransactionType; 12] = [
        Self::GiroDebitedAccount,
        Self::StandingOrder,
        Self::DirectRemittance,
        Self::BusinessTerminalGiro,
        Self::CounterGiro,
        Self::AvtaleGiro,
        Self::Telegiro,
        Self::GiroPaidInCash,
        Self::ReversalWithKid,
        Self::PurchaseWithKid,
        Self::ReversalWithText,
        Self::PurchaseWithText,
    ];

    /// The two-digit code of positions 5-6.
    pub fn code(self) -> u8 {
        10 + Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        code.checked_sub(10)
            .and_then(|i| Self::ALL.get(usize::from(i)))
            .copied()
    }

    /// Types 18 and 20 take money back from the payee.
    pub fn is_reversal(self) -> bool {
        matches!(self, Self::ReversalWithKid | Self::ReversalWithText)
    }

    /// Types 20 and 21 carry amount item 3 (free text) and no other type does.
    pub fn has_free_text(self) -> bool {
        matches!(self, Self::ReversalWithText | Self::PurchaseWithText)
    }
}

/// Why an OCR file was rejected: the line, the field with its positions, the value, the rule.
/// One error rejects the whole file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OcrError {
    /// 1-based file line; 0 for the file as a whole (e.g. too large, empty).
    pub line: usize,
    pub field: &'static str,
    /// 1-based inclusive positions of the field in the record, when it is one field.
    pub positions: Option<(usize, usize)>,
    pub value: String,
    pub rule: String,
}

impl fmt::Display for OcrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.field)?;
        if let Some((start, end)) = self.positions {
            write!(f, " (positions {start}-{end})")?;
        }
        write!(f, " {:?}: {}", self.value, self.rule)
    }
}

/// The century rule for `DDMMYY`: years 69-99 are 1969-1999 and 00-68 are 2000-2068 (the
/// POSIX `strptime %y` pivot). A pure parser has no clock to pick the nearest century, and the
/// format has no century; the writer refuses dates outside 1969-2068 so it round-trips.
pub fn century_year(two_digit_year: u8) -> i16 {
    if two_digit_year >= 69 {
        1900 + i16::from(two_digit_year)
    } else {
        2000 + i16::from(two_digit_year)
    }
}

/// Years a `DDMMYY` date can stand for under [`century_year`].
pub const OCR_YEARS: std::ops::RangeInclusive<i16> = 1969..=2068;

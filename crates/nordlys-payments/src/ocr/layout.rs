//! The OCR giro record layout: every field's name and 1-based inclusive positions, shared by
//! the parser and the writer so the two cannot drift apart.

/// Every record is this many characters (bytes: the file is ISO-8859-1).
pub(super) const RECORD_LENGTH: usize = 80;

/// A fixed-width field: positions `start..=end`, 1-based as in the specification.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub name: &'static str,
    pub start: usize,
    pub end: usize,
}

impl Field {
    pub const fn width(self) -> usize {
        self.end - self.start + 1
    }

    pub fn slice(self, record: &[u8]) -> &[u8] {
        &record[self.start - 1..self.end]
    }
}

const fn field(name: &'static str, start: usize, end: usize) -> Field {
    Field { name, start, end }
}

pub(super) const FORMAT_CODE: Field = field("format code", 1, 2);
pub(super) const SERVICE_CODE: Field = field("service code", 3, 4);
pub(super) const TRANSACTION_TYPE: Field = field("transaction type", 5, 6);
pub(super) const RECORD_TYPE: Field = field("record type", 7, 8);

/// Service codes of positions 3-4.
pub(super) const SERVICE_TRANSMISSION: &[u8] = b"00";
pub(super) const SERVICE_OCR_GIRO: &[u8] = b"09";

pub(super) mod start_transmission {
    use super::{Field, field};
    pub const PREFIX: &[u8] = b"NY000010";
    pub const SENDER: Field = field("sender", 9, 16);
    pub const TRANSMISSION_NUMBER: Field = field("transmission number", 17, 23);
    pub const RECIPIENT: Field = field("recipient", 24, 31);
}

pub(super) mod start_assignment {
    use super::{Field, field};
    pub const PREFIX: &[u8] = b"NY090020";
    pub const AGREEMENT_ID: Field = field("agreement id", 9, 17);
    pub const ASSIGNMENT_NUMBER: Field = field("assignment number", 18, 24);
    pub const PAYEE_ACCOUNT: Field = field("payee account", 25, 35);
}

/// Positions 9-15 of every amount item.
pub(super) const TRANSACTION_NUMBER: Field = field("transaction number", 9, 15);

pub(super) mod amount_item_1 {
    use super::{Field, field};
    pub const SETTLEMENT_DATE: Field = field("settlement date", 16, 21);
    pub const CENTRE_ID: Field = field("centre id", 22, 23);
    pub const DAY_CODE: Field = field("day code", 24, 25);
    pub const PARTIAL_SETTLEMENT: Field = field("partial settlement", 26, 26);
    pub const SERIAL_NUMBER: Field = field("serial number", 27, 31);
    pub const SIGN: Field = field("sign", 32, 32);
    pub const AMOUNT: Field = field("amount", 33, 49);
    pub const KID: Field = field("KID", 50, 74);
}

pub(super) mod amount_item_2 {
    use super::{Field, field};
    pub const FORM_NUMBER: Field = field("form number", 16, 25);
    pub const ARCHIVE_REFERENCE: Field = field("archive reference", 26, 34);
    pub const BANK_DATE: Field = field("bank date", 42, 47);
    pub const DEBIT_ACCOUNT: Field = field("debit account", 48, 58);
}

pub(super) mod amount_item_3 {
    use super::{Field, field};
    pub const FREE_TEXT: Field = field("free text", 16, 55);
}

/// The end records (88 of an assignment, 89 of the transmission) share their first fields.
pub(super) mod end_record {
    use super::{Field, field};
    pub const END_ASSIGNMENT_PREFIX: &[u8] = b"NY090088";
    pub const END_TRANSMISSION_PREFIX: &[u8] = b"NY000089";
    pub const TRANSACTIONS: Field = field("number of transactions", 9, 16);
    pub const RECORDS: Field = field("number of records", 17, 24);
    pub const SUM: Field = field("sum of amounts", 25, 41);
    pub const NETS_DATE: Field = field("nets date", 42, 47);
    /// Only in the end of an assignment (88).
    pub const EARLIEST_SETTLEMENT_DATE: Field = field("earliest settlement date", 48, 53);
    pub const LATEST_SETTLEMENT_DATE: Field = field("latest settlement date", 54, 59);
}

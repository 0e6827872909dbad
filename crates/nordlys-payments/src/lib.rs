//! Incoming payments as banks report them: Norwegian OCR giro files (read and written) and
//! ISO 20022 camt.054 / camt.053 credit notifications, each parsed into its own typed model
//! and mapped into one [`IncomingPayment`] record.
//!
//! Pure: it parses bytes and returns typed values or errors; no clock, SQL, HTTP or files.
//! A file is accepted whole or rejected with the first error, which names the line, the
//! field (positions or element path), the value and the rule.

pub mod camt;
pub mod ocr;
pub mod payment;
pub mod reference;

pub use camt::{CamtDocument, CamtError, CamtVersion, parse_camt};
pub use ocr::{
    OcrAssignment, OcrError, OcrPayment, OcrTransactionType, OcrTransmission, OcrWriteError,
    parse_ocr, write_ocr,
};
pub use payment::{
    CamtPayments, DuplicateBankReference, IncomingPayment, PaymentReference, PaymentSource,
    ReferenceScheme, SkipReason, SkippedEntry, check_kid, duplicate_bank_references,
};
pub use reference::{RfCreditorReference, classify_creditor_reference};

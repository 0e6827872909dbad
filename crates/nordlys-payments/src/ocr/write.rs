//! Writing an OCR giro file from typed payments: the records in the bank's layout (ISO-8859-1,
//! CR LF), the control totals computed, every value checked so that what is written parses
//! back to the same transmission (the demo sends its simulated payments through real files).

use std::fmt;

use jiff::civil::Date;

use super::layout::{
    Field, RECORD_LENGTH, TRANSACTION_NUMBER, amount_item_1, amount_item_2, amount_item_3,
    end_record, start_assignment, start_transmission,
};
use super::{OCR_YEARS, OcrAssignment, OcrPayment, OcrTransmission};

/// A value the OCR format cannot carry: the path of the value in the transmission, the value
/// and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OcrWriteError {
    /// E.g. `assignments[0].payments[3].kid`.
    pub path: String,
    pub value: String,
    pub rule: String,
}

impl fmt::Display for OcrWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.path, self.value, self.rule)
    }
}

/// The file for `transmission`. Payments' `line` is not read (the file decides lines).
pub fn write_ocr(transmission: &OcrTransmission) -> Result<Vec<u8>, OcrWriteError> {
    let mut writer = Writer::default();
    let mut record = writer.start(start_transmission::PREFIX);
    record.digits("sender", start_transmission::SENDER, &transmission.sender)?;
    record.digits(
        "transmission_number",
        start_transmission::TRANSMISSION_NUMBER,
        &transmission.transmission_number,
    )?;
    record.digits(
        "recipient",
        start_transmission::RECIPIENT,
        &transmission.recipient,
    )?;
    writer.finish(record);
    if transmission.assignments.is_empty() {
        return Err(error(
            "assignments",
            "[]",
            "a transmission has at least one assignment",
        ));
    }
    let mut totals = Totals {
        records: 2,
        ..Totals::default()
    };
    for (index, assignment) in transmission.assignments.iter().enumerate() {
        let assignment_totals =
            write_assignment(&mut writer, &format!("assignments[{index}]"), assignment)?;
        totals.transactions += assignment_totals.transactions;
        totals.records += assignment_totals.records;
        totals.sum_minor += assignment_totals.sum_minor;
    }
    let mut record = writer.start(end_record::END_TRANSMISSION_PREFIX);
    record.totals("assignments", &totals)?;
    record.date("nets_date", end_record::NETS_DATE, transmission.nets_date)?;
    writer.finish(record);
    Ok(writer.bytes)
}

fn write_assignment(
    writer: &mut Writer,
    path: &str,
    assignment: &OcrAssignment,
) -> Result<Totals, OcrWriteError> {
    let mut record = writer.start(start_assignment::PREFIX);
    record.digits(
        &format!("{path}.agreement_id"),
        start_assignment::AGREEMENT_ID,
        &assignment.agreement_id,
    )?;
    record.digits(
        &format!("{path}.assignment_number"),
        start_assignment::ASSIGNMENT_NUMBER,
        &assignment.assignment_number,
    )?;
    record.digits(
        &format!("{path}.payee_account"),
        start_assignment::PAYEE_ACCOUNT,
        &assignment.payee_account,
    )?;
    writer.finish(record);
    let (Some(earliest), Some(latest)) = (
        assignment.payments.iter().map(|p| p.settlement_date).min(),
        assignment.payments.iter().map(|p| p.settlement_date).max(),
    ) else {
        return Err(error(
            &format!("{path}.payments"),
            "[]",
            "an assignment has at least one payment",
        ));
    };
    let mut totals = Totals {
        records: 2,
        ..Totals::default()
    };
    for (index, payment) in assignment.payments.iter().enumerate() {
        totals.records += write_payment(writer, &format!("{path}.payments[{index}]"), payment)?;
        totals.transactions += 1;
        totals.sum_minor += i128::from(payment.amount_minor.unsigned_abs());
    }
    let mut record = writer.start(end_record::END_ASSIGNMENT_PREFIX);
    record.totals(&format!("{path}.payments"), &totals)?;
    record.date(
        &format!("{path}.nets_date"),
        end_record::NETS_DATE,
        assignment.nets_date,
    )?;
    record.date(
        &format!("{path}.payments"),
        end_record::EARLIEST_SETTLEMENT_DATE,
        earliest,
    )?;
    record.date(
        &format!("{path}.payments"),
        end_record::LATEST_SETTLEMENT_DATE,
        latest,
    )?;
    writer.finish(record);
    Ok(totals)
}

/// Writes the payment's items; returns how many records that took.
fn write_payment(
    writer: &mut Writer,
    path: &str,
    payment: &OcrPayment,
) -> Result<u64, OcrWriteError> {
    let code = format!("{:02}", payment.transaction_type.code());
    let prefix = |record_type: &str| format!("NY09{code}{record_type}");
    let number = format!("{:07}", payment.transaction_number);
    let at = |field: &str| format!("{path}.{field}");

    use amount_item_1 as f1;
    let mut item_1 = writer.start(prefix("30").as_bytes());
    item_1.digits(&at("transaction_number"), TRANSACTION_NUMBER, &number)?;
    item_1.date(
        &at("settlement_date"),
        f1::SETTLEMENT_DATE,
        payment.settlement_date,
    )?;
    item_1.digits(&at("centre_id"), f1::CENTRE_ID, &payment.centre_id)?;
    item_1.digits(&at("day_code"), f1::DAY_CODE, &payment.day_code)?;
    item_1.digits(
        &at("partial_settlement"),
        f1::PARTIAL_SETTLEMENT,
        &payment.partial_settlement,
    )?;
    item_1.digits(
        &at("serial_number"),
        f1::SERIAL_NUMBER,
        &payment.serial_number,
    )?;
    let sign = if payment.amount_minor < 0 { "-" } else { "0" };
    item_1.put(f1::SIGN, sign.as_bytes());
    let magnitude = format!("{:017}", payment.amount_minor.unsigned_abs());
    item_1.digits(&at("amount_minor"), f1::AMOUNT, &magnitude)?;
    match &payment.kid {
        Some(kid)
            if !kid.is_empty()
                && kid.len() <= f1::KID.width()
                && kid.bytes().all(|b| b.is_ascii_digit()) =>
        {
            item_1.put(f1::KID, format!("{kid:>25}").as_bytes());
        }
        Some(kid) => return Err(error(&at("kid"), kid, "a KID is 1 to 25 digits")),
        None => item_1.put(f1::KID, &[b' '; 25]),
    }
    writer.finish(item_1);

    use amount_item_2 as f2;
    let mut item_2 = writer.start(prefix("31").as_bytes());
    item_2.digits(&at("transaction_number"), TRANSACTION_NUMBER, &number)?;
    item_2.digits(&at("form_number"), f2::FORM_NUMBER, &payment.form_number)?;
    item_2.text(
        &at("archive_reference"),
        f2::ARCHIVE_REFERENCE,
        &payment.archive_reference,
        true,
    )?;
    match payment.bank_date {
        Some(date) => item_2.date(&at("bank_date"), f2::BANK_DATE, date)?,
        None => item_2.put(f2::BANK_DATE, b"000000"),
    }
    match &payment.debit_account {
        Some(account) if account.bytes().all(|b| b == b'0') => {
            return Err(error(
                &at("debit_account"),
                account,
                "an unknown debit account is None, not zeros",
            ));
        }
        Some(account) => item_2.digits(&at("debit_account"), f2::DEBIT_ACCOUNT, account)?,
        None => item_2.put(f2::DEBIT_ACCOUNT, &[b'0'; 11]),
    }
    writer.finish(item_2);

    if !payment.transaction_type.has_free_text() {
        if let Some(text) = &payment.free_text {
            return Err(error(
                &at("free_text"),
                text,
                "only transaction types 20 and 21 carry free text",
            ));
        }
        return Ok(2);
    }
    let mut item_3 = writer.start(prefix("32").as_bytes());
    item_3.digits(&at("transaction_number"), TRANSACTION_NUMBER, &number)?;
    let text = payment.free_text.as_deref().unwrap_or("");
    if payment.free_text.is_some() && (text.is_empty() || text.ends_with(' ')) {
        return Err(error(
            &at("free_text"),
            text,
            "free text is None when empty and has no trailing blanks",
        ));
    }
    item_3.text(&at("free_text"), amount_item_3::FREE_TEXT, text, false)?;
    writer.finish(item_3);
    Ok(3)
}

fn error(path: &str, value: &str, rule: impl Into<String>) -> OcrWriteError {
    OcrWriteError {
        path: path.to_owned(),
        value: value.to_owned(),
        rule: rule.into(),
    }
}

#[derive(Debug, Default)]
struct Totals {
    transactions: u64,
    records: u64,
    sum_minor: i128,
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A record of zeros (the filler of numeric fields) with its 8-character prefix.
    fn start(&self, prefix: &[u8]) -> RecordBuffer {
        let mut bytes = [b'0'; RECORD_LENGTH];
        bytes[..8].copy_from_slice(prefix);
        RecordBuffer { bytes }
    }

    fn finish(&mut self, record: RecordBuffer) {
        self.bytes.extend_from_slice(&record.bytes);
        self.bytes.extend_from_slice(b"\r\n");
    }
}

struct RecordBuffer {
    bytes: [u8; RECORD_LENGTH],
}

impl RecordBuffer {
    fn put(&mut self, field: Field, value: &[u8]) {
        debug_assert_eq!(value.len(), field.width(), "{}", field.name);
        self.bytes[field.start - 1..field.end].copy_from_slice(value);
    }

    fn digits(&mut self, path: &str, field: Field, value: &str) -> Result<(), OcrWriteError> {
        if value.len() != field.width() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(
                path,
                value,
                format!("{} is {} digits", field.name, field.width()),
            ));
        }
        self.put(field, value.as_bytes());
        Ok(())
    }

    /// ISO-8859-1 text without control characters, left-justified and blank-filled;
    /// `exact` when the value must fill the field.
    fn text(
        &mut self,
        path: &str,
        field: Field,
        value: &str,
        exact: bool,
    ) -> Result<(), OcrWriteError> {
        let mut encoded = Vec::with_capacity(field.width());
        for c in value.chars() {
            match u8::try_from(u32::from(c)) {
                Ok(b) if !(b < 0x20 || (0x7f..=0x9f).contains(&b)) => encoded.push(b),
                _ => {
                    return Err(error(
                        path,
                        value,
                        "ISO-8859-1 characters without control characters",
                    ));
                }
            }
        }
        if encoded.len() > field.width() || (exact && encoded.len() != field.width()) {
            let size = if exact { "exactly" } else { "at most" };
            return Err(error(
                path,
                value,
                format!("{} is {size} {} characters", field.name, field.width()),
            ));
        }
        encoded.resize(field.width(), b' ');
        self.put(field, &encoded);
        Ok(())
    }

    fn date(&mut self, path: &str, field: Field, date: Date) -> Result<(), OcrWriteError> {
        if !OCR_YEARS.contains(&date.year()) {
            return Err(error(
                path,
                &date.to_string(),
                "an OCR date (DDMMYY) stands for a year from 1969 to 2068",
            ));
        }
        let text = format!(
            "{:02}{:02}{:02}",
            date.day(),
            date.month(),
            date.year() % 100
        );
        self.put(field, text.as_bytes());
        Ok(())
    }

    /// The control totals of an end record; `path` names what they total.
    fn totals(&mut self, path: &str, totals: &Totals) -> Result<(), OcrWriteError> {
        let count = |n: u64| format!("{n:08}");
        self.digits(path, end_record::TRANSACTIONS, &count(totals.transactions))?;
        self.digits(path, end_record::RECORDS, &count(totals.records))?;
        self.digits(path, end_record::SUM, &format!("{:017}", totals.sum_minor))
    }
}

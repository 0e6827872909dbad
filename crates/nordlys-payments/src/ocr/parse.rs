//! Reading an OCR giro file: records of 80 ISO-8859-1 characters (CR LF or LF), the grammar
//! `10 (20 (30 31 [32])+ 88)+ 89`, every field typed, items linked, and the control totals
//! of each assignment (88) and of the transmission (89) compared. Any error rejects the file.

use jiff::civil::Date;

use super::layout::{
    FORMAT_CODE, Field, RECORD_LENGTH, RECORD_TYPE, SERVICE_CODE, SERVICE_OCR_GIRO,
    SERVICE_TRANSMISSION, TRANSACTION_NUMBER, TRANSACTION_TYPE, amount_item_1, amount_item_2,
    amount_item_3, end_record, start_assignment, start_transmission,
};
use super::{
    OCR_MAX_FILE_BYTES, OcrAssignment, OcrError, OcrPayment, OcrTransactionType, OcrTransmission,
    century_year,
};

/// Parse a whole OCR giro file. The file is accepted whole or rejected with the first error.
pub fn parse_ocr(bytes: &[u8]) -> Result<OcrTransmission, OcrError> {
    if bytes.len() > OCR_MAX_FILE_BYTES {
        return Err(OcrError {
            line: 0,
            field: "file",
            positions: None,
            value: format!("{} bytes", bytes.len()),
            rule: format!("an OCR file is at most {OCR_MAX_FILE_BYTES} bytes"),
        });
    }
    let mut records = Records::new(bytes);
    let start = records.expect(Kind::StartTransmission)?;
    let sender = start.digits(start_transmission::SENDER)?.to_owned();
    let transmission_number = start
        .digits(start_transmission::TRANSMISSION_NUMBER)?
        .to_owned();
    let recipient = start.digits(start_transmission::RECIPIENT)?.to_owned();

    let mut assignments = Vec::new();
    let mut totals = Totals::default();
    loop {
        let record = records.next_record(
            "a start of assignment (NY090020) or the end of transmission (NY000089)",
        )?;
        match record.kind()? {
            Kind::StartAssignment => {
                let (assignment, assignment_totals) = parse_assignment(&mut records, record)?;
                totals.add(&assignment_totals);
                assignments.push(assignment);
            }
            Kind::EndTransmission => {
                if assignments.is_empty() {
                    return Err(
                        record.whole("a transmission has at least one assignment (NY090020)")
                    );
                }
                // The start and end of the transmission count as records too.
                totals.records += 2;
                record.check_totals(&totals)?;
                let nets_date = record.date(end_record::NETS_DATE)?;
                records.expect_end()?;
                return Ok(OcrTransmission {
                    sender,
                    transmission_number,
                    recipient,
                    nets_date,
                    assignments,
                });
            }
            other => {
                return Err(record.unexpected(
                    other,
                    "a start of assignment (NY090020) or the end of transmission (NY000089)",
                ));
            }
        }
    }
}

fn parse_assignment<'a>(
    records: &mut Records<'a>,
    start: Record<'a>,
) -> Result<(OcrAssignment, Totals), OcrError> {
    let agreement_id = start.digits(start_assignment::AGREEMENT_ID)?.to_owned();
    let assignment_number = start
        .digits(start_assignment::ASSIGNMENT_NUMBER)?
        .to_owned();
    let payee_account = start.digits(start_assignment::PAYEE_ACCOUNT)?.to_owned();
    let mut payments: Vec<OcrPayment> = Vec::new();
    let mut totals = Totals {
        records: 1,
        ..Totals::default()
    };
    loop {
        let record = records
            .next_record("an amount item 1 (NY09tt30) or the end of assignment (NY090088)")?;
        match record.kind()? {
            Kind::AmountItem1(transaction_type) => {
                let payment = parse_payment(records, record, transaction_type, &mut totals)?;
                payments.push(payment);
            }
            Kind::EndAssignment => {
                if payments.is_empty() {
                    return Err(
                        record.whole("an assignment has at least one transaction (NY09tt30)")
                    );
                }
                totals.records += 1;
                record.check_totals(&totals)?;
                let nets_date = record.date(end_record::NETS_DATE)?;
                let earliest = payments.iter().map(|p| p.settlement_date).min();
                let latest = payments.iter().map(|p| p.settlement_date).max();
                record.check_date(end_record::EARLIEST_SETTLEMENT_DATE, earliest, "earliest")?;
                record.check_date(end_record::LATEST_SETTLEMENT_DATE, latest, "latest")?;
                let assignment = OcrAssignment {
                    agreement_id,
                    assignment_number,
                    payee_account,
                    nets_date,
                    payments,
                };
                return Ok((assignment, totals));
            }
            other => {
                return Err(record.unexpected(
                    other,
                    "an amount item 1 (NY09tt30) or the end of assignment (NY090088)",
                ));
            }
        }
    }
}

fn parse_payment<'a>(
    records: &mut Records<'a>,
    item_1: Record<'a>,
    transaction_type: OcrTransactionType,
    totals: &mut Totals,
) -> Result<OcrPayment, OcrError> {
    use amount_item_1 as f1;
    let transaction_number = item_1.number(TRANSACTION_NUMBER)? as u32;
    let settlement_date = item_1.date(f1::SETTLEMENT_DATE)?;
    let centre_id = item_1.digits(f1::CENTRE_ID)?.to_owned();
    let day_code = item_1.digits(f1::DAY_CODE)?.to_owned();
    let partial_settlement = item_1.digits(f1::PARTIAL_SETTLEMENT)?.to_owned();
    let serial_number = item_1.digits(f1::SERIAL_NUMBER)?.to_owned();
    let magnitude = item_1.number(f1::AMOUNT)? as i64;
    let amount_minor = match f1::SIGN.slice(item_1.bytes) {
        b"0" => magnitude,
        b"-" if magnitude > 0 => -magnitude,
        b"-" => return Err(item_1.error(f1::SIGN, "a credit note ('-') has an amount above 0")),
        _ => return Err(item_1.error(f1::SIGN, "the sign is '0' or '-' (credit note)")),
    };
    let kid = item_1.kid()?;

    let item_2 = records.next_record("amount item 2 (NY09tt31)")?;
    item_2.check_follows(&item_1, 31)?;
    use amount_item_2 as f2;
    let form_number = item_2.digits(f2::FORM_NUMBER)?.to_owned();
    let archive_reference = item_2.text(f2::ARCHIVE_REFERENCE);
    let bank_date = item_2.optional_date(f2::BANK_DATE)?;
    let debit_account = Some(item_2.digits(f2::DEBIT_ACCOUNT)?)
        .filter(|account| account.bytes().any(|b| b != b'0'))
        .map(str::to_owned);
    let mut records_used = 2;

    let free_text = if transaction_type.has_free_text() {
        let item_3 =
            records.next_record("amount item 3 (NY09tt32), required for types 20 and 21")?;
        item_3.check_follows(&item_1, 32)?;
        records_used += 1;
        let text = item_3.text(amount_item_3::FREE_TEXT);
        let text = text.trim_end_matches(' ');
        (!text.is_empty()).then(|| text.to_owned())
    } else {
        if let Some(next) = records.peek()
            && RECORD_TYPE.slice(next.bytes) == b"32"
        {
            return Err(next.error(
                RECORD_TYPE,
                "amount item 3 (free text) follows only transaction types 20 and 21",
            ));
        }
        None
    };
    totals.transactions += 1;
    totals.records += records_used;
    totals.sum_minor += i128::from(magnitude);
    Ok(OcrPayment {
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
        debit_account,
        free_text,
        line: item_1.line,
    })
}

/// What the end records count: transactions, records, and the sum of the amount fields in
/// øre as written (reversals and credit notes are added, not subtracted).
#[derive(Debug, Default)]
struct Totals {
    transactions: u64,
    records: u64,
    sum_minor: i128,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.transactions += other.transactions;
        self.records += other.records;
        self.sum_minor += other.sum_minor;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    StartTransmission,
    StartAssignment,
    AmountItem1(OcrTransactionType),
    AmountItem2(OcrTransactionType),
    AmountItem3(OcrTransactionType),
    EndAssignment,
    EndTransmission,
}

impl Kind {
    fn describe(self) -> String {
        match self {
            Kind::StartTransmission => "a start of transmission (NY000010)".into(),
            Kind::StartAssignment => "a start of assignment (NY090020)".into(),
            Kind::AmountItem1(t) => format!("amount item 1 (NY09{:02}30)", t.code()),
            Kind::AmountItem2(t) => format!("amount item 2 (NY09{:02}31)", t.code()),
            Kind::AmountItem3(t) => format!("amount item 3 (NY09{:02}32)", t.code()),
            Kind::EndAssignment => "an end of assignment (NY090088)".into(),
            Kind::EndTransmission => "an end of transmission (NY000089)".into(),
        }
    }
}

/// One checked record: 80 bytes, `NY`, no control characters.
#[derive(Debug, Clone, Copy)]
struct Record<'a> {
    line: usize,
    bytes: &'a [u8],
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

impl<'a> Record<'a> {
    fn error(&self, field: Field, rule: impl Into<String>) -> OcrError {
        OcrError {
            line: self.line,
            field: field.name,
            positions: Some((field.start, field.end)),
            value: latin1(field.slice(self.bytes)),
            rule: rule.into(),
        }
    }

    fn whole(&self, rule: impl Into<String>) -> OcrError {
        OcrError {
            line: self.line,
            field: "record",
            positions: None,
            value: latin1(&self.bytes[..self.bytes.len().min(8)]),
            rule: rule.into(),
        }
    }

    fn unexpected(&self, found: Kind, expected: &str) -> OcrError {
        self.whole(format!("expected {expected}, found {}", found.describe()))
    }

    fn kind(&self) -> Result<Kind, OcrError> {
        let service = SERVICE_CODE.slice(self.bytes);
        let record_type = RECORD_TYPE.slice(self.bytes);
        let prefix = &self.bytes[..8];
        let start_or_end = |kind: Kind, expected_prefix: &[u8]| {
            if prefix == expected_prefix {
                Ok(kind)
            } else {
                Err(self.error(
                    TRANSACTION_TYPE,
                    "start and end records have 00 in positions 5-6",
                ))
            }
        };
        match (service, record_type) {
            (SERVICE_TRANSMISSION, b"10") => {
                start_or_end(Kind::StartTransmission, start_transmission::PREFIX)
            }
            (SERVICE_TRANSMISSION, b"89") => {
                start_or_end(Kind::EndTransmission, end_record::END_TRANSMISSION_PREFIX)
            }
            (SERVICE_OCR_GIRO, b"20") => {
                start_or_end(Kind::StartAssignment, start_assignment::PREFIX)
            }
            (SERVICE_OCR_GIRO, b"88") => {
                start_or_end(Kind::EndAssignment, end_record::END_ASSIGNMENT_PREFIX)
            }
            (SERVICE_OCR_GIRO, b"30") => Ok(Kind::AmountItem1(self.transaction_type()?)),
            (SERVICE_OCR_GIRO, b"31") => Ok(Kind::AmountItem2(self.transaction_type()?)),
            (SERVICE_OCR_GIRO, b"32") => Ok(Kind::AmountItem3(self.transaction_type()?)),
            (SERVICE_TRANSMISSION, _) => Err(self.error(
                RECORD_TYPE,
                "unknown record type: records of service 00 are 10 (start) and 89 (end of transmission)",
            )),
            (SERVICE_OCR_GIRO, _) => Err(self.error(
                RECORD_TYPE,
                "unknown record type: OCR giro records are 20, 30, 31, 32 and 88",
            )),
            _ => Err(self.error(
                SERVICE_CODE,
                "an OCR giro file has service code 00 (transmission) or 09 (OCR giro)",
            )),
        }
    }

    fn transaction_type(&self) -> Result<OcrTransactionType, OcrError> {
        let code = self.number(TRANSACTION_TYPE)?;
        u8::try_from(code)
            .ok()
            .and_then(OcrTransactionType::from_code)
            .ok_or_else(|| self.error(TRANSACTION_TYPE, "transaction types are 10 to 21"))
    }

    /// Item 2 or 3 of the transaction started by `item_1`: same type, same number.
    fn check_follows(&self, item_1: &Record<'_>, record_type: u8) -> Result<(), OcrError> {
        let item = record_type - 29;
        let expected = format!("amount item {item} (NY09tt{record_type})");
        let kind = self.kind()?;
        let transaction_type = match (kind, record_type) {
            (Kind::AmountItem2(t), 31) | (Kind::AmountItem3(t), 32) => t,
            (other, _) => return Err(self.unexpected(other, &expected)),
        };
        if TRANSACTION_TYPE.slice(self.bytes) != TRANSACTION_TYPE.slice(item_1.bytes) {
            return Err(self.error(
                TRANSACTION_TYPE,
                format!(
                    "amount item {item} has the transaction type of its item 1 on line {} ({:02}), not {:02}",
                    item_1.line,
                    OcrTransactionType::code(item_1.transaction_type()?),
                    transaction_type.code()
                ),
            ));
        }
        if TRANSACTION_NUMBER.slice(self.bytes) != TRANSACTION_NUMBER.slice(item_1.bytes) {
            return Err(self.error(
                TRANSACTION_NUMBER,
                format!(
                    "amount item {item} has the transaction number of its item 1 on line {} ({})",
                    item_1.line,
                    latin1(TRANSACTION_NUMBER.slice(item_1.bytes))
                ),
            ));
        }
        Ok(())
    }

    fn digits(&self, field: Field) -> Result<&'a str, OcrError> {
        let slice = field.slice(self.bytes);
        if !slice.iter().all(u8::is_ascii_digit) {
            return Err(self.error(
                field,
                format!("a numeric field of {} digits (zero-filled)", field.width()),
            ));
        }
        // Digits are ASCII, hence UTF-8.
        std::str::from_utf8(slice).map_err(|_| self.error(field, "digits only"))
    }

    /// A numeric field of at most 17 digits, which fits an `i64`/`u64`.
    fn number(&self, field: Field) -> Result<u64, OcrError> {
        debug_assert!(field.width() <= 17);
        Ok(self
            .digits(field)?
            .bytes()
            .fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
    }

    fn text(&self, field: Field) -> String {
        latin1(field.slice(self.bytes))
    }

    fn optional_date(&self, field: Field) -> Result<Option<Date>, OcrError> {
        if field.slice(self.bytes) == b"000000" {
            return Ok(None);
        }
        self.date(field).map(Some)
    }

    fn date(&self, field: Field) -> Result<Date, OcrError> {
        let digits = self.digits(field)?.as_bytes();
        let pair = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
        let (day, month, year) = (pair(0), pair(2), pair(4));
        Date::new(century_year(year), month as i8, day as i8).map_err(|_| {
            self.error(
                field,
                format!(
                    "not a date DDMMYY (years 69-99 are 1969-1999, 00-68 are 2000-2068): day {day}, month {month}"
                ),
            )
        })
    }

    fn kid(&self) -> Result<Option<String>, OcrError> {
        let field = amount_item_1::KID;
        let slice = field.slice(self.bytes);
        let digits_start = slice.iter().position(|&b| b != b' ').unwrap_or(slice.len());
        let digits = &slice[digits_start..];
        if digits.is_empty() {
            return Ok(None);
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(self.error(
                field,
                "a KID is digits only, right-justified and blank-filled on the left",
            ));
        }
        Ok(Some(latin1(digits)))
    }

    fn check_totals(&self, counted: &Totals) -> Result<(), OcrError> {
        let what = if self.bytes[..8] == *end_record::END_ASSIGNMENT_PREFIX {
            "assignment"
        } else {
            "transmission"
        };
        let transactions = self.number(end_record::TRANSACTIONS)?;
        if transactions != counted.transactions {
            return Err(self.error(
                end_record::TRANSACTIONS,
                format!("the {what} has {} transactions", counted.transactions),
            ));
        }
        let records = self.number(end_record::RECORDS)?;
        if records != counted.records {
            return Err(self.error(
                end_record::RECORDS,
                format!(
                    "the {what} has {} records, its start and end included",
                    counted.records
                ),
            ));
        }
        let sum = i128::from(self.number(end_record::SUM)?);
        if sum != counted.sum_minor {
            return Err(self.error(
                end_record::SUM,
                format!(
                    "the amounts of the {what} add up to {} øre (reversals and credit notes added)",
                    counted.sum_minor
                ),
            ));
        }
        Ok(())
    }

    fn check_date(&self, field: Field, counted: Option<Date>, which: &str) -> Result<(), OcrError> {
        let stated = self.date(field)?;
        match counted {
            Some(counted) if counted != stated => Err(self.error(
                field,
                format!(
                    "the {which} settlement date of the assignment's transactions is {counted}"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The file's lines with their 0-based index, split at LF (a CR before it is removed).
type Lines<'a> =
    std::iter::Peekable<std::iter::Enumerate<std::slice::Split<'a, u8, fn(&u8) -> bool>>>;

/// The records of a file, line by line, each checked for length, `NY` and characters.
struct Records<'a> {
    lines: Lines<'a>,
    last_line: usize,
}

fn is_newline(b: &u8) -> bool {
    *b == b'\n'
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let split: std::slice::Split<'a, u8, fn(&u8) -> bool> = bytes.split(is_newline);
        Records {
            lines: split.enumerate().peekable(),
            last_line: 0,
        }
    }

    fn strip(line: &[u8]) -> &[u8] {
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// The next record; the end of the file is an error that says what was expected.
    fn next_record(&mut self, expected: &str) -> Result<Record<'a>, OcrError> {
        let end_of_file = |line: usize| OcrError {
            line,
            field: "record",
            positions: None,
            value: String::new(),
            rule: format!("the file ends here; expected {expected}"),
        };
        let Some((index, line)) = self.lines.next() else {
            return Err(end_of_file(self.last_line));
        };
        let line = Self::strip(line);
        // The empty piece after the final line break is the end of the file, not a record.
        if line.is_empty() && self.lines.peek().is_none() {
            return Err(end_of_file(self.last_line));
        }
        self.last_line = index + 1;
        Self::check(index + 1, line)
    }

    fn check(line_number: usize, bytes: &'a [u8]) -> Result<Record<'a>, OcrError> {
        let whole = |rule: String| OcrError {
            line: line_number,
            field: "record",
            positions: None,
            value: latin1(&bytes[..bytes.len().min(RECORD_LENGTH)]),
            rule,
        };
        if bytes.len() != RECORD_LENGTH {
            return Err(whole(format!(
                "a record is {RECORD_LENGTH} characters; this one has {}",
                bytes.len()
            )));
        }
        if let Some(position) = bytes
            .iter()
            .position(|&b| b < 0x20 || (0x7f..=0x9f).contains(&b))
        {
            return Err(whole(format!(
                "a control character (byte {:#04x}) at position {}",
                bytes[position],
                position + 1
            )));
        }
        let record = Record {
            line: line_number,
            bytes,
        };
        if FORMAT_CODE.slice(bytes) != b"NY" {
            return Err(record.error(FORMAT_CODE, "every record starts with the format code NY"));
        }
        Ok(record)
    }

    /// The next record if it is well-formed, for a look ahead (errors are found when read).
    fn peek(&mut self) -> Option<Record<'a>> {
        let (index, line) = self.lines.peek()?;
        Self::check(index + 1, Self::strip(line)).ok()
    }

    fn expect(&mut self, kind: Kind) -> Result<Record<'a>, OcrError> {
        let record = self.next_record(&kind.describe())?;
        let found = record.kind()?;
        if found != kind {
            return Err(record.unexpected(found, &kind.describe()));
        }
        Ok(record)
    }

    /// After the end of transmission only empty lines may follow.
    fn expect_end(&mut self) -> Result<(), OcrError> {
        for (index, line) in self.lines.by_ref() {
            let line = Self::strip(line);
            if !line.is_empty() {
                return Err(OcrError {
                    line: index + 1,
                    field: "record",
                    positions: None,
                    value: latin1(&line[..line.len().min(8)]),
                    rule: "nothing follows the end of transmission (NY000089)".into(),
                });
            }
        }
        Ok(())
    }
}

//! The one payment record both formats map into ([`IncomingPayment`]), its reference
//! ([`PaymentReference`]), the KID check against a payee's accepted schemes, the camt entries
//! that are not payments ([`SkippedEntry`]), and duplicate bank references within a file.

use std::collections::HashMap;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::fik::Fik71PaymentId;
use nordlys_core::kid::{Kid, KidAlgorithm};
use nordlys_core::quantity::Currency;

use crate::camt::{CamtDocument, CamtEntry, CamtReport, CamtTransaction, CreditDebit};
use crate::ocr::{OcrPayment, OcrTransmission};
use crate::reference::{RfCreditorReference, classify_creditor_reference};

/// Which file a payment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentSource {
    Ocr,
    Camt,
}

/// A payment into one of the payee's accounts, as one format-neutral record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingPayment {
    pub source: PaymentSource,
    /// The bank's reference of this payment: the key that refuses the same payment twice.
    /// OCR: the archive reference (item 2, 26-34); for type 12, whose field holds the payer's
    /// agreement id (the same every month), `{archive reference}/{settlement date}/{transaction
    /// number}`. camt: `TxDtls/Refs/AcctSvcrRef`; else the entry's `AcctSvcrRef` when the
    /// entry has one transaction, `{entry AcctSvcrRef}/{n}` for its n-th (1-based) of several;
    /// without an entry `AcctSvcrRef`, `{report Id}/{NtryRef or entry position}/{n}`.
    pub bank_reference: String,
    /// OCR: the settlement date; camt: the booking date (the value date when none is given).
    pub booking_date: Date,
    /// Into the account in minor units: negative for a reversal (OCR types 18 and 20) and for
    /// an OCR credit note (sign `-`).
    pub amount_minor: i64,
    pub currency: Currency,
    pub reference: PaymentReference,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    /// OCR item 3; camt `Ustrd` lines joined with a space.
    pub free_text: Option<String>,
    /// The account paid into (OCR: the assignment's account; camt: the report's `Acct/Id`).
    pub payee_account: String,
    /// OCR types 18 and 20.
    pub reversal: bool,
    /// The file line of the payment (OCR: item 1; camt: `TxDtls`, or `Ntry` without details).
    pub line: usize,
}

/// The payment reference a payer gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentReference {
    /// KID digits as sent. A KID's check digit is MOD10 or MOD11 per the payee's series, so it
    /// is checked with [`check_kid`] by whoever knows the series.
    Kid(String),
    /// A Danish +71 payment id, its check digit valid.
    Fik71(Fik71PaymentId),
    /// An ISO 11649 RF creditor reference, its check digits valid.
    Rf(RfCreditorReference),
    /// A reference of a known scheme whose check fails.
    Invalid {
        scheme: ReferenceScheme,
        value: String,
        rule: String,
    },
    /// A structured reference of no scheme known here.
    Other(String),
    /// No structured reference.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceScheme {
    Kid,
    Fik71,
    Rf,
}

/// The KID if `digits` passes one of the payee's `accepted` schemes (tried in order).
pub fn check_kid(
    digits: &str,
    accepted: &[KidAlgorithm],
) -> Result<(Kid, KidAlgorithm), ParseError> {
    let mut rules = Vec::new();
    for &algorithm in accepted {
        match Kid::parse(digits, algorithm) {
            Ok(kid) => return Ok((kid, algorithm)),
            Err(e) => rules.push(e.rule),
        }
    }
    if rules.is_empty() {
        rules.push("no KID scheme is accepted for this account".into());
    }
    Err(ParseError::new("kid", digits, rules.join("; ")))
}

impl PaymentReference {
    /// For a [`PaymentReference::Kid`], the reference checked against `accepted`: `Kid` stays
    /// when valid, `Invalid` when not. Other references are returned as they are.
    pub fn checked(self, accepted: &[KidAlgorithm]) -> PaymentReference {
        match self {
            PaymentReference::Kid(digits) => match check_kid(&digits, accepted) {
                Ok(_) => PaymentReference::Kid(digits),
                Err(e) => PaymentReference::Invalid {
                    scheme: ReferenceScheme::Kid,
                    value: digits,
                    rule: e.rule,
                },
            },
            other => other,
        }
    }
}

impl OcrTransmission {
    /// Every payment of the transmission, in file order.
    pub fn incoming_payments(&self) -> Vec<IncomingPayment> {
        self.assignments
            .iter()
            .flat_map(|assignment| {
                assignment
                    .payments
                    .iter()
                    .map(|payment| ocr_payment(&assignment.payee_account, payment))
            })
            .collect()
    }
}

fn ocr_payment(payee_account: &str, payment: &OcrPayment) -> IncomingPayment {
    use crate::ocr::OcrTransactionType::DirectRemittance;
    let bank_reference = if payment.transaction_type == DirectRemittance {
        format!(
            "{}/{}/{}",
            payment.archive_reference, payment.settlement_date, payment.transaction_number
        )
    } else {
        payment.archive_reference.clone()
    };
    let reversal = payment.transaction_type.is_reversal();
    IncomingPayment {
        source: PaymentSource::Ocr,
        bank_reference,
        booking_date: payment.settlement_date,
        amount_minor: if reversal {
            -payment.amount_minor
        } else {
            payment.amount_minor
        },
        currency: Currency::Nok,
        reference: payment
            .kid
            .clone()
            .map_or(PaymentReference::None, PaymentReference::Kid),
        payer_name: None,
        payer_account: payment.debit_account.clone(),
        free_text: payment.free_text.clone(),
        payee_account: payee_account.to_owned(),
        reversal,
        line: payment.line,
    }
}

/// A camt entry that is not a payment in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    pub report_id: String,
    pub entry_reference: Option<String>,
    pub amount_minor: i64,
    pub currency: Currency,
    pub reason: SkipReason,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `DBIT`: money out of the account.
    Debit,
    /// A status other than `BOOK` (e.g. `PDNG`, `INFO`): not (yet) on the account.
    NotBooked(String),
    /// `RvslInd` true: the bank reverses an earlier entry.
    Reversal,
    /// Neither a booking nor a value date (the parser refuses such a booked entry; a
    /// document built by hand may have one).
    Undated,
}

/// What a camt document holds for receivables: the payments and the entries skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtPayments {
    pub payments: Vec<IncomingPayment>,
    pub skipped: Vec<SkippedEntry>,
}

impl CamtDocument {
    /// Every booked credit entry's transactions as payments (an entry without `TxDtls` is one
    /// payment); every other entry skipped with its reason.
    pub fn incoming_payments(&self) -> CamtPayments {
        let mut result = CamtPayments {
            payments: Vec::new(),
            skipped: Vec::new(),
        };
        for report in &self.reports {
            for (index, entry) in report.entries.iter().enumerate() {
                let reason = if entry.direction == CreditDebit::Debit {
                    Some(SkipReason::Debit)
                } else if entry.status != "BOOK" {
                    Some(SkipReason::NotBooked(entry.status.clone()))
                } else if entry.reversal {
                    Some(SkipReason::Reversal)
                } else if entry.booking_date.or(entry.value_date).is_none() {
                    Some(SkipReason::Undated)
                } else {
                    None
                };
                match reason {
                    Some(reason) => result.skipped.push(SkippedEntry {
                        report_id: report.id.clone(),
                        entry_reference: entry.entry_reference.clone(),
                        amount_minor: entry.amount_minor,
                        currency: entry.currency,
                        reason,
                        line: entry.line,
                    }),
                    None => result.payments.extend(camt_payments(report, index, entry)),
                }
            }
        }
        result
    }
}

fn camt_payments(report: &CamtReport, index: usize, entry: &CamtEntry) -> Vec<IncomingPayment> {
    let entry_key = match &entry.account_servicer_reference {
        Some(reference) => reference.clone(),
        None => format!(
            "{}/{}",
            report.id,
            entry
                .entry_reference
                .clone()
                .unwrap_or_else(|| (index + 1).to_string())
        ),
    };
    let Some(booking_date) = entry.booking_date.or(entry.value_date) else {
        return Vec::new();
    };
    let payment = |bank_reference: String, amount_minor: i64, tx: Option<&CamtTransaction>| {
        let reference = tx
            .and_then(|tx| {
                tx.structured
                    .iter()
                    .find_map(|s| s.creditor_reference.as_ref())
            })
            .map_or(PaymentReference::None, |r| {
                classify_creditor_reference(r, report.account_currency.or(Some(entry.currency)))
            });
        let free_text = tx
            .filter(|tx| !tx.unstructured.is_empty())
            .map(|tx| tx.unstructured.join(" "));
        IncomingPayment {
            source: PaymentSource::Camt,
            bank_reference,
            booking_date,
            amount_minor,
            currency: entry.currency,
            reference,
            payer_name: tx.and_then(|tx| tx.debtor_name.clone()),
            payer_account: tx
                .and_then(|tx| tx.debtor_account.as_ref().map(|a| a.as_str().to_owned())),
            free_text,
            payee_account: report.account.as_str().to_owned(),
            reversal: false,
            line: tx.map_or(entry.line, |tx| tx.line),
        }
    };
    if entry.transactions.is_empty() {
        let key = if entry.account_servicer_reference.is_some() {
            entry_key
        } else {
            format!("{entry_key}/1")
        };
        return vec![payment(key, entry.amount_minor, None)];
    }
    let single = entry.transactions.len() == 1;
    entry
        .transactions
        .iter()
        .enumerate()
        .map(|(n, tx)| {
            let key = match &tx.account_servicer_reference {
                Some(reference) => reference.clone(),
                None if single && entry.account_servicer_reference.is_some() => entry_key.clone(),
                None => format!("{entry_key}/{}", n + 1),
            };
            payment(key, tx.amount_minor, Some(tx))
        })
        .collect()
}

/// A bank reference that occurs more than once, with the lines of every occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateBankReference {
    pub bank_reference: String,
    pub lines: Vec<usize>,
}

/// The bank references that occur more than once among `payments` (in order of first
/// occurrence). The import refuses a file with any: the same payment twice.
pub fn duplicate_bank_references(payments: &[IncomingPayment]) -> Vec<DuplicateBankReference> {
    let mut lines_by_reference: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for payment in payments {
        let lines = lines_by_reference
            .entry(&payment.bank_reference)
            .or_default();
        if lines.is_empty() {
            order.push(payment.bank_reference.as_str());
        }
        lines.push(payment.line);
    }
    order
        .into_iter()
        .filter_map(|reference| {
            let lines = &lines_by_reference[reference];
            (lines.len() > 1).then(|| DuplicateBankReference {
                bank_reference: reference.to_owned(),
                lines: lines.clone(),
            })
        })
        .collect()
}

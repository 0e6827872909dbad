//! `nordlys import payments`: one payment file (OCR giro or camt.054/053) stored whole or not at
//! all. The file is parsed and checked first (its grammar and control totals, currencies, the
//! same bank reference twice); then, under the receivables lock, a file imported before changes
//! nothing, a payment stored before refuses the file, and every payment is matched against the
//! open invoices as they stand and stored with its allocations in one journaled transaction.

use nordlys_core::quantity::Currency;
use nordlys_payments::{
    IncomingPayment, PaymentReference, duplicate_bank_references, parse_camt, parse_ocr,
};
use nordlys_store::{NewAllocation, NewPayment, Store, StoreError};
use sha2::{Digest, Sha256};

use super::ledger::ledgers;
use super::matching::OpenBook;
use crate::clock::Clock;

/// The currencies a payment may be in.
pub const ACCEPTED_CURRENCIES: [Currency; 3] = [Currency::Nok, Currency::Dkk, Currency::Eur];

/// Why a payment file was refused: where and what.
#[derive(Debug, thiserror::Error)]
pub enum PaymentImportError {
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentImportReport {
    pub file: String,
    /// `ocr` or `camt`.
    pub format: &'static str,
    /// The file had been imported before: nothing changed.
    pub already_imported: bool,
    pub payments: usize,
    pub total_minor: i64,
    /// Matched to an invoice by KID, by a reference in the text.
    pub matched_by_kid: usize,
    pub matched_by_reference: usize,
    /// Waiting in the worklist (`nordlys payments list --unmatched`).
    pub unmatched: usize,
    /// Money beyond what the invoices had open, kept as the accounts' credit.
    pub credit_minor: i64,
    /// camt entries that are not payments in (debits, not booked, reversals), with why.
    pub skipped: Vec<String>,
}

fn invalid(file: &str, line: usize, message: impl Into<String>) -> PaymentImportError {
    PaymentImportError::Invalid {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

/// Parse `bytes` as the format its start names: the payments and the skipped entries.
fn parse(
    file: &str,
    bytes: &[u8],
) -> Result<(&'static str, Vec<IncomingPayment>, Vec<String>), PaymentImportError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&bytes[..0], |i| &bytes[i..]);
    if start.starts_with(b"NY") {
        let transmission = parse_ocr(bytes).map_err(|e| {
            invalid(
                file,
                e.line,
                match e.positions {
                    Some((from, to)) => {
                        format!(
                            "{} (positions {from}-{to}) {:?}: {}",
                            e.field, e.value, e.rule
                        )
                    }
                    None => format!("{} {:?}: {}", e.field, e.value, e.rule),
                },
            )
        })?;
        Ok(("ocr", transmission.incoming_payments(), Vec::new()))
    } else if start.starts_with(b"<") {
        let document = parse_camt(bytes, &ACCEPTED_CURRENCIES).map_err(|e| {
            invalid(
                file,
                e.line,
                format!("{} {:?}: {}", e.path, e.value, e.rule),
            )
        })?;
        let found = document.incoming_payments();
        let skipped = found
            .skipped
            .iter()
            .map(|s| format!("line {}: {:?}", s.line, s.reason))
            .collect();
        Ok(("camt", found.payments, skipped))
    } else {
        Err(invalid(
            file,
            1,
            "neither an OCR giro file (records start with NY) nor an ISO 20022 camt document (XML)",
        ))
    }
}

fn stored_reference(reference: &PaymentReference) -> (&'static str, Option<String>) {
    match reference {
        PaymentReference::Kid(k) => ("kid", Some(k.clone())),
        PaymentReference::Fik71(id) => ("fik71", Some(id.to_string())),
        PaymentReference::Rf(rf) => ("rf", Some(rf.as_str().to_owned())),
        PaymentReference::Invalid { value, .. } => ("invalid", Some(value.clone())),
        PaymentReference::Other(o) => ("other", Some(o.clone())),
        PaymentReference::None => ("none", None),
    }
}

/// Import one payment file named `file` (for messages and the record).
pub async fn import_payment_file(
    store: &Store,
    file: &str,
    bytes: &[u8],
    clock: &dyn Clock,
) -> Result<PaymentImportReport, PaymentImportError> {
    let (format, payments, skipped) = parse(file, bytes)?;
    if let Some(duplicate) = duplicate_bank_references(&payments).first() {
        return Err(invalid(
            file,
            duplicate.lines.get(1).copied().unwrap_or(0),
            format!(
                "bank reference {} stands on lines {:?}: the same payment twice",
                duplicate.bank_reference, duplicate.lines
            ),
        ));
    }
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let mut report = PaymentImportReport {
        file: file.to_owned(),
        format,
        already_imported: false,
        payments: payments.len(),
        total_minor: payments.iter().map(|p| p.amount_minor).sum(),
        matched_by_kid: 0,
        matched_by_reference: 0,
        unmatched: 0,
        credit_minor: 0,
        skipped,
    };
    let mut tx = store.begin_import("payments", file, clock.now()).await?;
    tx.lock_receivables().await?;
    if tx.payment_file_by_sha256(&sha256).await?.is_some() {
        report.already_imported = true;
        return Ok(report);
    }
    let references: Vec<&str> = payments.iter().map(|p| p.bank_reference.as_str()).collect();
    let known = tx.known_bank_references(&references).await?;
    if let Some(p) = payments.iter().find(|p| known.contains(&p.bank_reference)) {
        return Err(invalid(
            file,
            p.line,
            format!(
                "bank reference {} was imported before: the same payment twice",
                p.bank_reference
            ),
        ));
    }
    let basis = tx.receivables_basis().await?;
    let latest = payments
        .iter()
        .map(|p| p.booking_date)
        .chain(basis.documents.iter().map(|d| d.issue_date))
        .max()
        .unwrap_or(jiff::civil::date(2000, 1, 1));
    let open = ledgers(&basis, latest)
        .into_values()
        .flat_map(|l| l.items)
        .filter(|i| i.kid.is_some() || i.open_minor > 0);
    let mut book = OpenBook::new(open);
    let mut planned = Vec::with_capacity(payments.len());
    for payment in &payments {
        let allocations = book.match_payment(payment);
        match allocations.first().map(|a| a.rule) {
            Some("kid") => report.matched_by_kid += 1,
            Some("reference") => report.matched_by_reference += 1,
            Some(_) => report.matched_by_kid += 1,
            None => report.unmatched += 1,
        }
        report.credit_minor += allocations
            .iter()
            .filter(|a| a.document_id.is_none())
            .map(|a| a.amount_minor)
            .sum::<i64>();
        planned.push(allocations);
    }
    let rows: Vec<NewPayment> = payments
        .iter()
        .map(|p| {
            let (kind, reference) = stored_reference(&p.reference);
            NewPayment {
                line: p.line as i64,
                bank_reference: p.bank_reference.clone(),
                booking_date: p.booking_date,
                amount_minor: p.amount_minor,
                currency: p.currency,
                reference_kind: kind.to_owned(),
                reference,
                payer_name: p.payer_name.clone(),
                payer_account: p.payer_account.clone(),
                free_text: p.free_text.clone(),
                payee_account: p.payee_account.clone(),
            }
        })
        .collect();
    let ids = tx.insert_payment_file(&sha256, file, format, &rows).await?;
    let allocations: Vec<NewAllocation> = ids
        .iter()
        .zip(planned)
        .flat_map(|(id, planned)| {
            planned.into_iter().map(move |a| NewAllocation {
                payment_id: *id,
                account_id: a.account_id,
                document_id: a.document_id,
                amount_minor: a.amount_minor,
                rule: a.rule.to_owned(),
                evidence: a.evidence,
                allocated_by: "import".to_owned(),
            })
        })
        .collect();
    tx.insert_allocations(&allocations).await?;
    tx.commit(nordlys_store::ImportCounts {
        rows: payments.len() as u64,
        inserted: payments.len() as u64,
        updated: 0,
        unchanged: 0,
    })
    .await?;
    Ok(report)
}

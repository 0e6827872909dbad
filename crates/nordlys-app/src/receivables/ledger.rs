//! The ledger of an account as of a date, computed from what is stored (documents as issued,
//! payments, allocations) and nothing else: its entries in order, the balance, and each
//! invoice's open amount and status. A pure function, so every figure can be reproduced.
//!
//! How money settles an invoice, in this order:
//! 1. a payment's allocations to it (matched by KID, reference or amount, or by hand);
//! 2. a credit note, to the invoices it corrects, in the order it names them;
//! 3. the account's credit (a payment's money not allocated to an invoice, a credit note's
//!    remainder) to its open invoices, the earliest due first — so an overpayment settles the
//!    next invoice.

use std::collections::BTreeMap;

use jiff::civil::Date;
use nordlys_core::document::DocumentKind;
use nordlys_core::quantity::Currency;
use nordlys_store::{LedgerDocument, ReceivablesBasis};
use rust_decimal::Decimal;

/// An invoice's state as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Open,
    PartiallyPaid,
    Paid,
    Credited,
    Overdue,
    Reminded,
    InCollection,
    WrittenOff,
}

impl InvoiceStatus {
    pub fn code(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Credited => "credited",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Reminded => "reminded",
            InvoiceStatus::InCollection => "in_collection",
            InvoiceStatus::WrittenOff => "written_off",
        }
    }
}

/// One invoice as the ledger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub document_id: i64,
    pub number: String,
    pub kid: Option<String>,
    pub account_id: String,
    pub issue_date: Date,
    /// The due date in force: as postponed, if it was.
    pub due_date: Option<Date>,
    /// The due date was postponed (from the document's own).
    pub postponed: bool,
    pub currency: Currency,
    pub amount_minor: i64,
    /// Dunning fees charged on the claim.
    pub fees_minor: i64,
    pub paid_minor: i64,
    pub credited_minor: i64,
    /// Amount and fees less what was paid and credited.
    pub open_minor: i64,
    /// The last dunning step taken (`reminder`, `collection_notice`, `handover`).
    pub last_step: Option<String>,
    pub status: InvoiceStatus,
}

/// One line of an account's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub date: Date,
    /// `invoice`, `credit_note` or `payment`.
    pub kind: &'static str,
    /// The document's number, or the payment's bank reference.
    pub reference: String,
    /// What it adds to the balance (negative for a credit note or a payment).
    pub amount_minor: i64,
    pub balance_minor: i64,
    /// For a payment: where its money went (`F-12 kid 00000123`, `credit`).
    pub detail: String,
}

/// An account's ledger as of a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLedger {
    pub account_id: String,
    pub as_of: Date,
    pub entries: Vec<LedgerEntry>,
    /// What the customer owes (negative: a credit in the customer's favour).
    pub balance_minor: i64,
    /// Money received or credited not used by any invoice yet.
    pub credit_minor: i64,
    pub items: Vec<OpenItem>,
}

/// Øre/cents of a document amount (two decimals, as issued).
fn minor(amount: Decimal) -> i64 {
    i64::try_from((amount * Decimal::from(100)).round()).unwrap_or(i64::MAX)
}

/// The ledgers of every account in `basis` as of `as_of` (documents issued and payments booked
/// on or before it), by account.
pub fn ledgers(basis: &ReceivablesBasis, as_of: Date) -> BTreeMap<String, AccountLedger> {
    let documents: Vec<&LedgerDocument> = basis
        .documents
        .iter()
        .filter(|d| d.issue_date <= as_of)
        .collect();
    let mut out: BTreeMap<String, AccountLedger> = BTreeMap::new();
    let ledger_of = |out: &mut BTreeMap<String, AccountLedger>, account: &str| {
        if !out.contains_key(account) {
            out.insert(
                account.to_owned(),
                AccountLedger {
                    account_id: account.to_owned(),
                    as_of,
                    entries: Vec::new(),
                    balance_minor: 0,
                    credit_minor: 0,
                    items: Vec::new(),
                },
            );
        }
    };
    // 1. Invoices with what payments allocated to them.
    let mut item_index: BTreeMap<i64, (String, usize)> = BTreeMap::new();
    for d in documents.iter().filter(|d| d.kind == DocumentKind::Invoice) {
        ledger_of(&mut out, &d.account_id);
        let ledger = out.get_mut(&d.account_id).expect("made above");
        item_index.insert(d.id, (d.account_id.clone(), ledger.items.len()));
        ledger.items.push(OpenItem {
            document_id: d.id,
            number: d.display_number(),
            kid: d.kid.clone(),
            account_id: d.account_id.clone(),
            issue_date: d.issue_date,
            due_date: d.postponed_to.or(d.due_date),
            postponed: d.postponed_to.is_some(),
            currency: d.currency,
            amount_minor: minor(d.gross),
            fees_minor: 0,
            paid_minor: 0,
            credited_minor: 0,
            open_minor: minor(d.gross),
            last_step: None,
            status: InvoiceStatus::Open,
        });
    }
    // Dunning fees are charges on the claim they dun.
    for step in basis.dunning.iter().filter(|s| s.sent_on <= as_of) {
        if let Some((account, i)) = item_index.get(&step.document_id) {
            let item = &mut out.get_mut(account).expect("made above").items[*i];
            item.fees_minor += step.fee_minor;
            item.open_minor += step.fee_minor;
            item.last_step = Some(step.step.clone());
        }
    }
    let mut payment_detail: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for a in basis.allocations.iter().filter(|a| a.booking_date <= as_of) {
        let a_ = &a.allocation;
        ledger_of(&mut out, &a_.account_id);
        let target = a_.document_id.and_then(|id| item_index.get(&id)).cloned();
        let ledger = out.get_mut(&a_.account_id).expect("made above");
        match target {
            Some((account, i)) if account == a_.account_id => {
                let item = &mut ledger.items[i];
                item.paid_minor += a_.amount_minor;
                item.open_minor -= a_.amount_minor;
                payment_detail
                    .entry(a_.payment_id)
                    .or_default()
                    .push(format!("{} {} {}", item.number, a_.rule, a_.evidence));
            }
            _ => {
                ledger.credit_minor += a_.amount_minor;
                payment_detail
                    .entry(a_.payment_id)
                    .or_default()
                    .push(format!("credit {}", a_.rule));
            }
        }
    }
    // 2. Credit notes to the invoices they correct; the rest is credit.
    for d in documents
        .iter()
        .filter(|d| d.kind == DocumentKind::CreditNote)
    {
        ledger_of(&mut out, &d.account_id);
        let ledger = out.get_mut(&d.account_id).expect("made above");
        let mut left = -minor(d.gross);
        for reference in &d.references {
            if let Some((account, i)) = item_index.get(reference)
                && *account == d.account_id
            {
                let item = &mut ledger.items[*i];
                let take = left.min(item.open_minor).max(0);
                item.credited_minor += take;
                item.open_minor -= take;
                left -= take;
            }
        }
        ledger.credit_minor += left;
    }
    // 3. The account's credit to its open invoices, the earliest due first.
    for ledger in out.values_mut() {
        let mut order: Vec<usize> = (0..ledger.items.len()).collect();
        order.sort_by_key(|&i| {
            (
                ledger.items[i]
                    .due_date
                    .unwrap_or(ledger.items[i].issue_date),
                ledger.items[i].document_id,
            )
        });
        for i in order {
            if ledger.credit_minor <= 0 {
                break;
            }
            let item = &mut ledger.items[i];
            let take = ledger.credit_minor.min(item.open_minor).max(0);
            item.paid_minor += take;
            item.open_minor -= take;
            ledger.credit_minor -= take;
        }
        for item in &mut ledger.items {
            item.status = status(item, as_of);
        }
    }
    // Entries in date order with the running balance.
    let mut entries: BTreeMap<String, Vec<LedgerEntry>> = BTreeMap::new();
    for d in &documents {
        entries
            .entry(d.account_id.clone())
            .or_default()
            .push(LedgerEntry {
                date: d.issue_date,
                kind: match d.kind {
                    DocumentKind::Invoice => "invoice",
                    DocumentKind::CreditNote => "credit_note",
                },
                reference: d.display_number(),
                amount_minor: minor(d.gross),
                balance_minor: 0,
                detail: String::new(),
            });
    }
    let numbers: BTreeMap<i64, (&str, String)> = documents
        .iter()
        .map(|d| (d.id, (d.account_id.as_str(), d.display_number())))
        .collect();
    for step in basis
        .dunning
        .iter()
        .filter(|s| s.sent_on <= as_of && s.fee_minor != 0)
    {
        if let Some((account, number)) = numbers.get(&step.document_id) {
            entries
                .entry((*account).to_owned())
                .or_default()
                .push(LedgerEntry {
                    date: step.sent_on,
                    kind: "fee",
                    reference: format!("{number} {}", step.step),
                    amount_minor: step.fee_minor,
                    balance_minor: 0,
                    detail: step.rule.clone(),
                });
        }
    }
    for p in basis
        .payments
        .iter()
        .filter(|p| p.payment.booking_date <= as_of)
    {
        let accounts: Vec<&str> = basis
            .allocations
            .iter()
            .filter(|a| a.allocation.payment_id == p.id)
            .map(|a| a.allocation.account_id.as_str())
            .collect();
        let Some(account) = accounts.first() else {
            continue;
        };
        let allocated: i64 = basis
            .allocations
            .iter()
            .filter(|a| a.allocation.payment_id == p.id)
            .map(|a| a.allocation.amount_minor)
            .sum();
        entries
            .entry((*account).to_owned())
            .or_default()
            .push(LedgerEntry {
                date: p.payment.booking_date,
                kind: "payment",
                reference: p.payment.bank_reference.clone(),
                amount_minor: -allocated,
                balance_minor: 0,
                detail: payment_detail
                    .get(&p.id)
                    .map(|d| d.join("; "))
                    .unwrap_or_default(),
            });
    }
    for (account, mut list) in entries {
        list.sort_by(|a, b| a.date.cmp(&b.date).then(a.kind.cmp(b.kind)));
        let mut balance = 0;
        for entry in &mut list {
            balance += entry.amount_minor;
            entry.balance_minor = balance;
        }
        ledger_of(&mut out, &account);
        let ledger = out.get_mut(&account).expect("made above");
        ledger.balance_minor = balance;
        ledger.entries = list;
    }
    out
}

fn status(item: &OpenItem, as_of: Date) -> InvoiceStatus {
    if item.open_minor <= 0 {
        if item.credited_minor >= item.amount_minor && item.paid_minor == 0 {
            InvoiceStatus::Credited
        } else {
            InvoiceStatus::Paid
        }
    } else if item.last_step.as_deref() == Some("handover") {
        InvoiceStatus::InCollection
    } else if item.last_step.is_some() {
        InvoiceStatus::Reminded
    } else if item.due_date.is_some_and(|due| due < as_of) {
        InvoiceStatus::Overdue
    } else if item.open_minor < item.amount_minor {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use nordlys_store::{NewAllocation, NewPayment, StoredAllocation, StoredPayment};

    fn invoice(id: i64, gross: i64, due: Date) -> LedgerDocument {
        LedgerDocument {
            id,
            kind: DocumentKind::Invoice,
            series: "F".into(),
            number: id,
            kid: Some(format!("{id:08}")),
            account_id: "A1".into(),
            issue_date: date(2026, 1, 5),
            due_date: Some(due),
            currency: Currency::Nok,
            gross: Decimal::new(gross, 2),
            references: Vec::new(),
            postponed_to: None,
        }
    }

    fn paid(
        payment_id: i64,
        document: Option<i64>,
        amount_minor: i64,
        on: Date,
    ) -> (StoredPayment, StoredAllocation) {
        (
            StoredPayment {
                id: payment_id,
                file_id: None,
                payment: NewPayment {
                    line: 1,
                    bank_reference: format!("B{payment_id}"),
                    booking_date: on,
                    amount_minor,
                    currency: Currency::Nok,
                    reference_kind: "kid".into(),
                    reference: None,
                    payer_name: None,
                    payer_account: None,
                    free_text: None,
                    payee_account: "1".into(),
                },
                recorded_at_us: 0,
                allocated_minor: amount_minor,
            },
            StoredAllocation {
                id: payment_id,
                allocation: NewAllocation {
                    payment_id,
                    account_id: "A1".into(),
                    document_id: document,
                    amount_minor,
                    rule: if document.is_some() { "kid" } else { "credit" }.into(),
                    evidence: String::new(),
                    allocated_by: "test".into(),
                },
                booking_date: on,
                allocated_at_us: 0,
            },
        )
    }

    #[test]
    fn an_overpayment_settles_the_next_invoice_and_a_credit_note_its_invoice() {
        let mut basis = ReceivablesBasis {
            documents: vec![
                invoice(1, 100_000, date(2026, 1, 20)),
                invoice(2, 80_000, date(2026, 2, 20)),
                invoice(3, 50_000, date(2026, 2, 20)),
            ],
            ..Default::default()
        };
        // A credit note of 500.00 for invoice 3.
        basis.documents.push(LedgerDocument {
            kind: DocumentKind::CreditNote,
            gross: Decimal::new(-50_000, 2),
            references: vec![3],
            ..invoice(4, 0, date(2026, 2, 20))
        });
        // 1,200.00 for invoice 1: 200.00 too much.
        let (p, a) = paid(1, Some(1), 100_000, date(2026, 1, 18));
        let (_, credit) = paid(1, None, 20_000, date(2026, 1, 18));
        basis.payments.push(StoredPayment {
            payment: NewPayment {
                amount_minor: 120_000,
                ..p.payment.clone()
            },
            allocated_minor: 120_000,
            ..p
        });
        basis.allocations.extend([a, credit]);
        let ledger = &ledgers(&basis, date(2026, 2, 10))["A1"];
        let by_number = |n: &str| ledger.items.iter().find(|i| i.number == n).unwrap();
        assert_eq!(by_number("F-1").status, InvoiceStatus::Paid);
        assert_eq!(
            by_number("F-2").open_minor,
            60_000,
            "the 200.00 over settled part of F-2"
        );
        assert_eq!(by_number("F-2").status, InvoiceStatus::PartiallyPaid);
        assert_eq!(by_number("F-3").status, InvoiceStatus::Credited);
        assert_eq!(ledger.credit_minor, 0);
        // Charges 2,300.00 − credit note 500.00 − payment 1,200.00.
        assert_eq!(ledger.balance_minor, 60_000);
        assert_eq!(ledger.entries.last().unwrap().balance_minor, 60_000);
        // After the due date the rest is overdue; before the payment F-1 was open.
        assert_eq!(
            ledgers(&basis, date(2026, 2, 21))["A1"].items[1].status,
            InvoiceStatus::Overdue
        );
        let before = &ledgers(&basis, date(2026, 1, 10))["A1"];
        assert_eq!(before.items[0].status, InvoiceStatus::Open);
        assert_eq!(before.balance_minor, 180_000);
    }
}

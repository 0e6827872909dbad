//! Matching incoming payments to open invoices, a pure function of the payments and the open
//! items: by KID first (valid under MOD10 or MOD11 and the KID of an invoice), then by a
//! reference in the text (an invoice number, or a KID), else the payment waits in the worklist
//! for staff. A part of a payment an invoice does not need becomes the account's credit, which
//! settles its next invoice. Each allocation keeps its rule and evidence.

use std::collections::HashMap;

use nordlys_core::kid::KidAlgorithm;
use nordlys_core::quantity::Currency;
use nordlys_payments::{IncomingPayment, PaymentReference, check_kid};

use super::ledger::OpenItem;

/// Where part of a payment is to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAllocation {
    pub account_id: String,
    /// `None`: a credit on the account.
    pub document_id: Option<i64>,
    pub amount_minor: i64,
    /// `kid`, `reference` or `credit`.
    pub rule: &'static str,
    pub evidence: String,
}

/// The open invoices as matching sees them; what each match takes is taken at once, so two
/// payments in one file never settle the same open amount twice.
#[derive(Debug, Default)]
pub struct OpenBook {
    items: Vec<OpenItem>,
    by_kid: HashMap<String, usize>,
    by_number: HashMap<String, usize>,
}

impl OpenBook {
    pub fn new(items: impl IntoIterator<Item = OpenItem>) -> OpenBook {
        let mut book = OpenBook::default();
        for item in items {
            let i = book.items.len();
            if let Some(kid) = &item.kid {
                book.by_kid.insert(kid.clone(), i);
            }
            book.by_number.insert(item.number.to_uppercase(), i);
            book.items.push(item);
        }
        book
    }

    /// Plan where `payment` goes; empty when nothing matched (the worklist).
    pub fn match_payment(&mut self, payment: &IncomingPayment) -> Vec<PlannedAllocation> {
        let (index, rule, evidence) = match self.find(payment) {
            Some(found) => found,
            None => return Vec::new(),
        };
        let item = &mut self.items[index];
        if item.currency != payment.currency {
            return Vec::new();
        }
        let mut planned = Vec::new();
        let amount = payment.amount_minor;
        // A reversal takes back from the invoice it names; a payment takes what is open.
        let take = if amount < 0 {
            amount.max(-item.paid_minor)
        } else {
            amount.min(item.open_minor.max(0))
        };
        if take != 0 {
            item.paid_minor += take;
            item.open_minor -= take;
            planned.push(PlannedAllocation {
                account_id: item.account_id.clone(),
                document_id: Some(item.document_id),
                amount_minor: take,
                rule,
                evidence: evidence.clone(),
            });
        }
        if amount - take != 0 {
            planned.push(PlannedAllocation {
                account_id: item.account_id.clone(),
                document_id: None,
                amount_minor: amount - take,
                rule: "credit",
                evidence: format!("{} beyond what {} had open", rule, item.number),
            });
        }
        planned
    }

    fn find(&self, payment: &IncomingPayment) -> Option<(usize, &'static str, String)> {
        let kid = match &payment.reference {
            PaymentReference::Kid(digits) => Some(digits.clone()),
            PaymentReference::Fik71(id) => Some(id.to_string()),
            _ => None,
        };
        if let Some(kid) = kid
            && let Some(&i) = self.by_kid.get(&kid)
        {
            let scheme = match check_kid(&kid, &[KidAlgorithm::Mod10, KidAlgorithm::Mod11]) {
                Ok((_, KidAlgorithm::Mod10)) => "MOD10",
                Ok((_, KidAlgorithm::Mod11)) => "MOD11",
                Err(_) => "check digit",
            };
            if scheme != "check digit" || matches!(payment.reference, PaymentReference::Fik71(_)) {
                return Some((
                    i,
                    "kid",
                    format!("KID {kid} ({scheme}) of {}", self.items[i].number),
                ));
            }
        }
        // A reference in the text: an invoice number or a KID among its words.
        let mut text = String::new();
        if let PaymentReference::Other(other) | PaymentReference::Kid(other) = &payment.reference {
            text.push_str(other);
            text.push(' ');
        }
        if let Some(free) = &payment.free_text {
            text.push_str(free);
        }
        for word in text
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
            .filter(|w| !w.is_empty())
        {
            let word = word.trim_matches(|c: char| c == '.' || c == '(' || c == ')');
            if let Some(&i) = self.by_number.get(&word.to_uppercase()) {
                return Some((i, "reference", format!("invoice number {word} in the text")));
            }
            if let Some(&i) = self.by_kid.get(word) {
                return Some((i, "reference", format!("KID {word} in the text")));
            }
        }
        None
    }

    /// The currency of the open items (for a report), if they have one.
    pub fn currency(&self) -> Option<Currency> {
        self.items.first().map(|i| i.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receivables::ledger::InvoiceStatus;
    use jiff::civil::date;
    use nordlys_payments::PaymentSource;

    fn item(id: i64, kid: &str, open_minor: i64) -> OpenItem {
        OpenItem {
            document_id: id,
            number: format!("F-{id}"),
            kid: Some(kid.to_owned()),
            account_id: format!("A{id}"),
            issue_date: date(2026, 1, 5),
            due_date: Some(date(2026, 1, 20)),
            postponed: false,
            currency: Currency::Nok,
            amount_minor: open_minor,
            fees_minor: 0,
            paid_minor: 0,
            credited_minor: 0,
            open_minor,
            last_step: None,
            status: InvoiceStatus::Open,
        }
    }

    fn payment(
        reference: PaymentReference,
        amount_minor: i64,
        text: Option<&str>,
    ) -> IncomingPayment {
        IncomingPayment {
            source: PaymentSource::Ocr,
            bank_reference: "B1".into(),
            booking_date: date(2026, 1, 18),
            amount_minor,
            currency: Currency::Nok,
            reference,
            payer_name: None,
            payer_account: None,
            free_text: text.map(str::to_owned),
            payee_account: "15030100001".into(),
            reversal: amount_minor < 0,
            line: 3,
        }
    }

    #[test]
    fn a_kid_pays_its_invoice_the_rest_is_credit_and_text_finds_an_invoice_number() {
        // 00000125: MOD10-valid ("0000012" + 5).
        let mut book = OpenBook::new([item(1, "00000125", 50_000), item(2, "00000240", 30_000)]);
        let planned = book.match_payment(&payment(
            PaymentReference::Kid("00000125".into()),
            60_000,
            None,
        ));
        assert_eq!(planned.len(), 2, "{planned:?}");
        assert_eq!(
            (
                planned[0].document_id,
                planned[0].amount_minor,
                planned[0].rule
            ),
            (Some(1), 50_000, "kid")
        );
        assert!(
            planned[0].evidence.contains("MOD10"),
            "{}",
            planned[0].evidence
        );
        assert_eq!(
            (
                planned[1].document_id,
                planned[1].amount_minor,
                planned[1].rule
            ),
            (None, 10_000, "credit")
        );
        // The same KID again: F-1 has nothing open, all of it is credit.
        let again = book.match_payment(&payment(
            PaymentReference::Kid("00000125".into()),
            5_000,
            None,
        ));
        assert_eq!((again[0].document_id, again[0].rule), (None, "credit"));
        // No KID: the invoice number in the text, a part payment.
        let text = book.match_payment(&payment(
            PaymentReference::None,
            10_000,
            Some("Faktura f-2, takk"),
        ));
        assert_eq!(
            (text[0].document_id, text[0].amount_minor, text[0].rule),
            (Some(2), 10_000, "reference")
        );
        // A KID that fails its check digit and names no invoice: the worklist.
        assert!(
            book.match_payment(&payment(
                PaymentReference::Kid("00000126".into()),
                1_000,
                None
            ))
            .is_empty()
        );
        assert!(
            book.match_payment(&payment(PaymentReference::None, 1_000, Some("strøm")))
                .is_empty()
        );
        // A reversal takes back from the invoice it names.
        let back = book.match_payment(&payment(
            PaymentReference::Kid("00000125".into()),
            -50_000,
            None,
        ));
        assert_eq!(
            (back[0].document_id, back[0].amount_minor),
            (Some(1), -50_000)
        );
    }
}

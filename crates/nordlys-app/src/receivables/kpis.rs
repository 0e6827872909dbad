//! Receivables KPIs as of a date, each a function of the ledger's basis and the day — so every
//! figure can be reproduced. Definitions (the variants named, as PAYMENTS.md §7 asks):
//!
//! - **DSO, countback**: from what the sales left open at the day (fees are not sales),
//!   subtract each month's credit sales backwards (the day's own month counts its days so far),
//!   adding that month's days while its sales are wholly consumed, then the fraction of the
//!   month that is left; no further back than the first sale.
//! - **Paid by the due date**: of the invoices due on or before the day, the share (by count)
//!   paid or credited in full by their due date in force.
//! - **Paid in the reminder phase**: of those, the share paid in full after a dunning step but
//!   before any handover.
//! - **Sent to collection**: of those, the share handed over.
//! - **Credit loss**: written off ÷ credit sales of the twelve months (write-offs are not built
//!   yet: 0).
//! - **Ageing**: open amounts by days past their due date in force: not due, 0–30, 31–60,
//!   61–90, over 90.
//! - **Digital-invoice share**: of the accounts invoiced, those whose channel is not paper.
//! - **Top 10 outstanding**: the accounts owing most.

use std::collections::{BTreeMap, HashMap};

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::document::DocumentKind;
use nordlys_store::ReceivablesBasis;
use rust_decimal::Decimal;

use super::ledger::{OpenItem, ledgers};

/// Open amounts by age.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ageing {
    pub not_due_minor: i64,
    pub days_0_30_minor: i64,
    pub days_31_60_minor: i64,
    pub days_61_90_minor: i64,
    pub over_90_minor: i64,
}

/// The KPIs of one group of accounts as of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kpis {
    pub as_of: Date,
    /// `all`, `household` or `business`.
    pub group: &'static str,
    pub receivables_minor: i64,
    /// Days, to one decimal.
    pub dso_countback_days: Decimal,
    pub invoices_due: usize,
    /// Percent, to one decimal.
    pub paid_by_due_date_percent: Decimal,
    pub paid_in_reminder_phase_percent: Decimal,
    pub sent_to_collection_percent: Decimal,
    pub credit_loss_percent: Decimal,
    pub ageing: Ageing,
    pub digital_invoice_share_percent: Decimal,
    /// (account, what it owes), most first.
    pub top_outstanding: Vec<(String, i64)>,
    /// Credit sales per month (`YYYY-MM`), the twelve months up to the day's.
    pub sales_by_month: Vec<(String, i64)>,
}

fn percent(part: usize, whole: usize) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(part) * Decimal::from(100) / Decimal::from(whole)).round_dp(1)
}

fn minor(amount: Decimal) -> i64 {
    i64::try_from((amount * Decimal::from(100)).round()).unwrap_or(i64::MAX)
}

/// The KPIs as of `as_of` of every account (`group` `all`) and of households and businesses.
pub fn kpis(basis: &ReceivablesBasis, as_of: Date) -> Vec<Kpis> {
    kpis_with(basis, as_of, &settled_on(basis, as_of))
}

/// As [`kpis`], with the days invoices were settled in full already computed by
/// [`settled_on`] for a day on or after `as_of` (a settlement day does not change with the
/// day asked; days after `as_of` are not counted): the month-ends of a year share one.
pub fn kpis_with(basis: &ReceivablesBasis, as_of: Date, settled: &HashMap<i64, Date>) -> Vec<Kpis> {
    let settled: HashMap<i64, Date> = settled
        .iter()
        .filter(|(_, day)| **day <= as_of)
        .map(|(id, day)| (*id, *day))
        .collect();
    let books = ledgers(basis, as_of);
    let household =
        |account: &str| basis.payer_kinds.get(account).map(String::as_str) == Some("person");
    ["all", "household", "business"]
        .into_iter()
        .map(|group| {
            let in_group = |account: &str| match group {
                "household" => household(account),
                "business" => !household(account),
                _ => true,
            };
            let items: Vec<&OpenItem> = books
                .values()
                .filter(|l| in_group(&l.account_id))
                .flat_map(|l| l.items.iter())
                .collect();
            group_kpis(basis, &books, &items, group, &in_group, as_of, &settled)
        })
        .collect()
}

fn group_kpis(
    basis: &ReceivablesBasis,
    books: &BTreeMap<String, super::ledger::AccountLedger>,
    items: &[&OpenItem],
    group: &'static str,
    in_group: &dyn Fn(&str) -> bool,
    as_of: Date,
    paid_on: &HashMap<i64, Date>,
) -> Kpis {
    let receivables_minor: i64 = items.iter().map(|i| i.open_minor.max(0)).sum();
    // Credit sales by month (invoices and credit notes issued).
    let mut sales: BTreeMap<(i16, i8), i64> = BTreeMap::new();
    for d in basis
        .documents
        .iter()
        .filter(|d| d.issue_date <= as_of && in_group(&d.account_id))
    {
        *sales
            .entry((d.issue_date.year(), d.issue_date.month()))
            .or_default() += minor(d.gross);
    }
    // DSO, countback, over what sales left open (fees are not sales), back to the first sale.
    let mut left: i64 = items
        .iter()
        .map(|i| (i.open_minor - i.fees_minor).max(0))
        .sum();
    let mut days = Decimal::ZERO;
    let mut month = as_of.first_of_month();
    let first_sale = sales
        .keys()
        .next()
        .and_then(|(y, m)| Date::new(*y, *m, 1).ok())
        .unwrap_or(month);
    while left > 0 && month >= first_sale {
        let month_days = if month == as_of.first_of_month() {
            i64::from(as_of.day())
        } else {
            i64::from(month.days_in_month())
        };
        let sold = sales
            .get(&(month.year(), month.month()))
            .copied()
            .unwrap_or(0);
        if sold <= 0 {
            days += Decimal::from(month_days);
        } else if left >= sold {
            days += Decimal::from(month_days);
            left -= sold;
        } else {
            days += Decimal::from(month_days) * Decimal::from(left) / Decimal::from(sold);
            left = 0;
        }
        let Ok(previous) = month.checked_sub(1.month()) else {
            break;
        };
        month = previous;
    }
    // Payment behaviour of the invoices due by the day.
    let mut steps: HashMap<i64, (Option<Date>, bool)> = HashMap::new();
    for step in basis.dunning.iter().filter(|s| s.sent_on <= as_of) {
        let entry = steps.entry(step.document_id).or_insert((None, false));
        entry.0 = Some(entry.0.map_or(step.sent_on, |d| d.min(step.sent_on)));
        entry.1 |= step.step == "handover";
    }
    let due: Vec<&&OpenItem> = items
        .iter()
        .filter(|i| i.due_date.is_some_and(|d| d <= as_of))
        .collect();
    let mut by_due = 0;
    let mut in_reminders = 0;
    let mut collected = 0;
    for item in &due {
        let due_date = item.due_date.unwrap_or(as_of);
        let settled = paid_on
            .get(&item.document_id)
            .copied()
            .or((item.open_minor <= 0 && item.paid_minor == 0).then_some(item.issue_date));
        let (first_step, handed_over) = steps
            .get(&item.document_id)
            .copied()
            .unwrap_or((None, false));
        match settled {
            Some(day) if day <= due_date => by_due += 1,
            Some(day) if first_step.is_some_and(|s| s <= day) && !handed_over => in_reminders += 1,
            _ => {}
        }
        if handed_over {
            collected += 1;
        }
    }
    // Ageing of what is open.
    let mut ageing = Ageing::default();
    for item in items.iter().filter(|i| i.open_minor > 0) {
        let late = match item.due_date {
            Some(due) if due < as_of => i64::from((as_of - due).get_days()),
            _ => 0,
        };
        let bucket = match late {
            0 => &mut ageing.not_due_minor,
            1..=30 => &mut ageing.days_0_30_minor,
            31..=60 => &mut ageing.days_31_60_minor,
            61..=90 => &mut ageing.days_61_90_minor,
            _ => &mut ageing.over_90_minor,
        };
        *bucket += item.open_minor;
    }
    let accounts: Vec<&str> = books
        .keys()
        .map(String::as_str)
        .filter(|a| in_group(a))
        .collect();
    let digital = accounts
        .iter()
        .filter(|a| basis.channels.get(**a).is_some_and(|c| c != "paper"))
        .count();
    let mut top: Vec<(String, i64)> = books
        .values()
        .filter(|l| in_group(&l.account_id) && l.balance_minor > 0)
        .map(|l| (l.account_id.clone(), l.balance_minor))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let first = as_of
        .first_of_month()
        .checked_sub(11.months())
        .unwrap_or(as_of);
    let sales_by_month = (0..12)
        .filter_map(|n| first.checked_add(n.months()).ok())
        .map(|m| {
            (
                format!("{:04}-{:02}", m.year(), m.month()),
                sales.get(&(m.year(), m.month())).copied().unwrap_or(0),
            )
        })
        .collect();
    Kpis {
        as_of,
        group,
        receivables_minor,
        dso_countback_days: days.round_dp(1),
        invoices_due: due.len(),
        paid_by_due_date_percent: percent(by_due, due.len()),
        paid_in_reminder_phase_percent: percent(in_reminders, due.len()),
        sent_to_collection_percent: percent(collected, due.len()),
        credit_loss_percent: Decimal::ZERO,
        ageing,
        digital_invoice_share_percent: percent(digital, accounts.len()),
        top_outstanding: top,
        sales_by_month,
    }
}

/// The day each invoice was settled in full (by payments and credits), if it was by `as_of`:
/// the first day on which the ledger shows nothing open.
pub fn settled_on(basis: &ReceivablesBasis, as_of: Date) -> HashMap<i64, Date> {
    // The days on which something could settle an invoice: payments booked, credit notes issued.
    let mut days: Vec<Date> = basis
        .allocations
        .iter()
        .map(|a| a.booking_date)
        .chain(
            basis
                .documents
                .iter()
                .filter(|d| d.kind == DocumentKind::CreditNote)
                .map(|d| d.issue_date),
        )
        .filter(|d| *d <= as_of)
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut settled = HashMap::new();
    for day in days {
        for item in ledgers(basis, day).into_values().flat_map(|l| l.items) {
            if item.open_minor <= 0 {
                settled.entry(item.document_id).or_insert(day);
            }
        }
    }
    settled
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use nordlys_core::quantity::Currency;
    use nordlys_store::LedgerDocument;

    fn invoice(id: i64, month: i8, gross_minor: i64) -> LedgerDocument {
        LedgerDocument {
            id,
            kind: DocumentKind::Invoice,
            series: "F".into(),
            number: id,
            kid: None,
            account_id: format!("A{id}"),
            issue_date: date(2026, month, 28),
            due_date: Some(date(2026, month, 28).checked_add(14.days()).unwrap()),
            currency: Currency::Nok,
            gross: Decimal::new(gross_minor, 2),
            references: Vec::new(),
            postponed_to: None,
        }
    }

    #[test]
    fn dso_by_countback_follows_the_sources_rule_on_calendar_months() {
        // PAYMENTS.md §7: receivables 212k against sales 100k, 80k, 70k backwards → two whole
        // months and 32/70 of the third. With September (30 days), August (31) and July (31):
        // 30 + 31 + 32/70 × 31 = 75.2 days.
        let mut basis = ReceivablesBasis {
            documents: vec![
                invoice(1, 9, 10_000_000),
                invoice(2, 8, 8_000_000),
                invoice(3, 7, 7_000_000),
            ],
            ..Default::default()
        };
        // 38k of July's invoice was paid.
        basis.allocations.push(nordlys_store::StoredAllocation {
            id: 1,
            allocation: nordlys_store::NewAllocation {
                payment_id: 1,
                account_id: "A3".into(),
                document_id: Some(3),
                amount_minor: 3_800_000,
                rule: "kid".into(),
                evidence: String::new(),
                allocated_by: "test".into(),
            },
            booking_date: date(2026, 8, 5),
            allocated_at_us: 0,
        });
        let all = &kpis(&basis, date(2026, 9, 30))[0];
        assert_eq!(all.receivables_minor, 21_200_000);
        assert_eq!(all.dso_countback_days, Decimal::new(752, 1));
        // July's and August's are due by 30 September, neither paid in full by its due date.
        assert_eq!(all.invoices_due, 2);
        assert_eq!(all.paid_by_due_date_percent, Decimal::ZERO);
        // July's (due 11 Aug) is 50 days late, August's (due 11 Sep) 19; September's not due.
        assert_eq!(all.ageing.days_31_60_minor, 3_200_000);
        assert_eq!(all.ageing.days_0_30_minor, 8_000_000);
        assert_eq!(all.ageing.not_due_minor, 10_000_000);
        assert_eq!(all.top_outstanding[0], ("A1".to_owned(), 10_000_000));
    }
}

//! Work orders from self-service: reporting a move out of a metering point (staff approve it,
//! which ends the customer's contracts there on the moving day, so the next settlement run of
//! that month is the final one), and postponing an invoice's due date within the rules of
//! configuration (decided at once by the rules: at most once per invoice, at most `max_days`
//! after the due date). Each is one journaled transaction.

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::document::DocumentKind;
use nordlys_store::{Store, StoreError, WorkOrder};

use crate::Clock;
use crate::self_service::{Holdings, SelfServiceError};

/// The rules a customer's postponement must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostponeRules {
    /// How many days after the due date the new one may be.
    pub max_days: i64,
    /// How many postponements one invoice may have.
    pub per_invoice: usize,
}

impl Default for PostponeRules {
    fn default() -> Self {
        PostponeRules {
            max_days: 14,
            per_invoice: 1,
        }
    }
}

fn invalid(
    field: &'static str,
    value: impl Into<String>,
    rule: impl Into<String>,
) -> SelfServiceError {
    SelfServiceError::Invalid(ParseError::new(field, value, rule))
}

/// Ask to move out of metering point `gsrn` on `day` (the first day without the contract).
pub async fn request_move_out(
    store: &Store,
    holdings: &Holdings,
    gsrn: &str,
    day: Date,
    note: &str,
    clock: &dyn Clock,
) -> Result<WorkOrder, SelfServiceError> {
    let point = holdings.point(gsrn)?;
    let mut open = None;
    for account in &holdings.accounts {
        let contracts = store
            .contracts_page(
                Some(&account.account_id),
                Some(&point.metering_point_id),
                None,
                100,
            )
            .await?
            .items;
        if let Some(c) = contracts.iter().find(|c| c.end.is_none_or(|e| e > day)) {
            open = Some((account.account_id.clone(), c.start));
        }
    }
    let Some((account_id, start)) = open else {
        return Err(invalid(
            "metering_point",
            gsrn,
            "no contract of yours runs on this metering point on that day",
        ));
    };
    if day <= start {
        return Err(invalid(
            "date",
            day.to_string(),
            format!("the contract starts {start}: move out after that"),
        ));
    }
    if note.chars().count() > 500 {
        return Err(invalid("note", "(long)", "at most 500 characters"));
    }
    let mut tx = store
        .begin_import(
            "work_order",
            &format!(
                "self-service: customer {} reports a move",
                holdings.customer.customer_id
            ),
            clock.now(),
        )
        .await?;
    if tx
        .lock_work_orders_of("move_out", gsrn, "requested")
        .await?
        > 0
    {
        return Err(invalid(
            "metering_point",
            gsrn,
            "a move from this metering point is already reported",
        ));
    }
    let order = tx
        .create_work_order(&WorkOrder {
            id: 0,
            kind: "move_out".to_owned(),
            customer_id: holdings.customer.customer_id.clone(),
            account_id,
            subject: gsrn.to_owned(),
            requested_date: day.to_string(),
            detail: note.trim().to_owned(),
            status: "requested".to_owned(),
            requested_at_us: 0,
            decided_by: None,
            decided_at_us: None,
            decision_note: None,
        })
        .await?;
    tx.commit(Default::default()).await?;
    Ok(order)
}

/// The due dates of a customer's documents as postponed (the latest approved postponement of
/// each), by document number.
pub async fn postponed_due_dates(
    store: &Store,
    customer: &str,
) -> Result<std::collections::HashMap<String, Date>, StoreError> {
    let mut dates = std::collections::HashMap::new();
    for order in store
        .work_orders(Some(customer), Some("approved"), 10_000)
        .await?
    {
        if order.kind != "postpone" {
            continue;
        }
        if let Ok(date) = order.requested_date.parse::<Date>() {
            let entry = dates.entry(order.subject).or_insert(date);
            *entry = (*entry).max(date);
        }
    }
    Ok(dates)
}

/// The due date of document `number` as postponed, if it was.
pub async fn postponed_due_date(
    store: &Store,
    customer: &str,
    number: &str,
) -> Result<Option<Date>, StoreError> {
    Ok(postponed_due_dates(store, customer).await?.remove(number))
}

/// Postpone invoice `number` to `new_due`, if the rules allow: approved at once by them.
pub async fn postpone_invoice(
    store: &Store,
    holdings: &Holdings,
    number: &str,
    new_due: Date,
    rules: PostponeRules,
    clock: &dyn Clock,
) -> Result<WorkOrder, SelfServiceError> {
    let document = holdings.document(store, number).await?;
    if document.kind != DocumentKind::Invoice {
        return Err(invalid(
            "number",
            number,
            "only an invoice has a due date to postpone",
        ));
    }
    let Some(due) = document.due_date else {
        return Err(invalid(
            "number",
            number,
            "this invoice asks for no payment",
        ));
    };
    // The ledger as it stands today: nothing to postpone on a settled invoice, and not once
    // the claim has gone to collection.
    let now = clock.now();
    let today = nordlys_core::model::Market::No
        .time_zone()
        .to_offset(now)
        .to_datetime(now)
        .date();
    let items = crate::receivables::items_of_accounts(
        store,
        std::slice::from_ref(&document.account_id),
        today,
    )
    .await?;
    if let Some(item) = items.get(&document.id) {
        use crate::receivables::ledger::InvoiceStatus;
        let refusal = match item.status {
            InvoiceStatus::Paid | InvoiceStatus::Credited => {
                Some("this invoice is settled: there is nothing to postpone")
            }
            InvoiceStatus::InCollection | InvoiceStatus::WrittenOff => Some(
                "this invoice is in collection: a new due date is agreed with the collection agency",
            ),
            _ => None,
        };
        if let Some(rule) = refusal {
            return Err(invalid("number", number, rule));
        }
    }
    let latest = due.checked_add(rules.max_days.days()).unwrap_or(due);
    if new_due <= due || new_due > latest {
        return Err(invalid(
            "date",
            new_due.to_string(),
            format!(
                "choose a day after {due} and no later than {latest} ({} days)",
                rules.max_days
            ),
        ));
    }
    let mut tx = store
        .begin_import(
            "work_order",
            &format!(
                "self-service: customer {} postpones {number}",
                holdings.customer.customer_id
            ),
            clock.now(),
        )
        .await?;
    let earlier = tx
        .lock_work_orders_of("postpone", &document.display_number(), "approved")
        .await?;
    if earlier >= i64::try_from(rules.per_invoice).unwrap_or(i64::MAX) {
        return Err(invalid(
            "number",
            number,
            format!(
                "an invoice can be postponed {} time(s); this one has been",
                rules.per_invoice
            ),
        ));
    }
    let order = tx
        .create_work_order(&WorkOrder {
            id: 0,
            kind: "postpone".to_owned(),
            customer_id: holdings.customer.customer_id.clone(),
            account_id: document.account_id.clone(),
            subject: document.display_number(),
            requested_date: new_due.to_string(),
            detail: format!("due {due}"),
            status: "approved".to_owned(),
            requested_at_us: 0,
            decided_by: Some("rules".to_owned()),
            decided_at_us: None,
            decision_note: Some(format!(
                "within {} days, {} per invoice",
                rules.max_days, rules.per_invoice
            )),
        })
        .await?;
    tx.commit(Default::default()).await?;
    Ok(order)
}

/// Approve or reject requested work order `id` as staff member `staff`. Approving a move ends
/// the account's contracts on the metering point on the moving day, in the same transaction.
/// `Ok(None)`: no such requested order (decided already).
pub async fn decide_work_order(
    store: &Store,
    id: i64,
    approve: bool,
    staff: &str,
    note: &str,
    clock: &dyn Clock,
) -> Result<Option<WorkOrder>, SelfServiceError> {
    let mut tx = store
        .begin_import(
            "work_order",
            &format!("back-office: {staff} decides work order {id}"),
            clock.now(),
        )
        .await?;
    let Some(order) = tx.decide_work_order(id, approve, staff, note).await? else {
        return Ok(None);
    };
    if approve && order.kind == "move_out" {
        let day: Date = order.requested_date.parse().map_err(|_| {
            invalid(
                "date",
                order.requested_date.clone(),
                "stored date is unreadable",
            )
        })?;
        let gsrn =
            nordlys_core::ids::Gsrn::parse(&order.subject).map_err(SelfServiceError::Invalid)?;
        let contracts = store
            .contracts_page(Some(&order.account_id), Some(&gsrn), None, 100)
            .await?
            .items;
        for mut contract in contracts
            .into_iter()
            .filter(|c| c.start < day && c.end.is_none_or(|e| e > day))
        {
            contract.end = Some(day);
            tx.upsert_contract(&contract).await?;
        }
    }
    tx.commit(Default::default()).await?;
    Ok(Some(order))
}

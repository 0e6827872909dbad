//! Work orders from self-service and the API: reporting a move out of a metering point (staff
//! approve it, which ends the customer's contracts there on the moving day, so the next
//! settlement run of that month is the final one), reporting a move into one (approving it
//! starts a supplier contract for the product chosen, and the grid contract where the utility is
//! the point's grid company), and postponing an invoice's due date within the rules of
//! configuration (decided at once by the rules: at most once per invoice, at most `max_days`
//! after the due date). Each is one journaled transaction.

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::document::DocumentKind;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::{Contract, ContractRole};
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

/// How far from today a customer may put the day they move in: a move reported late is common,
/// one long past would re-open settled months, and one far ahead is not yet known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveInRules {
    /// How many days before today the moving day may be.
    pub days_back: i64,
    /// How many days after today the moving day may be.
    pub days_ahead: i64,
}

impl Default for MoveInRules {
    fn default() -> Self {
        MoveInRules {
            days_back: 30,
            days_ahead: 180,
        }
    }
}

impl MoveInRules {
    /// Whether `day` is a moving day the rules allow when it is `today`.
    pub fn check(self, day: Date, today: Date) -> Result<(), ParseError> {
        let earliest = today.checked_sub(self.days_back.days()).unwrap_or(today);
        let latest = today.checked_add(self.days_ahead.days()).unwrap_or(today);
        if day < earliest || day > latest {
            return Err(ParseError::new(
                "date",
                day.to_string(),
                format!(
                    "choose a day from {earliest} to {latest} (at most {} days back, {} ahead)",
                    self.days_back, self.days_ahead
                ),
            ));
        }
        Ok(())
    }
}

/// The longest note a customer may add to a move.
const NOTE_MAX_CHARS: usize = 500;

fn check_note(note: &str) -> Result<String, SelfServiceError> {
    if note.chars().count() > NOTE_MAX_CHARS {
        return Err(refusal(
            "note",
            "(long)",
            format!("at most {NOTE_MAX_CHARS} characters"),
        ));
    }
    Ok(note.trim().to_owned())
}

/// A request the rules refuse: its field, value and rule.
pub fn refusal(
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
        return Err(refusal(
            "metering_point",
            gsrn,
            "no contract of yours runs on this metering point on that day",
        ));
    };
    if day <= start {
        return Err(refusal(
            "date",
            day.to_string(),
            format!("the contract starts {start}: move out after that"),
        ));
    }
    let note = check_note(note)?;
    record_move(
        store,
        WorkOrder {
            id: 0,
            kind: "move_out".to_owned(),
            customer_id: holdings.customer.customer_id.clone(),
            account_id,
            subject: gsrn.to_owned(),
            requested_date: day.to_string(),
            detail: note,
            status: "requested".to_owned(),
            requested_at_us: 0,
            decided_by: None,
            decided_at_us: None,
            decision_note: None,
            product_code: None,
        },
        clock,
    )
    .await
}

/// Record a requested move, unless one of the same kind waits for the same metering point
/// (checked under the point's lock, in the writing transaction).
async fn record_move(
    store: &Store,
    order: WorkOrder,
    clock: &dyn Clock,
) -> Result<WorkOrder, SelfServiceError> {
    let mut tx = store
        .begin_import(
            "work_order",
            &format!("customer {} reports a move", order.customer_id),
            clock.now(),
        )
        .await?;
    if tx
        .lock_work_orders_of(&order.kind, &order.subject, "requested")
        .await?
        > 0
    {
        let direction = if order.kind == "move_in" {
            "into"
        } else {
            "from"
        };
        return Err(refusal(
            "metering_point",
            order.subject.clone(),
            format!("a move {direction} this metering point is already reported"),
        ));
    }
    let order = tx.create_work_order(&order).await?;
    tx.commit(Default::default()).await?;
    Ok(order)
}

/// A move into a metering point, as a customer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveIn {
    /// The metering point's GSRN, as typed.
    pub gsrn: String,
    /// The first day with the contract.
    pub day: Date,
    /// The supplier product chosen.
    pub product_code: String,
    pub note: String,
}

/// The supplier products a customer moving in may choose: those the utility offers (in the
/// currency of `market`, if given), by code with their names.
pub async fn move_in_products(
    store: &Store,
    market: Option<nordlys_core::model::Market>,
) -> Result<Vec<(String, String)>, SelfServiceError> {
    let products = crate::products::load_products(store)
        .await
        .map_err(|e| SelfServiceError::Invalid(ParseError::new("product", "", e.to_string())))?;
    let offered = crate::products::offered_supplier_codes(store, &products).await?;
    Ok(offered
        .into_iter()
        .filter_map(|code| {
            let product = &products[&code];
            market
                .is_none_or(|m| product.currency == m.currency())
                .then(|| (code.clone(), product.name.clone()))
        })
        .collect())
}

/// Ask to move into metering point `request.gsrn` from `request.day` with a supplier product
/// the utility offers. The point must be one the utility knows; the account is the customer's
/// own (the first one they are the customer of).
pub async fn request_move_in(
    store: &Store,
    holdings: &Holdings,
    request: &MoveIn,
    rules: MoveInRules,
    clock: &dyn Clock,
) -> Result<WorkOrder, SelfServiceError> {
    let gsrn = Gsrn::parse(request.gsrn.trim()).map_err(|e| {
        SelfServiceError::Invalid(ParseError {
            field: "metering_point",
            ..e
        })
    })?;
    let Some(point) = store.metering_point(&gsrn).await? else {
        return Err(refusal(
            "metering_point",
            gsrn.as_str(),
            "the utility does not know this metering point: check the number, or ask customer service",
        ));
    };
    let today = point.market.time_zone().to_datetime(clock.now()).date();
    rules
        .check(request.day, today)
        .map_err(SelfServiceError::Invalid)?;
    let products = move_in_products(store, Some(point.market)).await?;
    if !products
        .iter()
        .any(|(code, _)| *code == request.product_code)
    {
        let codes: Vec<&str> = products.iter().map(|(code, _)| code.as_str()).collect();
        return Err(refusal(
            "product",
            request.product_code.clone(),
            format!(
                "not a product the utility offers here; one of {}",
                codes.join(", ")
            ),
        ));
    }
    let Some(account) = holdings
        .accounts
        .iter()
        .find(|a| a.customer_id == holdings.customer.customer_id)
    else {
        return Err(refusal(
            "customer_id",
            holdings.customer.customer_id.clone(),
            "the customer has no account to bill the new contract to",
        ));
    };
    let own = store.contracts_of_point(&gsrn).await?;
    if let Some(running) = own
        .iter()
        .find(|c| holdings.account(&c.account_id).is_ok() && c.end.is_none_or(|e| e > request.day))
    {
        return Err(refusal(
            "metering_point",
            gsrn.as_str(),
            format!(
                "your contract {} runs on this metering point on that day already",
                running.contract_id
            ),
        ));
    }
    let note = check_note(&request.note)?;
    record_move(
        store,
        WorkOrder {
            id: 0,
            kind: "move_in".to_owned(),
            customer_id: holdings.customer.customer_id.clone(),
            account_id: account.account_id.clone(),
            subject: gsrn.as_str().to_owned(),
            requested_date: request.day.to_string(),
            detail: note,
            status: "requested".to_owned(),
            requested_at_us: 0,
            decided_by: None,
            decided_at_us: None,
            decision_note: None,
            product_code: Some(request.product_code.clone()),
        },
        clock,
    )
    .await
}

/// The contracts an approved move in starts on `day`: a supplier contract for the product
/// chosen, and a grid contract with the point's grid product when the utility is its grid
/// company (a grid contract of the point is stored: the demo and the import model the utility
/// as supplier and grid company at once). Ids are the order's, so a repeat names the same ones.
pub fn move_in_contracts(
    order_id: i64,
    account_id: &str,
    gsrn: &Gsrn,
    day: Date,
    supplier_product: &str,
    earlier: &[Contract],
) -> Vec<Contract> {
    let grid_product = earlier
        .iter()
        .filter(|c| c.role == ContractRole::GridOwner)
        .max_by_key(|c| c.start)
        .map(|c| c.product_code.clone());
    let contract = |suffix: &str, role: ContractRole, product: String| Contract {
        contract_id: format!("WO{order_id}-{suffix}"),
        account_id: account_id.to_owned(),
        metering_point_id: Some(gsrn.clone()),
        product_code: product,
        role,
        start: day,
        end: None,
    };
    let mut contracts = vec![contract(
        "S",
        ContractRole::Supplier,
        supplier_product.to_owned(),
    )];
    if let Some(grid) = grid_product {
        contracts.push(contract("G", ContractRole::GridOwner, grid));
    }
    contracts
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
        return Err(refusal(
            "number",
            number,
            "only an invoice has a due date to postpone",
        ));
    }
    let Some(due) = document.due_date else {
        return Err(refusal(
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
        let settled = match item.status {
            InvoiceStatus::Paid | InvoiceStatus::Credited => {
                Some("this invoice is settled: there is nothing to postpone")
            }
            InvoiceStatus::InCollection | InvoiceStatus::WrittenOff => Some(
                "this invoice is in collection: a new due date is agreed with the collection agency",
            ),
            _ => None,
        };
        if let Some(rule) = settled {
            return Err(refusal("number", number, rule));
        }
    }
    let latest = due.checked_add(rules.max_days.days()).unwrap_or(due);
    if new_due <= due || new_due > latest {
        return Err(refusal(
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
        return Err(refusal(
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
            product_code: None,
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
        let (day, gsrn) = moving_day_and_point(&order)?;
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
    if approve && order.kind == "move_in" {
        start_moved_in_contracts(store, &mut tx, &order).await?;
    }
    tx.commit(Default::default()).await?;
    Ok(Some(order))
}

/// The moving day and the metering point of move `order`, as stored.
fn moving_day_and_point(order: &WorkOrder) -> Result<(Date, Gsrn), SelfServiceError> {
    let day: Date = order.requested_date.parse().map_err(|_| {
        refusal(
            "date",
            order.requested_date.clone(),
            "stored date is unreadable",
        )
    })?;
    let gsrn = Gsrn::parse(&order.subject).map_err(SelfServiceError::Invalid)?;
    Ok((day, gsrn))
}

/// Start the contracts of approved move in `order` in `tx`, unless a contract of the point still
/// runs on the moving day (its move out must be approved first).
async fn start_moved_in_contracts(
    store: &Store,
    tx: &mut nordlys_store::StoreTx,
    order: &WorkOrder,
) -> Result<(), SelfServiceError> {
    let (day, gsrn) = moving_day_and_point(order)?;
    let earlier = store.contracts_of_point(&gsrn).await?;
    if let Some(running) = earlier.iter().find(|c| c.end.is_none_or(|e| e > day)) {
        return Err(refusal(
            "metering_point",
            gsrn.as_str(),
            format!(
                "contract {} of account {} runs on this metering point on {day} (until {}): approve its move out first",
                running.contract_id,
                running.account_id,
                running
                    .end
                    .map_or_else(|| "further notice".to_owned(), |e| e.to_string())
            ),
        ));
    }
    let product = order.product_code.clone().unwrap_or_default();
    for contract in move_in_contracts(order.id, &order.account_id, &gsrn, day, &product, &earlier) {
        if tx.contract_exists(&contract.contract_id).await? {
            return Err(refusal(
                "contract_id",
                contract.contract_id.clone(),
                "a contract of this id is stored already",
            ));
        }
        tx.upsert_contract(&contract).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn a_moving_in_day_may_be_30_days_back_and_180_ahead_and_no_further() {
        let rules = MoveInRules::default();
        let today = date("2026-03-31");
        for (day, allowed) in [
            ("2026-03-01", true),
            ("2026-02-28", false),
            ("2026-03-31", true),
            ("2026-09-27", true),
            ("2026-09-28", false),
        ] {
            let checked = rules.check(date(day), today);
            assert_eq!(checked.is_ok(), allowed, "{day}: {checked:?}");
            if let Err(e) = checked {
                assert_eq!(e.field, "date");
                assert!(e.rule.contains("2026-03-01 to 2026-09-27"), "{}", e.rule);
            }
        }
    }

    fn contract(id: &str, role: ContractRole, product: &str, start: &str) -> Contract {
        Contract {
            contract_id: id.to_owned(),
            account_id: "A-old".to_owned(),
            metering_point_id: Some(Gsrn::from_body("70705750000000001").unwrap()),
            product_code: product.to_owned(),
            role,
            start: date(start),
            end: Some(date("2026-01-10")),
        }
    }

    #[test]
    fn moving_in_starts_the_chosen_supplier_product_and_the_latest_grid_product_of_the_point() {
        let gsrn = Gsrn::from_body("70705750000000001").unwrap();
        let earlier = [
            contract("C1-S", ContractRole::Supplier, "no-spot", "2024-01-01"),
            contract("C1-G", ContractRole::GridOwner, "old-grid", "2024-01-01"),
            contract("C2-G", ContractRole::GridOwner, "new-grid", "2025-01-01"),
        ];
        let started =
            move_in_contracts(7, "A-new", &gsrn, date("2026-01-10"), "no-fixed", &earlier);
        let summary: Vec<(&str, ContractRole, &str, Option<Date>)> = started
            .iter()
            .map(|c| {
                (
                    c.contract_id.as_str(),
                    c.role,
                    c.product_code.as_str(),
                    c.end,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("WO7-S", ContractRole::Supplier, "no-fixed", None),
                ("WO7-G", ContractRole::GridOwner, "new-grid", None),
            ]
        );
        assert!(started.iter().all(|c| c.account_id == "A-new"
            && c.start == date("2026-01-10")
            && c.metering_point_id.as_ref() == Some(&gsrn)));
    }

    #[test]
    fn where_the_utility_is_not_the_grid_company_moving_in_starts_the_supplier_contract_only() {
        let gsrn = Gsrn::from_body("70705750000000001").unwrap();
        let earlier = [contract(
            "C1-S",
            ContractRole::Supplier,
            "no-spot",
            "2024-01-01",
        )];
        let started = move_in_contracts(8, "A-new", &gsrn, date("2026-01-10"), "no-spot", &earlier);
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].role, ContractRole::Supplier);
    }
}

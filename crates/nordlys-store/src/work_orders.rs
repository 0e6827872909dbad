//! Work orders as stored: a customer's request that changes their contracts or documents (a
//! move out of or into a metering point, a postponed due date) and its decision; pages of them. Each write is journaled
//! (domain `work_order`) in the caller's transaction, so approving a move and ending its
//! contracts is one change.

use serde_json::json;
use sqlx::Row;

use crate::db::DbRow;
use crate::journal::{Change, ChangeScope, Domain};
use crate::master::Page;
use crate::{Store, StoreError, StoreTx};

/// One work order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkOrder {
    pub id: i64,
    /// `move_out`, `move_in` or `postpone`.
    pub kind: String,
    pub customer_id: String,
    pub account_id: String,
    /// The metering point's GSRN (a move), or the document's number (a postponement).
    pub subject: String,
    /// The move-out day, the move-in day, or the new due date (`YYYY-MM-DD`).
    pub requested_date: String,
    pub detail: String,
    /// `requested`, `approved` or `rejected`.
    pub status: String,
    pub requested_at_us: i64,
    pub decided_by: Option<String>,
    pub decided_at_us: Option<i64>,
    pub decision_note: Option<String>,
    /// The supplier product chosen (a move in); `None` for the other kinds.
    pub product_code: Option<String>,
}

impl WorkOrder {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id, "kind": self.kind, "customer_id": self.customer_id,
            "account_id": self.account_id, "subject": self.subject,
            "requested_date": self.requested_date, "detail": self.detail, "status": self.status,
            "decided_by": self.decided_by, "decision_note": self.decision_note,
            "product_code": self.product_code,
        })
    }
}

const COLUMNS: &str = "id, kind, customer_id, account_id, subject, requested_date, detail, status, requested_at_us, decided_by, decided_at_us, decision_note, product_code FROM work_orders";

fn from_row(row: &DbRow) -> WorkOrder {
    WorkOrder {
        id: row.get(0),
        kind: row.get(1),
        customer_id: row.get(2),
        account_id: row.get(3),
        subject: row.get(4),
        requested_date: row.get(5),
        detail: row.get(6),
        status: row.get(7),
        requested_at_us: row.get(8),
        decided_by: row.get(9),
        decided_at_us: row.get(10),
        decision_note: row.get(11),
        product_code: row.get(12),
    }
}

impl StoreTx {
    /// The work orders of `kind` about `subject` with `status`, read after taking the subject's
    /// lock until this transaction ends: a check of them ("once per invoice", "no second move
    /// while one waits") followed by [`StoreTx::create_work_order`] holds against a concurrent
    /// writer of the same subject (SQLite has one writer at a time anyway).
    pub async fn lock_work_orders_of(
        &mut self,
        kind: &str,
        subject: &str,
        status: &str,
    ) -> Result<i64, StoreError> {
        self.journal
            .lock_series(&format!("work_order:{kind}:{subject}"))
            .await?;
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM work_orders WHERE kind = $1 AND subject = $2 AND status = $3",
        )
        .bind(kind)
        .bind(subject)
        .bind(status)
        .fetch_one(self.journal.conn())
        .await?)
    }

    /// Record a new work order (its `id` is assigned); `status` is `requested`, or `approved`
    /// when rules decided at once (`decided_by` names them).
    pub async fn create_work_order(&mut self, order: &WorkOrder) -> Result<WorkOrder, StoreError> {
        let now_us = self.journal.now_us();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO work_orders (kind, customer_id, account_id, subject, requested_date, detail, status,
                 requested_at_us, decided_by, decided_at_us, decision_note, product_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&order.kind)
        .bind(&order.customer_id)
        .bind(&order.account_id)
        .bind(&order.subject)
        .bind(&order.requested_date)
        .bind(&order.detail)
        .bind(&order.status)
        .bind(now_us)
        .bind(&order.decided_by)
        .bind(order.decided_by.as_ref().map(|_| now_us))
        .bind(&order.decision_note)
        .bind(&order.product_code)
        .fetch_one(self.journal.conn())
        .await?;
        let stored = WorkOrder {
            id,
            requested_at_us: now_us,
            decided_at_us: order.decided_by.as_ref().map(|_| now_us),
            ..order.clone()
        };
        self.journal
            .record(Change::of_upsert(
                Domain::WorkOrder,
                id.to_string(),
                None,
                stored.to_json(),
                ChangeScope::default(),
            ))
            .await?;
        Ok(stored)
    }

    /// Decide a requested work order: `Ok(None)` if it is not (or no longer) requested.
    pub async fn decide_work_order(
        &mut self,
        id: i64,
        approved: bool,
        decided_by: &str,
        note: &str,
    ) -> Result<Option<WorkOrder>, StoreError> {
        let before = sqlx::query(crate::db::sql_owned(
            self.journal.backend(),
            format!("SELECT {COLUMNS} WHERE id = $1 AND status = 'requested'"),
        ))
        .bind(id)
        .fetch_optional(self.journal.conn())
        .await?
        .as_ref()
        .map(from_row);
        let Some(before) = before else {
            return Ok(None);
        };
        let now_us = self.journal.now_us();
        let status = if approved { "approved" } else { "rejected" };
        let updated = sqlx::query(
            "UPDATE work_orders SET status = $1, decided_by = $2, decided_at_us = $3, decision_note = $4
             WHERE id = $5 AND status = 'requested'",
        )
        .bind(status)
        .bind(decided_by)
        .bind(now_us)
        .bind(note)
        .bind(id)
        .execute(self.journal.conn())
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(None);
        }
        let after = WorkOrder {
            status: status.to_owned(),
            decided_by: Some(decided_by.to_owned()),
            decided_at_us: Some(now_us),
            decision_note: Some(note.to_owned()),
            ..before.clone()
        };
        self.journal
            .record(Change::of_upsert(
                Domain::WorkOrder,
                id.to_string(),
                Some(before.to_json()),
                after.to_json(),
                ChangeScope::default(),
            ))
            .await?;
        Ok(Some(after))
    }
}

/// Which work orders a page holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkOrderFilter<'a> {
    pub customer: Option<&'a str>,
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
}

impl Store {
    /// One work order, by id.
    pub async fn work_order(&self, id: i64) -> Result<Option<WorkOrder>, StoreError> {
        let row = sqlx::query(crate::db::sql_owned(
            self.backend,
            format!("SELECT {COLUMNS} WHERE id = $1"),
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(from_row))
    }

    /// A page of work orders in the order they were made, after id `after`.
    pub async fn work_orders_page(
        &self,
        filter: WorkOrderFilter<'_>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<WorkOrder>, StoreError> {
        let mut query = crate::db::SqlBuilder::new(&format!("SELECT {COLUMNS} WHERE 1 = 1"));
        for (column, value) in [
            ("customer_id", filter.customer),
            ("status", filter.status),
            ("kind", filter.kind),
        ] {
            if let Some(value) = value {
                query
                    .push(&format!(" AND {column} = "))
                    .bind(value.to_owned());
            }
        }
        if let Some(after) = after {
            query.push(" AND id > ").bind(after);
        }
        query.push(" ORDER BY id LIMIT ").bind(limit + 1);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        Ok(Page::of(
            rows.iter().map(from_row).collect(),
            limit,
            |o: &WorkOrder| o.id.to_string(),
        ))
    }

    /// Work orders, newest first: of one customer, or of one status, or all.
    pub async fn work_orders(
        &self,
        customer: Option<&str>,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WorkOrder>, StoreError> {
        let mut query = crate::db::SqlBuilder::new(&format!("SELECT {COLUMNS} WHERE 1 = 1"));
        if let Some(customer) = customer {
            query.push(" AND customer_id = ").bind(customer.to_owned());
        }
        if let Some(status) = status {
            query.push(" AND status = ").bind(status.to_owned());
        }
        query.push(" ORDER BY id DESC LIMIT ").bind(limit);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(from_row).collect())
    }
}

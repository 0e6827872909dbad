//! Receivables as stored: imported payment files (by their SHA-256), the payments in them (by
//! the bank's reference, never twice) and their allocations to invoices or to an account's
//! credit. Rows are written once and never changed, and journaled (domain `payment`) in the
//! import's transaction — one record per file, per batch of allocations and per dunning run,
//! naming the range of row ids it wrote — so a file is stored whole or not at all.
//! Charges (invoices, credit notes) are the documents as issued.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use nordlys_core::document::DocumentKind;
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::Row;

use crate::db::{DbRow, SqlBuilder};
use crate::journal::{Change, ChangeScope, Domain};
use crate::sql_values::{bad, date, decimal, optional_date};
use crate::{Store, StoreError, StoreTx};

/// Rows per multi-row statement (well under either backend's bind-parameter limit).
const ROWS_PER_STATEMENT: usize = 500;

/// A payment to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub line: i64,
    pub bank_reference: String,
    pub booking_date: Date,
    pub amount_minor: i64,
    pub currency: Currency,
    /// `kid`, `fik71`, `rf`, `invalid`, `other` or `none`.
    pub reference_kind: String,
    pub reference: Option<String>,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    pub free_text: Option<String>,
    pub payee_account: String,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayment {
    pub id: i64,
    pub file_id: Option<i64>,
    pub payment: NewPayment,
    pub recorded_at_us: i64,
    /// What its allocations took of it, in minor units.
    pub allocated_minor: i64,
}

/// Where (part of) a payment went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAllocation {
    pub payment_id: i64,
    pub account_id: String,
    /// The invoice settled; `None` for a credit on the account.
    pub document_id: Option<i64>,
    pub amount_minor: i64,
    /// `kid`, `reference`, `amount`, `manual` or `credit`.
    pub rule: String,
    /// What matched (the KID, the number in the text, the amount).
    pub evidence: String,
    pub allocated_by: String,
}

/// An allocation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAllocation {
    pub id: i64,
    pub allocation: NewAllocation,
    pub booking_date: Date,
    pub allocated_at_us: i64,
}

/// A document as the ledger counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDocument {
    pub id: i64,
    pub kind: DocumentKind,
    pub series: String,
    pub number: i64,
    pub kid: Option<String>,
    pub account_id: String,
    pub issue_date: Date,
    pub due_date: Option<Date>,
    pub currency: Currency,
    /// What the customer owes for it, VAT included (negative for a credit note).
    pub gross: Decimal,
    /// The documents it corrects, in order (ids).
    pub references: Vec<i64>,
    /// The due date as postponed (the latest approved postponement), if it was.
    pub postponed_to: Option<Date>,
}

impl LedgerDocument {
    pub fn display_number(&self) -> String {
        nordlys_core::document::display_number(&self.series, self.number)
    }
}

/// An imported payment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFile {
    pub id: i64,
    pub sha256: String,
    pub name: String,
    pub format: String,
    pub payments: i64,
    pub total_minor: i64,
    pub imported_at_us: i64,
}

impl StoreTx {
    /// Hold the receivables until this transaction ends, so two imports (or an import and a
    /// hand assignment) at once allocate against what the other stored, never the same open
    /// amount twice.
    pub async fn lock_receivables(&mut self) -> Result<(), StoreError> {
        self.journal.lock_series("receivables").await
    }

    /// The file imported with this SHA-256 already, if any.
    pub async fn payment_file_by_sha256(
        &mut self,
        sha256: &str,
    ) -> Result<Option<PaymentFile>, StoreError> {
        let row = sqlx::query(
            "SELECT id, sha256, name, format, payments, total_minor, imported_at_us FROM payment_files WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(self.journal.conn())
        .await?;
        Ok(row.as_ref().map(file_from_row))
    }

    /// Of `references`, the ones a stored payment has already.
    pub async fn known_bank_references(
        &mut self,
        references: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        for chunk in references.chunks(ROWS_PER_STATEMENT) {
            let mut query =
                SqlBuilder::new("SELECT bank_reference FROM payments WHERE bank_reference IN (");
            query
                .bind_list(chunk.iter().map(|r| r.to_string()))
                .push(")");
            for row in query
                .build(self.journal.backend())
                .fetch_all(self.journal.conn())
                .await?
            {
                known.insert(row.get(0));
            }
        }
        Ok(known)
    }

    /// Record a payment file and its payments: their ids, in order.
    pub async fn insert_payment_file(
        &mut self,
        sha256: &str,
        name: &str,
        format: &str,
        payments: &[NewPayment],
    ) -> Result<Vec<i64>, StoreError> {
        let now_us = self.journal.now_us();
        let total_minor: i64 = payments.iter().map(|p| p.amount_minor).sum();
        let file_id: i64 = sqlx::query_scalar(
            "INSERT INTO payment_files (sha256, name, format, payments, total_minor, imported_at_us)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(sha256)
        .bind(name)
        .bind(format)
        .bind(payments.len() as i64)
        .bind(total_minor)
        .bind(now_us)
        .fetch_one(self.journal.conn())
        .await?;
        let mut ids = Vec::with_capacity(payments.len());
        for chunk in payments.chunks(ROWS_PER_STATEMENT) {
            let mut query = SqlBuilder::new(
                "INSERT INTO payments (file_id, line, bank_reference, booking_date, amount_minor, currency,
                     reference_kind, reference, payer_name, payer_account, free_text, payee_account, recorded_at_us)",
            );
            query.values(chunk, |row, p| {
                row.bind(file_id)
                    .bind(p.line)
                    .bind(p.bank_reference.clone())
                    .bind(p.booking_date.to_string())
                    .bind(p.amount_minor)
                    .bind(p.currency.code().to_owned())
                    .bind(p.reference_kind.clone())
                    .bind(p.reference.clone())
                    .bind(p.payer_name.clone())
                    .bind(p.payer_account.clone())
                    .bind(p.free_text.clone())
                    .bind(p.payee_account.clone())
                    .bind(now_us);
            });
            ids.extend(self.inserted_ids(query).await?);
        }
        // One record for the file: the payments it brought are the ids in its range (as a
        // meter-value import records a range per metering point, not each reading).
        self.journal
            .record(Change::of_upsert(
                Domain::Payment,
                format!("payment_file/{file_id}"),
                None,
                json!({
                    "file_id": file_id, "sha256": sha256, "name": name, "format": format,
                    "payments": payments.len(), "total_minor": total_minor,
                    "first_payment_id": ids.first(), "last_payment_id": ids.last(),
                }),
                ChangeScope::default(),
            ))
            .await?;
        Ok(ids)
    }

    /// Record allocations (each journaled).
    pub async fn insert_allocations(
        &mut self,
        allocations: &[NewAllocation],
    ) -> Result<(), StoreError> {
        if allocations.is_empty() {
            return Ok(());
        }
        let now_us = self.journal.now_us();
        let mut ids = Vec::with_capacity(allocations.len());
        for chunk in allocations.chunks(ROWS_PER_STATEMENT) {
            let mut query = SqlBuilder::new(
                "INSERT INTO payment_allocations (payment_id, account_id, document_id, amount_minor, rule, evidence,
                     allocated_by, allocated_at_us)",
            );
            query.values(chunk, |row, a| {
                row.bind(a.payment_id)
                    .bind(a.account_id.clone())
                    .bind(a.document_id)
                    .bind(a.amount_minor)
                    .bind(a.rule.clone())
                    .bind(a.evidence.clone())
                    .bind(a.allocated_by.clone())
                    .bind(now_us);
            });
            ids.extend(self.inserted_ids(query).await?);
        }
        let accounts: HashSet<&str> = allocations.iter().map(|a| a.account_id.as_str()).collect();
        self.journal
            .record(Change::of_upsert(
                Domain::Payment,
                format!("allocations/{}", ids.first().copied().unwrap_or_default()),
                None,
                json!({
                    "allocations": allocations.len(), "accounts": accounts.len(),
                    "amount_minor": allocations.iter().map(|a| a.amount_minor).sum::<i64>(),
                    "first_allocation_id": ids.first(), "last_allocation_id": ids.last(),
                    "allocated_by": allocations[0].allocated_by,
                }),
                ChangeScope::default(),
            ))
            .await
    }

    /// Record dunning steps (each journaled, domain `payment`); a step an invoice has taken
    /// already (a run at the same time took it) is left out. The steps recorded.
    pub async fn insert_dunning_steps(
        &mut self,
        steps: &[NewDunningStep],
    ) -> Result<Vec<NewDunningStep>, StoreError> {
        let now_us = self.journal.now_us();
        let mut taken: HashSet<(i64, i64)> = HashSet::new();
        let mut first_id = None;
        let mut last_id = None;
        for chunk in steps.chunks(ROWS_PER_STATEMENT) {
            let mut query = SqlBuilder::new(
                "INSERT INTO dunning_steps (document_id, account_id, step, step_index, sent_on, deadline, fee_minor, rule, run_at_us)",
            );
            query.values(chunk, |row, step| {
                row.bind(step.document_id)
                    .bind(step.account_id.clone())
                    .bind(step.step.clone())
                    .bind(step.step_index)
                    .bind(step.sent_on.to_string())
                    .bind(step.deadline.map(|d| d.to_string()))
                    .bind(step.fee_minor)
                    .bind(step.rule.clone())
                    .bind(now_us);
            });
            query.push(
                " ON CONFLICT (document_id, step_index) DO NOTHING RETURNING id, document_id, step_index",
            );
            for row in query
                .build(self.journal.backend())
                .fetch_all(self.journal.conn())
                .await?
            {
                let id: i64 = row.get(0);
                first_id = Some(first_id.map_or(id, |f: i64| f.min(id)));
                last_id = Some(last_id.map_or(id, |l: i64| l.max(id)));
                taken.insert((row.get(1), row.get(2)));
            }
        }
        let recorded: Vec<NewDunningStep> = steps
            .iter()
            .filter(|s| taken.contains(&(s.document_id, s.step_index)))
            .cloned()
            .collect();
        if !recorded.is_empty() {
            self.journal
                .record(Change::of_upsert(
                    Domain::Payment,
                    format!("dunning/{}", first_id.unwrap_or_default()),
                    None,
                    json!({
                        "steps": recorded.len(),
                        "fee_minor": recorded.iter().map(|s| s.fee_minor).sum::<i64>(),
                        "first_step_id": first_id, "last_step_id": last_id,
                        "sent_on": recorded[0].sent_on.to_string(),
                    }),
                    ChangeScope::default(),
                ))
                .await?;
        }
        Ok(recorded)
    }

    /// Run a multi-row INSERT: the new rows' ids, in the order of its VALUES. Both backends
    /// give the rows of one statement ascending ids in VALUES order (SQLite's rowids, one
    /// PostgreSQL sequence under the receivables lock), while the order RETURNING lists them in
    /// is not promised: so the ids are sorted.
    async fn inserted_ids(&mut self, mut query: SqlBuilder) -> Result<Vec<i64>, StoreError> {
        query.push(" RETURNING id");
        let rows = query
            .build(self.journal.backend())
            .fetch_all(self.journal.conn())
            .await?;
        let mut ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The ledger's basis as this transaction sees it (after [`StoreTx::lock_receivables`]).
    pub async fn receivables_basis(&mut self) -> Result<ReceivablesBasis, StoreError> {
        let backend = self.journal.backend();
        read_basis(backend, self.journal.conn(), None).await
    }
}

fn file_from_row(row: &DbRow) -> PaymentFile {
    PaymentFile {
        id: row.get(0),
        sha256: row.get(1),
        name: row.get(2),
        format: row.get(3),
        payments: row.get(4),
        total_minor: row.get(5),
        imported_at_us: row.get(6),
    }
}

/// A dunning step to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDunningStep {
    pub document_id: i64,
    pub account_id: String,
    /// `reminder`, `collection_notice` or `handover`.
    pub step: String,
    /// Its place in the policy (0 = the first step): a step of an invoice is taken once.
    pub step_index: i64,
    pub sent_on: Date,
    pub deadline: Option<Date>,
    pub fee_minor: i64,
    pub rule: String,
}

/// Everything the ledger is computed from: documents, payments, allocations and dunning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivablesBasis {
    pub documents: Vec<LedgerDocument>,
    pub payments: Vec<StoredPayment>,
    pub allocations: Vec<StoredAllocation>,
    /// Dunning steps taken, oldest first.
    pub dunning: Vec<NewDunningStep>,
    /// The kind of each account's payer (`person` or `organisation`), by account.
    pub payer_kinds: HashMap<String, String>,
    /// Each account's invoice channel (`ehf`, `email`, `paper` …), by account.
    pub channels: HashMap<String, String>,
}

const PAYMENT_COLUMNS: &str = "p.id, p.file_id, p.line, p.bank_reference, p.booking_date, p.amount_minor, p.currency,
    p.reference_kind, p.reference, p.payer_name, p.payer_account, p.free_text, p.payee_account, p.recorded_at_us,
    (SELECT coalesce(sum(a.amount_minor), 0)::bigint FROM payment_allocations a WHERE a.payment_id = p.id)";

fn payment_from_row(row: &DbRow) -> Result<StoredPayment, StoreError> {
    let currency: String = row.get(6);
    Ok(StoredPayment {
        id: row.get(0),
        file_id: row.get(1),
        payment: NewPayment {
            line: row.get(2),
            bank_reference: row.get(3),
            booking_date: date(row, 4, "booking_date")?,
            amount_minor: row.get(5),
            currency: Currency::parse(&currency).map_err(StoreError::CorruptValue)?,
            reference_kind: row.get(7),
            reference: row.get(8),
            payer_name: row.get(9),
            payer_account: row.get(10),
            free_text: row.get(11),
            payee_account: row.get(12),
        },
        recorded_at_us: row.get(13),
        allocated_minor: row.get(14),
    })
}

/// Read the basis, of one account or of all.
async fn read_basis(
    backend: crate::db::Backend,
    conn: &mut crate::db::DbConn,
    accounts: Option<&[String]>,
) -> Result<ReceivablesBasis, StoreError> {
    let mut basis = ReceivablesBasis::default();
    if accounts.is_some_and(|a| a.is_empty()) {
        return Ok(basis);
    }
    let mut query = SqlBuilder::new(
        "SELECT d.id, d.kind, d.series, d.number, d.kid, d.account_id, d.issue_date, d.due_date, d.currency, d.gross::text
         FROM documents d",
    );
    if let Some(accounts) = accounts {
        query
            .push(" WHERE d.account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    query.push(" ORDER BY d.id");
    let mut index = HashMap::new();
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        let currency: String = row.get(8);
        let document = LedgerDocument {
            id: row.get(0),
            kind: DocumentKind::parse(row.get(1)).map_err(StoreError::CorruptValue)?,
            series: row.get(2),
            number: row.get(3),
            kid: row.get(4),
            account_id: row.get(5),
            issue_date: date(&row, 6, "issue_date")?,
            due_date: optional_date(&row, 7, "due_date")?,
            currency: Currency::parse(&currency).map_err(StoreError::CorruptValue)?,
            gross: decimal(&row, 9, "gross")?,
            references: Vec::new(),
            postponed_to: None,
        };
        index.insert(document.id, basis.documents.len());
        basis.documents.push(document);
    }
    let mut query = SqlBuilder::new(
        "SELECT x.document_id, x.referenced_document_id FROM document_references x",
    );
    if let Some(accounts) = accounts {
        query
            .push(" JOIN documents d ON d.id = x.document_id WHERE d.account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    query.push(" ORDER BY x.document_id, x.position");
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        let (document, referenced): (i64, i64) = (row.get(0), row.get(1));
        if let Some(i) = index.get(&document) {
            basis.documents[*i].references.push(referenced);
        }
    }
    // Postponed due dates: approved postponements name the document by its number.
    let mut query = SqlBuilder::new(
        "SELECT subject, requested_date FROM work_orders WHERE kind = 'postpone' AND status = 'approved'",
    );
    if let Some(accounts) = accounts {
        query
            .push(" AND account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    let numbers: HashMap<String, usize> = basis
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| (d.display_number(), i))
        .collect();
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        let number: String = row.get(0);
        let to = date(&row, 1, "requested_date")?;
        if let Some(&i) = numbers.get(&number) {
            let document = &mut basis.documents[i];
            document.postponed_to = Some(document.postponed_to.map_or(to, |d| d.max(to)));
        }
    }
    let mut query = SqlBuilder::new("SELECT ");
    query.push(PAYMENT_COLUMNS).push(" FROM payments p");
    if let Some(accounts) = accounts {
        query
            .push(
                " WHERE p.id IN (SELECT payment_id FROM payment_allocations WHERE account_id IN (",
            )
            .bind_list(accounts.iter().cloned())
            .push("))");
    }
    query.push(" ORDER BY p.id");
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        basis.payments.push(payment_from_row(&row)?);
    }
    let mut query = SqlBuilder::new(
        "SELECT a.id, a.payment_id, a.account_id, a.document_id, a.amount_minor, a.rule, a.evidence,
                a.allocated_by, a.allocated_at_us, p.booking_date
         FROM payment_allocations a JOIN payments p ON p.id = a.payment_id",
    );
    if let Some(accounts) = accounts {
        query
            .push(" WHERE a.account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    query.push(" ORDER BY a.id");
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        basis.allocations.push(StoredAllocation {
            id: row.get(0),
            allocation: NewAllocation {
                payment_id: row.get(1),
                account_id: row.get(2),
                document_id: row.get(3),
                amount_minor: row.get(4),
                rule: row.get(5),
                evidence: row.get(6),
                allocated_by: row.get(7),
            },
            allocated_at_us: row.get(8),
            booking_date: date(&row, 9, "booking_date")?,
        });
    }
    let mut query = SqlBuilder::new(
        "SELECT document_id, account_id, step, step_index, sent_on, deadline, fee_minor, rule FROM dunning_steps",
    );
    if let Some(accounts) = accounts {
        query
            .push(" WHERE account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    query.push(" ORDER BY document_id, step_index");
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        basis.dunning.push(NewDunningStep {
            document_id: row.get(0),
            account_id: row.get(1),
            step: row.get(2),
            step_index: row.get(3),
            sent_on: date(&row, 4, "sent_on")?,
            deadline: optional_date(&row, 5, "deadline")?,
            fee_minor: row.get(6),
            rule: row.get(7),
        });
    }
    let mut query = SqlBuilder::new(
        "SELECT a.account_id, c.kind, a.invoice_channel FROM accounts a JOIN customers c ON c.customer_id = a.payer_customer_id",
    );
    if let Some(accounts) = accounts {
        query
            .push(" WHERE a.account_id IN (")
            .bind_list(accounts.iter().cloned())
            .push(")");
    }
    for row in query.build(backend).fetch_all(&mut *conn).await? {
        let account: String = row.get(0);
        basis.channels.insert(account.clone(), row.get(2));
        basis.payer_kinds.insert(account, row.get(1));
    }
    Ok(basis)
}

impl Store {
    /// The ledger's basis of every account.
    pub async fn receivables_basis(&self) -> Result<ReceivablesBasis, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read_basis(self.backend, &mut conn, None).await
    }

    /// The ledger's basis of these accounts (at most some hundred: one statement each).
    pub async fn receivables_basis_of(
        &self,
        accounts: &[String],
    ) -> Result<ReceivablesBasis, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read_basis(self.backend, &mut conn, Some(accounts)).await
    }

    /// Payments, oldest first; only those with money not yet allocated when `unallocated_only`.
    pub async fn payments(&self, unallocated_only: bool) -> Result<Vec<StoredPayment>, StoreError> {
        let mut query = SqlBuilder::new("SELECT ");
        query.push(PAYMENT_COLUMNS).push(" FROM payments p");
        if unallocated_only {
            query.push(
                " WHERE p.amount_minor > (SELECT coalesce(sum(a.amount_minor), 0) FROM payment_allocations a WHERE a.payment_id = p.id)",
            );
        }
        query.push(" ORDER BY p.id");
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(payment_from_row).collect()
    }

    /// One payment by id.
    pub async fn payment(&self, id: i64) -> Result<Option<StoredPayment>, StoreError> {
        let mut query = SqlBuilder::new("SELECT ");
        query
            .push(PAYMENT_COLUMNS)
            .push(" FROM payments p WHERE p.id = ")
            .bind(id);
        let row = query.build(self.backend).fetch_optional(&self.pool).await?;
        row.as_ref().map(payment_from_row).transpose()
    }
}

/// A stored amount in minor units (two decimals): refused if it has more.
pub fn to_minor(amount: Decimal) -> Result<i64, StoreError> {
    let scaled = amount * Decimal::from(100);
    if scaled.fract() != Decimal::ZERO {
        return Err(bad("amount", &amount.to_string()));
    }
    i64::try_from(scaled).map_err(|_| bad("amount", &amount.to_string()))
}

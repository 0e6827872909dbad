//! Settlement runs and the billing lock (one run at a time, naming its holder), the settled
//! contract-periods (the exactly-once guard, compare-and-set on correction) and missing-basis
//! tasks.

use std::collections::HashSet;

use crate::db::DbRow;
use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::document::IssuedDocument;
use nordlys_core::model::PriceArea;
// Dynamic SQL here joins constant fragments of this file only, never input.
use sqlx::Row;

use crate::db::{SqlBuilder, sql_owned};
use crate::journal::begin_exclusive;

use serde_json::json;

use crate::sql_values::bad;
use crate::{Change, ChangeOp, ChangeScope, Domain, JournaledTx, Store, StoreError};

/// What the store keeps of a settled contract-period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    pub contract_id: String,
    pub period: String,
    pub account_id: String,
    pub metering_point: Option<i64>,
    pub price_area: Option<PriceArea>,
    pub first_utc_day: i64,
    pub last_utc_day: i64,
    pub last_document: i64,
    /// Bumped by every correction: a correction writes only if the revision is still the one
    /// it read (compare-and-set).
    pub revision: i64,
    /// The product the contract-period was rated with, and its version.
    pub product_code: Option<String>,
    pub product_version: Option<i64>,
    /// The statutory tables it was rated with.
    pub statutory_version: Option<String>,
    /// The journal sequence the settlement's inputs were read up to: a change to an input with
    /// a higher sequence is one it has not seen, and a correction run re-rates it.
    pub read_seq: i64,
}

impl SettlementRecord {
    /// The settlement as a journal payload (schema 1).
    fn to_json(&self) -> serde_json::Value {
        json!({
            "contract_id": self.contract_id,
            "period": self.period,
            "account_id": self.account_id,
            "last_document_id": self.last_document,
            "revision": self.revision,
            "read_seq": self.read_seq,
            "product_code": self.product_code,
            "product_version": self.product_version,
            "statutory_version": self.statutory_version,
        })
    }

    fn change(&self, op: ChangeOp, before: Option<serde_json::Value>) -> Change {
        Change {
            domain: Domain::Settlement,
            key: format!("{}/{}", self.contract_id, self.period),
            op,
            before,
            after: Some(self.to_json()),
            scope: ChangeScope {
                metering_point: self.metering_point,
                contract_id: Some(self.contract_id.clone()),
                product_code: self.product_code.clone(),
                first_utc_day: Some(self.first_utc_day),
                last_utc_day: Some(self.last_utc_day),
                ..ChangeScope::default()
            },
        }
    }
}

/// The process that holds (or asks for) the billing lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHolder {
    pub pid: u32,
    pub host: String,
}

/// A billing run that holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRun {
    pub run_id: i64,
    pub kind: String,
    pub period: String,
    pub holder: RunHolder,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
}

/// What asking for the billing lock gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStart {
    /// The lock is ours: the new run's id.
    Started(i64),
    /// Another run holds it.
    Held(HeldRun),
}

/// An open missing-basis task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingBasisTask {
    pub contract_id: String,
    pub period: String,
    pub metering_point: Option<String>,
    pub reason_code: String,
    pub reason: String,
    /// JSON details of the reason.
    pub details: Option<String>,
}

/// Counts of a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub invoices: u64,
    pub credit_notes: u64,
    pub not_ready: u64,
}

impl Store {
    /// Contract ids already settled for `period`.
    pub async fn settled_contracts(&self, period: &str) -> Result<HashSet<String>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT contract_id FROM contract_settlements WHERE period = $1")
                .bind(period)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// Which of `contract_ids` are settled for `period` (a batch's contracts).
    pub async fn settled_contracts_among(
        &self,
        period: &str,
        contract_ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut settled = HashSet::new();
        for chunk in contract_ids.chunks(500) {
            let mut query =
                SqlBuilder::new("SELECT contract_id FROM contract_settlements WHERE period = ");
            query
                .bind(period)
                .push(" AND contract_id IN (")
                .bind_list(chunk.iter().map(String::as_str))
                .push(")");
            for row in query.build(self.backend).fetch_all(&self.pool).await? {
                settled.insert(row.get::<String, _>(0));
            }
        }
        Ok(settled)
    }

    /// Settled contract-periods with a change to one of their inputs in the journal after the
    /// sequence they were read up to: readings of their metering point in their days, spot
    /// prices of their area or exchange rates in their days, their contract or its usage, their
    /// metering point's master data, their product. One indexed query per kind of input.
    /// An exchange rate up to `exchange_rate_lookback_days` before a settlement's first day
    /// counts: a day without a rate (a holiday, a weekend) is converted with an earlier one.
    pub async fn changed_settlements(
        &self,
        exchange_rate_lookback_days: i64,
    ) -> Result<Vec<SettlementRecord>, StoreError> {
        let rows = sqlx::query(sql_owned(self.backend, format!(
            "WITH recent AS (
                 SELECT seq, domain, metering_point, price_area, contract_id, product_code, first_utc_day, last_utc_day
                 FROM changes
                 WHERE seq > (SELECT coalesce(min(read_seq), 0) FROM contract_settlements)
                   AND domain IN ('meter_values', 'spot_prices', 'exchange_rates', 'usage', 'contract', 'metering_point', 'product')
             ),
             touched AS (
                 SELECT s.contract_id, s.period FROM recent c JOIN contract_settlements s ON s.metering_point = c.metering_point
                 WHERE c.domain IN ('meter_values', 'metering_point') AND c.seq > s.read_seq
                   AND (c.domain = 'metering_point' OR (c.first_utc_day <= s.last_utc_day AND c.last_utc_day >= s.first_utc_day))
                 UNION
                 SELECT s.contract_id, s.period FROM recent c JOIN contract_settlements s ON s.price_area = c.price_area
                 WHERE c.domain = 'spot_prices' AND c.seq > s.read_seq
                   AND c.first_utc_day <= s.last_utc_day AND c.last_utc_day >= s.first_utc_day
                 UNION
                 SELECT s.contract_id, s.period FROM recent c JOIN contract_settlements s ON s.price_area IS NOT NULL
                 WHERE c.domain = 'exchange_rates' AND c.seq > s.read_seq
                   AND c.first_utc_day <= s.last_utc_day AND c.last_utc_day >= s.first_utc_day - $1
                 UNION
                 SELECT s.contract_id, s.period FROM recent c JOIN contract_settlements s ON s.contract_id = c.contract_id
                 WHERE c.domain IN ('contract', 'usage') AND c.seq > s.read_seq
                 UNION
                 SELECT s.contract_id, s.period FROM recent c JOIN contract_settlements s ON s.product_code = c.product_code
                 WHERE c.domain = 'product' AND c.seq > s.read_seq
             )
             SELECT {SETTLEMENT_COLUMNS} FROM touched t
             JOIN contract_settlements s ON s.contract_id = t.contract_id AND s.period = t.period
             ORDER BY s.account_id, s.period, s.contract_id"
        )))
        .bind(exchange_rate_lookback_days)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// Open missing-basis tasks, by period and contract.
    pub async fn missing_basis_tasks(&self) -> Result<Vec<MissingBasisTask>, StoreError> {
        let rows = sqlx::query(
            "SELECT contract_id, period, metering_point, reason_code, reason, details FROM missing_basis_tasks
             WHERE resolved_at_us IS NULL ORDER BY period, contract_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| MissingBasisTask {
                contract_id: r.get(0),
                period: r.get(1),
                metering_point: r.get(2),
                reason_code: r.get(3),
                reason: r.get(4),
                details: r.get(5),
            })
            .collect())
    }

    /// The settlement of one contract-period, if it is settled.
    pub async fn settlement(
        &self,
        contract_id: &str,
        period: &str,
    ) -> Result<Option<SettlementRecord>, StoreError> {
        let row = sqlx::query(sql_owned(self.backend, format!(
            "SELECT {SETTLEMENT_COLUMNS} FROM contract_settlements s WHERE s.contract_id = $1 AND s.period = $2"
        )))
        .bind(contract_id)
        .bind(period)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(settlement_from_row).transpose()
    }

    /// Start a billing run holding the billing lock, unless another run holds it. `abandoned`
    /// is the id of a run the caller found abandoned (its process is gone, or it stopped
    /// beating): the lock is taken from that run only if it still holds it.
    pub async fn start_run_locked(
        &self,
        kind: &str,
        period: &str,
        holder: &RunHolder,
        abandoned: Option<i64>,
        now: Timestamp,
    ) -> Result<RunStart, StoreError> {
        let mut tx = begin_exclusive(self, "nordlys.run_locks").await?;
        let row = sqlx::query(
            "SELECT l.run_id, r.kind, r.period, l.holder_pid, l.holder_host, r.started_at_us, l.heartbeat_at_us
             FROM run_locks l JOIN settlement_runs r ON r.id = l.run_id WHERE l.name = 'billing'",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let held = HeldRun {
                run_id: row.get(0),
                kind: row.get(1),
                period: row.get(2),
                holder: RunHolder {
                    pid: row
                        .get::<i64, _>(3)
                        .try_into()
                        .map_err(|_| bad("holder_pid", &row.get::<i64, _>(3).to_string()))?,
                    host: row.get(4),
                },
                started_at: timestamp(row.get(5))?,
                heartbeat_at: timestamp(row.get(6))?,
            };
            if abandoned != Some(held.run_id) {
                return Ok(RunStart::Held(held));
            }
        }
        let now_us = now.as_microsecond();
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO settlement_runs (kind, period, started_at_us, holder_pid, holder_host) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(kind)
        .bind(period)
        .bind(now_us)
        .bind(i64::from(holder.pid))
        .bind(&holder.host)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO run_locks (name, run_id, holder_pid, holder_host, acquired_at_us, heartbeat_at_us) VALUES ('billing', $1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, holder_pid = excluded.holder_pid, holder_host = excluded.holder_host,
                                              acquired_at_us = excluded.acquired_at_us, heartbeat_at_us = excluded.heartbeat_at_us",
        )
        .bind(run_id)
        .bind(i64::from(holder.pid))
        .bind(&holder.host)
        .bind(now_us)
        .bind(now_us)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunStart::Started(run_id))
    }

    /// The run is alive: refresh its lock so that no one takes it as abandoned.
    pub async fn heartbeat_run(&self, run_id: i64, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE run_locks SET heartbeat_at_us = $1 WHERE name = 'billing' AND run_id = $2",
        )
        .bind(now.as_microsecond())
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record the start of a settlement run; returns its id.
    pub async fn start_run(
        &self,
        kind: &str,
        period: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO settlement_runs (kind, period, started_at_us) VALUES ($1, $2, $3) RETURNING id")
            .bind(kind)
            .bind(period)
            .bind(now.as_microsecond())
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn finish_run(
        &self,
        run_id: i64,
        counts: RunCounts,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE settlement_runs SET finished_at_us = $1, invoices = $2, credit_notes = $3, not_ready = $4 WHERE id = $5")
            .bind(now.as_microsecond())
            .bind(counts.invoices as i64)
            .bind(counts.credit_notes as i64)
            .bind(counts.not_ready as i64)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        self.release_run(run_id).await
    }

    /// Give up the billing lock if `run_id` holds it (also after a failed run).
    pub async fn release_run(&self, run_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM run_locks WHERE name = 'billing' AND run_id = $1")
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Begin writing documents of run `run_id`, all-or-nothing.
    pub async fn begin_billing(
        &self,
        run_id: i64,
        now: Timestamp,
    ) -> Result<BillingTx, StoreError> {
        Ok(BillingTx {
            // Journaled, and IMMEDIATE (see journal.rs): the write lock first, so that what a
            // correction reads inside the transaction is what stands when it commits.
            tx: JournaledTx::begin(
                self,
                "billing",
                &format!("run {run_id}"),
                now.as_microsecond(),
            )
            .await?,
            run_id,
            now_us: now.as_microsecond(),
            provisional: 0,
            unnumbered: Vec::new(),
        })
    }
}

fn settlement_from_row(row: &DbRow) -> Result<SettlementRecord, StoreError> {
    let area: Option<String> = row.get(4);
    Ok(SettlementRecord {
        contract_id: row.get(0),
        period: row.get(1),
        account_id: row.get(2),
        metering_point: row.get(3),
        price_area: area
            .map(|a| PriceArea::parse(&a).map_err(StoreError::CorruptValue))
            .transpose()?,
        first_utc_day: row.get(5),
        last_utc_day: row.get(6),
        last_document: row.get(7),
        revision: row.get(8),
        product_code: row.get(9),
        product_version: row.get(10),
        statutory_version: row.get(11),
        read_seq: row.get(12),
    })
}

/// The select list of [`SettlementRecord`] over `contract_settlements s` (constant SQL only).
const SETTLEMENT_COLUMNS: &str = "s.contract_id, s.period, s.account_id, s.metering_point, s.price_area, s.first_utc_day, s.last_utc_day,
        s.last_document, s.revision, s.product_code, s.product_version, s.statutory_version, s.read_seq";

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| bad("timestamp", &us.to_string()))
}

/// Writes of one batch of a settlement run. Dropping it without [`BillingTx::commit`] writes nothing.
pub struct BillingTx {
    pub(crate) tx: JournaledTx,
    pub(crate) run_id: i64,
    pub(crate) now_us: i64,
    /// Provisional document numbers given in this transaction (see `issue_many`).
    pub(crate) provisional: i64,
    pub(crate) unnumbered: Vec<crate::documents::Unnumbered>,
}

impl BillingTx {
    /// Mark contract-periods as settled. Fails if any already is: a contract-period is billed
    /// once; later changes go through [`BillingTx::record_correction`].
    pub async fn record_settlements(
        &mut self,
        records: &[SettlementRecord],
    ) -> Result<(), StoreError> {
        for batch in records.chunks(500) {
            let mut query = SqlBuilder::new(
                "INSERT INTO contract_settlements (contract_id, period, account_id, metering_point, price_area, first_utc_day, last_utc_day, settled_at_us,
                                                   last_document, product_code, product_version, statutory_version, read_seq)",
            );
            query.values(batch.iter(), |b, r| {
                b.bind(r.contract_id.clone())
                    .bind(r.period.clone())
                    .bind(r.account_id.clone())
                    .bind(r.metering_point)
                    .bind(r.price_area.map(|a| a.code()))
                    .bind(r.first_utc_day)
                    .bind(r.last_utc_day)
                    .bind(self.now_us)
                    .bind(r.last_document)
                    .bind(r.product_code.clone())
                    .bind(r.product_version)
                    .bind(r.statutory_version.clone())
                    .bind(r.read_seq);
            });
            query.push(" ON CONFLICT (contract_id, period) DO NOTHING");
            let inserted = query
                .build(self.tx.backend())
                .execute(self.tx.conn())
                .await?;
            if inserted.rows_affected() != batch.len() as u64 {
                // Name the contract-period another run settled (its row names another document).
                let mut taken = &batch[0];
                for r in batch {
                    let document: Option<i64> = sqlx::query_scalar(
                        "SELECT last_document FROM contract_settlements WHERE contract_id = $1 AND period = $2",
                    )
                    .bind(&r.contract_id)
                    .bind(&r.period)
                    .fetch_optional(self.tx.conn())
                    .await?;
                    if document != Some(r.last_document) {
                        taken = r;
                        break;
                    }
                }
                return Err(StoreError::Rejected(ParseError::new(
                    "contract_id",
                    &taken.contract_id,
                    format!(
                        "a contract-period of this batch ({}) is already settled",
                        taken.period
                    ),
                )));
            }
        }
        let changes = records
            .iter()
            .map(|r| r.change(ChangeOp::Create, None))
            .collect();
        self.tx.record_many(changes).await?;
        Ok(())
    }

    /// Close the open missing-basis tasks of these contract-periods (their basis arrived).
    pub async fn resolve_missing_basis(
        &mut self,
        contract_periods: &[(String, String)],
    ) -> Result<(), StoreError> {
        for (contract_id, period) in contract_periods {
            let resolved = sqlx::query("UPDATE missing_basis_tasks SET resolved_at_us = $1 WHERE contract_id = $2 AND period = $3 AND resolved_at_us IS NULL")
                .bind(self.now_us)
                .bind(contract_id)
                .bind(period)
                .execute(self.tx.conn())
                .await?;
            if resolved.rows_affected() == 1 {
                self.tx
                    .record(task_change(
                        contract_id,
                        period,
                        ChangeOp::Update,
                        json!({"contract_id": contract_id, "period": period, "resolved": true}),
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    /// The contract-period is settled as of now: re-rated after its inputs changed, and either
    /// corrected by `document_id` or found unchanged (`None`). Compare-and-set: writes only if
    /// the settlement is still at the revision `record` was read at, and says whether it did
    /// (`false`: another run corrected it first; the caller must not issue its correction).
    pub async fn mark_settled_now(
        &mut self,
        record: &SettlementRecord,
        document_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE contract_settlements SET settled_at_us = $1, last_document = coalesce($2, last_document), revision = revision + 1,
                    product_code = coalesce($3, product_code), product_version = coalesce($4, product_version),
                    statutory_version = coalesce($5, statutory_version), read_seq = $6
             WHERE contract_id = $7 AND period = $8 AND revision = $9",
        )
        .bind(self.now_us)
        .bind(document_id)
        .bind(record.product_code.as_deref())
        .bind(record.product_version)
        .bind(record.statutory_version.as_deref())
        .bind(record.read_seq)
        .bind(&record.contract_id)
        .bind(&record.period)
        .bind(record.revision)
        .execute(self.tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let after = SettlementRecord {
            revision: record.revision + 1,
            last_document: document_id.unwrap_or(record.last_document),
            ..record.clone()
        };
        let before = json!({"revision": record.revision, "last_document_id": record.last_document});
        self.tx
            .record(after.change(ChangeOp::Update, Some(before)))
            .await?;
        Ok(true)
    }

    /// The revision a contract-period's settlement is at now, read inside this transaction.
    pub async fn settlement_revision(
        &mut self,
        contract_id: &str,
        period: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT revision FROM contract_settlements WHERE contract_id = $1 AND period = $2",
        )
        .bind(contract_id)
        .bind(period)
        .fetch_optional(self.tx.conn())
        .await?)
    }

    /// Record (or refresh) a missing-basis task for a contract-period that is not ready.
    pub async fn record_missing_basis(
        &mut self,
        contract_id: &str,
        period: &str,
        metering_point: Option<&str>,
        reason_code: &str,
        reason: &str,
        details: &str,
    ) -> Result<(), StoreError> {
        let existed: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM missing_basis_tasks WHERE contract_id = $1 AND period = $2",
        )
        .bind(contract_id)
        .bind(period)
        .fetch_optional(self.tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO missing_basis_tasks (contract_id, period, metering_point, reason, first_seen_at_us, last_seen_at_us, reason_code, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (contract_id, period) DO UPDATE SET reason = excluded.reason, reason_code = excluded.reason_code, details = excluded.details,
                                                             last_seen_at_us = excluded.last_seen_at_us, resolved_at_us = NULL",
        )
        .bind(contract_id)
        .bind(period)
        .bind(metering_point)
        .bind(reason)
        .bind(self.now_us)
        .bind(self.now_us)
        .bind(reason_code)
        .bind(details)
        .execute(self.tx.conn())
        .await?;
        let op = match existed {
            Some(_) => ChangeOp::Update,
            None => ChangeOp::Create,
        };
        let after = json!({"contract_id": contract_id, "period": period, "metering_point": metering_point,
            "reason_code": reason_code, "reason": reason, "details": serde_json::from_str::<serde_json::Value>(details).ok(), "resolved": false});
        self.tx
            .record(task_change(contract_id, period, op, after))
            .await?;
        Ok(())
    }

    /// Number the documents issued in this transaction (the short last step, see
    /// `issue_many`) and commit; returns the documents numbered, in the order issued.
    pub async fn commit(mut self) -> Result<Vec<IssuedDocument>, StoreError> {
        let numbered = self.number_documents().await?;
        self.tx.commit().await?;
        Ok(numbered)
    }
}

/// A missing-basis task's journal record.
fn task_change(contract_id: &str, period: &str, op: ChangeOp, after: serde_json::Value) -> Change {
    Change {
        domain: Domain::Task,
        key: format!("{contract_id}/{period}"),
        op,
        before: None,
        after: Some(after),
        scope: ChangeScope {
            contract_id: Some(contract_id.to_owned()),
            ..ChangeScope::default()
        },
    }
}

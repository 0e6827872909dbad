//! Settlement runs and the billing lock (one run at a time, naming its holder), the settled
//! contract-periods (the exactly-once guard, compare-and-set on correction) and missing-basis
//! tasks.

use std::collections::HashSet;

use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::model::PriceArea;
use sqlx::sqlite::SqliteRow;
// Dynamic SQL here joins constant fragments of this file only, never input.
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, Transaction};

use crate::sql_values::bad;
use crate::{Store, StoreError};

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
            sqlx::query_scalar("SELECT contract_id FROM contract_settlements WHERE period = ?")
                .bind(period)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// Settled contract-periods whose readings or spot prices were recorded after their settlement.
    pub async fn changed_settlements(&self) -> Result<Vec<SettlementRecord>, StoreError> {
        // Price changes are computed once per (area, period range), not per settlement row.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "WITH ranges AS (
                 SELECT DISTINCT price_area, first_utc_day, last_utc_day FROM contract_settlements WHERE price_area IS NOT NULL
             ),
             price_changes AS (
                 SELECT r.price_area, r.first_utc_day, r.last_utc_day, max(p.recorded_at_us) AS latest_us
                 FROM ranges r JOIN spot_prices p
                   ON p.area = r.price_area AND p.start_us >= r.first_utc_day * 86400000000 AND p.start_us < (r.last_utc_day + 1) * 86400000000
                 GROUP BY r.price_area, r.first_utc_day, r.last_utc_day
             )
             SELECT {SETTLEMENT_COLUMNS}
             FROM contract_settlements s
             LEFT JOIN price_changes c
               ON c.price_area = s.price_area AND c.first_utc_day = s.first_utc_day AND c.last_utc_day = s.last_utc_day
             WHERE c.latest_us > s.settled_at_us
                OR EXISTS (SELECT 1 FROM meter_value_chunks m WHERE m.metering_point = s.metering_point
                             AND m.utc_day BETWEEN s.first_utc_day AND s.last_utc_day AND m.recorded_at_us > s.settled_at_us)
             ORDER BY s.account_id, s.period, s.contract_id"
        )))
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
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SETTLEMENT_COLUMNS} FROM contract_settlements s WHERE s.contract_id = ? AND s.period = ?"
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
            "INSERT INTO settlement_runs (kind, period, started_at_us, holder_pid, holder_host) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(kind)
        .bind(period)
        .bind(now_us)
        .bind(i64::from(holder.pid))
        .bind(&holder.host)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO run_locks (name, run_id, holder_pid, holder_host, acquired_at_us, heartbeat_at_us) VALUES ('billing', ?, ?, ?, ?, ?)
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
            "UPDATE run_locks SET heartbeat_at_us = ? WHERE name = 'billing' AND run_id = ?",
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
        Ok(sqlx::query_scalar("INSERT INTO settlement_runs (kind, period, started_at_us) VALUES (?, ?, ?) RETURNING id")
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
        sqlx::query("UPDATE settlement_runs SET finished_at_us = ?, invoices = ?, credit_notes = ?, not_ready = ? WHERE id = ?")
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
        sqlx::query("DELETE FROM run_locks WHERE name = 'billing' AND run_id = ?")
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
            // IMMEDIATE: take the write lock first, so that a batch never reads a snapshot it
            // then cannot write from (SQLite would refuse the upgrade).
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            run_id,
            now_us: now.as_microsecond(),
        })
    }
}

fn settlement_from_row(row: &SqliteRow) -> Result<SettlementRecord, StoreError> {
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
    })
}

/// The select list of [`SettlementRecord`] over `contract_settlements s` (constant SQL only).
const SETTLEMENT_COLUMNS: &str = "s.contract_id, s.period, s.account_id, s.metering_point, s.price_area, s.first_utc_day, s.last_utc_day,
        s.last_document, s.revision, s.product_code, s.product_version, s.statutory_version";

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| bad("timestamp", &us.to_string()))
}

/// Writes of one batch of a settlement run. Dropping it without [`BillingTx::commit`] writes nothing.
pub struct BillingTx {
    pub(crate) tx: Transaction<'static, Sqlite>,
    pub(crate) run_id: i64,
    pub(crate) now_us: i64,
}

impl BillingTx {
    /// Mark contract-periods as settled. Fails if any already is: a contract-period is billed
    /// once; later changes go through [`BillingTx::record_correction`].
    pub async fn record_settlements(
        &mut self,
        records: &[SettlementRecord],
    ) -> Result<(), StoreError> {
        for batch in records.chunks(500) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO contract_settlements (contract_id, period, account_id, metering_point, price_area, first_utc_day, last_utc_day, settled_at_us,
                                                   last_document, product_code, product_version, statutory_version) ",
            );
            query.push_values(batch.iter(), |mut b, r| {
                b.push_bind(r.contract_id.clone())
                    .push_bind(r.period.clone())
                    .push_bind(r.account_id.clone())
                    .push_bind(r.metering_point)
                    .push_bind(r.price_area.map(|a| a.code()))
                    .push_bind(r.first_utc_day)
                    .push_bind(r.last_utc_day)
                    .push_bind(self.now_us)
                    .push_bind(r.last_document)
                    .push_bind(r.product_code.clone())
                    .push_bind(r.product_version)
                    .push_bind(r.statutory_version.clone());
            });
            query.push(" ON CONFLICT (contract_id, period) DO NOTHING");
            let inserted = query.build().execute(&mut *self.tx).await?;
            if inserted.rows_affected() != batch.len() as u64 {
                return Err(StoreError::Rejected(ParseError::new(
                    "contract_id",
                    &batch[0].contract_id,
                    format!(
                        "a contract-period of this batch ({}) is already settled",
                        batch[0].period
                    ),
                )));
            }
        }
        Ok(())
    }

    /// Close the open missing-basis tasks of these contract-periods (their basis arrived).
    pub async fn resolve_missing_basis(
        &mut self,
        contract_periods: &[(String, String)],
    ) -> Result<(), StoreError> {
        for (contract_id, period) in contract_periods {
            sqlx::query("UPDATE missing_basis_tasks SET resolved_at_us = ? WHERE contract_id = ? AND period = ? AND resolved_at_us IS NULL")
                .bind(self.now_us)
                .bind(contract_id)
                .bind(period)
                .execute(&mut *self.tx)
                .await?;
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
            "UPDATE contract_settlements SET settled_at_us = ?, last_document = coalesce(?, last_document), revision = revision + 1,
                    product_code = coalesce(?, product_code), product_version = coalesce(?, product_version),
                    statutory_version = coalesce(?, statutory_version)
             WHERE contract_id = ? AND period = ? AND revision = ?",
        )
        .bind(self.now_us)
        .bind(document_id)
        .bind(record.product_code.as_deref())
        .bind(record.product_version)
        .bind(record.statutory_version.as_deref())
        .bind(&record.contract_id)
        .bind(&record.period)
        .bind(record.revision)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// The revision a contract-period's settlement is at now, read inside this transaction.
    pub async fn settlement_revision(
        &mut self,
        contract_id: &str,
        period: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT revision FROM contract_settlements WHERE contract_id = ? AND period = ?",
        )
        .bind(contract_id)
        .bind(period)
        .fetch_optional(&mut *self.tx)
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
        sqlx::query(
            "INSERT INTO missing_basis_tasks (contract_id, period, metering_point, reason, first_seen_at_us, last_seen_at_us, reason_code, details)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

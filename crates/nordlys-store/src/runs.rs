//! Runs in batches: a settlement run's accounts split into batches that any number of worker
//! processes claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's one writer elsewhere) with
//! a time-limited lease they renew. A batch is marked done in the transaction that issues its
//! invoices, only while its claim still stands, so a batch is billed exactly once however many
//! workers die, and a killed worker's batch is claimed again when its lease runs out.
//!
//! Run and batch bookkeeping is operational state, not business data: it is not journaled.

use jiff::Timestamp;
use rust_decimal::Decimal;
use sqlx::Row;

use crate::db::{DbRow, SqlBuilder, sql, sql_owned};
use crate::journal::begin_write;
use crate::settlements::BillingTx;
use crate::sql_values::{bad, decimal};
use crate::{Store, StoreError};

/// A batch as a worker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchClaim {
    pub run_id: i64,
    pub batch_no: i64,
    /// The claim's number: a commit under an older claim (a lease that ran out) is refused.
    pub claim: i64,
    pub kind: String,
    pub period: String,
    pub accounts: Vec<String>,
    /// The run's billing policy as recorded when it was planned (JSON, the app's schema).
    pub policy: Option<String>,
    pub statutory_version: Option<String>,
}

/// A run, as `nordlys runs list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub mode: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub invoices: i64,
    pub credit_notes: i64,
    pub not_ready: i64,
    pub batches_pending: i64,
    pub batches_claimed: i64,
    pub batches_done: i64,
    pub batches_failed: i64,
}

/// One batch, as `nordlys runs show` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatus {
    pub batch_no: i64,
    pub status: String,
    pub accounts: i64,
    pub claims: i64,
    pub worker: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub claimed_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub invoices: i64,
    pub not_ready: i64,
    pub elapsed_ms: i64,
    pub error: Option<String>,
}

/// What a batched run issued, summed from its documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunDocuments {
    pub invoices: i64,
    pub credit_notes: i64,
    /// Per (series, currency): count, first and last number, and net, VAT and gross as text.
    pub by_series: Vec<SeriesTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesTotals {
    pub series: String,
    pub currency: String,
    pub documents: i64,
    pub first_number: i64,
    pub last_number: i64,
    pub net: String,
    pub vat: String,
    pub gross: String,
}

fn instant(us: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    us.map(|us| Timestamp::from_microsecond(us).map_err(|_| bad("timestamp", &us.to_string())))
        .transpose()
}

impl Store {
    /// Record `batches` (each a list of account ids) for run `run_id`, made batched with the
    /// policy and statutory tables its workers are to apply.
    pub async fn plan_batches(
        &self,
        run_id: i64,
        policy_json: &str,
        statutory_version: &str,
        batches: &[Vec<String>],
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(self).await?;
        sqlx::query(
            "UPDATE settlement_runs SET mode = 'batched', policy = $1, statutory_version = $2 WHERE id = $3",
        )
        .bind(policy_json)
        .bind(statutory_version)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        for (chunk_no, chunk) in batches.chunks(200).enumerate() {
            let mut insert = SqlBuilder::new(
                "INSERT INTO run_batches (run_id, batch_no, accounts, account_count, status)",
            );
            insert.values(chunk.iter().enumerate(), |row, (i, accounts)| {
                row.bind(run_id)
                    .bind((chunk_no * 200 + i) as i64 + 1)
                    .bind(serde_json::Value::from(accounts.clone()).to_string())
                    .bind(accounts.len() as i64)
                    .bind("pending");
            });
            insert.build(self.backend).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claim the next batch to work on — pending, or claimed under a lease that ran out — of
    /// run `run_id` (or of any unfinished run), for `lease_us` from `now`.
    pub async fn claim_batch(
        &self,
        run_id: Option<i64>,
        worker: &str,
        lease_us: i64,
        now: Timestamp,
    ) -> Result<Option<BatchClaim>, StoreError> {
        let now_us = now.as_microsecond();
        let mut tx = begin_write(self).await?;
        // Two statements rather than `($2 IS NULL OR run_id = $2)`.
        let of_run = match run_id {
            Some(_) => "run_id = $2",
            None => "run_id IN (SELECT id FROM settlement_runs WHERE finished_at_us IS NULL)",
        };
        let mut candidate = sqlx::query(sql_owned(
            self.backend,
            format!(
                "SELECT run_id, batch_no FROM run_batches
                 WHERE {of_run} AND (status = 'pending' OR (status = 'claimed' AND lease_until_us < $1))
                 ORDER BY run_id, batch_no LIMIT 1 FOR UPDATE SKIP LOCKED"
            ),
        ))
        .bind(now_us);
        if let Some(run_id) = run_id {
            candidate = candidate.bind(run_id);
        }
        let candidate = candidate.fetch_optional(&mut *tx).await?;
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        let (run_id, batch_no): (i64, i64) = (candidate.get(0), candidate.get(1));
        let row = sqlx::query(
            "UPDATE run_batches SET status = 'claimed', claim = claim + 1, worker = $1, lease_until_us = $2, claimed_at_us = $3
             WHERE run_id = $4 AND batch_no = $5
             RETURNING claim, accounts, (SELECT kind FROM settlement_runs WHERE id = $4), (SELECT period FROM settlement_runs WHERE id = $4),
                       (SELECT policy FROM settlement_runs WHERE id = $4), (SELECT statutory_version FROM settlement_runs WHERE id = $4)",
        )
        .bind(worker)
        .bind(now_us + lease_us)
        .bind(now_us)
        .bind(run_id)
        .bind(batch_no)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let accounts_json: String = row.get(1);
        let accounts: Vec<String> = serde_json::from_str(&accounts_json)
            .map_err(|_| bad("run_batches.accounts", &accounts_json))?;
        Ok(Some(BatchClaim {
            run_id,
            batch_no,
            claim: row.get(0),
            kind: row.get(2),
            period: row.get(3),
            accounts,
            policy: row.get(4),
            statutory_version: row.get(5),
        }))
    }

    /// Batches claimed now (by whom, under which claim), of unfinished runs.
    pub async fn claimed_batches(&self) -> Result<Vec<(i64, i64, i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.run_id, b.batch_no, b.claim, b.worker FROM run_batches b JOIN settlement_runs r ON r.id = b.run_id
             WHERE b.status = 'claimed' AND r.finished_at_us IS NULL AND b.worker IS NOT NULL ORDER BY b.run_id, b.batch_no",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    /// Put a batch claimed under `claim` back to pending (its worker is known to be gone), if
    /// that claim still stands.
    pub async fn release_claim(
        &self,
        run_id: i64,
        batch_no: i64,
        claim: i64,
    ) -> Result<bool, StoreError> {
        let released = sqlx::query(
            "UPDATE run_batches SET status = 'pending', lease_until_us = NULL
             WHERE run_id = $1 AND batch_no = $2 AND claim = $3 AND status = 'claimed'",
        )
        .bind(run_id)
        .bind(batch_no)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(released.rows_affected() == 1)
    }

    /// Extend the lease of `claim` to `now + lease_us`; false if the claim no longer stands.
    pub async fn renew_lease(
        &self,
        claim: &BatchClaim,
        lease_us: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE run_batches SET lease_until_us = $1 WHERE run_id = $2 AND batch_no = $3 AND claim = $4 AND status = 'claimed'",
        )
        .bind(now.as_microsecond() + lease_us)
        .bind(claim.run_id)
        .bind(claim.batch_no)
        .bind(claim.claim)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Mark `claim`'s batch failed with `error` (a batch that cannot be billed as it stands;
    /// `nordlys runs show` names it), if the claim still stands.
    pub async fn fail_batch(
        &self,
        claim: &BatchClaim,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE run_batches SET status = 'failed', error = $1, finished_at_us = $2, lease_until_us = NULL
             WHERE run_id = $3 AND batch_no = $4 AND claim = $5 AND status = 'claimed'",
        )
        .bind(error)
        .bind(now.as_microsecond())
        .bind(claim.run_id)
        .bind(claim.batch_no)
        .bind(claim.claim)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Finish run `run_id` if none of its batches is pending or claimed: its counts summed
    /// from the batches, and the billing lock given up. Idempotent; true once finished.
    pub async fn finish_run_if_complete(
        &self,
        run_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = begin_write(self).await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM run_batches WHERE run_id = $1 AND status IN ('pending', 'claimed')",
        )
        .bind(run_id)
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Ok(false);
        }
        sqlx::query(sql(
            self.backend,
            "UPDATE settlement_runs SET finished_at_us = $1,
                    invoices = (SELECT coalesce(sum(invoices), 0)::bigint FROM run_batches WHERE run_id = $2),
                    not_ready = (SELECT coalesce(sum(not_ready), 0)::bigint FROM run_batches WHERE run_id = $2)
             WHERE id = $2 AND finished_at_us IS NULL",
        ))
        .bind(now.as_microsecond())
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM run_locks WHERE name = 'billing' AND run_id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// How many contract-periods run `run_id` settled (their settlement names its document).
    pub async fn run_contracts_settled(&self, run_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM contract_settlements s JOIN documents d ON d.id = s.last_document WHERE d.run_id = $1",
        )
        .bind(run_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The unfinished batched run of `kind` for `period`, if there is one (to resume it).
    pub async fn unfinished_batched_run(
        &self,
        kind: &str,
        period: &str,
    ) -> Result<Option<RunSummary>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!(
                "{RUN_SUMMARY} WHERE r.kind = $1 AND r.period = $2 AND r.mode = 'batched' AND r.finished_at_us IS NULL
                 ORDER BY r.id DESC LIMIT 1"
            ),
        ))
        .bind(kind)
        .bind(period)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The newest runs first, at most `limit`.
    pub async fn runs(&self, limit: i64) -> Result<Vec<RunSummary>, StoreError> {
        let rows = sqlx::query(sql_owned(
            self.backend,
            format!("{RUN_SUMMARY} ORDER BY r.id DESC LIMIT $1"),
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    pub async fn run(&self, run_id: i64) -> Result<Option<RunSummary>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!("{RUN_SUMMARY} WHERE r.id = $1"),
        ))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    pub async fn run_batches(&self, run_id: i64) -> Result<Vec<BatchStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT batch_no, status, account_count, claim, worker, lease_until_us, claimed_at_us, finished_at_us,
                    invoices, not_ready, elapsed_ms, error
             FROM run_batches WHERE run_id = $1 ORDER BY batch_no",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BatchStatus {
                    batch_no: r.get(0),
                    status: r.get(1),
                    accounts: r.get(2),
                    claims: r.get(3),
                    worker: r.get(4),
                    lease_until: instant(r.get(5))?,
                    claimed_at: instant(r.get(6))?,
                    finished_at: instant(r.get(7))?,
                    invoices: r.get(8),
                    not_ready: r.get(9),
                    elapsed_ms: r.get(10),
                    error: r.get(11),
                })
            })
            .collect()
    }

    /// What run `run_id` issued, per series and currency (summed exactly, here).
    pub async fn run_documents(&self, run_id: i64) -> Result<RunDocuments, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT series, currency, kind, number, net::text, vat::text, gross::text
             FROM documents WHERE run_id = $1 ORDER BY series, currency, number",
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = RunDocuments::default();
        let mut sums: Vec<(SeriesTotals, [Decimal; 3])> = Vec::new();
        for r in &rows {
            let (series, currency, kind): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            let number: i64 = r.get(3);
            let amounts = [
                decimal(r, 4, "net")?,
                decimal(r, 5, "vat")?,
                decimal(r, 6, "gross")?,
            ];
            if kind == "invoice" {
                out.invoices += 1;
            } else {
                out.credit_notes += 1;
            }
            match sums.last_mut() {
                Some((t, sum)) if t.series == series && t.currency == currency => {
                    t.documents += 1;
                    t.last_number = number;
                    for (s, a) in sum.iter_mut().zip(amounts) {
                        *s += a;
                    }
                }
                _ => sums.push((
                    SeriesTotals {
                        series,
                        currency,
                        documents: 1,
                        first_number: number,
                        last_number: number,
                        net: String::new(),
                        vat: String::new(),
                        gross: String::new(),
                    },
                    amounts,
                )),
            }
        }
        out.by_series = sums
            .into_iter()
            .map(|(mut t, [net, vat, gross])| {
                (t.net, t.vat, t.gross) = (net.to_string(), vat.to_string(), gross.to_string());
                t
            })
            .collect();
        Ok(out)
    }
}

const RUN_SUMMARY: &str = "SELECT r.id, r.kind, r.period, r.mode, r.started_at_us, r.finished_at_us, r.invoices, r.credit_notes, r.not_ready,
        (SELECT count(*) FROM run_batches b WHERE b.run_id = r.id AND b.status = 'pending'),
        (SELECT count(*) FROM run_batches b WHERE b.run_id = r.id AND b.status = 'claimed'),
        (SELECT count(*) FROM run_batches b WHERE b.run_id = r.id AND b.status = 'done'),
        (SELECT count(*) FROM run_batches b WHERE b.run_id = r.id AND b.status = 'failed')
 FROM settlement_runs r";

fn run_from_row(r: &DbRow) -> Result<RunSummary, StoreError> {
    Ok(RunSummary {
        id: r.get(0),
        kind: r.get(1),
        period: r.get(2),
        mode: r.get(3),
        started_at: instant(Some(r.get(4)))?.unwrap_or_default(),
        finished_at: instant(r.get(5))?,
        invoices: r.get(6),
        credit_notes: r.get(7),
        not_ready: r.get(8),
        batches_pending: r.get(9),
        batches_claimed: r.get(10),
        batches_done: r.get(11),
        batches_failed: r.get(12),
    })
}

/// Mark `claim`'s batch done on `conn`, only while the claim stands.
async fn mark_batch_done(
    conn: &mut crate::db::DbConn,
    claim: &BatchClaim,
    counts: BatchCounts,
    now_us: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE run_batches SET status = 'done', finished_at_us = $1, invoices = $2, not_ready = $3, elapsed_ms = $4, lease_until_us = NULL
         WHERE run_id = $5 AND batch_no = $6 AND claim = $7 AND status = 'claimed'",
    )
    .bind(now_us)
    .bind(counts.documents)
    .bind(counts.not_ready)
    .bind(counts.elapsed_ms)
    .bind(claim.run_id)
    .bind(claim.batch_no)
    .bind(claim.claim)
    .execute(conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::ClaimLost {
            run_id: claim.run_id,
            batch_no: claim.batch_no,
        });
    }
    Ok(())
}

/// What a batch did, recorded when it is done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Documents issued (invoices; for corrections also credit notes).
    pub documents: i64,
    pub not_ready: i64,
    pub elapsed_ms: i64,
}

impl Store {
    /// Mark `claim`'s batch done in a transaction of its own: for work that is idempotent by
    /// itself (a correction batch, whose groups each committed on their own).
    pub async fn complete_batch(
        &self,
        claim: &BatchClaim,
        counts: BatchCounts,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(self).await?;
        mark_batch_done(&mut tx, claim, counts, now.as_microsecond()).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl BillingTx {
    /// Mark `claim`'s batch done with its counts, in this transaction (with its invoices):
    /// refused if the claim no longer stands (its lease ran out and another worker claimed
    /// it), so that the transaction rolls back and nothing is billed twice.
    pub async fn complete_batch(
        &mut self,
        claim: &BatchClaim,
        counts: BatchCounts,
    ) -> Result<(), StoreError> {
        mark_batch_done(self.tx.conn(), claim, counts, self.now_us).await
    }
}

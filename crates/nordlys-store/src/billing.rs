//! Products, settlement runs and issued documents. Documents and their lines are inserted once
//! and never updated; numbers come from gapless series allocated in the same transaction as the
//! document, so a crash leaves neither a half-written invoice nor a gap.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::{Timestamp, tz::TimeZone};
use nordlys_core::ParseError;
use nordlys_core::document::{
    DocumentKind, DocumentLine, IssuedDocument, NewDocument, VatBreakdown,
};
use nordlys_core::kid::{Kid, KidAlgorithm, kid_for_document_number};
use nordlys_core::model::{ContractRole, Market, PriceArea, UsageKind};
use nordlys_core::quantity::Currency;
use nordlys_core::time::Resolution;
use rust_decimal::Decimal;
use sqlx::sqlite::SqliteRow;
// Dynamic SQL here joins constant fragments of this file only, never input.
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, Transaction};

use crate::chunk::DayChunk;
use crate::{Store, StoreError};

/// A product as imported: its format and text, parsed by the rating crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProduct {
    pub code: String,
    pub version: i64,
    pub format: String,
    pub source: String,
    pub body: String,
}

/// A contract with what settlement needs of its metering point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillableContract {
    pub contract_id: String,
    pub account_id: String,
    pub product_code: String,
    pub role: ContractRole,
    pub start: Date,
    pub end: Option<Date>,
    pub point: Option<BillablePoint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillablePoint {
    pub id: i64,
    pub gsrn: String,
    pub market: Market,
    pub price_area: PriceArea,
    pub resolution: Resolution,
    pub usage: UsageKind,
    pub municipality: String,
    pub main_fuse_amperes: Option<u32>,
    pub norgespris_from: Option<jiff::civil::Date>,
}

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
}

/// Counts of a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub invoices: u64,
    pub credit_notes: u64,
    pub not_ready: u64,
}

/// A one-line view of an issued document, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    pub id: i64,
    pub kind: DocumentKind,
    pub series: String,
    pub number: i64,
    pub kid: String,
    pub account_id: String,
    pub period: String,
    pub issue_date: Date,
    pub due_date: Date,
    pub currency: Currency,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    pub references: Option<i64>,
    pub lines: i64,
}

fn bad(field: &'static str, value: &str) -> StoreError {
    StoreError::CorruptValue(ParseError::new(field, value, "stored value is unreadable"))
}

fn decimal(row: &SqliteRow, i: usize, field: &'static str) -> Result<Decimal, StoreError> {
    let text: String = row.get(i);
    text.parse().map_err(|_| bad(field, &text))
}

fn date(row: &SqliteRow, i: usize, field: &'static str) -> Result<Date, StoreError> {
    let text: String = row.get(i);
    text.parse().map_err(|_| bad(field, &text))
}

impl Store {
    /// The latest version of every product.
    pub async fn products(&self) -> Result<Vec<StoredProduct>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, version, format, source, body FROM products p
             WHERE version = (SELECT max(version) FROM products q WHERE q.code = p.code) ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| StoredProduct {
                code: row.get(0),
                version: row.get(1),
                format: row.get(2),
                source: row.get(3),
                body: row.get(4),
            })
            .collect())
    }

    /// Contracts overlapping `[start, end)` (local dates), with their metering points, by account.
    pub async fn billable_contracts(
        &self,
        start: Date,
        end: Date,
        account: Option<&str>,
    ) -> Result<Vec<BillableContract>, StoreError> {
        const SELECT: &str =
            "SELECT c.contract_id, c.account_id, c.product_code, c.role, c.start_date, c.end_date,
                    m.id, m.gsrn, m.market, m.price_area, m.resolution, m.usage, m.municipality,
                    m.main_fuse_amperes, m.norgespris_from
             FROM contracts c LEFT JOIN metering_points m ON m.id = c.metering_point
             WHERE c.start_date < ? AND (c.end_date IS NULL OR c.end_date > ?)";
        // Two statements rather than `(? IS NULL OR …)`, which would keep SQLite off the account index.
        let query = match account {
            Some(_) => {
                format!("{SELECT} AND c.account_id = ? ORDER BY c.account_id, c.contract_id")
            }
            None => format!("{SELECT} ORDER BY c.account_id, c.contract_id"),
        };
        let mut query = sqlx::query(AssertSqlSafe(query))
            .bind(end.to_string())
            .bind(start.to_string());
        if let Some(account) = account {
            query = query.bind(account);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(billable_from_row).collect()
    }

    /// Contract ids already settled for `period`.
    pub async fn settled_contracts(&self, period: &str) -> Result<HashSet<String>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT contract_id FROM contract_settlements WHERE period = ?")
                .bind(period)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// Latest day chunks of each point in `point_ids` for UTC days `[first_day, last_day]`.
    pub async fn day_chunks(
        &self,
        point_ids: &[i64],
        first_day: i64,
        last_day: i64,
    ) -> Result<HashMap<i64, Vec<(i64, DayChunk)>>, StoreError> {
        let mut out: HashMap<i64, Vec<(i64, DayChunk)>> = HashMap::with_capacity(point_ids.len());
        for ids in point_ids.chunks(500) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT metering_point, utc_day, data FROM meter_value_chunks WHERE utc_day BETWEEN ",
            );
            query
                .push_bind(first_day)
                .push(" AND ")
                .push_bind(last_day)
                .push(" AND metering_point IN (");
            let mut separated = query.separated(", ");
            for id in ids {
                separated.push_bind(*id);
            }
            query.push(") ORDER BY metering_point, utc_day, version");
            let rows = query.build().fetch_all(&self.pool).await?;
            for row in rows {
                let point: i64 = row.get(0);
                let day: i64 = row.get(1);
                let chunk = DayChunk::decode(row.get::<&[u8], _>(2))?;
                let days = out.entry(point).or_default();
                match days.last_mut() {
                    Some(last) if last.0 == day => last.1 = chunk,
                    _ => days.push((day, chunk)),
                }
            }
        }
        Ok(out)
    }

    /// Settled contract-periods whose readings or spot prices were recorded after their settlement.
    pub async fn changed_settlements(&self) -> Result<Vec<SettlementRecord>, StoreError> {
        // Price changes are computed once per (area, period range), not per settlement row.
        let rows = sqlx::query(
            "WITH ranges AS (
                 SELECT DISTINCT price_area, first_utc_day, last_utc_day FROM contract_settlements WHERE price_area IS NOT NULL
             ),
             price_changes AS (
                 SELECT r.price_area, r.first_utc_day, r.last_utc_day, max(p.recorded_at_us) AS latest_us
                 FROM ranges r JOIN spot_prices p
                   ON p.area = r.price_area AND p.start_us >= r.first_utc_day * 86400000000 AND p.start_us < (r.last_utc_day + 1) * 86400000000
                 GROUP BY r.price_area, r.first_utc_day, r.last_utc_day
             )
             SELECT s.contract_id, s.period, s.account_id, s.metering_point, s.price_area, s.first_utc_day, s.last_utc_day, s.last_document
             FROM contract_settlements s
             LEFT JOIN price_changes c
               ON c.price_area = s.price_area AND c.first_utc_day = s.first_utc_day AND c.last_utc_day = s.last_utc_day
             WHERE c.latest_us > s.settled_at_us
                OR EXISTS (SELECT 1 FROM meter_value_chunks m WHERE m.metering_point = s.metering_point
                             AND m.utc_day BETWEEN s.first_utc_day AND s.last_utc_day AND m.recorded_at_us > s.settled_at_us)
             ORDER BY s.account_id, s.period, s.contract_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// One document's summary, by id.
    pub async fn document(&self, id: i64) -> Result<Option<DocumentSummary>, StoreError> {
        Ok(self.documents_where("d.id = ?", id, 1).await?.pop())
    }

    /// Every line issued so far for a contract-period, over all its documents.
    pub async fn billed_lines(
        &self,
        contract_id: &str,
        period: &str,
    ) -> Result<Vec<DocumentLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT contract_id, kind, source, code, description, from_date, to_date, quantity, unit, unit_price, net, vat_category, vat_percent, explanation
             FROM document_lines WHERE contract_id = ? AND period = ? ORDER BY document_id, line_no",
        )
        .bind(contract_id)
        .bind(period)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(line_from_row).collect()
    }

    /// Documents, newest first, optionally of one account and/or period.
    pub async fn documents(
        &self,
        account: Option<&str>,
        period: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{DOCUMENT_SUMMARY} WHERE (? IS NULL OR d.account_id = ?) AND (? IS NULL OR d.period = ?) ORDER BY d.id DESC LIMIT ?"
        )))
        .bind(account)
        .bind(account)
        .bind(period)
        .bind(period)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn documents_where(
        &self,
        condition: &'static str,
        value: i64,
        limit: i64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{DOCUMENT_SUMMARY} WHERE {condition} ORDER BY d.id DESC LIMIT ?"
        )))
        .bind(value)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// The lines of one document.
    pub async fn document_lines(&self, document_id: i64) -> Result<Vec<DocumentLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT contract_id, kind, source, code, description, from_date, to_date, quantity, unit, unit_price, net, vat_category, vat_percent, explanation
             FROM document_lines WHERE document_id = ? ORDER BY line_no",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(line_from_row).collect()
    }

    /// Numbers issued in `series`, ascending (for gaplessness checks and audits).
    pub async fn document_numbers(&self, series: &str) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT number FROM documents WHERE series = ? ORDER BY number")
                .bind(series)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Open missing-basis tasks as (contract, period, metering point, reason).
    pub async fn missing_basis_tasks(
        &self,
    ) -> Result<Vec<(String, String, Option<String>, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT contract_id, period, metering_point, reason FROM missing_basis_tasks WHERE resolved_at_us IS NULL ORDER BY period, contract_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
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
        Ok(())
    }

    /// Begin writing documents of run `run_id`, all-or-nothing.
    pub async fn begin_billing(
        &self,
        run_id: i64,
        now: Timestamp,
    ) -> Result<BillingTx, StoreError> {
        Ok(BillingTx {
            tx: self.pool.begin().await?,
            run_id,
            now_us: now.as_microsecond(),
        })
    }
}

/// The select list of [`DocumentSummary`]; callers add the condition (constant SQL only).
const DOCUMENT_SUMMARY: &str = "SELECT d.id, d.kind, d.series, d.number, d.kid, d.account_id, d.period, d.issue_date, d.due_date, d.currency,
        d.net, d.vat, d.gross, d.references_document, (SELECT count(*) FROM document_lines l WHERE l.document_id = d.id)
 FROM documents d";

fn summary_from_row(row: &SqliteRow) -> Result<DocumentSummary, StoreError> {
    Ok(DocumentSummary {
        id: row.get(0),
        kind: DocumentKind::parse(row.get(1)).map_err(StoreError::CorruptValue)?,
        series: row.get(2),
        number: row.get(3),
        kid: row.get(4),
        account_id: row.get(5),
        period: row.get(6),
        issue_date: date(row, 7, "issue_date")?,
        due_date: date(row, 8, "due_date")?,
        currency: Currency::parse(row.get(9)).map_err(StoreError::CorruptValue)?,
        net: decimal(row, 10, "net")?,
        vat: decimal(row, 11, "vat")?,
        gross: decimal(row, 12, "gross")?,
        references: row.get(13),
        lines: row.get(14),
    })
}

fn billable_from_row(row: &SqliteRow) -> Result<BillableContract, StoreError> {
    let end: Option<String> = row.get(5);
    let point_id: Option<i64> = row.get(6);
    let point = match point_id {
        None => None,
        Some(id) => Some(BillablePoint {
            id,
            gsrn: row.get(7),
            market: Market::parse(row.get(8)).map_err(StoreError::CorruptValue)?,
            price_area: PriceArea::parse(row.get(9)).map_err(StoreError::CorruptValue)?,
            resolution: Resolution::parse(row.get(10)).map_err(StoreError::CorruptValue)?,
            usage: UsageKind::parse(row.get(11)).map_err(StoreError::CorruptValue)?,
            municipality: row.get(12),
            main_fuse_amperes: crate::master::fuse_from_row(row, 13)?,
            norgespris_from: crate::master::optional_date_from_row(row, 14)?,
        }),
    };
    Ok(BillableContract {
        contract_id: row.get(0),
        account_id: row.get(1),
        product_code: row.get(2),
        role: ContractRole::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
        start: date(row, 4, "start_date")?,
        end: end
            .map(|e| e.parse().map_err(|_| bad("end_date", &e)))
            .transpose()?,
        point,
    })
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
    })
}

fn line_from_row(row: &SqliteRow) -> Result<DocumentLine, StoreError> {
    let explanation: String = row.get(13);
    Ok(DocumentLine {
        contract_id: row.get(0),
        kind: row.get(1),
        source: row.get(2),
        code: row.get(3),
        description: row.get(4),
        from: date(row, 5, "from_date")?,
        to: date(row, 6, "to_date")?,
        quantity: decimal(row, 7, "quantity")?,
        unit: row.get(8),
        unit_price: decimal(row, 9, "unit_price")?,
        net: decimal(row, 10, "net")?,
        vat_category: row.get(11),
        vat_percent: decimal(row, 12, "vat_percent")?,
        explanation: if explanation.is_empty() {
            Vec::new()
        } else {
            explanation.split('\n').map(str::to_owned).collect()
        },
    })
}

/// Writes of one batch of a settlement run. Dropping it without [`BillingTx::commit`] writes nothing.
pub struct BillingTx {
    tx: Transaction<'static, Sqlite>,
    run_id: i64,
    now_us: i64,
}

impl BillingTx {
    /// Issue `document` with the next number of `series` and its KID.
    pub async fn issue(
        &mut self,
        document: NewDocument,
        series: &str,
        kid_algorithm: KidAlgorithm,
    ) -> Result<IssuedDocument, StoreError> {
        let mut issued = self
            .issue_many(vec![document], series, kid_algorithm)
            .await?;
        issued
            .pop()
            .ok_or_else(|| StoreError::Unsupported("no document was issued".into()))
    }

    /// Issue `documents` in order with consecutive numbers of `series`: the block of numbers is
    /// taken from the series inside this transaction, so it is used whole or not at all.
    pub async fn issue_many(
        &mut self,
        documents: Vec<NewDocument>,
        series: &str,
        kid_algorithm: KidAlgorithm,
    ) -> Result<Vec<IssuedDocument>, StoreError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let count = documents.len() as i64;
        sqlx::query("INSERT INTO number_series (series, next_number) VALUES (?, 1) ON CONFLICT (series) DO NOTHING")
            .bind(series)
            .execute(&mut *self.tx)
            .await?;
        let first_number: i64 = sqlx::query_scalar("UPDATE number_series SET next_number = next_number + ? WHERE series = ? RETURNING next_number - ?")
            .bind(count)
            .bind(series)
            .bind(count)
            .fetch_one(&mut *self.tx)
            .await?;
        let mut issued = Vec::with_capacity(documents.len());
        for (i, document) in documents.into_iter().enumerate() {
            let number = first_number + i as i64;
            let kid: Kid =
                kid_for_document_number(number, kid_algorithm).map_err(StoreError::Rejected)?;
            issued.push(IssuedDocument {
                id: 0,
                series: series.to_owned(),
                number,
                kid,
                document,
            });
        }
        const DOCUMENTS_PER_STATEMENT: usize = 500;
        for batch in issued.chunks_mut(DOCUMENTS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross,
                                        references_document, run_id, issued_at_us) ",
            );
            query.push_values(batch.iter(), |mut b, d| {
                let doc = &d.document;
                b.push_bind(doc.kind.code())
                    .push_bind(d.series.clone())
                    .push_bind(d.number)
                    .push_bind(d.kid.as_str().to_owned())
                    .push_bind(doc.account_id.clone())
                    .push_bind(doc.period.clone())
                    .push_bind(doc.issue_date.to_string())
                    .push_bind(doc.due_date.to_string())
                    .push_bind(doc.currency.code())
                    .push_bind(doc.net.to_string())
                    .push_bind(doc.vat_total.to_string())
                    .push_bind(doc.gross.to_string())
                    .push_bind(doc.references)
                    .push_bind(self.run_id)
                    .push_bind(self.now_us);
            });
            query.push(" RETURNING id, number");
            let rows = query.build().fetch_all(&mut *self.tx).await?;
            // RETURNING order is unspecified: match by the number, unique in the series.
            let ids: HashMap<i64, i64> = rows
                .iter()
                .map(|r| (r.get::<i64, _>(1), r.get::<i64, _>(0)))
                .collect();
            for d in batch.iter_mut() {
                d.id = *ids.get(&d.number).ok_or_else(|| {
                    StoreError::Unsupported(format!("document {} was not stored", d.number))
                })?;
            }
        }
        let lines: Vec<(i64, &str, usize, &DocumentLine)> = issued
            .iter()
            .flat_map(|d| {
                d.document
                    .lines
                    .iter()
                    .enumerate()
                    .map(move |(i, l)| (d.id, d.document.period.as_str(), i + 1, l))
            })
            .collect();
        for batch in lines.chunks(200) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO document_lines (document_id, line_no, contract_id, period, kind, source, code, description, from_date, to_date,
                                             quantity, unit, unit_price, net, vat_category, vat_percent, explanation) ",
            );
            query.push_values(batch.iter(), |mut b, (id, period, line_no, line)| {
                b.push_bind(*id)
                    .push_bind(*line_no as i64)
                    .push_bind(line.contract_id.clone())
                    .push_bind(period.to_string())
                    .push_bind(line.kind.clone())
                    .push_bind(line.source.clone())
                    .push_bind(line.code.clone())
                    .push_bind(line.description.clone())
                    .push_bind(line.from.to_string())
                    .push_bind(line.to.to_string())
                    .push_bind(line.quantity.normalize().to_string())
                    .push_bind(line.unit.clone())
                    .push_bind(line.unit_price.normalize().to_string())
                    .push_bind(line.net.to_string())
                    .push_bind(line.vat_category.clone())
                    .push_bind(line.vat_percent.normalize().to_string())
                    .push_bind(line.explanation.join("\n"));
            });
            query.build().execute(&mut *self.tx).await?;
        }
        let vat: Vec<(i64, &VatBreakdown)> = issued
            .iter()
            .flat_map(|d| d.document.vat.iter().map(move |v| (d.id, v)))
            .collect();
        for batch in vat.chunks(500) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO document_vat (document_id, category, percent, taxable, vat) ",
            );
            query.push_values(batch.iter(), |mut b, (id, v)| {
                b.push_bind(*id)
                    .push_bind(v.category.clone())
                    .push_bind(v.percent.normalize().to_string())
                    .push_bind(v.taxable.to_string())
                    .push_bind(v.vat.to_string());
            });
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(issued)
    }

    /// Mark contract-periods as settled. Fails if any already is: a contract-period is billed
    /// once; later changes go through [`BillingTx::record_correction`].
    pub async fn record_settlements(
        &mut self,
        records: &[SettlementRecord],
    ) -> Result<(), StoreError> {
        for batch in records.chunks(500) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO contract_settlements (contract_id, period, account_id, metering_point, price_area, first_utc_day, last_utc_day, settled_at_us, last_document) ",
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
                    .push_bind(r.last_document);
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
    /// corrected by `document_id` or found unchanged (`None`).
    pub async fn mark_settled_now(
        &mut self,
        contract_id: &str,
        period: &str,
        document_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE contract_settlements SET settled_at_us = ?, last_document = coalesce(?, last_document)
             WHERE contract_id = ? AND period = ?",
        )
        .bind(self.now_us)
        .bind(document_id)
        .bind(contract_id)
        .bind(period)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Record (or refresh) a missing-basis task for a contract-period that is not ready.
    pub async fn record_missing_basis(
        &mut self,
        contract_id: &str,
        period: &str,
        metering_point: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO missing_basis_tasks (contract_id, period, metering_point, reason, first_seen_at_us, last_seen_at_us)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (contract_id, period) DO UPDATE SET reason = excluded.reason, last_seen_at_us = excluded.last_seen_at_us, resolved_at_us = NULL",
        )
        .bind(contract_id)
        .bind(period)
        .bind(metering_point)
        .bind(reason)
        .bind(self.now_us)
        .bind(self.now_us)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Convenience for callers that need the UTC days a local period covers.
pub fn utc_days_of(start: Date, end: Date, tz: &TimeZone) -> (i64, i64) {
    let first = nordlys_core::time::start_of_local_day(start, tz);
    let last = nordlys_core::time::start_of_local_day(end, tz);
    (
        nordlys_core::time::utc_day_number(first),
        nordlys_core::time::utc_day_number(last - jiff::SignedDuration::from_nanos(1)),
    )
}

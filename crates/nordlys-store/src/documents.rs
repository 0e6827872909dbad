//! Issued documents: numbers from gapless series allocated in the writing transaction, KIDs,
//! lines and VAT breakdown; inserted once and never updated. Reads for lists and corrections.

use std::collections::HashMap;

use crate::db::DbRow;
use jiff::civil::Date;
use nordlys_core::document::{
    BilledLine, DocumentKind, DocumentLine, IssuedDocument, LineKind, LineUnit, NewDocument,
    VatBreakdown, VatCategory, display_number,
};
use nordlys_core::kid::{KidAlgorithm, kid_for_document_number};
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;
// Dynamic SQL here joins constant fragments of this file only, never input.
use sqlx::Row;

use crate::db::{SqlBuilder, sql, sql_owned};
use crate::explanations;

use serde_json::json;

use crate::{BillingTx, Change, ChangeOp, ChangeScope, Domain, Store, StoreError};

/// Documents issued in a billing transaction and not yet numbered (see
/// [`BillingTx::issue_many`]).
#[derive(Debug)]
pub(crate) struct Unnumbered {
    series: String,
    kid: Option<KidAlgorithm>,
    documents: Vec<IssuedDocument>,
    /// Per document, the display numbers of the documents it corrects.
    corrects: Vec<Vec<String>>,
}

use crate::sql_values::{bad, date, decimal, optional_date};

/// A one-line view of an issued document, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    pub id: i64,
    pub kind: DocumentKind,
    pub series: String,
    pub number: i64,
    pub kid: Option<String>,
    pub account_id: String,
    pub period: String,
    pub issue_date: Date,
    pub due_date: Option<Date>,
    pub currency: Currency,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    /// The numbers (`F-12`) of the documents this one corrects, in order; empty for a first invoice.
    pub references: Vec<String>,
    pub lines: i64,
    /// When the document was written (its inputs are the ones recorded before).
    pub issued_at: jiff::Timestamp,
}

impl DocumentSummary {
    /// The number as printed and referenced: `F-12`.
    pub fn display_number(&self) -> String {
        nordlys_core::document::display_number(&self.series, self.number)
    }
}

impl Store {
    /// One document's summary, by id.
    pub async fn document(&self, id: i64) -> Result<Option<DocumentSummary>, StoreError> {
        let rows = sqlx::query(sql_owned(
            self.backend,
            format!("{DOCUMENT_SUMMARY} WHERE d.id = $1"),
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).next().transpose()
    }

    /// Every line issued so far for a contract-period, over all its documents, oldest first.
    pub async fn billed_lines(
        &self,
        contract_id: &str,
        period: &str,
    ) -> Result<Vec<BilledLine>, StoreError> {
        let rows = sqlx::query(sql(self.backend, BILLED_LINES))
            .bind(contract_id)
            .bind(period)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(billed_line_from_row).collect()
    }

    /// Documents, newest first, optionally of one account and/or period.
    pub async fn documents(
        &self,
        account: Option<&str>,
        period: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let mut query = SqlBuilder::new(DOCUMENT_SUMMARY);
        query.push(" WHERE 1 = 1");
        if let Some(account) = account {
            query.push(" AND d.account_id = ").bind(account);
        }
        if let Some(period) = period {
            query.push(" AND d.period = ").bind(period);
        }
        query.push(" ORDER BY d.id DESC LIMIT ").bind(limit);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// The lines of one document.
    pub async fn document_lines(&self, document_id: i64) -> Result<Vec<DocumentLine>, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT contract_id, kind, source, code, description, from_date, to_date, quantity::text, unit, unit_price::text, net::text, vat_category,
                    vat_percent::text, explanation, explanation_json
             FROM document_lines WHERE document_id = $1 ORDER BY line_no",
        ))
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(line_from_row).collect()
    }

    /// Numbers issued in `series`, ascending (for gaplessness checks and audits).
    pub async fn document_numbers(&self, series: &str) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT number FROM documents WHERE series = $1 ORDER BY number")
                .bind(series)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

const BILLED_LINES: &str = "SELECT l.contract_id, l.kind, l.source, l.code, l.description, l.from_date, l.to_date, l.quantity::text, l.unit,
            l.unit_price::text, l.net::text, l.vat_category, l.vat_percent::text, l.explanation, l.explanation_json,
            d.id, d.series, d.number
     FROM document_lines l JOIN documents d ON d.id = l.document_id
     WHERE l.contract_id = $1 AND l.period = $2 ORDER BY d.id, l.line_no";

fn billed_line_from_row(row: &DbRow) -> Result<BilledLine, StoreError> {
    Ok(BilledLine {
        line: line_from_row(row)?,
        document_id: row.get(15),
        document_number: nordlys_core::document::display_number(row.get(16), row.get(17)),
    })
}

/// The select list of [`DocumentSummary`]; callers add the condition (constant SQL only).
const DOCUMENT_SUMMARY: &str = "SELECT d.id, d.kind, d.series, d.number, d.kid, d.account_id, d.period, d.issue_date, d.due_date, d.currency,
        d.net::text, d.vat::text, d.gross::text,
        (SELECT string_agg(r.series || '-' || r.number, ' ') FROM (SELECT o.series, o.number FROM document_references x JOIN documents o ON o.id = x.referenced_document_id
                                                                       WHERE x.document_id = d.id ORDER BY x.position) r),
        (SELECT count(*) FROM document_lines l WHERE l.document_id = d.id), d.issued_at_us
 FROM documents d";

fn summary_from_row(row: &DbRow) -> Result<DocumentSummary, StoreError> {
    Ok(DocumentSummary {
        id: row.get(0),
        kind: DocumentKind::parse(row.get(1)).map_err(StoreError::CorruptValue)?,
        series: row.get(2),
        number: row.get(3),
        kid: row.get(4),
        account_id: row.get(5),
        period: row.get(6),
        issue_date: date(row, 7, "issue_date")?,
        due_date: optional_date(row, 8, "due_date")?,
        currency: Currency::parse(row.get(9)).map_err(StoreError::CorruptValue)?,
        net: decimal(row, 10, "net")?,
        vat: decimal(row, 11, "vat")?,
        gross: decimal(row, 12, "gross")?,
        references: row
            .get::<Option<String>, _>(13)
            .map(|r| r.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        lines: row.get(14),
        issued_at: {
            let us: i64 = row.get(15);
            jiff::Timestamp::from_microsecond(us)
                .map_err(|_| bad("issued_at_us", &us.to_string()))?
        },
    })
}

/// A line from the columns `contract_id` … `vat_percent`, `explanation`, `explanation_json`.
fn line_from_row(row: &DbRow) -> Result<DocumentLine, StoreError> {
    let legacy_explanation: String = row.get(13);
    let explanation_json: Option<String> = row.get(14);
    Ok(DocumentLine {
        contract_id: row.get(0),
        kind: LineKind::parse(row.get(1)).map_err(StoreError::CorruptValue)?,
        source: row.get(2),
        code: row.get(3),
        description: row.get(4),
        from: date(row, 5, "from_date")?,
        to: date(row, 6, "to_date")?,
        quantity: decimal(row, 7, "quantity")?,
        unit: LineUnit::from_code(row.get(8)),
        unit_price: decimal(row, 9, "unit_price")?,
        net: decimal(row, 10, "net")?,
        vat_category: VatCategory::parse(row.get(11)).map_err(StoreError::CorruptValue)?,
        vat_percent: decimal(row, 12, "vat_percent")?,
        explanation: explanations::decode(explanation_json.as_deref(), &legacy_explanation)?,
    })
}

impl BillingTx {
    /// Issue `document` with the next number of `series`, and a KID when `kid` says how.
    pub async fn issue(
        &mut self,
        document: NewDocument,
        series: &str,
        kid: Option<KidAlgorithm>,
    ) -> Result<IssuedDocument, StoreError> {
        let mut issued = self.issue_many(vec![document], series, kid).await?;
        issued
            .pop()
            .ok_or_else(|| StoreError::Unsupported("no document was issued".into()))
    }

    /// Issue `documents` in order with consecutive numbers of `series`, numbered when the
    /// transaction commits ([`BillingTx::commit`] returns them numbered): the documents, their
    /// lines and VAT are written first under provisional negative numbers, and the block of
    /// numbers is taken from the series as the short last step, so that concurrent workers wait
    /// for each other only for that step, and the block is used whole or not at all.
    /// With `kid`, each gets a KID from the one counter of every series, so that a KID names one
    /// open item of the utility whatever its series (the registry refuses a KID twice).
    /// The documents returned carry their ids; their numbers and KIDs are not yet given.
    pub async fn issue_many(
        &mut self,
        documents: Vec<NewDocument>,
        series: &str,
        kid: Option<KidAlgorithm>,
    ) -> Result<Vec<IssuedDocument>, StoreError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let mut issued = Vec::with_capacity(documents.len());
        for document in documents {
            self.provisional += 1;
            // Unique across concurrent transactions (the transaction id is), never a real number.
            let provisional = -(self.tx.tx_id() * 1_000_000 + self.provisional);
            issued.push(IssuedDocument {
                id: 0,
                series: series.to_owned(),
                number: provisional,
                kid: None,
                document,
            });
        }
        const DOCUMENTS_PER_STATEMENT: usize = 500;
        for batch in issued.chunks_mut(DOCUMENTS_PER_STATEMENT) {
            let mut query = SqlBuilder::new(
                "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross,
                                        run_id, issued_at_us)",
            );
            query.values(batch.iter(), |b, d| {
                let doc = &d.document;
                b.bind(doc.kind.code())
                    .bind(d.series.clone())
                    .bind(d.number)
                    .bind(None::<String>)
                    .bind(doc.account_id.clone())
                    .bind(doc.period.clone())
                    .bind(doc.issue_date.to_string())
                    .bind(doc.due_date.map(|d| d.to_string()))
                    .bind(doc.currency.code())
                    .bind_numeric(doc.net.to_string())
                    .bind_numeric(doc.vat_total.to_string())
                    .bind_numeric(doc.gross.to_string())
                    .bind(self.run_id)
                    .bind(self.now_us);
            });
            query.push(" RETURNING id, number");
            let rows = query
                .build(self.tx.backend())
                .fetch_all(self.tx.conn())
                .await?;
            // RETURNING order is unspecified: match by the provisional number, unique.
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
        let mut corrects = Vec::with_capacity(issued.len());
        for d in &issued {
            let mut numbers = Vec::with_capacity(d.document.references.len());
            for (position, referenced) in d.document.references.iter().enumerate() {
                sqlx::query("INSERT INTO document_references (document_id, position, referenced_document_id) VALUES ($1, $2, $3)")
                    .bind(d.id)
                    .bind(position as i64 + 1)
                    .bind(*referenced)
                    .execute(self.tx.conn())
                    .await?;
                let (series, number): (String, i64) =
                    sqlx::query_as("SELECT series, number FROM documents WHERE id = $1")
                        .bind(*referenced)
                        .fetch_one(self.tx.conn())
                        .await?;
                numbers.push(display_number(&series, number));
            }
            corrects.push(numbers);
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
            let mut query = SqlBuilder::new(
                "INSERT INTO document_lines (document_id, line_no, contract_id, period, kind, source, code, description, from_date, to_date,
                                             quantity, unit, unit_price, net, vat_category, vat_percent, explanation,
                                             explanation_json)",
            );
            query.values(batch.iter(), |b, (id, period, line_no, line)| {
                b.bind(*id)
                    .bind(*line_no as i64)
                    .bind(line.contract_id.clone())
                    .bind(period.to_string())
                    .bind(line.kind.code())
                    .bind(line.source.clone())
                    .bind(line.code.clone())
                    .bind(line.description.clone())
                    .bind(line.from.to_string())
                    .bind(line.to.to_string())
                    .bind_numeric(line.quantity.normalize().to_string())
                    .bind(line.unit.code().to_owned())
                    .bind_numeric(line.unit_price.normalize().to_string())
                    .bind_numeric(line.net.to_string())
                    .bind(line.vat_category.code())
                    .bind_numeric(line.vat_percent.normalize().to_string())
                    // Only lines issued before migration 0009 have their explanation here.
                    .bind("")
                    .bind(explanations::encode(&line.explanation));
            });
            query
                .build(self.tx.backend())
                .execute(self.tx.conn())
                .await?;
        }
        let vat: Vec<(i64, &VatBreakdown)> = issued
            .iter()
            .flat_map(|d| d.document.vat.iter().map(move |v| (d.id, v)))
            .collect();
        for batch in vat.chunks(500) {
            let mut query = SqlBuilder::new(
                "INSERT INTO document_vat (document_id, category, percent, taxable, vat)",
            );
            query.values(batch.iter(), |b, (id, v)| {
                b.bind(*id)
                    .bind(v.category.code())
                    .bind_numeric(v.percent.normalize().to_string())
                    .bind_numeric(v.taxable.to_string())
                    .bind_numeric(v.vat.to_string());
            });
            query
                .build(self.tx.backend())
                .execute(self.tx.conn())
                .await?;
        }
        self.unnumbered.push(Unnumbered {
            series: series.to_owned(),
            kid,
            documents: issued.clone(),
            corrects,
        });
        Ok(issued)
    }

    /// Number the documents issued in this transaction, in the order they were issued: per
    /// series a block of numbers (and of KID values) taken as the last step before commit, the
    /// documents updated, the KIDs registered, and each document journaled with its number.
    pub(crate) async fn number_documents(&mut self) -> Result<Vec<IssuedDocument>, StoreError> {
        let groups = std::mem::take(&mut self.unnumbered);
        // Every transaction takes its counters in one order — the series by name, then the KID
        // counter (then, at commit, the journal head) — so that concurrent workers wait for
        // each other but never deadlock.
        let mut counts: std::collections::BTreeMap<&str, i64> = Default::default();
        for group in &groups {
            *counts.entry(group.series.as_str()).or_default() += group.documents.len() as i64;
        }
        let mut next_number: HashMap<String, i64> = HashMap::with_capacity(counts.len());
        for (series, count) in counts {
            sqlx::query("INSERT INTO number_series (series, next_number) VALUES ($1, 1) ON CONFLICT (series) DO NOTHING")
                .bind(series)
                .execute(self.tx.conn())
                .await?;
            let first: i64 = sqlx::query_scalar("UPDATE number_series SET next_number = next_number + $1 WHERE series = $2 RETURNING next_number - $3")
                .bind(count)
                .bind(series)
                .bind(count)
                .fetch_one(self.tx.conn())
                .await?;
            next_number.insert(series.to_owned(), first);
        }
        let kid_count: i64 = groups
            .iter()
            .filter(|g| g.kid.is_some())
            .map(|g| g.documents.len() as i64)
            .sum();
        let mut next_kid_value: i64 = if kid_count == 0 {
            0
        } else {
            sqlx::query_scalar(
                "UPDATE kid_counter SET next_value = next_value + $1 WHERE id = 1 RETURNING next_value - $2",
            )
            .bind(kid_count)
            .bind(kid_count)
            .fetch_one(self.tx.conn())
            .await?
        };
        let mut numbered = Vec::new();
        for Unnumbered {
            series,
            kid,
            mut documents,
            corrects,
        } in groups
        {
            let next = next_number.get_mut(&series).ok_or_else(|| {
                StoreError::Unsupported(format!("series {series} was not allocated"))
            })?;
            for d in documents.iter_mut() {
                d.number = *next;
                *next += 1;
                d.kid = match kid {
                    None => None,
                    Some(algorithm) => {
                        next_kid_value += 1;
                        Some(
                            kid_for_document_number(next_kid_value - 1, algorithm)
                                .map_err(StoreError::Rejected)?,
                        )
                    }
                };
            }
            for batch in documents.chunks(500) {
                let mut update = SqlBuilder::new(
                    "UPDATE documents SET number = v.column2, kid = v.column3 FROM (",
                );
                update.values(batch.iter(), |row, d| {
                    row.bind(d.id)
                        .bind(d.number)
                        .bind(d.kid.as_ref().map(|k| k.as_str().to_owned()));
                });
                update.push(") AS v WHERE documents.id = v.column1");
                let updated = update
                    .build(self.tx.backend())
                    .execute(self.tx.conn())
                    .await?;
                if updated.rows_affected() != batch.len() as u64 {
                    return Err(StoreError::Unsupported(format!(
                        "numbering {series}: {} of {} documents updated",
                        updated.rows_affected(),
                        batch.len()
                    )));
                }
            }
            let kids: Vec<(&str, i64)> = documents
                .iter()
                .filter_map(|d| d.kid.as_ref().map(|k| (k.as_str(), d.id)))
                .collect();
            for batch in kids.chunks(500) {
                let mut query = SqlBuilder::new("INSERT INTO kid_registry (kid, document_id)");
                query.values(batch, |b, (kid, id)| {
                    b.bind(*kid).bind(*id);
                });
                query
                    .build(self.tx.backend())
                    .execute(self.tx.conn())
                    .await?;
            }
            let changes = documents
                .iter()
                .zip(&corrects)
                .map(|(d, corrects)| document_change(d, corrects))
                .collect();
            self.tx.record_many(changes).await?;
            numbered.extend(documents);
        }
        Ok(numbered)
    }

    /// Every line issued so far for a contract-period, read inside this transaction (so that
    /// what a correction reverses is what stands when it is issued), oldest first.
    pub async fn billed_lines(
        &mut self,
        contract_id: &str,
        period: &str,
    ) -> Result<Vec<BilledLine>, StoreError> {
        let rows = sqlx::query(sql(self.tx.backend(), BILLED_LINES))
            .bind(contract_id)
            .bind(period)
            .fetch_all(self.tx.conn())
            .await?;
        rows.iter().map(billed_line_from_row).collect()
    }
}

/// An issued document's journal record (schema 1): its header, totals, VAT breakdown and what
/// it corrects; the lines are immutable and read by number.
fn document_change(d: &IssuedDocument, corrects: &[String]) -> Change {
    let doc = &d.document;
    let vat: Vec<serde_json::Value> = doc
        .vat
        .iter()
        .map(|v| {
            json!({"category": v.category.code(), "rate": v.percent.normalize().to_string(),
                "taxable": v.taxable.to_string(), "vat": v.vat.to_string()})
        })
        .collect();
    Change {
        domain: Domain::Document,
        key: d.display_number(),
        op: ChangeOp::Create,
        before: None,
        after: Some(json!({
            "number": d.display_number(),
            "kind": doc.kind.code(),
            "account": doc.account_id,
            "period": doc.period,
            "currency": doc.currency.code(),
            "kid": d.kid.as_ref().map(|k| k.as_str().to_owned()),
            "issue_date": doc.issue_date.to_string(),
            "due_date": doc.due_date.map(|date| date.to_string()),
            "corrects": corrects,
            "net": doc.net.to_string(),
            "vat": doc.vat_total.to_string(),
            "total": doc.gross.to_string(),
            "vat_breakdown": vat,
            "lines": doc.lines.len(),
        })),
        scope: ChangeScope::default(),
    }
}

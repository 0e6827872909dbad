//! Read-only queries that present issued documents: a document found by its number, the names
//! of its customer and payer, the numbers of the documents it corrects, its stored VAT breakdown
//! and the metering point each contract of it settled. Nothing here writes.

use std::collections::HashMap;
use std::str::FromStr;

use crate::db::DbRow;
use nordlys_core::ParseError;
use nordlys_core::document::{VatBreakdown, VatCategory};
use sqlx::Row;

use crate::db::SqlBuilder;

use crate::{Store, StoreError};

/// A document's number in its series: `F-12` is series `F`, number 12.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentNumber {
    pub series: String,
    pub number: i64,
}

impl std::fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.series, self.number)
    }
}

/// What a document shows besides its summary: who it is for, what it corrects, its VAT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentDetails {
    /// Name of the customer the account serves.
    pub customer_name: String,
    /// Name of the customer who pays the account (often the same).
    pub payer_name: String,
    /// The documents this one corrects, in the order their lines were billed (empty for an
    /// original invoice).
    pub corrects: Vec<DocumentNumber>,
    /// The VAT breakdown stored with the document, by category and rate.
    pub vat: Vec<VatBreakdown>,
}

/// Ids per SQL statement in `IN (…)` lists: well below SQLite's bound-parameter limit.
const IDS_PER_STATEMENT: usize = 500;

fn stored<T: FromStr>(row: &DbRow, i: usize, field: &'static str) -> Result<T, StoreError> {
    let text: String = row.get(i);
    text.parse().map_err(|_| {
        StoreError::CorruptValue(ParseError::new(field, &text, "stored value is unreadable"))
    })
}

impl Store {
    /// The id of the document numbered `number` in `series`, if one was issued.
    pub async fn document_id_by_number(
        &self,
        number: &DocumentNumber,
    ) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM documents WHERE series = $1 AND number = $2")
                .bind(&number.series)
                .bind(number.number)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Whether an account with this id exists.
    pub async fn account_exists(&self, account_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// How many contract-periods are settled: what a correction run checks.
    pub async fn settled_contract_periods(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM contract_settlements")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Details of the documents `ids`, by id; an unknown id is absent from the map.
    pub async fn document_details(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, DocumentDetails>, StoreError> {
        let mut out: HashMap<i64, DocumentDetails> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut query = SqlBuilder::new(
                "SELECT d.id, c.name, p.name, r.series, r.number
                 FROM documents d
                 JOIN accounts a ON a.account_id = d.account_id
                 JOIN customers c ON c.customer_id = a.customer_id
                 JOIN customers p ON p.customer_id = a.payer_customer_id
                 LEFT JOIN document_references x ON x.document_id = d.id
                 LEFT JOIN documents r ON r.id = x.referenced_document_id
                 WHERE d.id IN (",
            );
            query
                .bind_list(chunk.iter().copied())
                .push(") ORDER BY d.id, x.position");
            for row in query.build(self.backend).fetch_all(&self.pool).await? {
                let details = out.entry(row.get(0)).or_default();
                details.customer_name = row.get(1);
                details.payer_name = row.get(2);
                let series: Option<String> = row.get(3);
                if let Some(series) = series {
                    details.corrects.push(DocumentNumber {
                        series,
                        number: row.get(4),
                    });
                }
            }

            let mut query = SqlBuilder::new(
                "SELECT document_id, category, percent::text, taxable::text, vat::text FROM document_vat WHERE document_id IN (",
            );
            query
                .bind_list(chunk.iter().copied())
                .push(") ORDER BY document_id");
            for row in query.build(self.backend).fetch_all(&self.pool).await? {
                let vat = VatBreakdown {
                    category: VatCategory::parse(row.get(1)).map_err(StoreError::CorruptValue)?,
                    percent: stored(&row, 2, "percent")?,
                    taxable: stored(&row, 3, "taxable")?,
                    vat: stored(&row, 4, "vat")?,
                };
                out.entry(row.get(0)).or_default().vat.push(vat);
            }
        }
        for details in out.values_mut() {
            details.vat.sort_by(|a, b| {
                (a.category.code(), a.percent).cmp(&(b.category.code(), b.percent))
            });
        }
        Ok(out)
    }

    /// The GSRN of the metering point each contract of document `document_id` settled, by
    /// contract id: the point recorded with the settlement, else the contract's current one.
    /// Contracts without a metering point (services) are absent.
    pub async fn document_metering_points(
        &self,
        document_id: i64,
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT l.contract_id, m.gsrn
             FROM document_lines l
             LEFT JOIN contract_settlements s ON s.contract_id = l.contract_id AND s.period = l.period
             LEFT JOIN contracts c ON c.contract_id = l.contract_id
             JOIN metering_points m ON m.id = coalesce(s.metering_point, c.metering_point)
             WHERE l.document_id = $1",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The documents document `document_id` corrects, in the order their lines were billed:
    /// (id, number, issue date).
    pub async fn referenced_documents(
        &self,
        document_id: i64,
    ) -> Result<Vec<(i64, DocumentNumber, jiff::civil::Date)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.series, r.number, r.issue_date FROM document_references x
             JOIN documents r ON r.id = x.referenced_document_id
             WHERE x.document_id = $1 ORDER BY x.position",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.get(0),
                    DocumentNumber {
                        series: row.get(1),
                        number: row.get(2),
                    },
                    stored(row, 3, "issue_date")?,
                ))
            })
            .collect()
    }
}

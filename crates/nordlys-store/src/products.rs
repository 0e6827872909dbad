//! Products as imported: a product's text is stored under its code, and other text for the
//! same code is a new version, journaled with its code and version; the rating crate parses them.

use serde_json::json;
use sqlx::Row;

use crate::{Change, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert};

/// A product as imported: its format and text, parsed by the rating crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProduct {
    pub code: String,
    pub version: i64,
    pub format: String,
    pub source: String,
    pub body: String,
}

impl StoreTx {
    /// Store a product's text under its code; identical text is unchanged, other text a new version.
    pub async fn upsert_product(
        &mut self,
        code: &str,
        format: &str,
        source: &str,
        body: &str,
    ) -> Result<Upsert, StoreError> {
        self.journal
            .lock_series(&format!("products/{code}"))
            .await?;
        let latest = sqlx::query(
            "SELECT version, format, source, body FROM products WHERE code = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(code)
        .fetch_optional(self.journal.conn())
        .await?;
        let payload = |version: i64, format: &str, source: &str, body: &str| json!({"code": code, "version": version, "format": format, "source": source, "body": body});
        let (version, before) = match latest {
            Some(row) if row.get::<String, _>(1) == format && row.get::<String, _>(3) == body => {
                return Ok(Upsert::Unchanged);
            }
            Some(row) => {
                let version: i64 = row.get(0);
                let before = payload(version, row.get(1), row.get(2), row.get(3));
                (version + 1, Some(before))
            }
            None => (1, None),
        };
        sqlx::query("INSERT INTO products (code, version, format, source, body, recorded_at_us, import_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(code)
            .bind(version)
            .bind(format)
            .bind(source)
            .bind(body)
            .bind(self.journal.now_us())
            .bind(self.import_id)
            .execute(self.journal.conn())
            .await?;
        let change = Change::of_upsert(
            Domain::Product,
            code.to_owned(),
            before,
            payload(version, format, source, body),
            ChangeScope {
                product_code: Some(code.to_owned()),
                ..ChangeScope::default()
            },
        );
        self.journal.record(change).await?;
        Ok(if version == 1 {
            Upsert::Inserted
        } else {
            Upsert::Updated
        })
    }
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
}

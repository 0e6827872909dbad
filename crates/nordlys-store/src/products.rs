//! Products as imported: their format and text, versioned by code; the rating crate parses them.

use sqlx::Row;

use crate::{Store, StoreError, StoreTx, Upsert};

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
        let latest = sqlx::query("SELECT version, format, body FROM products WHERE code = ? ORDER BY version DESC LIMIT 1")
            .bind(code)
            .fetch_optional(&mut *self.tx)
            .await?;
        let version = match latest {
            Some(row) if row.get::<String, _>(1) == format && row.get::<String, _>(2) == body => {
                return Ok(Upsert::Unchanged);
            }
            Some(row) => row.get::<i64, _>(0) + 1,
            None => 1,
        };
        sqlx::query("INSERT INTO products (code, version, format, source, body, recorded_at_us, import_id) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(code)
            .bind(version)
            .bind(format)
            .bind(source)
            .bind(body)
            .bind(self.now_us)
            .bind(self.import_id)
            .execute(&mut *self.tx)
            .await?;
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

//! Usage quantities of non-metered services (consulting hours …), per contract, local date and
//! component, versioned like spot prices: a changed quantity is a new version with the time it
//! was recorded and its transaction, reads take the latest (or the one known at `as_of`), and
//! each change is journaled.

use jiff::Timestamp;
use jiff::civil::Date;
use nordlys_core::ParseError;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::Row;

use crate::db::sql;
use crate::versions::{SeriesLock, VersionWrite, VersionedRow, upsert_version};
use crate::{Change, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert};

/// The UTC days a local Nordic date (UTC+1 or UTC+2) overlaps: the day before and the day itself.
pub(crate) fn utc_days_of_nordic_date(date: Date) -> (i64, i64) {
    let day = jiff::tz::TimeZone::UTC
        .to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .map_or(0, nordlys_core::time::utc_day_number);
    (day - 1, day)
}

impl StoreTx {
    /// Store a usage quantity; a different quantity for the same contract, day and component is
    /// a new version (the earlier one is kept for `as_of` reads).
    pub async fn upsert_usage(
        &mut self,
        contract_id: &str,
        date: Date,
        component: &str,
        quantity: Decimal,
    ) -> Result<Upsert, StoreError> {
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM contracts WHERE contract_id = $1")
                .bind(contract_id)
                .fetch_optional(self.journal.conn())
                .await?;
        if known.is_none() {
            return Err(StoreError::Rejected(ParseError::new(
                "contract_id",
                contract_id,
                "no contract has this id",
            )));
        }
        let text = quantity.normalize().to_string();
        let date_text = date.to_string();
        let written = upsert_version(
            &mut self.journal,
            VersionedRow {
                table: "usage_quantities",
                key_columns: &["contract_id", "date", "component"],
                key_values: &[contract_id, &date_text, component],
                value_column: "quantity",
                value: &text,
                lock: SeriesLock::ParentRow {
                    table: "contracts",
                    key_column: "contract_id",
                    key: contract_id,
                },
            },
        )
        .await?;
        let VersionWrite::Written { before } = written else {
            return Ok(Upsert::Unchanged);
        };
        let payload = |quantity: &str| json!({"contract_id": contract_id, "date": date_text, "component": component, "quantity": quantity});
        let upsert = if before.is_some() {
            Upsert::Updated
        } else {
            Upsert::Inserted
        };
        let (first_utc_day, last_utc_day) = utc_days_of_nordic_date(date);
        let change = Change::of_upsert(
            Domain::Usage,
            format!("{contract_id}/{date_text}/{component}"),
            before.as_deref().map(payload),
            payload(&text),
            ChangeScope {
                contract_id: Some(contract_id.to_owned()),
                first_utc_day: Some(first_utc_day),
                last_utc_day: Some(last_utc_day),
                ..ChangeScope::default()
            },
        );
        self.journal.record(change).await?;
        Ok(upsert)
    }
}

impl Store {
    /// Usage quantities of a contract summed per component over local dates `[from, to)`,
    /// latest versions.
    pub async fn usage_quantities(
        &self,
        contract_id: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<(String, Decimal)>, StoreError> {
        self.usage_quantities_as_of(contract_id, from, to, None)
            .await
    }

    /// As [`Store::usage_quantities`], with the versions that were recorded at `as_of`
    /// (`None`: the latest).
    pub async fn usage_quantities_as_of(
        &self,
        contract_id: &str,
        from: Date,
        to: Date,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<(String, Decimal)>, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT component, date, quantity::text FROM usage_quantities
             WHERE contract_id = $1 AND date >= $2 AND date < $3 AND recorded_at_us <= $4
             ORDER BY component, date, version",
        ))
        .bind(contract_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(as_of.map_or(i64::MAX, |t| t.as_microsecond()))
        .fetch_all(&self.pool)
        .await?;
        // Per (component, date) the last row is the latest version; sum those per component.
        let mut latest: Vec<(String, String, String)> = Vec::new();
        for row in &rows {
            let entry: (String, String, String) = (row.get(0), row.get(1), row.get(2));
            match latest.last_mut() {
                Some(last) if last.0 == entry.0 && last.1 == entry.1 => *last = entry,
                _ => latest.push(entry),
            }
        }
        let mut out: Vec<(String, Decimal)> = Vec::new();
        for (component, _, text) in latest {
            let quantity: Decimal = text.parse().map_err(|_| {
                StoreError::CorruptValue(ParseError::new(
                    "quantity",
                    text,
                    "stored value is unreadable",
                ))
            })?;
            match out.last_mut() {
                Some((c, q)) if *c == component => *q += quantity,
                _ => out.push((component, quantity)),
            }
        }
        Ok(out)
    }
}

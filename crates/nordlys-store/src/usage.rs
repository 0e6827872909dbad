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

use crate::{Change, ChangeOp, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert};

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
            sqlx::query_scalar("SELECT 1 FROM contracts WHERE contract_id = ?")
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
        let latest = sqlx::query(
            "SELECT version, quantity, tx_id FROM usage_quantities
             WHERE contract_id = ? AND date = ? AND component = ? ORDER BY version DESC LIMIT 1",
        )
        .bind(contract_id)
        .bind(&date_text)
        .bind(component)
        .fetch_optional(self.journal.conn())
        .await?;
        let payload = |quantity: &str| json!({"contract_id": contract_id, "date": date_text, "component": component, "quantity": quantity});
        let before = match &latest {
            Some(row) if row.get::<String, _>(1) == text => return Ok(Upsert::Unchanged),
            Some(row) => Some(payload(row.get::<&str, _>(1))),
            None => None,
        };
        match latest {
            Some(row) if row.get::<Option<i64>, _>(2) == Some(self.journal.tx_id()) => {
                // Written earlier in this same transaction: not yet visible, amend in place.
                sqlx::query(
                    "UPDATE usage_quantities SET quantity = ? WHERE contract_id = ? AND date = ? AND component = ? AND version = ?",
                )
                .bind(&text)
                .bind(contract_id)
                .bind(&date_text)
                .bind(component)
                .bind(row.get::<i64, _>(0))
                .execute(self.journal.conn())
                .await?;
            }
            latest => {
                let version = latest.map_or(1, |row| row.get::<i64, _>(0) + 1);
                sqlx::query(
                    "INSERT INTO usage_quantities (contract_id, date, component, version, quantity, recorded_at_us, tx_id)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(contract_id)
                .bind(&date_text)
                .bind(component)
                .bind(version)
                .bind(&text)
                .bind(self.journal.now_us())
                .bind(self.journal.tx_id())
                .execute(self.journal.conn())
                .await?;
            }
        }
        let (first_utc_day, last_utc_day) = utc_days_of_nordic_date(date);
        let upsert = if before.is_some() {
            Upsert::Updated
        } else {
            Upsert::Inserted
        };
        self.journal
            .record(Change {
                domain: Domain::Usage,
                key: format!("{contract_id}/{date_text}/{component}"),
                op: if before.is_some() {
                    ChangeOp::Update
                } else {
                    ChangeOp::Create
                },
                before,
                after: Some(payload(&text)),
                scope: ChangeScope {
                    contract_id: Some(contract_id.to_owned()),
                    first_utc_day: Some(first_utc_day),
                    last_utc_day: Some(last_utc_day),
                    ..ChangeScope::default()
                },
            })
            .await?;
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
        let rows = sqlx::query(
            "SELECT component, date, quantity FROM usage_quantities
             WHERE contract_id = ? AND date >= ? AND date < ? AND recorded_at_us <= ?
             ORDER BY component, date, version",
        )
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

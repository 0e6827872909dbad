//! What settlement reads: contracts with their metering points, the readings of a period day by
//! day, exchange rates.

use std::collections::HashMap;

use crate::db::DbRow;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use nordlys_core::model::{ContractRole, DayReadings, Market, PriceArea, UsageKind};
use nordlys_core::time::Resolution;
// Dynamic SQL here joins constant fragments of this file only, never input.
use sqlx::{AssertSqlSafe, Row};

use crate::chunk;
use crate::db::SqlBuilder;
use crate::{Store, StoreError};

use crate::sql_values::{bad, date};

/// The select list of [`BillableContract`] followed by a constant condition.
macro_rules! billable_select {
    ($condition:literal) => {
        concat!(
            "SELECT c.contract_id, c.account_id, c.product_code, c.role, c.start_date, c.end_date,
                    m.id, m.gsrn, m.market, m.price_area, m.resolution, m.usage, m.municipality,
                    m.main_fuse_amperes, m.norgespris_from
             FROM contracts c LEFT JOIN metering_points m ON m.id = c.metering_point ",
            $condition
        )
    };
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

impl Store {
    /// One contract with its metering point, whatever its dates (corrections look for a contract
    /// that moved out of a settled period or to another account).
    pub async fn billable_contract(
        &self,
        contract_id: &str,
    ) -> Result<Option<BillableContract>, StoreError> {
        let row = sqlx::query(billable_select!("WHERE c.contract_id = $1"))
            .bind(contract_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(billable_from_row).transpose()
    }

    /// Contracts overlapping `[start, end)` (local dates), with their metering points, by account.
    pub async fn billable_contracts(
        &self,
        start: Date,
        end: Date,
        account: Option<&str>,
    ) -> Result<Vec<BillableContract>, StoreError> {
        const SELECT: &str =
            billable_select!("WHERE c.start_date < $1 AND (c.end_date IS NULL OR c.end_date > $2)");
        // Two statements rather than `($3 IS NULL OR …)`, which PostgreSQL cannot always type
        // and which would keep SQLite off the account index.
        let query = match account {
            Some(_) => {
                format!("{SELECT} AND c.account_id = $3 ORDER BY c.account_id, c.contract_id")
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

    /// As [`Store::billable_contracts`], of the accounts `account_ids` only (a batch's).
    pub async fn billable_contracts_of_accounts(
        &self,
        start: Date,
        end: Date,
        account_ids: &[String],
    ) -> Result<Vec<BillableContract>, StoreError> {
        let mut contracts = Vec::new();
        for chunk in account_ids.chunks(500) {
            let mut query = SqlBuilder::new(billable_select!("WHERE c.start_date < "));
            query
                .bind(end.to_string())
                .push(" AND (c.end_date IS NULL OR c.end_date > ")
                .bind(start.to_string())
                .push(") AND c.account_id IN (")
                .bind_list(chunk.iter().map(String::as_str))
                .push(") ORDER BY c.account_id, c.contract_id");
            let rows = query.build(self.backend).fetch_all(&self.pool).await?;
            for row in &rows {
                contracts.push(billable_from_row(row)?);
            }
        }
        Ok(contracts)
    }

    /// The latest readings of each point in `point_ids` for UTC days `[first_day, last_day]`,
    /// day by day in order (days without any stored readings are left out).
    pub async fn day_chunks(
        &self,
        point_ids: &[i64],
        first_day: i64,
        last_day: i64,
    ) -> Result<HashMap<i64, Vec<DayReadings>>, StoreError> {
        // One allocation per point for a period's days (a day is held inline).
        let days_per_point = (last_day - first_day + 1).clamp(1, 400) as usize;
        let mut out: HashMap<i64, Vec<DayReadings>> = HashMap::with_capacity(point_ids.len());
        for ids in point_ids.chunks(500) {
            let mut query = SqlBuilder::new(
                "SELECT metering_point, utc_day, data FROM meter_value_chunks WHERE utc_day BETWEEN ",
            );
            query
                .bind(first_day)
                .push(" AND ")
                .bind(last_day)
                .push(" AND metering_point IN (")
                .bind_list(ids.iter().copied())
                .push(") ORDER BY metering_point, utc_day, version");
            let rows = query.build(self.backend).fetch_all(&self.pool).await?;
            for row in rows {
                let point: i64 = row.get(0);
                let day: i64 = row.get(1);
                let readings = chunk::decode(day, row.get::<&[u8], _>(2))?;
                let days = out
                    .entry(point)
                    .or_insert_with(|| Vec::with_capacity(days_per_point));
                match days.last_mut() {
                    Some(last) if last.utc_day() == day => *last = readings,
                    _ => days.push(readings),
                }
            }
        }
        Ok(out)
    }
}

fn billable_from_row(row: &DbRow) -> Result<BillableContract, StoreError> {
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

/// Convenience for callers that need the UTC days a local period covers.
pub fn utc_days_of(start: Date, end: Date, tz: &TimeZone) -> (i64, i64) {
    let first = nordlys_core::time::start_of_local_day(start, tz);
    let last = nordlys_core::time::start_of_local_day(end, tz);
    (
        nordlys_core::time::utc_day_number(first),
        nordlys_core::time::utc_day_number(last - jiff::SignedDuration::from_nanos(1)),
    )
}

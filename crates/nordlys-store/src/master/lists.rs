//! Master data a page at a time, for the API and the back-office: customers (found by name,
//! id, address or e-mail), accounts, metering points and contracts, filtered by their owner, in
//! the order of their ids, continued after the last id of the previous page (keyset
//! pagination: a page is stable while rows are added elsewhere).

use nordlys_core::ids::Gsrn;
use nordlys_core::model::{Account, Contract, Customer, MeteringPoint};
use sqlx::Row;

use super::reads::{
    ACCOUNT_COLUMNS, CUSTOMER_COLUMNS, POINT_COLUMNS, account_from_row, contract_from_row,
    customer_from_row, point_from_row,
};
use crate::db::SqlBuilder;
use crate::{Store, StoreError, corrupt};

/// One page of a list: its items, and the key to continue after (`None`: the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page of `limit` items out of `rows` (read with one more than `limit`).
    pub(crate) fn of(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

/// Which customers a page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Part of the name, street, e-mail or phone (any case), or the whole customer id.
    pub text: Option<String>,
}

/// `text` as a `LIKE` pattern that matches it anywhere, its wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Customers in the order of their ids, after `after`.
    pub async fn customers_page(
        &self,
        filter: &CustomerFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Customer>, StoreError> {
        let mut query = SqlBuilder::new(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE 1 = 1"
        ));
        if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
            let pattern = contains_pattern(text.trim());
            query
                .push(" AND (customer_id = ")
                .bind(text.trim().to_owned());
            for column in ["name", "street", "email", "phone"] {
                query
                    .push(&format!(" OR LOWER({column}) LIKE "))
                    .bind(pattern.clone())
                    .push(" ESCAPE '\\'");
            }
            query.push(")");
        }
        if let Some(after) = after {
            query.push(" AND customer_id > ").bind(after.to_owned());
        }
        query.push(" ORDER BY customer_id LIMIT ").bind(limit + 1);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        let customers = rows
            .iter()
            .map(customer_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Page::of(customers, limit, |c: &Customer| {
            c.customer_id.clone()
        }))
    }

    /// Accounts in the order of their ids, of one customer (as served or as payer) or all.
    pub async fn accounts_page(
        &self,
        customer: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Account>, StoreError> {
        let mut query = SqlBuilder::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE 1 = 1"
        ));
        if let Some(customer) = customer {
            query
                .push(" AND (customer_id = ")
                .bind(customer.to_owned())
                .push(" OR payer_customer_id = ")
                .bind(customer.to_owned())
                .push(")");
        }
        if let Some(after) = after {
            query.push(" AND account_id > ").bind(after.to_owned());
        }
        query.push(" ORDER BY account_id LIMIT ").bind(limit + 1);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        let accounts = rows
            .iter()
            .map(account_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Page::of(accounts, limit, |a: &Account| {
            a.account_id.clone()
        }))
    }

    /// Metering points in the order of their GSRNs, of one account (any contract, past or
    /// present) or all.
    pub async fn metering_points_page(
        &self,
        account: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<MeteringPoint>, StoreError> {
        let mut query = SqlBuilder::new(&format!(
            "SELECT {POINT_COLUMNS} FROM metering_points WHERE 1 = 1"
        ));
        if let Some(account) = account {
            query
                .push(" AND id IN (SELECT metering_point FROM contracts WHERE account_id = ")
                .bind(account.to_owned())
                .push(")");
        }
        if let Some(after) = after {
            query.push(" AND gsrn > ").bind(after.to_owned());
        }
        query.push(" ORDER BY gsrn LIMIT ").bind(limit + 1);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        let points = rows.iter().map(point_from_row).collect::<Result<_, _>>()?;
        Ok(Page::of(points, limit, |p: &MeteringPoint| {
            p.metering_point_id.as_str().to_owned()
        }))
    }

    /// Contracts in the order of their ids, of one account and/or metering point, or all.
    pub async fn contracts_page(
        &self,
        account: Option<&str>,
        metering_point: Option<&Gsrn>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Contract>, StoreError> {
        let mut query = SqlBuilder::new(
            "SELECT c.contract_id, c.account_id, c.product_code, c.role, c.start_date, c.end_date, m.gsrn
             FROM contracts c LEFT JOIN metering_points m ON m.id = c.metering_point WHERE 1 = 1",
        );
        if let Some(account) = account {
            query.push(" AND c.account_id = ").bind(account.to_owned());
        }
        if let Some(gsrn) = metering_point {
            query.push(" AND m.gsrn = ").bind(gsrn.as_str().to_owned());
        }
        if let Some(after) = after {
            query.push(" AND c.contract_id > ").bind(after.to_owned());
        }
        query.push(" ORDER BY c.contract_id LIMIT ").bind(limit + 1);
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        let contracts = rows
            .iter()
            .map(|row| {
                let gsrn: Option<String> = row.get(6);
                let gsrn = gsrn
                    .map(|g| Gsrn::parse(&g).map_err(|e| corrupt("gsrn", &g, e)))
                    .transpose()?;
                contract_from_row(row, gsrn)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::of(contracts, limit, |c: &Contract| {
            c.contract_id.clone()
        }))
    }

    /// The internal id of the metering point `gsrn`, if it exists.
    pub async fn metering_point_id(&self, gsrn: &Gsrn) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM metering_points WHERE gsrn = $1")
                .bind(gsrn.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

impl Store {
    /// The last instant covered by a stored reading of metering point `gsrn` (the start of the
    /// UTC day after its last stored day), if it has any.
    pub async fn readings_end(&self, gsrn: &Gsrn) -> Result<Option<jiff::Timestamp>, StoreError> {
        let day: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(c.utc_day) FROM meter_value_chunks c JOIN metering_points m ON m.id = c.metering_point
             WHERE m.gsrn = $1",
        )
        .bind(gsrn.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(day.map(|d| nordlys_core::time::utc_day_start(d + 1)))
    }
}

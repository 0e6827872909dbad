//! Reading master data back: the metering points' references for imports, one metering point,
//! a point's contracts, and the decoders of stored master-data values (dates, fuse sizes) that
//! other reads share.

use std::collections::HashMap;

use crate::db::{DbRow, sql_owned};
use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::ids::{Gln, Gsrn};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, CustomerIdentity, CustomerKind,
    InvoiceChannel, Language, Market, MeteringPoint, PriceArea, UsageKind, Utility,
};
use nordlys_core::time::Resolution;
use sqlx::Row;

use crate::{Store, StoreError, corrupt};

/// What the meter-value import needs to know of a metering point.
#[derive(Debug, Clone)]
pub struct PointRef {
    pub id: i64,
    pub gsrn: Gsrn,
    pub market: Market,
    pub resolution: Resolution,
}

pub(super) fn parse_date(text: String) -> Result<Date, StoreError> {
    text.parse().map_err(|_| {
        StoreError::CorruptValue(ParseError::new("date", text, "stored date is unreadable"))
    })
}

/// A stored main fuse size (NULL: unknown).
pub(crate) fn fuse_from_row(row: &DbRow, index: usize) -> Result<Option<u32>, StoreError> {
    let amperes: Option<i64> = row.get(index);
    amperes
        .map(|a| {
            u32::try_from(a).map_err(|_| {
                StoreError::CorruptValue(ParseError::new(
                    "main_fuse_amperes",
                    a.to_string(),
                    "stored fuse size is out of range",
                ))
            })
        })
        .transpose()
}

/// A stored optional local date (NULL: none).
pub(crate) fn optional_date_from_row(
    row: &DbRow,
    index: usize,
) -> Result<Option<Date>, StoreError> {
    let text: Option<String> = row.get(index);
    text.map(parse_date).transpose()
}

pub(super) const ACCOUNT_COLUMNS: &str =
    "account_id, customer_id, payer_customer_id, invoice_channel, language, email,
     invoice_street, invoice_postcode, invoice_city, invoice_municipality, invoice_county";

pub(super) fn account_from_row(row: &DbRow) -> Result<Account, StoreError> {
    let street: Option<String> = row.get(6);
    Ok(Account {
        account_id: row.get(0),
        customer_id: row.get(1),
        payer_customer_id: row.get(2),
        invoice_channel: InvoiceChannel::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
        language: Language::parse(row.get(4)).map_err(StoreError::CorruptValue)?,
        email: row.get(5),
        invoice_address: street.map(|street| Address {
            street,
            postcode: row.get::<Option<String>, _>(7).unwrap_or_default(),
            city: row.get::<Option<String>, _>(8).unwrap_or_default(),
            municipality: row.get::<Option<String>, _>(9).unwrap_or_default(),
            county: row.get::<Option<String>, _>(10).unwrap_or_default(),
        }),
    })
}

pub(super) const CUSTOMER_COLUMNS: &str =
    "customer_id, kind, country, identity, name, email, phone, street, postcode, city,
     municipality, county";

pub(super) fn customer_from_row(row: &DbRow) -> Result<Customer, StoreError> {
    let text = |i: usize| -> String { row.get(i) };
    let kind = CustomerKind::parse(&text(1)).map_err(StoreError::CorruptValue)?;
    let country = Market::parse(&text(2)).map_err(StoreError::CorruptValue)?;
    let identity = CustomerIdentity::parse(kind, country, &text(3))
        .map_err(|e| corrupt("identity", "(not shown: personal data)", e))?;
    Ok(Customer {
        customer_id: text(0),
        identity,
        name: text(4),
        email: text(5),
        phone: text(6),
        address: Address {
            street: text(7),
            postcode: text(8),
            city: text(9),
            municipality: text(10),
            county: text(11),
        },
    })
}

/// A contract of columns `contract_id, account_id, product_code, role, start_date, end_date`.
pub(super) fn contract_from_row(
    row: &DbRow,
    metering_point: Option<Gsrn>,
) -> Result<Contract, StoreError> {
    Ok(Contract {
        contract_id: row.get(0),
        account_id: row.get(1),
        metering_point_id: metering_point,
        product_code: row.get(2),
        role: ContractRole::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
        start: parse_date(row.get(4))?,
        end: row
            .get::<Option<String>, _>(5)
            .map(parse_date)
            .transpose()?,
    })
}

pub(super) const POINT_COLUMNS: &str = "gsrn, market, price_area, grid_owner, resolution, utility, usage, street, postcode, city, municipality, county,
     main_fuse_amperes, norgespris_from";

pub(super) fn point_from_row(row: &DbRow) -> Result<MeteringPoint, StoreError> {
    let text = |i: usize| -> String { row.get(i) };
    let gsrn = text(0);
    Ok(MeteringPoint {
        metering_point_id: Gsrn::parse(&gsrn).map_err(|e| corrupt("gsrn", &gsrn, e))?,
        market: Market::parse(&text(1)).map_err(StoreError::CorruptValue)?,
        price_area: PriceArea::parse(&text(2)).map_err(StoreError::CorruptValue)?,
        grid_owner: Gln::parse(&text(3)).map_err(StoreError::CorruptValue)?,
        resolution: Resolution::parse(&text(4)).map_err(StoreError::CorruptValue)?,
        utility: Utility::parse(&text(5)).map_err(StoreError::CorruptValue)?,
        usage: UsageKind::parse(&text(6)).map_err(StoreError::CorruptValue)?,
        address: Address {
            street: text(7),
            postcode: text(8),
            city: text(9),
            municipality: text(10),
            county: text(11),
        },
        main_fuse_amperes: fuse_from_row(row, 12)?,
        norgespris_from: optional_date_from_row(row, 13)?,
    })
}

impl Store {
    /// Every metering point's internal id, market and resolution, keyed by GSRN.
    pub async fn point_refs(&self) -> Result<HashMap<String, PointRef>, StoreError> {
        let rows = sqlx::query("SELECT id, gsrn, market, resolution FROM metering_points")
            .fetch_all(&self.pool)
            .await?;
        let mut refs = HashMap::with_capacity(rows.len());
        for row in rows {
            let gsrn: String = row.get(1);
            let point = PointRef {
                id: row.get(0),
                gsrn: Gsrn::parse(&gsrn).map_err(|e| corrupt("gsrn", &gsrn, e))?,
                market: Market::parse(row.get(2)).map_err(StoreError::CorruptValue)?,
                resolution: Resolution::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
            };
            refs.insert(gsrn, point);
        }
        Ok(refs)
    }

    pub async fn metering_point(&self, gsrn: &Gsrn) -> Result<Option<MeteringPoint>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!("SELECT {POINT_COLUMNS} FROM metering_points WHERE gsrn = $1"),
        ))
        .bind(gsrn.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(point_from_row).transpose()
    }

    /// One account, by id.
    pub async fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1"),
        ))
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// One customer, by id.
    pub async fn customer(&self, customer_id: &str) -> Result<Option<Customer>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer_id = $1"),
        ))
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(customer_from_row).transpose()
    }

    /// Contracts of a metering point, oldest first.
    pub async fn contracts_of_point(&self, gsrn: &Gsrn) -> Result<Vec<Contract>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.contract_id, c.account_id, c.product_code, c.role, c.start_date, c.end_date
             FROM contracts c JOIN metering_points m ON m.id = c.metering_point
             WHERE m.gsrn = $1 ORDER BY c.start_date, c.contract_id",
        )
        .bind(gsrn.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| contract_from_row(row, Some(gsrn.clone())))
            .collect()
    }
}

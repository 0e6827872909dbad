//! Master data: customers, accounts, metering points and contracts. Writes are idempotent
//! upserts by the utility's own ids; references and contract overlaps are checked here,
//! inside the import's transaction, so earlier rows of the same file count.

use std::collections::HashMap;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::ids::{Gln, Gsrn};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, Market, MeteringPoint, PriceArea,
    UsageKind, Utility,
};
use nordlys_core::time::Resolution;
// Table and column names in dynamic SQL here are constants of this file, never input.
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, StoreTx, Upsert, corrupt};

/// What the meter-value import needs to know of a metering point.
#[derive(Debug, Clone)]
pub struct PointRef {
    pub id: i64,
    pub gsrn: Gsrn,
    pub market: Market,
    pub resolution: Resolution,
}

fn rejected(field: &'static str, value: &str, rule: String) -> StoreError {
    StoreError::Rejected(ParseError::new(field, value, rule))
}

/// Upsert a row given as text columns: insert if new, update if any column differs.
async fn upsert_row(
    tx: &mut StoreTx,
    table: &str,
    key_column: &str,
    columns: &[&str],
    values: &[Option<&str>],
) -> Result<Upsert, StoreError> {
    // Compare as text; integer columns (metering_point) take text binds by SQLite's type affinity.
    let select_list: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS TEXT)"))
        .collect();
    let select = format!(
        "SELECT {} FROM {table} WHERE {key_column} = ?",
        select_list.join(", ")
    );
    let existing = sqlx::query(AssertSqlSafe(select))
        .bind(values[0])
        .fetch_optional(&mut *tx.tx)
        .await?;
    let sql = match existing {
        Some(row) => {
            let same =
                (0..columns.len()).all(|i| row.get::<Option<String>, _>(i).as_deref() == values[i]);
            if same {
                return Ok(Upsert::Unchanged);
            }
            let sets: Vec<String> = columns[1..].iter().map(|c| format!("{c} = ?")).collect();
            let sql = format!(
                "UPDATE {table} SET {} WHERE {key_column} = ?",
                sets.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for v in &values[1..] {
                query = query.bind(*v);
            }
            query.bind(values[0]).execute(&mut *tx.tx).await?;
            return Ok(Upsert::Updated);
        }
        None => format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            vec!["?"; columns.len()].join(", ")
        ),
    };
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for v in values {
        query = query.bind(*v);
    }
    query.execute(&mut *tx.tx).await?;
    Ok(Upsert::Inserted)
}

impl StoreTx {
    async fn exists(
        &mut self,
        table: &str,
        key_column: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT 1 FROM {table} WHERE {key_column} = ?");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?
            .is_some())
    }

    pub async fn upsert_customer(&mut self, c: &Customer) -> Result<Upsert, StoreError> {
        let a = &c.address;
        upsert_row(
            self,
            "customers",
            "customer_id",
            &[
                "customer_id",
                "kind",
                "country",
                "identity",
                "name",
                "email",
                "phone",
                "street",
                "postcode",
                "city",
                "municipality",
                "county",
            ],
            &[
                Some(&c.customer_id),
                Some(c.identity.kind().code()),
                Some(c.identity.country().code()),
                Some(c.identity.as_str()),
                Some(&c.name),
                Some(&c.email),
                Some(&c.phone),
                Some(&a.street),
                Some(&a.postcode),
                Some(&a.city),
                Some(&a.municipality),
                Some(&a.county),
            ],
        )
        .await
    }

    pub async fn upsert_account(&mut self, account: &Account) -> Result<Upsert, StoreError> {
        for (field, id) in [
            ("customer_id", &account.customer_id),
            ("payer_customer_id", &account.payer_customer_id),
        ] {
            if !self.exists("customers", "customer_id", id).await? {
                return Err(rejected(
                    field,
                    id,
                    "no customer has this id (import customers first)".into(),
                ));
            }
        }
        let address = account.invoice_address.as_ref();
        upsert_row(
            self,
            "accounts",
            "account_id",
            &[
                "account_id",
                "customer_id",
                "payer_customer_id",
                "invoice_channel",
                "language",
                "email",
                "invoice_street",
                "invoice_postcode",
                "invoice_city",
                "invoice_municipality",
                "invoice_county",
            ],
            &[
                Some(&account.account_id),
                Some(&account.customer_id),
                Some(&account.payer_customer_id),
                Some(account.invoice_channel.code()),
                Some(account.language.code()),
                Some(&account.email),
                address.map(|a| a.street.as_str()),
                address.map(|a| a.postcode.as_str()),
                address.map(|a| a.city.as_str()),
                address.map(|a| a.municipality.as_str()),
                address.map(|a| a.county.as_str()),
            ],
        )
        .await
    }

    pub async fn upsert_metering_point(
        &mut self,
        mp: &MeteringPoint,
    ) -> Result<Upsert, StoreError> {
        let a = &mp.address;
        let main_fuse = mp.main_fuse_amperes.map(|amperes| amperes.to_string());
        let norgespris_from = mp.norgespris_from.map(|d| d.to_string());
        upsert_row(
            self,
            "metering_points",
            "gsrn",
            &[
                "gsrn",
                "market",
                "price_area",
                "grid_owner",
                "resolution",
                "utility",
                "usage",
                "street",
                "postcode",
                "city",
                "municipality",
                "county",
                "main_fuse_amperes",
                "norgespris_from",
            ],
            &[
                Some(mp.metering_point_id.as_str()),
                Some(mp.market.code()),
                Some(mp.price_area.code()),
                Some(mp.grid_owner.as_str()),
                Some(mp.resolution.code()),
                Some(mp.utility.code()),
                Some(mp.usage.code()),
                Some(&a.street),
                Some(&a.postcode),
                Some(&a.city),
                Some(&a.municipality),
                Some(&a.county),
                main_fuse.as_deref(),
                norgespris_from.as_deref(),
            ],
        )
        .await
    }

    pub async fn upsert_contract(&mut self, contract: &Contract) -> Result<Upsert, StoreError> {
        if !self
            .exists("accounts", "account_id", &contract.account_id)
            .await?
        {
            return Err(rejected(
                "account_id",
                &contract.account_id,
                "no account has this id (import accounts first)".into(),
            ));
        }
        let point_id: Option<i64> = match &contract.metering_point_id {
            None => None,
            Some(gsrn) => {
                let id = sqlx::query_scalar("SELECT id FROM metering_points WHERE gsrn = ?")
                    .bind(gsrn.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                match id {
                    Some(id) => Some(id),
                    None => {
                        return Err(rejected(
                            "metering_point_id",
                            gsrn.as_str(),
                            "unknown metering point (import metering points first)".into(),
                        ));
                    }
                }
            }
        };
        if let Some(point) = point_id {
            let others = sqlx::query(
                "SELECT contract_id, start_date, end_date FROM contracts
                 WHERE metering_point = ? AND role = ? AND contract_id <> ?",
            )
            .bind(point)
            .bind(contract.role.code())
            .bind(&contract.contract_id)
            .fetch_all(&mut *self.tx)
            .await?;
            for row in others {
                let other = Contract {
                    contract_id: row.get(0),
                    start: parse_date(row.get(1))?,
                    end: row
                        .get::<Option<String>, _>(2)
                        .map(parse_date)
                        .transpose()?,
                    ..contract.clone()
                };
                if contract.overlaps(&other) {
                    let range = |s: Date, e: Option<Date>| {
                        format!("{s}..{}", e.map(|e| e.to_string()).unwrap_or_default())
                    };
                    return Err(rejected(
                        "start",
                        &contract.start.to_string(),
                        format!(
                            "{} {}..{} overlaps contract {} ({}) for the same metering point and role {}",
                            contract.contract_id,
                            contract.start,
                            contract.end.map(|e| e.to_string()).unwrap_or_default(),
                            other.contract_id,
                            range(other.start, other.end),
                            contract.role
                        ),
                    ));
                }
            }
        }
        let point_text = point_id.map(|p| p.to_string());
        let start = contract.start.to_string();
        let end = contract.end.map(|e| e.to_string());
        upsert_row(
            self,
            "contracts",
            "contract_id",
            &[
                "contract_id",
                "account_id",
                "metering_point",
                "product_code",
                "role",
                "start_date",
                "end_date",
            ],
            &[
                Some(&contract.contract_id),
                Some(&contract.account_id),
                point_text.as_deref(),
                Some(&contract.product_code),
                Some(contract.role.code()),
                Some(&start),
                end.as_deref(),
            ],
        )
        .await
    }
}

fn parse_date(text: String) -> Result<Date, StoreError> {
    text.parse().map_err(|_| {
        StoreError::CorruptValue(ParseError::new("date", text, "stored date is unreadable"))
    })
}

/// A stored main fuse size (NULL: unknown).
pub(crate) fn fuse_from_row(row: &SqliteRow, index: usize) -> Result<Option<u32>, StoreError> {
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
    row: &SqliteRow,
    index: usize,
) -> Result<Option<Date>, StoreError> {
    let text: Option<String> = row.get(index);
    text.map(parse_date).transpose()
}

fn point_from_row(row: &SqliteRow) -> Result<MeteringPoint, StoreError> {
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
        let row = sqlx::query(
            "SELECT gsrn, market, price_area, grid_owner, resolution, utility, usage, street, postcode, city, municipality, county,
                    main_fuse_amperes, norgespris_from
             FROM metering_points WHERE gsrn = ?",
        )
        .bind(gsrn.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(point_from_row).transpose()
    }

    /// Contracts of a metering point, oldest first.
    pub async fn contracts_of_point(&self, gsrn: &Gsrn) -> Result<Vec<Contract>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.contract_id, c.account_id, c.product_code, c.role, c.start_date, c.end_date
             FROM contracts c JOIN metering_points m ON m.id = c.metering_point
             WHERE m.gsrn = ? ORDER BY c.start_date, c.contract_id",
        )
        .bind(gsrn.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Contract {
                    contract_id: row.get(0),
                    account_id: row.get(1),
                    metering_point_id: Some(gsrn.clone()),
                    product_code: row.get(2),
                    role: ContractRole::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
                    start: parse_date(row.get(4))?,
                    end: row
                        .get::<Option<String>, _>(5)
                        .map(parse_date)
                        .transpose()?,
                })
            })
            .collect()
    }
}

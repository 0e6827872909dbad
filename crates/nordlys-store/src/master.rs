//! Master data: customers, accounts, metering points and contracts. Writes are idempotent
//! upserts by the utility's own ids; references and contract overlaps are checked here,
//! inside the import's transaction, so earlier rows of the same file count. Each change is
//! journaled with the whole record before and after: that is the master data's history.
//! (Somewhat over 600 lines: the four tables' column-to-field maps are spelled out one per line.)

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
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Change, ChangeOp, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert, corrupt};

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

/// A master-data row to upsert: stored `column`s with the external `field` names of the
/// journal payload (the import file's column names), and the values as text.
struct RowWrite<'a> {
    domain: Domain,
    table: &'static str,
    key_column: &'static str,
    /// `(column, field)`; the first is the key.
    columns: &'a [(&'static str, &'static str)],
    values: &'a [Option<&'a str>],
    scope: ChangeScope,
}

/// Payload fields stored as integers, written to the journal as JSON numbers.
const INTEGER_FIELDS: &[&str] = &["main_fuse_amperes"];

/// A row as its journal payload: every field, text as string, absent as null.
fn row_payload(columns: &[(&str, &str)], values: &[Option<&str>]) -> Value {
    let mut object = serde_json::Map::with_capacity(columns.len());
    for ((_, field), value) in columns.iter().zip(values) {
        let value = match value {
            None => Value::Null,
            Some(v) if INTEGER_FIELDS.contains(field) => v
                .parse::<i64>()
                .map_or_else(|_| Value::String((*v).to_owned()), Value::from),
            Some(v) => Value::String((*v).to_owned()),
        };
        object.insert((*field).to_owned(), value);
    }
    Value::Object(object)
}

/// Upsert a row given as text columns: insert if new, update if any column differs. Returns
/// what it did and, unless unchanged, the change to journal (the caller records it).
async fn upsert_row(
    tx: &mut StoreTx,
    write: RowWrite<'_>,
) -> Result<(Upsert, Option<Change>), StoreError> {
    let RowWrite {
        domain,
        table,
        key_column,
        columns,
        values,
        scope,
    } = write;
    // Compare as text; integer columns (metering_point) take text binds by SQLite's type affinity.
    let select_list: Vec<String> = columns
        .iter()
        .map(|(c, _)| format!("CAST({c} AS TEXT)"))
        .collect();
    let select = format!(
        "SELECT {} FROM {table} WHERE {key_column} = ?",
        select_list.join(", ")
    );
    let existing = sqlx::query(AssertSqlSafe(select))
        .bind(values[0])
        .fetch_optional(tx.journal.conn())
        .await?;
    let before: Option<Vec<Option<String>>> = existing.map(|row| {
        (0..columns.len())
            .map(|i| row.get::<Option<String>, _>(i))
            .collect()
    });
    let (upsert, op, sql) = match &before {
        Some(stored) => {
            if stored
                .iter()
                .map(Option::as_deref)
                .eq(values.iter().copied())
            {
                return Ok((Upsert::Unchanged, None));
            }
            let sets: Vec<String> = columns[1..]
                .iter()
                .map(|(c, _)| format!("{c} = ?"))
                .collect();
            let sql = format!(
                "UPDATE {table} SET {} WHERE {key_column} = ?",
                sets.join(", ")
            );
            (Upsert::Updated, ChangeOp::Update, sql)
        }
        None => {
            let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                vec!["?"; columns.len()].join(", ")
            );
            (Upsert::Inserted, ChangeOp::Create, sql)
        }
    };
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if before.is_some() {
        for v in &values[1..] {
            query = query.bind(*v);
        }
        query = query.bind(values[0]);
    } else {
        for v in values {
            query = query.bind(*v);
        }
    }
    query.execute(tx.journal.conn()).await?;
    let before = before.map(|stored| {
        let stored: Vec<Option<&str>> = stored.iter().map(Option::as_deref).collect();
        row_payload(columns, &stored)
    });
    let change = Change {
        domain,
        key: values[0].unwrap_or_default().to_owned(),
        op,
        before,
        after: Some(row_payload(columns, values)),
        scope,
    };
    Ok((upsert, Some(change)))
}

const CUSTOMER_COLUMNS: &[(&str, &str)] = &[
    ("customer_id", "customer_id"),
    ("kind", "kind"),
    ("country", "country"),
    ("identity", "identity"),
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("street", "street"),
    ("postcode", "postcode"),
    ("city", "city"),
    ("municipality", "municipality"),
    ("county", "county"),
];

const ACCOUNT_COLUMNS: &[(&str, &str)] = &[
    ("account_id", "account_id"),
    ("customer_id", "customer_id"),
    ("payer_customer_id", "payer_customer_id"),
    ("invoice_channel", "invoice_channel"),
    ("language", "language"),
    ("email", "email"),
    ("invoice_street", "invoice_street"),
    ("invoice_postcode", "invoice_postcode"),
    ("invoice_city", "invoice_city"),
    ("invoice_municipality", "invoice_municipality"),
    ("invoice_county", "invoice_county"),
];

const METERING_POINT_COLUMNS: &[(&str, &str)] = &[
    ("gsrn", "metering_point_id"),
    ("market", "market"),
    ("price_area", "price_area"),
    ("grid_owner", "grid_owner"),
    ("resolution", "resolution"),
    ("utility", "utility"),
    ("usage", "usage"),
    ("street", "street"),
    ("postcode", "postcode"),
    ("city", "city"),
    ("municipality", "municipality"),
    ("county", "county"),
    ("main_fuse_amperes", "main_fuse_amperes"),
    ("norgespris_from", "norgespris_from"),
];

/// Contracts store the metering point's internal id; the payload carries its GSRN instead
/// (see [`StoreTx::upsert_contract`]).
const CONTRACT_COLUMNS: &[(&str, &str)] = &[
    ("contract_id", "contract_id"),
    ("account_id", "account_id"),
    ("metering_point", "metering_point_id"),
    ("product_code", "product_code"),
    ("role", "role"),
    ("start_date", "start"),
    ("end_date", "end"),
];

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
            .fetch_optional(self.journal.conn())
            .await?
            .is_some())
    }

    /// Journal the change an upsert made, if any.
    async fn journaled(
        &mut self,
        (upsert, change): (Upsert, Option<Change>),
    ) -> Result<Upsert, StoreError> {
        if let Some(change) = change {
            self.journal.record(change).await?;
        }
        Ok(upsert)
    }

    pub async fn upsert_customer(&mut self, c: &Customer) -> Result<Upsert, StoreError> {
        let a = &c.address;
        let written = upsert_row(
            self,
            RowWrite {
                domain: Domain::Customer,
                table: "customers",
                key_column: "customer_id",
                columns: CUSTOMER_COLUMNS,
                values: &[
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
                scope: ChangeScope::default(),
            },
        )
        .await?;
        self.journaled(written).await
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
        let written = upsert_row(
            self,
            RowWrite {
                domain: Domain::Account,
                table: "accounts",
                key_column: "account_id",
                columns: ACCOUNT_COLUMNS,
                values: &[
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
                scope: ChangeScope::default(),
            },
        )
        .await?;
        self.journaled(written).await
    }

    /// The internal id of a metering point, if it is stored.
    async fn point_id(&mut self, gsrn: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM metering_points WHERE gsrn = ?")
                .bind(gsrn)
                .fetch_optional(self.journal.conn())
                .await?,
        )
    }

    /// Upsert a metering point. A new resolution for a point that already has readings is
    /// refused: its stored days would be read at the wrong interval length.
    pub async fn upsert_metering_point(
        &mut self,
        mp: &MeteringPoint,
    ) -> Result<Upsert, StoreError> {
        let gsrn = mp.metering_point_id.as_str();
        let stored = sqlx::query(
            "SELECT id, resolution,
                    EXISTS (SELECT 1 FROM meter_value_chunks c WHERE c.metering_point = m.id)
             FROM metering_points m WHERE gsrn = ?",
        )
        .bind(gsrn)
        .fetch_optional(self.journal.conn())
        .await?;
        if let Some(row) = &stored {
            let resolution: String = row.get(1);
            let has_readings: bool = row.get(2);
            if has_readings && resolution != mp.resolution.code() {
                return Err(rejected(
                    "resolution",
                    mp.resolution.code(),
                    format!(
                        "metering point {gsrn} has readings at {resolution}; a new resolution needs a new metering point or deleting its readings"
                    ),
                ));
            }
        }
        let a = &mp.address;
        let main_fuse = mp.main_fuse_amperes.map(|amperes| amperes.to_string());
        let norgespris_from = mp.norgespris_from.map(|d| d.to_string());
        let (upsert, change) = upsert_row(
            self,
            RowWrite {
                domain: Domain::MeteringPoint,
                table: "metering_points",
                key_column: "gsrn",
                columns: METERING_POINT_COLUMNS,
                values: &[
                    Some(gsrn),
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
                scope: ChangeScope {
                    price_area: Some(mp.price_area.code().to_owned()),
                    ..ChangeScope::default()
                },
            },
        )
        .await?;
        let Some(mut change) = change else {
            return Ok(upsert);
        };
        change.scope.metering_point = match stored {
            Some(row) => Some(row.get(0)),
            None => self.point_id(gsrn).await?,
        };
        self.journaled((upsert, Some(change))).await
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
            Some(gsrn) => match self.point_id(gsrn.as_str()).await? {
                Some(id) => Some(id),
                None => {
                    return Err(rejected(
                        "metering_point_id",
                        gsrn.as_str(),
                        "unknown metering point (import metering points first)".into(),
                    ));
                }
            },
        };
        if let Some(point) = point_id {
            let others = sqlx::query(
                "SELECT contract_id, start_date, end_date FROM contracts
                 WHERE metering_point = ? AND role = ? AND contract_id <> ?",
            )
            .bind(point)
            .bind(contract.role.code())
            .bind(&contract.contract_id)
            .fetch_all(self.journal.conn())
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
        let (upsert, change) = upsert_row(
            self,
            RowWrite {
                domain: Domain::Contract,
                table: "contracts",
                key_column: "contract_id",
                columns: CONTRACT_COLUMNS,
                values: &[
                    Some(&contract.contract_id),
                    Some(&contract.account_id),
                    point_text.as_deref(),
                    Some(&contract.product_code),
                    Some(contract.role.code()),
                    Some(&start),
                    end.as_deref(),
                ],
                scope: ChangeScope {
                    metering_point: point_id,
                    contract_id: Some(contract.contract_id.clone()),
                    product_code: Some(contract.product_code.clone()),
                    ..ChangeScope::default()
                },
            },
        )
        .await?;
        let Some(mut change) = change else {
            return Ok(upsert);
        };
        // The payload names the metering point by GSRN, never by the store's internal id.
        let after_gsrn = contract
            .metering_point_id
            .as_ref()
            .map(|g| g.as_str().to_owned());
        if let Some(Value::Object(after)) = change.after.as_mut() {
            after.insert("metering_point_id".into(), after_gsrn.into());
        }
        if let Some(Value::Object(before)) = change.before.as_mut() {
            let stored_id = before
                .get("metering_point_id")
                .and_then(Value::as_str)
                .and_then(|id| id.parse::<i64>().ok());
            let gsrn: Option<String> = match stored_id {
                None => None,
                Some(id) => {
                    sqlx::query_scalar("SELECT gsrn FROM metering_points WHERE id = ?")
                        .bind(id)
                        .fetch_optional(self.journal.conn())
                        .await?
                }
            };
            before.insert("metering_point_id".into(), gsrn.into());
        }
        self.journaled((upsert, Some(change))).await
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

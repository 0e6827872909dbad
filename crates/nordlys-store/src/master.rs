//! Master data: customers, accounts, metering points and contracts. Writes are idempotent
//! upserts by the utility's own ids; references and contract overlaps are checked here,
//! inside the import's transaction, so earlier rows of the same file count. Each change is
//! journaled with the whole record before and after: that is the master data's history.
//!
//! This module writes; `master/reads.rs` reads master data back.

mod lists;
mod reads;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::model::{Account, Contract, Customer, MeteringPoint};
// Table and column names in dynamic SQL here are constants of this file, never input.
use serde_json::Value;
use sqlx::Row;

use crate::db::sql_owned;
use crate::{Change, ChangeOp, ChangeScope, Domain, StoreError, StoreTx, Upsert};
pub use lists::{CustomerFilter, Page};
pub use reads::PointRef;
use reads::parse_date;
pub(crate) use reads::{fuse_from_row, optional_date_from_row};

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

/// Columns stored as integers: their text values are bound as `BIGINT` (never left to a
/// backend's type affinity).
const INTEGER_COLUMNS: &[&str] = &["metering_point", "main_fuse_amperes"];

/// The placeholder for `column`'s value.
fn placeholder(column: &str, n: usize) -> String {
    if INTEGER_COLUMNS.contains(&column) {
        format!("CAST(${n} AS BIGINT)")
    } else {
        format!("${n}")
    }
}

/// Upsert a row given as text columns: insert if new, update if any column differs. Returns
/// what it did and, unless unchanged, the change to journal (the caller records it).
///
/// Safe with concurrent writers: the stored row is read `FOR UPDATE` (it stays as read until
/// this transaction ends), and a new row is inserted with `ON CONFLICT DO NOTHING`; if another
/// transaction inserted the same key first, the row is read again and updated instead.
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
    let backend = tx.journal.backend();
    let select_list: Vec<String> = columns
        .iter()
        .map(|(c, _)| format!("CAST({c} AS TEXT)"))
        .collect();
    let select = format!(
        "SELECT {} FROM {table} WHERE {key_column} = $1 FOR UPDATE",
        select_list.join(", ")
    );
    let mut attempts = 0;
    let (upsert, op, before) = loop {
        attempts += 1;
        let existing = sqlx::query(sql_owned(backend, select.clone()))
            .bind(values[0])
            .fetch_optional(tx.journal.conn())
            .await?;
        let before: Option<Vec<Option<String>>> = existing.map(|row| {
            (0..columns.len())
                .map(|i| row.get::<Option<String>, _>(i))
                .collect()
        });
        match before {
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
                    .enumerate()
                    .map(|(i, (c, _))| format!("{c} = {}", placeholder(c, i + 1)))
                    .collect();
                let sql = format!(
                    "UPDATE {table} SET {} WHERE {key_column} = ${}",
                    sets.join(", "),
                    columns.len()
                );
                let mut query = sqlx::query(sql_owned(backend, sql));
                for v in &values[1..] {
                    query = query.bind(*v);
                }
                query.bind(values[0]).execute(tx.journal.conn()).await?;
                break (Upsert::Updated, ChangeOp::Update, Some(stored));
            }
            None => {
                let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
                let marks: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (c, _))| placeholder(c, i + 1))
                    .collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({key_column}) DO NOTHING",
                    names.join(", "),
                    marks.join(", ")
                );
                let mut query = sqlx::query(sql_owned(backend, sql));
                for v in values {
                    query = query.bind(*v);
                }
                let inserted = query.execute(tx.journal.conn()).await?;
                if inserted.rows_affected() == 1 {
                    break (Upsert::Inserted, ChangeOp::Create, None);
                }
                if attempts > 2 {
                    return Err(StoreError::Unsupported(format!(
                        "{table} {}: the row was neither inserted nor found",
                        values[0].unwrap_or_default()
                    )));
                }
                // Another transaction inserted this key and has committed: update it.
            }
        }
    };
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
    /// Whether a contract with this id is stored (read in this transaction).
    pub async fn contract_exists(&mut self, contract_id: &str) -> Result<bool, StoreError> {
        self.exists("contracts", "contract_id", contract_id).await
    }

    async fn exists(
        &mut self,
        table: &str,
        key_column: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT 1 FROM {table} WHERE {key_column} = $1");
        Ok(sqlx::query(sql_owned(self.journal.backend(), sql))
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
            sqlx::query_scalar("SELECT id FROM metering_points WHERE gsrn = $1")
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
                    CASE WHEN EXISTS (SELECT 1 FROM meter_value_chunks c WHERE c.metering_point = m.id) THEN 1 ELSE 0 END
             FROM metering_points m WHERE gsrn = $1",
        )
        .bind(gsrn)
        .fetch_optional(self.journal.conn())
        .await?;
        if let Some(row) = &stored {
            let resolution: String = row.get(1);
            let has_readings = row.get::<i64, _>(2) == 1;
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
                 WHERE metering_point = $1 AND role = $2 AND contract_id <> $3",
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
                    sqlx::query_scalar("SELECT gsrn FROM metering_points WHERE id = $1")
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

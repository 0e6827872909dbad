//! Master-data imports: customers, accounts, metering points and contracts. Each row is an
//! idempotent upsert by the utility's id; the whole file is one transaction.

use std::io::Read;
use std::time::Instant;

use nordlys_core::ParseError;
use nordlys_core::ids::{Gln, Gsrn};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, CustomerIdentity, CustomerKind,
    InvoiceChannel, Language, Market, MeteringPoint, PriceArea, UsageKind, Utility, parse_local_id,
    parse_main_fuse_amperes,
};
use nordlys_core::time::{Resolution, parse_date};
use nordlys_store::{ImportCounts, Store, StoreError, StoreTx, Upsert};

use super::csv_table::{CsvTable, Row};
use super::{ErrorList, FirstLines, ImportError, ImportKind, ImportReport, RowError, given_twice};
use crate::Clock;

/// One kind of row-per-record import: its columns, how a row parses, what it is checked
/// against, how it is written. Master data, exchange rates and usage quantities share this
/// driver.
pub(crate) trait MasterRecord: Sized {
    const KIND: ImportKind;
    const REQUIRED: &'static [&'static str];
    const OPTIONAL: &'static [&'static str];
    /// The column (by its order in `REQUIRED` then `OPTIONAL`) an error about a key given
    /// twice in one file names.
    const KEY_COLUMN: usize;
    /// What a row is checked against beyond itself, read from the store once per file.
    type Context;
    async fn context(store: &Store) -> Result<Self::Context, ImportError>;
    fn parse(row: &Row<'_>) -> Result<Self, ParseError>;
    /// The record's key, as a phrase ("customer K1"): a file may give each key once.
    fn key(&self) -> String;
    /// Rules that need the context (a usage quantity needs its contract and product).
    fn check(&self, context: &Self::Context, row: &Row<'_>) -> Result<(), ParseError>;
    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError>;
}

pub(crate) async fn import_master<T: MasterRecord>(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut table = CsvTable::open_import(source, input, T::REQUIRED, T::OPTIONAL)?;
    let context = T::context(store).await?;
    let mut tx = store
        .begin_import(T::KIND.code(), source, clock.now())
        .await?;
    let mut errors = ErrorList::default();
    let mut counts = ImportCounts::default();
    let mut first_lines: FirstLines<String> = FirstLines::default();
    let mut rows_read = 0u64;
    let mut record = csv::StringRecord::new();
    while let Some(next) = table.next_row(&mut record) {
        rows_read += 1;
        if errors.is_full() {
            break;
        }
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let row = table.row(&record);
        let parsed = match T::parse(&row) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(RowError::from_parse(line, e));
                continue;
            }
        };
        let key = parsed.key();
        if let Some(first) = first_lines.earlier(key.clone(), line) {
            let column = row.name(T::KEY_COLUMN);
            errors.push(given_twice(
                line,
                column,
                row.get(T::KEY_COLUMN),
                &key,
                first,
            ));
            continue;
        }
        if let Err(e) = parsed.check(&context, &row) {
            errors.push(RowError::from_parse(line, e));
            continue;
        }
        // Rows after an error are still written, to find their errors too: the transaction
        // is rolled back as a whole when any row failed.
        match parsed.write(&mut tx).await {
            Ok(upsert) => counts.record(upsert),
            Err(StoreError::Rejected(e)) => errors.push(RowError::from_parse(line, e)),
            Err(other) => return Err(other.into()),
        }
    }
    errors.into_result(source)?;
    if rows_read == 0 {
        return Err(ImportError::no_rows(source, true));
    }
    tx.commit(counts).await?;
    Ok(ImportReport {
        kind: T::KIND,
        source: source.to_owned(),
        rows: counts.rows,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        elapsed: started.elapsed(),
    })
}

/// Free text of column number `column`, at most `limit` characters.
fn text(row: &Row<'_>, column: usize, limit: usize) -> Result<String, ParseError> {
    let value = row.get(column);
    if value.chars().count() > limit {
        return Err(ParseError::new(
            row.name(column),
            value,
            format!("longer than {limit} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn required(row: &Row<'_>, column: usize, limit: usize) -> Result<String, ParseError> {
    let value = text(row, column, limit)?;
    if value.is_empty() {
        return Err(ParseError::new(row.name(column), "", "is required"));
    }
    Ok(value)
}

fn email(row: &Row<'_>, column: usize) -> Result<String, ParseError> {
    let value = text(row, column, 254)?;
    check_email(row.name(column), value)
}

/// An e-mail address as the imports and self-service accept it: empty, or `name@domain.tld`.
pub(crate) fn check_email(field: &'static str, value: String) -> Result<String, ParseError> {
    if !value.is_empty() {
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !value.contains(char::is_whitespace)
            });
        if !valid {
            return Err(ParseError::new(
                field,
                value,
                "not an e-mail address (name@domain.tld)",
            ));
        }
    }
    Ok(value)
}

/// Address columns starting at `first`: street, postcode, city, municipality, county.
/// Errors name the columns as the file spells them (`invoice_postcode` for an account).
fn address(row: &Row<'_>, first: usize, country: Market) -> Result<Address, ParseError> {
    let address = Address {
        street: text(row, first, 200)?,
        postcode: text(row, first + 1, 10)?,
        city: text(row, first + 2, 100)?,
        municipality: text(row, first + 3, 10)?,
        county: text(row, first + 4, 100)?,
    };
    address.validate(country).map_err(|e| ParseError {
        field: match e.field {
            "postcode" => row.name(first + 1),
            "municipality" => row.name(first + 3),
            other => other,
        },
        ..e
    })?;
    Ok(address)
}

/// The context of a kind checked by its rows alone.
macro_rules! no_context {
    () => {
        type Context = ();
        async fn context(_store: &Store) -> Result<(), ImportError> {
            Ok(())
        }
        fn check(&self, _context: &(), _row: &Row<'_>) -> Result<(), ParseError> {
            Ok(())
        }
    };
}
pub(crate) use no_context;

impl MasterRecord for Customer {
    const KIND: ImportKind = ImportKind::Customers;
    const REQUIRED: &'static [&'static str] =
        &["customer_id", "kind", "country", "identity", "name"];
    const OPTIONAL: &'static [&'static str] = &[
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "municipality",
        "county",
    ];
    const KEY_COLUMN: usize = 0;
    no_context!();

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let kind = row.parse(1, CustomerKind::parse)?;
        let country = row.parse(2, Market::parse)?;
        Ok(Customer {
            customer_id: row.parse(0, |v| parse_local_id("customer_id", v))?,
            identity: row.parse(3, |v| CustomerIdentity::parse(kind, country, v))?,
            name: required(row, 4, 200)?,
            email: email(row, 5)?,
            phone: text(row, 6, 40)?,
            address: address(row, 7, country)?,
        })
    }

    fn key(&self) -> String {
        format!("customer {}", self.customer_id)
    }

    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
        tx.upsert_customer(self).await
    }
}

impl MasterRecord for Account {
    const KIND: ImportKind = ImportKind::Accounts;
    const REQUIRED: &'static [&'static str] =
        &["account_id", "customer_id", "invoice_channel", "language"];
    const OPTIONAL: &'static [&'static str] = &[
        "payer_customer_id",
        "email",
        "invoice_street",
        "invoice_postcode",
        "invoice_city",
        "invoice_municipality",
        "invoice_county",
        "country",
    ];
    const KEY_COLUMN: usize = 0;
    no_context!();

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let customer_id = row.parse(1, |v| parse_local_id("customer_id", v))?;
        let payer_customer_id = match row.get(4) {
            "" => customer_id.clone(),
            _ => row.parse(4, |v| parse_local_id("payer_customer_id", v))?,
        };
        let country = match row.get(11) {
            "" => Market::No,
            _ => row.parse(11, Market::parse)?,
        };
        let invoice_address = address(row, 6, country)?;
        let channel = row.parse(2, InvoiceChannel::parse)?;
        let email = email(row, 5)?;
        if channel == InvoiceChannel::Email && email.is_empty() {
            return Err(ParseError::new(
                row.name(5),
                "",
                "is required when invoice_channel is email",
            ));
        }
        Ok(Account {
            account_id: row.parse(0, |v| parse_local_id("account_id", v))?,
            customer_id,
            payer_customer_id,
            invoice_channel: channel,
            language: row.parse(3, Language::parse)?,
            email,
            invoice_address: (invoice_address != Address::default()).then_some(invoice_address),
        })
    }

    fn key(&self) -> String {
        format!("account {}", self.account_id)
    }

    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
        tx.upsert_account(self).await
    }
}

impl MasterRecord for MeteringPoint {
    const KIND: ImportKind = ImportKind::MeteringPoints;
    const REQUIRED: &'static [&'static str] = &[
        "metering_point_id",
        "market",
        "price_area",
        "grid_owner",
        "resolution",
        "utility",
        "usage",
    ];
    const OPTIONAL: &'static [&'static str] = &[
        "street",
        "postcode",
        "city",
        "municipality",
        "county",
        "main_fuse_amperes",
        "norgespris_from",
    ];
    const KEY_COLUMN: usize = 0;
    no_context!();

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let market = row.parse(1, Market::parse)?;
        let point = MeteringPoint {
            metering_point_id: row.parse(0, Gsrn::parse)?,
            market,
            price_area: row.parse(2, PriceArea::parse)?,
            grid_owner: row.parse(3, Gln::parse)?,
            resolution: row.parse(4, Resolution::parse)?,
            utility: row.parse(5, Utility::parse)?,
            usage: row.parse(6, UsageKind::parse)?,
            address: address(row, 7, market)?,
            main_fuse_amperes: row.parse(12, parse_main_fuse_amperes)?,
            norgespris_from: match row.get(13) {
                "" => None,
                _ => Some(row.parse(13, |v| parse_date("norgespris_from", v))?),
            },
        };
        // Its fields are named as the columns are: metering_point_id, price_area, postcode…
        point.validate()?;
        Ok(point)
    }

    fn key(&self) -> String {
        format!("metering point {}", self.metering_point_id)
    }

    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
        tx.upsert_metering_point(self).await
    }
}

impl MasterRecord for Contract {
    const KIND: ImportKind = ImportKind::Contracts;
    const REQUIRED: &'static [&'static str] =
        &["contract_id", "account_id", "product_code", "role", "start"];
    const OPTIONAL: &'static [&'static str] = &["metering_point_id", "end"];
    const KEY_COLUMN: usize = 0;
    no_context!();

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let contract = Contract {
            contract_id: row.parse(0, |v| parse_local_id("contract_id", v))?,
            account_id: row.parse(1, |v| parse_local_id("account_id", v))?,
            metering_point_id: match row.get(5) {
                "" => None,
                _ => Some(row.parse(5, Gsrn::parse)?),
            },
            product_code: row.parse(2, |v| parse_local_id("product_code", v))?,
            role: row.parse(3, ContractRole::parse)?,
            start: row.parse(4, |v| parse_date("start", v))?,
            end: match row.get(6) {
                "" => None,
                _ => Some(row.parse(6, |v| parse_date("end", v))?),
            },
        };
        // Its fields are named as the columns are: end, metering_point_id.
        contract.validate()?;
        Ok(contract)
    }

    fn key(&self) -> String {
        format!("contract {}", self.contract_id)
    }

    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
        tx.upsert_contract(self).await
    }
}

pub async fn import_customers(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    import_master::<Customer>(store, source, input, clock).await
}

pub async fn import_accounts(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    import_master::<Account>(store, source, input, clock).await
}

pub async fn import_metering_points(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    import_master::<MeteringPoint>(store, source, input, clock).await
}

pub async fn import_contracts(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    import_master::<Contract>(store, source, input, clock).await
}

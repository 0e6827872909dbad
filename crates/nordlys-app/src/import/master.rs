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
use super::{ErrorList, ImportError, ImportKind, ImportReport, RowError};
use crate::Clock;

/// One kind of row-per-record import: its columns, how a row parses, how it is written.
/// Master data, exchange rates and usage quantities share this driver.
pub(crate) trait MasterRecord: Sized {
    const KIND: ImportKind;
    const REQUIRED: &'static [&'static str];
    const OPTIONAL: &'static [&'static str];
    fn parse(row: &Row<'_>) -> Result<Self, ParseError>;
    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError>;
}

pub(crate) async fn import_master<T: MasterRecord>(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut table = CsvTable::open(input, T::REQUIRED, T::OPTIONAL)
        .map_err(|errors| ImportError::rejected(source, errors, false))?;
    let mut tx = store
        .begin_import(T::KIND.code(), source, clock.now())
        .await?;
    let mut errors = ErrorList::default();
    let mut counts = ImportCounts::default();
    let mut record = csv::StringRecord::new();
    while let Some(next) = table.next_row(&mut record) {
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let parsed = match T::parse(&table.row(&record)) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(RowError::from_parse(line, e));
                if errors.is_full() {
                    break;
                }
                continue;
            }
        };
        // Rows after an error are still written, to find their errors too: the transaction
        // is rolled back as a whole when any row failed.
        match parsed.write(&mut tx).await {
            Ok(upsert) => counts.record(upsert),
            Err(StoreError::Rejected(e)) => errors.push(RowError::from_parse(line, e)),
            Err(other) => return Err(other.into()),
        }
    }
    errors.into_result(source)?;
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

fn text(
    row: &Row<'_>,
    column: usize,
    field: &'static str,
    limit: usize,
) -> Result<String, ParseError> {
    let value = row.get(column);
    if value.chars().count() > limit {
        return Err(ParseError::new(
            field,
            value,
            format!("longer than {limit} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn required(
    row: &Row<'_>,
    column: usize,
    field: &'static str,
    limit: usize,
) -> Result<String, ParseError> {
    let value = text(row, column, field, limit)?;
    if value.is_empty() {
        return Err(ParseError::new(field, "", "is required"));
    }
    Ok(value)
}

fn email(row: &Row<'_>, column: usize) -> Result<String, ParseError> {
    let value = text(row, column, "email", 254)?;
    if !value.is_empty() {
        let valid = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !value.contains(char::is_whitespace)
        });
        if !valid {
            return Err(ParseError::new(
                "email",
                value,
                "not an e-mail address (name@domain.tld)",
            ));
        }
    }
    Ok(value)
}

/// Address columns starting at `first`: street, postcode, city, municipality, county.
fn address(row: &Row<'_>, first: usize, country: Market) -> Result<Address, ParseError> {
    let address = Address {
        street: text(row, first, "street", 200)?,
        postcode: text(row, first + 1, "postcode", 10)?,
        city: text(row, first + 2, "city", 100)?,
        municipality: text(row, first + 3, "municipality", 10)?,
        county: text(row, first + 4, "county", 100)?,
    };
    address.validate(country)?;
    Ok(address)
}

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

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let kind = CustomerKind::parse(row.get(1))?;
        let country = Market::parse(row.get(2)).map_err(|e| ParseError {
            field: "country",
            ..e
        })?;
        Ok(Customer {
            customer_id: parse_local_id("customer_id", row.get(0))?,
            identity: CustomerIdentity::parse(kind, country, row.get(3))?,
            name: required(row, 4, "name", 200)?,
            email: email(row, 5)?,
            phone: text(row, 6, "phone", 40)?,
            address: address(row, 7, country)?,
        })
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

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let customer_id = parse_local_id("customer_id", row.get(1))?;
        let payer = row.get(4);
        let payer_customer_id = if payer.is_empty() {
            customer_id.clone()
        } else {
            parse_local_id("payer_customer_id", payer)?
        };
        let country = match row.get(11) {
            "" => Market::No,
            code => Market::parse(code).map_err(|e| ParseError {
                field: "country",
                ..e
            })?,
        };
        let invoice_address = address(row, 6, country).map_err(|e| ParseError {
            field: match e.field {
                "street" => "invoice_street",
                "postcode" => "invoice_postcode",
                "city" => "invoice_city",
                "municipality" => "invoice_municipality",
                other => other,
            },
            ..e
        })?;
        let channel = InvoiceChannel::parse(row.get(2))?;
        let email = email(row, 5)?;
        if channel == InvoiceChannel::Email && email.is_empty() {
            return Err(ParseError::new(
                "email",
                "",
                "is required when invoice_channel is email",
            ));
        }
        Ok(Account {
            account_id: parse_local_id("account_id", row.get(0))?,
            customer_id,
            payer_customer_id,
            invoice_channel: channel,
            language: Language::parse(row.get(3))?,
            email,
            invoice_address: (invoice_address != Address::default()).then_some(invoice_address),
        })
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

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let market = Market::parse(row.get(1))?;
        let point = MeteringPoint {
            metering_point_id: Gsrn::parse(row.get(0))?,
            market,
            price_area: PriceArea::parse(row.get(2)).map_err(|e| ParseError {
                field: "price_area",
                ..e
            })?,
            grid_owner: Gln::parse(row.get(3)).map_err(|e| ParseError {
                field: "grid_owner",
                ..e
            })?,
            resolution: Resolution::parse(row.get(4))?,
            utility: Utility::parse(row.get(5))?,
            usage: UsageKind::parse(row.get(6))?,
            address: address(row, 7, market)?,
            main_fuse_amperes: parse_main_fuse_amperes(row.get(12))?,
            norgespris_from: match row.get(13) {
                "" => None,
                text => Some(parse_date("norgespris_from", text)?),
            },
        };
        point.validate()?;
        Ok(point)
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

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let point = row.get(5);
        let end = row.get(6);
        let contract = Contract {
            contract_id: parse_local_id("contract_id", row.get(0))?,
            account_id: parse_local_id("account_id", row.get(1))?,
            metering_point_id: if point.is_empty() {
                None
            } else {
                Some(Gsrn::parse(point)?)
            },
            product_code: parse_local_id("product_code", row.get(2))?,
            role: ContractRole::parse(row.get(3))?,
            start: parse_date("start", row.get(4))?,
            end: if end.is_empty() {
                None
            } else {
                Some(parse_date("end", end)?)
            },
        };
        contract.validate()?;
        Ok(contract)
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

//! A customer's right of access (GDPR art. 15 and 20): everything Nordlys holds about them, as a
//! machine-readable ZIP — the customer, their accounts, metering points and contracts as JSON,
//! every document with its lines (the wire schema), the readings of each metering point as
//! meter-values CSV (the import format, every version's latest), and the change journal of their
//! master data. `README.txt` in the archive says what each file is.

use std::io::{Cursor, Write};

use nordlys_store::{Domain, Store};
use serde::Serialize;
use zip::write::SimpleFileOptions;

use crate::export::export_meter_values;
use crate::self_service::{Holdings, SelfServiceError};
use crate::wire::master::{WireAccount, WireContract, WireCustomer, WireMeteringPoint};
use crate::wire::{self, DocumentKey};

const README: &str = "\
Personal data held about you, as of the time in export.json.

customer.json          you as a customer (identity number included)
accounts.json          your accounts: who pays, how invoices reach you
metering_points.json   the metering points of your accounts
contracts.json         your contracts (product, period)
invoices.json          every invoice and credit note, with each line and why it is what it is
readings/GSRN.csv      the readings of each metering point (columns: metering_point_id, start,
                       end, quantity_kwh, quality), the same format the utility imports
changes.json           the history of your master data: every change, when, before and after
";

#[derive(Serialize)]
struct ExportInfo<'a> {
    customer: &'a str,
    exported_at: String,
    files: Vec<String>,
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, SelfServiceError> {
    serde_json::to_vec_pretty(value).map_err(|e| {
        SelfServiceError::Invalid(nordlys_core::ParseError::new(
            "export",
            "",
            format!("cannot write JSON: {e}"),
        ))
    })
}

/// The files of the export: (path in the archive, contents).
pub async fn personal_data_files(
    store: &Store,
    holdings: &Holdings,
    exported_at: jiff::Timestamp,
) -> Result<Vec<(String, Vec<u8>)>, SelfServiceError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push(("README.txt".to_owned(), README.as_bytes().to_vec()));
    files.push((
        "customer.json".to_owned(),
        json(&WireCustomer::new(&holdings.customer, true))?,
    ));
    let accounts: Vec<WireAccount> = holdings.accounts.iter().map(Into::into).collect();
    files.push(("accounts.json".to_owned(), json(&accounts)?));
    let points: Vec<WireMeteringPoint> = holdings.points.iter().map(Into::into).collect();
    files.push(("metering_points.json".to_owned(), json(&points)?));
    let mut contracts: Vec<WireContract> = Vec::new();
    for account in &holdings.accounts {
        let page = store
            .contracts_page(Some(&account.account_id), None, None, 500)
            .await?;
        contracts.extend(page.items.iter().map(WireContract::from));
    }
    files.push(("contracts.json".to_owned(), json(&contracts)?));
    let mut documents = Vec::new();
    for summary in holdings.documents(store, 10_000).await? {
        if let Some(document) = wire::find_document(store, &DocumentKey::Id(summary.id)).await? {
            documents.push(document);
        }
    }
    files.push(("invoices.json".to_owned(), json(&documents)?));
    for point in &holdings.points {
        let mut csv = Vec::new();
        export_meter_values(store, &point.metering_point_id, None, None, None, &mut csv)
            .await
            .map_err(|e| {
                SelfServiceError::Invalid(nordlys_core::ParseError::new(
                    "readings",
                    point.metering_point_id.as_str(),
                    e.to_string(),
                ))
            })?;
        files.push((
            format!("readings/{}.csv", point.metering_point_id.as_str()),
            csv,
        ));
    }
    let mut changes = Vec::new();
    changes.extend(
        store
            .history(Domain::Customer, &holdings.customer.customer_id)
            .await?,
    );
    for account in &holdings.accounts {
        changes.extend(store.history(Domain::Account, &account.account_id).await?);
    }
    for point in &holdings.points {
        changes.extend(
            store
                .history(Domain::MeteringPoint, point.metering_point_id.as_str())
                .await?,
        );
    }
    for contract in &contracts {
        changes.extend(store.history(Domain::Contract, &contract.id).await?);
    }
    changes.sort_by_key(|c| c.seq);
    let changes: Vec<serde_json::Value> = changes.iter().map(|c| c.to_json()).collect();
    files.push(("changes.json".to_owned(), json(&changes)?));
    let info = ExportInfo {
        customer: &holdings.customer.customer_id,
        exported_at: exported_at.to_string(),
        files: files.iter().map(|(name, _)| name.clone()).collect(),
    };
    files.push(("export.json".to_owned(), json(&info)?));
    Ok(files)
}

/// The files as one ZIP archive (deflated).
pub fn zip_files(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, SelfServiceError> {
    let fail = |e: &dyn std::fmt::Display| {
        SelfServiceError::Invalid(nordlys_core::ParseError::new(
            "export",
            "",
            format!("cannot write the archive: {e}"),
        ))
    };
    let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in files {
        archive
            .start_file(name.as_str(), options)
            .map_err(|e| fail(&e))?;
        archive.write_all(contents).map_err(|e| fail(&e))?;
    }
    let cursor = archive.finish().map_err(|e| fail(&e))?;
    Ok(cursor.into_inner())
}

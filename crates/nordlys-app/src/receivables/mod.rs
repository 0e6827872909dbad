//! Receivables: the ledger of each account (charges as issued, payments in, credits), payment
//! files imported and matched to open invoices, and the worklist of what did not match.

pub mod dunning;
pub mod import;
pub mod kpis;
pub mod ledger;
pub mod matching;

use std::collections::HashMap;

use jiff::civil::Date;
use nordlys_store::{Store, StoreError};

use ledger::{OpenItem, ledgers};

/// The invoices of `accounts` as the ledger stands on `as_of`, by document id.
pub async fn items_of_accounts(
    store: &Store,
    accounts: &[String],
    as_of: Date,
) -> Result<HashMap<i64, OpenItem>, StoreError> {
    let basis = store.receivables_basis_of(accounts).await?;
    Ok(ledgers(&basis, as_of)
        .into_values()
        .flat_map(|l| l.items)
        .map(|i| (i.document_id, i))
        .collect())
}

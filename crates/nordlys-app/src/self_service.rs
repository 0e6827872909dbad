//! What a signed-in customer may see and change of their own: which accounts, metering points
//! and documents are theirs (everything else does not exist for them), the invoice channel of
//! an account, and their contact details. Each change is one journaled transaction recorded
//! as made by the customer through the self-service web.

use std::collections::BTreeSet;

use nordlys_core::ParseError;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::{Account, Customer, CustomerKind, InvoiceChannel, MeteringPoint};
use nordlys_store::{DocumentSummary, Store, StoreError};

use crate::Clock;
use crate::import::check_email;

#[derive(Debug, thiserror::Error)]
pub enum SelfServiceError {
    /// Not theirs, or not there: the same answer either way.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A customer's own: accounts they are served by or pay, and the metering points of those.
#[derive(Debug, Clone)]
pub struct Holdings {
    pub customer: Customer,
    pub accounts: Vec<Account>,
    pub points: Vec<MeteringPoint>,
}

impl Holdings {
    /// Everything customer `customer_id` holds.
    pub async fn load(store: &Store, customer_id: &str) -> Result<Holdings, SelfServiceError> {
        let customer = store
            .customer(customer_id)
            .await?
            .ok_or(SelfServiceError::NotFound)?;
        let accounts = store
            .accounts_page(Some(customer_id), None, 500)
            .await?
            .items;
        let mut seen = BTreeSet::new();
        let mut points = Vec::new();
        for account in &accounts {
            for point in store
                .metering_points_page(Some(&account.account_id), None, 500)
                .await?
                .items
            {
                if seen.insert(point.metering_point_id.as_str().to_owned()) {
                    points.push(point);
                }
            }
        }
        Ok(Holdings {
            customer,
            accounts,
            points,
        })
    }

    pub fn account(&self, account_id: &str) -> Result<&Account, SelfServiceError> {
        self.accounts
            .iter()
            .find(|a| a.account_id == account_id)
            .ok_or(SelfServiceError::NotFound)
    }

    pub fn point(&self, gsrn: &str) -> Result<&MeteringPoint, SelfServiceError> {
        self.points
            .iter()
            .find(|p| p.metering_point_id.as_str() == gsrn)
            .ok_or(SelfServiceError::NotFound)
    }

    pub fn owns_point(&self, gsrn: &Gsrn) -> bool {
        self.points.iter().any(|p| &p.metering_point_id == gsrn)
    }

    /// The customer's documents, newest first (at most `limit`).
    pub async fn documents(
        &self,
        store: &Store,
        limit: i64,
    ) -> Result<Vec<DocumentSummary>, SelfServiceError> {
        let mut documents = Vec::new();
        for account in &self.accounts {
            documents.extend(
                store
                    .documents(Some(&account.account_id), None, limit)
                    .await?,
            );
        }
        documents.sort_by_key(|d| std::cmp::Reverse(d.id));
        documents.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(documents)
    }

    /// One of the customer's documents by its number (`F-12`).
    pub async fn document(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<DocumentSummary, SelfServiceError> {
        let key =
            crate::wire::DocumentKey::parse(number).map_err(|_| SelfServiceError::NotFound)?;
        let crate::wire::DocumentKey::Number(number) = key else {
            return Err(SelfServiceError::NotFound);
        };
        let id = store
            .document_id_by_number(&number)
            .await?
            .ok_or(SelfServiceError::NotFound)?;
        let summary = store
            .document(id)
            .await?
            .ok_or(SelfServiceError::NotFound)?;
        self.account(&summary.account_id)?;
        Ok(summary)
    }
}

/// Change how the documents of an account reach its payer. EHF needs an organisation as payer,
/// e-mail an address on the account or the payer.
pub async fn change_invoice_channel(
    store: &Store,
    holdings: &Holdings,
    account_id: &str,
    channel: InvoiceChannel,
    clock: &dyn Clock,
) -> Result<bool, SelfServiceError> {
    let mut account = holdings.account(account_id)?.clone();
    if account.invoice_channel == channel {
        return Ok(false);
    }
    let payer = store
        .customer(&account.payer_customer_id)
        .await?
        .ok_or(SelfServiceError::NotFound)?;
    let invalid = |rule: &str| {
        SelfServiceError::Invalid(ParseError::new("invoice_channel", channel.code(), rule))
    };
    match channel {
        InvoiceChannel::Ehf if payer.identity.kind() != CustomerKind::Organisation => {
            return Err(invalid(
                "EHF reaches organisations through Peppol; a household chooses e-mail, eFaktura or paper",
            ));
        }
        InvoiceChannel::Email if account.email.is_empty() && payer.email.is_empty() => {
            return Err(invalid("add an e-mail address first"));
        }
        _ => {}
    }
    account.invoice_channel = channel;
    let mut tx = store
        .begin_import(
            "self_service",
            &format!(
                "self-service: customer {} changed the invoice channel",
                holdings.customer.customer_id
            ),
            clock.now(),
        )
        .await?;
    tx.upsert_account(&account).await?;
    tx.commit(Default::default()).await?;
    Ok(true)
}

/// Change the customer's e-mail address and phone number.
pub async fn update_contact(
    store: &Store,
    holdings: &Holdings,
    email: &str,
    phone: &str,
    clock: &dyn Clock,
) -> Result<bool, SelfServiceError> {
    let email = check_email("email", email.trim().to_owned()).map_err(SelfServiceError::Invalid)?;
    let phone = phone.trim().to_owned();
    if phone.len() > 32
        || !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
    {
        return Err(SelfServiceError::Invalid(ParseError::new(
            "phone",
            phone,
            "digits, spaces, +, -, ( and ), at most 32 characters",
        )));
    }
    let mut customer = holdings.customer.clone();
    if customer.email == email && customer.phone == phone {
        return Ok(false);
    }
    customer.email = email;
    customer.phone = phone;
    let mut tx = store
        .begin_import(
            "self_service",
            &format!(
                "self-service: customer {} updated contact details",
                customer.customer_id
            ),
            clock.now(),
        )
        .await?;
    tx.upsert_customer(&customer).await?;
    tx.commit(Default::default()).await?;
    Ok(true)
}

//! The wire schema of master data (customers, accounts, metering points, contracts) and of
//! pages of a list: what the API serves. Codes are the import files' spellings; a national
//! identity number is shown only to a caller allowed to see personal data.

use nordlys_core::model::{Account, Address, Contract, Customer, MeteringPoint};
use serde::Serialize;

/// One page of a list, and how to ask for the next.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; null on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn of<S>(page: nordlys_store::Page<S>, item: impl Fn(S) -> T) -> Page<T> {
        Page {
            items: page.items.into_iter().map(item).collect(),
            next: page.next,
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireAddress {
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// Municipality number (decides tax zones).
    pub municipality: String,
    pub county: String,
}

impl From<&Address> for WireAddress {
    fn from(a: &Address) -> Self {
        WireAddress {
            street: a.street.clone(),
            postcode: a.postcode.clone(),
            city: a.city.clone(),
            municipality: a.municipality.clone(),
            county: a.county.clone(),
        }
    }
}

/// A customer: a person or an organisation.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireCustomer {
    pub id: String,
    /// `person` or `organisation`.
    pub kind: String,
    /// `NO` or `DK`.
    pub country: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub address: WireAddress,
    /// Organisation number; a national identity or CPR number only with the `personal_data`
    /// scope (null otherwise).
    pub identity: Option<String>,
}

impl WireCustomer {
    pub fn new(c: &Customer, show_personal_data: bool) -> Self {
        let identity = (!c.identity.is_personal() || show_personal_data)
            .then(|| c.identity.as_str().to_owned());
        WireCustomer {
            id: c.customer_id.clone(),
            kind: c.identity.kind().code().to_owned(),
            country: c.identity.country().code().to_owned(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            address: (&c.address).into(),
            identity,
        }
    }
}

/// An account: what is invoiced together, to whom and how.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireAccount {
    pub id: String,
    /// The customer the account serves.
    pub customer: String,
    /// The customer who pays.
    pub payer: String,
    /// `ehf`, `email`, `efaktura` or `paper`.
    pub invoice_channel: String,
    /// `nb`, `da` or `en`.
    pub language: String,
    pub email: String,
    /// Where paper invoices go, if not to the payer's address.
    pub invoice_address: Option<WireAddress>,
}

impl From<&Account> for WireAccount {
    fn from(a: &Account) -> Self {
        WireAccount {
            id: a.account_id.clone(),
            customer: a.customer_id.clone(),
            payer: a.payer_customer_id.clone(),
            invoice_channel: a.invoice_channel.code().to_owned(),
            language: a.language.code().to_owned(),
            email: a.email.clone(),
            invoice_address: a.invoice_address.as_ref().map(Into::into),
        }
    }
}

/// A metering point, by its GSRN.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireMeteringPoint {
    /// GSRN, 18 digits.
    pub id: String,
    pub market: String,
    /// Price area, e.g. `NO1`.
    pub price_area: String,
    /// GLN of the grid owner.
    pub grid_owner: String,
    /// `PT15M` or `PT1H`.
    pub resolution: String,
    pub utility: String,
    pub usage: String,
    pub address: WireAddress,
    pub main_fuse_amperes: Option<u32>,
    /// First day on Norgespris, if the point chose it (`YYYY-MM-DD`).
    pub norgespris_from: Option<String>,
}

impl From<&MeteringPoint> for WireMeteringPoint {
    fn from(p: &MeteringPoint) -> Self {
        WireMeteringPoint {
            id: p.metering_point_id.as_str().to_owned(),
            market: p.market.code().to_owned(),
            price_area: p.price_area.code().to_owned(),
            grid_owner: p.grid_owner.as_str().to_owned(),
            resolution: p.resolution.code().to_owned(),
            utility: p.utility.code().to_owned(),
            usage: p.usage.code().to_owned(),
            address: (&p.address).into(),
            main_fuse_amperes: p.main_fuse_amperes,
            norgespris_from: p.norgespris_from.map(|d| d.to_string()),
        }
    }
}

/// A contract: an account's product on a metering point (or a service without one).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireContract {
    pub id: String,
    pub account: String,
    /// GSRN; null for a service without a metering point.
    pub metering_point: Option<String>,
    pub product: String,
    /// `supplier`, `grid_owner` or `service_provider`.
    pub role: String,
    /// First day (`YYYY-MM-DD`).
    pub start: String,
    /// The day after the last day; null while open.
    pub end: Option<String>,
}

impl From<&Contract> for WireContract {
    fn from(c: &Contract) -> Self {
        WireContract {
            id: c.contract_id.clone(),
            account: c.account_id.clone(),
            metering_point: c.metering_point_id.as_ref().map(|g| g.as_str().to_owned()),
            product: c.product_code.clone(),
            role: c.role.code().to_owned(),
            start: c.start.to_string(),
            end: c.end.map(|d| d.to_string()),
        }
    }
}

//! Invoice documents as a customer and an access point receive them: the model a renderer
//! needs ([`model`]), and its renderings. Pure: the caller (the app) assembles an
//! [`InvoiceDocument`] from the store; this crate turns it into bytes.

pub mod i18n;
pub mod model;
pub mod pdf;

pub use model::{
    BankAccount, Branding, Buyer, Colour, CorrectedDocument, DailyUsage, DeliveryPoint,
    DocumentPurpose, ElectronicAddress, InvoiceDocument, LocalisedText, PartyIdentity, Seller,
};
pub use pdf::{PdfError, PdfRenderer, RenderedPdf};

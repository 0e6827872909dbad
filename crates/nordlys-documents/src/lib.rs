//! Invoice documents as a customer and an access point receive them: the model a renderer
//! needs ([`model`]), and its renderings. Pure: the caller (the app) assembles an
//! [`InvoiceDocument`] from the store; this crate turns it into bytes.

#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod i18n;
pub mod model;
pub mod pdf;
pub mod ubl;

pub use model::{
    BankAccount, Branding, Buyer, Colour, CorrectedDocument, DailyUsage, DeliveryPoint,
    DocumentPurpose, ElectronicAddress, InvoiceDocument, LocalisedText, PartyIdentity, Seller,
};
pub use pdf::{PdfError, PdfRenderer, RenderedPdf};
pub use ubl::{DocumentProblem, DocumentProblems, UblProfile, render_ubl};

//! EHF: an issued document as UBL 2.1 `Invoice` or `CreditNote` XML, Peppol BIS Billing 3.0
//! for a buyer with a Peppol endpoint, plain EN 16931 for one without (households).
//!
//! [`render_ubl`] checks the document first ([`check`]) and returns every reason it cannot be
//! made as [`DocumentProblems`], before any bytes exist; otherwise it writes the XML straight
//! into one pre-sized buffer ([`xml`]). The output is deterministic: the same document gives
//! the same bytes. Signs: see [`lines`]; element order and parties: see [`document`].

mod check;
pub mod codes;
mod document;
mod lines;
mod problems;
mod xml;

pub use document::{EN16931_CUSTOMIZATION_ID, PEPPOL_CUSTOMIZATION_ID, PEPPOL_PROFILE_ID};
pub use problems::{DocumentProblem, DocumentProblems, LineRef};

use crate::model::{Buyer, InvoiceDocument};

/// Which rules the XML is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UblProfile {
    /// Peppol BIS Billing 3.0 (EHF): both parties have Peppol endpoints; passes the CEN
    /// EN 16931 and the Peppol rules.
    Peppol,
    /// EN 16931 without the Peppol-only parts (customization and profile ids): for a buyer
    /// with no Peppol endpoint, such as a household (PEPPOL-EN16931-R010 requires one).
    /// Passes the CEN EN 16931 rules.
    En16931,
}

impl UblProfile {
    /// Peppol for a buyer with an endpoint, EN 16931 for one without.
    pub fn for_buyer(buyer: &Buyer) -> UblProfile {
        if buyer.endpoint.is_some() {
            UblProfile::Peppol
        } else {
            UblProfile::En16931
        }
    }
}

/// The document as UBL XML (UTF-8), or every reason it cannot be made.
pub fn render_ubl(
    document: &InvoiceDocument,
    profile: UblProfile,
) -> Result<Vec<u8>, DocumentProblems> {
    let mut problems = check::problems_of(document, profile);
    // Written even when a check failed, so a forbidden character is reported with the rest.
    let (xml, forbidden) = document::write_document(document, profile);
    problems.extend(
        forbidden
            .into_iter()
            .map(|text| DocumentProblem::ForbiddenCharacter {
                location: text.location,
                value: text.value,
            }),
    );
    if problems.is_empty() {
        Ok(xml.into_bytes())
    } else {
        Err(DocumentProblems {
            document: document.document.display_number(),
            problems,
        })
    }
}

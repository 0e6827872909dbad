//! Peppol participant lookup: does a business receive EHF (Peppol BIS Billing 3.0)?
//!
//! The pure part knows Peppol's vocabulary and formats: participant identifiers
//! ([`ParticipantId`], ICD 0192 / 0184 checked with core's `OrgNumber` / `CvrNumber`), the SML's
//! DNS name of a participant, U-NAPTR ([`naptr`]), the SMP's URLs and documents ([`smp`]), and
//! the Peppol Directory's exports ([`directory`]). The online part ([`lookup`]) asks DNS and
//! the SMP. Neither knows SQL or the clock: the caller passes `now`, and caches the
//! [`Capability`] it gets (the store's `peppol_participants`).

pub mod directory;
pub mod lookup;
pub mod naptr;
pub mod participant;
pub mod smp;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod xml;

pub use directory::{DirectoryEntry, DirectoryError, DirectoryFormat, read_directory};
pub use lookup::{
    Lookup, LookupConfig, LookupError, LookupOutcome, PRODUCTION_SML_ZONE, Registration,
    TEST_SML_ZONE,
};
pub use participant::ParticipantId;
pub use smp::{BisDocument, Endpoint};
pub use xml::XmlError;

use jiff::Timestamp;

/// Where a capability was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapabilitySource {
    /// An imported Peppol Directory export (its document types).
    Directory,
    /// An online lookup: SML (NAPTR) and the participant's SMP.
    Sml,
}

impl CapabilitySource {
    pub fn code(self) -> &'static str {
        match self {
            CapabilitySource::Directory => "directory",
            CapabilitySource::Sml => "sml",
        }
    }

    pub fn parse(code: &str) -> Option<CapabilitySource> {
        match code {
            "directory" => Some(CapabilitySource::Directory),
            "sml" => Some(CapabilitySource::Sml),
            _ => None,
        }
    }
}

/// Which BIS Billing 3.0 documents a participant receives, from where, as of when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub can_receive_invoice: bool,
    pub can_receive_credit_note: bool,
    pub source: CapabilitySource,
    pub checked_at: Timestamp,
}

impl Capability {
    /// EHF means the invoice: a participant that receives BIS 3.0 invoices gets EHF.
    pub fn receives_ehf(&self) -> bool {
        self.can_receive_invoice
    }
}

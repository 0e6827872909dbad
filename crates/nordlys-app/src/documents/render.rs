//! A document's renditions as sent, made once and kept: the EHF XML and the PDF (PDF/A-3 with
//! that XML embedded) are rendered at first need and stored with their SHA-256; every later
//! need — showing, exporting, sending, a resend years later — gets the stored bytes, so a
//! template, profile or code change never alters an issued document.

use nordlys_core::model::{CustomerIdentity, CustomerKind, InvoiceChannel};
use nordlys_documents::{
    DocumentProblems, ElectronicAddress, InvoiceDocument, PartyIdentity, UblProfile, render_ubl,
};
use nordlys_store::{Rendition, Store, StoreError};

use super::assemble::{AssembleError, assemble_document};
use super::issuer::{IssuerProfile, parse_issuer_profile};
use crate::Clock;
use crate::peppol::{PeppolError, PeppolPolicy, capability_of, participant_of, receives_ehf};

/// What rendering needs besides the store: the issuer profile and the PDF renderer (fonts and
/// templates loaded once).
pub struct RenderContext {
    pub profile: IssuerProfile,
    pdf: nordlys_documents::pdf::PdfRenderer,
    /// Online Peppol lookups (SML/SMP) for buyers without a fresh cached answer; `None`: the
    /// cache (imported Directory exports, earlier lookups) alone.
    peppol: Option<(nordlys_peppol::Lookup, PeppolPolicy)>,
}

impl RenderContext {
    /// The context for the issuer profile stored in `store` (its latest version).
    pub async fn load(store: &Store) -> Result<RenderContext, RenderError> {
        let stored = store
            .issuer_profile(None)
            .await?
            .ok_or(RenderError::NoProfile)?;
        let profile = parse_issuer_profile(&stored.body, stored.version)
            .map_err(|e| RenderError::Profile(e.to_string()))?;
        Ok(RenderContext {
            profile,
            pdf: nordlys_documents::pdf::PdfRenderer::new()
                .map_err(|e| RenderError::Profile(format!("the PDF renderer cannot start: {e}")))?,
            peppol: None,
        })
    }

    /// Look buyers up online (SML/SMP) where the cache has no fresh answer.
    pub fn with_peppol_lookup(
        mut self,
        lookup: nordlys_peppol::Lookup,
        policy: PeppolPolicy,
    ) -> Self {
        self.peppol = Some((lookup, policy));
        self
    }

    /// One print file: a cover list of `documents`, then per document an address page and its
    /// pages (from the stored PDF's document, rendered for paper).
    pub fn print_run(&self, documents: &[&Renditions]) -> Result<Vec<u8>, String> {
        let documents: Vec<&InvoiceDocument> = documents.iter().map(|r| &r.document).collect();
        self.pdf
            .render_print_run(&documents)
            .map_err(|e| e.to_string())
    }
}

/// A document with its kept renditions.
#[derive(Debug, Clone)]
pub struct Renditions {
    /// The number as printed, `F-12`.
    pub number: String,
    pub document: InvoiceDocument,
    /// The account's chosen channel.
    pub channel: InvoiceChannel,
    pub xml: Rendition,
    pub pdf: Rendition,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no issuer profile is set: documents need a seller and its payment account (`nordlys issuer set FILE`)"
    )]
    NoProfile,
    #[error("{0}")]
    Profile(String),
    /// The document cannot be made as it stands; nothing is rendered or kept.
    #[error("document {number} is held: {reason}")]
    Held { number: String, reason: String },
    #[error("no document has id {0}")]
    UnknownDocument(i64),
    /// The buyer's Peppol capability could not be learnt now (DNS or SMP away): the document
    /// is left for a later run rather than rendered on a guess.
    #[error("document {number}: {reason}")]
    Lookup { number: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AssembleError> for RenderError {
    fn from(error: AssembleError) -> Self {
        match error {
            AssembleError::UnknownDocument(id) => RenderError::UnknownDocument(id),
            AssembleError::Incomplete { number, reason } => RenderError::Held { number, reason },
            AssembleError::Store(error) => RenderError::Store(error),
        }
    }
}

/// The buyer's Peppol endpoint, if it receives EHF (at its registry number's address, scheme
/// 0192 or 0184). An organisation's Peppol answer decides — a fresh cached one (an imported
/// Directory export or an earlier lookup), else an online lookup when the context has one; a
/// credit note needs the credit-note capability. Without any answer, the account's choice:
/// an organisation whose account asks for EHF receives it. Persons never have an endpoint.
async fn buyer_endpoint(
    store: &Store,
    context: &RenderContext,
    identity: &CustomerIdentity,
    channel: InvoiceChannel,
    credit_note: bool,
    clock: &dyn Clock,
) -> Result<Option<ElectronicAddress>, PeppolError> {
    if identity.kind() != CustomerKind::Organisation {
        return Ok(None);
    }
    let address = PartyIdentity::of_customer(identity).map(|party| party.electronic_address());
    let capability = match &context.peppol {
        Some((lookup, policy)) => receives_ehf(store, lookup, identity, policy, clock)
            .await?
            .map(|answer| answer.capability),
        None => match participant_of(identity) {
            Some(participant) => {
                let policy = PeppolPolicy::default();
                store
                    .peppol_participant(&participant.full())
                    .await?
                    .filter(|cached| clock.now().duration_since(cached.checked_at) < policy.max_age)
                    .as_ref()
                    .and_then(capability_of)
            }
            None => None,
        },
    };
    Ok(match capability {
        Some(capability) => {
            let receives = if credit_note {
                capability.can_receive_credit_note
            } else {
                capability.can_receive_invoice
            };
            address.filter(|_| receives)
        }
        None => address.filter(|_| channel == InvoiceChannel::Ehf),
    })
}

/// The document `document_id` with its renditions: the stored ones, or rendered now and kept.
pub async fn renditions(
    store: &Store,
    context: &RenderContext,
    document_id: i64,
    clock: &dyn Clock,
) -> Result<Renditions, RenderError> {
    let summary = store
        .document(document_id)
        .await?
        .ok_or(RenderError::UnknownDocument(document_id))?;
    let account = store.account(&summary.account_id).await?;
    let channel = account
        .as_ref()
        .map_or(InvoiceChannel::Paper, |a| a.invoice_channel);
    let payer = match &account {
        Some(account) => store.customer(&account.payer_customer_id).await?,
        None => None,
    };
    let number = summary.display_number();
    let credit_note = summary.kind == nordlys_core::document::DocumentKind::CreditNote;
    let endpoint = match &payer {
        Some(payer) => buyer_endpoint(store, context, &payer.identity, channel, credit_note, clock)
            .await
            .map_err(|e| RenderError::Lookup {
                number: number.clone(),
                reason: e.to_string(),
            })?,
        None => None,
    };
    let document = assemble_document(store, document_id, &context.profile, endpoint).await?;
    let held = |reason: String| RenderError::Held {
        number: number.clone(),
        reason,
    };
    let now = clock.now();
    let xml = match store.rendition(document_id, "xml").await? {
        Some(stored) => stored,
        None => {
            let profile = UblProfile::for_buyer(&document.buyer);
            let bytes = render_ubl(&document, profile).map_err(|e| held(problems_text(&e)))?;
            store
                .keep_rendition(document_id, "xml", bytes, context.profile.version, now)
                .await?
        }
    };
    let pdf = match store.rendition(document_id, "pdf").await? {
        Some(stored) => stored,
        None => {
            let bytes = context
                .pdf
                .render_pdf(&document, Some(&xml.content))
                .map_err(|e| held(e.to_string()))?;
            store
                .keep_rendition(document_id, "pdf", bytes, context.profile.version, now)
                .await?
        }
    };
    Ok(Renditions {
        number,
        document,
        channel,
        xml,
        pdf,
    })
}

/// Every reason a document cannot be made, on one line.
fn problems_text(problems: &DocumentProblems) -> String {
    problems
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

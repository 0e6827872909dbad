//! PDF invoices a person reads: typst lays out the templates (`templates/*.typ`) from JSON
//! built here ([`view`]), with embedded fonts and no network, into a PDF/A-3a that is also
//! PDF/UA-1 (tagged for screen readers), whose attachment is the EHF XML, so one file serves
//! the archive and the machine. A print run is one PDF: a cover list, then per document an
//! address page for a window envelope and the document's pages.
//!
//! [`PdfRenderer`] parses fonts, templates and messages once and is `Send + Sync`: threads
//! share one renderer (typst's caches are shared and thread-safe).

mod chart;
mod explain;
mod print;
mod view;
mod world;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use typst::diag::{Severity, SourceDiagnostic};
use typst::ecow::EcoVec;
use typst::foundations::{Bytes, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

use crate::i18n::{I18nError, Localiser};
use crate::model::InvoiceDocument;
use world::{Assets, JobWorld};

/// typst memoises layouts and PDF parts in one global cache. It is trimmed after every
/// `CACHE_EVICT_EVERY`th rendering (trimming after each cost a tenth of the time), dropping
/// what was not used during the last `CACHE_MAX_AGE` trims: a run of 100,000 documents stays
/// at about 130 MB while the template's unchanging parts stay cached.
const CACHE_EVICT_EVERY: usize = 8;
const CACHE_MAX_AGE: usize = 2;

/// Why a document could not be rendered. Every variant names the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// The document itself is inconsistent (a line whose contract no delivery point lists).
    Input(String),
    /// A label is missing or broken in a language's messages.
    I18n(I18nError),
    /// Typst could not lay the document out (a broken logo SVG, a template error).
    Layout {
        document: String,
        messages: Vec<String>,
    },
    /// The laid-out document could not be written as PDF/A.
    Export {
        document: String,
        messages: Vec<String>,
    },
}

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PdfError::Input(message) => write!(f, "{message}"),
            PdfError::I18n(error) => write!(f, "{error}"),
            PdfError::Layout { document, messages } => {
                write!(
                    f,
                    "{document}: cannot lay out the PDF: {}",
                    messages.join("; ")
                )
            }
            PdfError::Export { document, messages } => {
                write!(
                    f,
                    "{document}: cannot write the PDF: {}",
                    messages.join("; ")
                )
            }
        }
    }
}

impl std::error::Error for PdfError {}

impl From<I18nError> for PdfError {
    fn from(error: I18nError) -> Self {
        PdfError::I18n(error)
    }
}

/// A rendered PDF and how many pages it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
}

/// Renders invoices and credit notes as PDF; build once, share between threads.
pub struct PdfRenderer {
    assets: Assets,
    localiser: Localiser,
    renderings: AtomicUsize,
}

impl fmt::Debug for PdfRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdfRenderer")
            .field("fonts", &self.assets.font_count())
            .finish_non_exhaustive()
    }
}

fn messages(diagnostics: &EcoVec<SourceDiagnostic>) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let mut text = d.message.to_string();
            for hint in &d.hints {
                text.push_str(" (hint: ");
                text.push_str(&hint.v);
                text.push(')');
            }
            text
        })
        .collect()
}

/// The standards, which typst enforces: PDF/A-3a (archival, tagged, Unicode text, embedded
/// files allowed) and PDF/UA-1 (accessible: title shown, headings from level 1, alt texts).
fn pdf_options(ident: String) -> Result<PdfOptions, PdfError> {
    let standards =
        PdfStandards::new(&[PdfStandard::A_3a, PdfStandard::Ua_1]).map_err(|error| {
            PdfError::Export {
                document: ident.clone(),
                messages: vec![error.message().to_string()],
            }
        })?;
    Ok(PdfOptions {
        ident: Smart::Custom(ident),
        creator: Smart::Custom(Some("Nordlys".to_owned())),
        standards,
        tagged: true,
        ..PdfOptions::default()
    })
}

impl PdfRenderer {
    /// Parse the embedded fonts, templates and messages.
    pub fn new() -> Result<Self, PdfError> {
        Ok(PdfRenderer {
            assets: Assets::new(),
            localiser: Localiser::new()?,
            renderings: AtomicUsize::new(0),
        })
    }

    /// The messages documents are written with.
    pub fn localiser(&self) -> &Localiser {
        &self.localiser
    }

    /// One document as a PDF/A-3a and PDF/UA-1; `attachment` (the EHF XML) is embedded as `<number>.xml`,
    /// relationship Alternative, type `application/xml`.
    pub fn render_pdf(
        &self,
        document: &InvoiceDocument,
        attachment: Option<&[u8]>,
    ) -> Result<Vec<u8>, PdfError> {
        self.render(document, attachment).map(|pdf| pdf.bytes)
    }

    /// [`render_pdf`](Self::render_pdf) with the page count.
    pub fn render(
        &self,
        document: &InvoiceDocument,
        attachment: Option<&[u8]>,
    ) -> Result<RenderedPdf, PdfError> {
        let number = document.document.display_number();
        let name = attachment.map(|_| format!("{number}.xml"));
        let view = view::document_view(&self.localiser, document, name)
            .map_err(|error| in_document(&number, error))?;
        let data = serde_json::to_vec(&serde_json::json!({ "document": view }))
            .map_err(|error| PdfError::Input(format!("{number}: {error}")))?;
        let logos = document
            .branding
            .logo_svg
            .iter()
            .map(|svg| Bytes::from_string(svg.clone()))
            .collect();
        let world = JobWorld::new(
            &self.assets,
            world::SINGLE,
            data,
            logos,
            attachment.map(|xml| Bytes::new(xml.to_vec())),
        );
        self.compile(&world, &number, ident(document))
    }

    /// A print run as one PDF: a cover list of `documents`, then per document an address page
    /// for a window envelope followed by its pages. The cover is in the first document's
    /// language; each document in its own.
    pub fn render_print_run(&self, documents: &[&InvoiceDocument]) -> Result<Vec<u8>, PdfError> {
        self.render_print_run_counted(documents)
            .map(|pdf| pdf.bytes)
    }

    /// [`render_print_run`](Self::render_print_run) with the page count.
    pub fn render_print_run_counted(
        &self,
        documents: &[&InvoiceDocument],
    ) -> Result<RenderedPdf, PdfError> {
        let job = print::print_run_job(&self.localiser, documents)?;
        let world = JobWorld::new(&self.assets, world::PRINT_RUN, job.data, job.logos, None);
        self.compile(&world, &job.title, job.ident)
    }

    fn compile(
        &self,
        world: &JobWorld<'_>,
        name: &str,
        ident: String,
    ) -> Result<RenderedPdf, PdfError> {
        let compiled = typst::compile::<PagedDocument>(world).output;
        if self.renderings.fetch_add(1, Ordering::Relaxed) % CACHE_EVICT_EVERY
            == CACHE_EVICT_EVERY - 1
        {
            typst::comemo::evict(CACHE_MAX_AGE);
        }
        let layout = compiled.map_err(|diagnostics| PdfError::Layout {
            document: name.to_owned(),
            messages: messages(&diagnostics),
        })?;
        let bytes = typst_pdf::pdf(&layout, &pdf_options(ident)?).map_err(|diagnostics| {
            PdfError::Export {
                document: name.to_owned(),
                messages: messages(&diagnostics),
            }
        })?;
        Ok(RenderedPdf {
            bytes,
            pages: layout.pages().len(),
        })
    }
}

/// A stable identifier of a document across renderings: seller and number.
fn ident(document: &InvoiceDocument) -> String {
    format!(
        "{}/{}",
        document.seller.identity.number(),
        document.document.display_number()
    )
}

fn in_document(number: &str, error: PdfError) -> PdfError {
    match error {
        PdfError::Input(message) => PdfError::Input(format!("{number}: {message}")),
        other => other,
    }
}

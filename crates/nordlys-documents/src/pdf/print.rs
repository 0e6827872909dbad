//! The JSON of a print run (`templates/print-run.typ`): the cover list's texts in the first
//! document's language, and per document its view, its cover row and which of the run's
//! distinct logos it draws (a run of one utility shares one logo file).

use serde::Serialize;
use typst::foundations::Bytes;

use nordlys_core::document::DocumentKind;

use super::PdfError;
use super::view::{self, DateParts, DocumentView, Writer};
use super::world::logo_path;
use crate::i18n::{Localiser, format};
use crate::model::InvoiceDocument;

/// The most documents one print run may hold (a run's PDF is built in memory).
pub const PRINT_RUN_MAX_DOCUMENTS: usize = 5_000;

#[derive(Serialize)]
struct RunView {
    title: String,
    sender: String,
    date: DateParts,
    lang: &'static str,
    heading: String,
    summary: String,
    columns: [String; 5],
}

#[derive(Serialize)]
struct CoverRow {
    number: String,
    buyer: String,
    postcode: String,
    amount: String,
}

#[derive(Serialize)]
struct Entry {
    document: DocumentView,
    cover: CoverRow,
    logo: Option<String>,
}

/// What the renderer hands typst for a print run.
pub(crate) struct PrintJob {
    pub title: String,
    pub ident: String,
    pub data: Vec<u8>,
    pub logos: Vec<Bytes>,
}

pub(crate) fn print_run_job(
    localiser: &Localiser,
    documents: &[&InvoiceDocument],
) -> Result<PrintJob, PdfError> {
    let Some(first) = documents.first() else {
        return Err(PdfError::Input(
            "a print run needs at least one document".to_owned(),
        ));
    };
    if documents.len() > PRINT_RUN_MAX_DOCUMENTS {
        return Err(PdfError::Input(format!(
            "a print run holds at most {PRINT_RUN_MAX_DOCUMENTS} documents, not {}; split it",
            documents.len()
        )));
    }
    let w = Writer {
        localiser,
        language: first.language,
    };
    let mut logos: Vec<&str> = Vec::new();
    let mut entries = Vec::with_capacity(documents.len());
    for document in documents {
        let number = document.document.display_number();
        let view = view::document_view(localiser, document, None).map_err(|error| match error {
            PdfError::Input(message) => PdfError::Input(format!("{number}: {message}")),
            other => other,
        })?;
        let logo = document.branding.logo_svg.as_deref().map(|svg| {
            let index = logos
                .iter()
                .position(|known| *known == svg)
                .unwrap_or_else(|| {
                    logos.push(svg);
                    logos.len() - 1
                });
            logo_path(index)
        });
        let issued = &document.document.document;
        let gross = if issued.kind == DocumentKind::CreditNote {
            -issued.gross
        } else {
            issued.gross
        };
        entries.push(Entry {
            cover: CoverRow {
                number: view.title.clone(),
                buyer: document.buyer.name.clone(),
                postcode: document.buyer.address.postcode.clone(),
                amount: format::money(gross, issued.currency, first.language),
            },
            document: view,
            logo,
        });
    }
    let last_date = documents
        .iter()
        .map(|d| d.document.document.issue_date)
        .max()
        .unwrap_or(first.document.document.issue_date);
    let heading = w.text("cover-heading", &[])?;
    let title = format!(
        "{heading} {} {}",
        first.seller.name,
        format::date(last_date, w.language)
    );
    let run = RunView {
        title: title.clone(),
        sender: first.seller.name.clone(),
        date: last_date.into(),
        lang: first.language.code(),
        heading,
        summary: w.text(
            "cover-run",
            &[
                ("count", &documents.len().to_string()),
                ("pages", "{pages}"),
            ],
        )?,
        columns: [
            w.text("cover-column-number", &[])?,
            w.text("cover-column-buyer", &[])?,
            w.text("cover-column-postcode", &[])?,
            w.text("cover-column-pages", &[])?,
            w.text("cover-column-amount", &[])?,
        ],
    };
    let data = serde_json::to_vec(&serde_json::json!({ "run": run, "documents": entries }))
        .map_err(|error| PdfError::Input(format!("{title}: {error}")))?;
    Ok(PrintJob {
        ident: format!(
            "{}/print/{}/{}",
            first.seller.identity.number(),
            first.document.display_number(),
            documents.len()
        ),
        title,
        data,
        logos: logos
            .into_iter()
            .map(|svg| Bytes::from_string(svg.to_owned()))
            .collect(),
    })
}

//! Writes the test fixtures as PDFs into a folder, to look at them:
//! `cargo run -p nordlys-documents --example render-fixtures -- /tmp/nordlys-pdf`.

#[path = "../tests/support/pdf_fixtures.rs"]
mod fixtures;

use nordlys_core::model::Language;
use nordlys_documents::PdfRenderer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "nordlys-pdf".into());
    std::fs::create_dir_all(&folder)?;
    let renderer = PdfRenderer::new()?;
    let documents = [
        ("household-nb", fixtures::household(Language::Nb)),
        ("household-en", fixtures::household(Language::En)),
        ("business-en", fixtures::business(Language::En)),
        ("credit-note-da", fixtures::credit_note(Language::Da)),
        ("broadband-nb", fixtures::with_broadband(Language::Nb)),
        ("long-nb", fixtures::long_invoice(Language::Nb)),
    ];
    for (name, document) in &documents {
        // A stand-in for the EHF XML, to see the attachment in a reader.
        let xml = format!(
            "<Invoice><ID>{}</ID></Invoice>\n",
            document.document.display_number()
        );
        let pdf = renderer.render(document, Some(xml.as_bytes()))?;
        let path = format!("{folder}/{name}.pdf");
        std::fs::write(&path, &pdf.bytes)?;
        println!("{path}: {} pages", pdf.pages);
    }
    // The shared fixtures of every kind, with their real EHF attached.
    for (kind, document) in nordlys_documents::fixtures::all() {
        let profile = nordlys_documents::UblProfile::for_buyer(&document.buyer);
        let xml = nordlys_documents::render_ubl(&document, profile)?;
        let pdf = renderer.render(&document, Some(&xml))?;
        let path = format!("{folder}/fixture-{}.pdf", kind.name());
        std::fs::write(&path, &pdf.bytes)?;
        println!("{path}: {} pages", pdf.pages);
    }
    let run: Vec<_> = documents.iter().map(|(_, d)| d).collect();
    let path = format!("{folder}/print-run.pdf");
    std::fs::write(&path, renderer.render_print_run(&run)?)?;
    println!("{path}");
    Ok(())
}

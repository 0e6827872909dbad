//! PDF invoices as a reader and an archive see them: every page renders (pdftoppm) and is not
//! blank, the text a payer checks is there and selectable (pdftotext), the EHF XML comes out
//! of the attachment byte for byte (pdfdetach), and the file says it is PDF/A-3 (pdfinfo).
//! The poppler tools are installed when missing (as root), else the test says what is missing
//! and skips; `scripts/test-all.sh` installs them so CI runs these for real.

#[path = "support/pdf_fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use nordlys_core::model::Language;
use nordlys_documents::i18n::format;
use nordlys_documents::{InvoiceDocument, PdfError, PdfRenderer, UblProfile, render_ubl};

fn renderer() -> &'static PdfRenderer {
    static RENDERER: OnceLock<PdfRenderer> = OnceLock::new();
    RENDERER.get_or_init(|| PdfRenderer::new().expect("the embedded templates and messages load"))
}

/// Whether poppler's tools are here, installing Debian's poppler-utils once if we are root.
fn poppler() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    *PRESENT.get_or_init(|| {
        let present = || {
            ["pdftoppm", "pdftotext", "pdfdetach", "pdfinfo"]
                .iter()
                .all(|tool| Command::new(tool).arg("-v").output().is_ok())
        };
        if present() {
            return true;
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        if root {
            let install = |args: &[&str]| {
                Command::new("apt-get")
                    .args(args)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let _ = install(&["install", "-y", "--no-install-recommends", "poppler-utils"])
                || (install(&["update"])
                    && install(&["install", "-y", "--no-install-recommends", "poppler-utils"]));
        }
        present()
    })
}

macro_rules! require_poppler {
    () => {
        if !poppler() {
            eprintln!("skipped: poppler-utils (pdftoppm, pdftotext, pdfdetach) is missing and could not be installed");
            return;
        }
    };
}

struct Rendered {
    dir: tempfile::TempDir,
    pdf: PathBuf,
    pages: usize,
}

impl Rendered {
    fn new(bytes: &[u8], pages: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("document.pdf");
        std::fs::write(&pdf, bytes).unwrap();
        Rendered { dir, pdf, pages }
    }

    fn run(&self, tool: &str, args: &[&str]) -> String {
        let output = Command::new(tool).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The text of pages `first..=last` (all when `None`), no-break spaces as spaces.
    fn text(&self, pages: Option<(usize, usize)>) -> String {
        let pdf = self.pdf.to_str().unwrap();
        let mut args = vec!["-layout".to_owned(), "-enc".to_owned(), "UTF-8".to_owned()];
        if let Some((first, last)) = pages {
            args.extend([
                "-f".into(),
                first.to_string(),
                "-l".into(),
                last.to_string(),
            ]);
        }
        args.extend([pdf.to_owned(), "-".to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("pdftotext", &args).replace('\u{a0}', " ")
    }

    /// Renders every page as PNG (must succeed for each) and, in grey at low resolution,
    /// returns each page's share of dark pixels.
    fn page_ink(&self) -> Vec<f64> {
        let pdf = self.pdf.to_str().unwrap();
        let png = self.dir.path().join("page");
        self.run(
            "pdftoppm",
            &["-png", "-r", "40", pdf, png.to_str().unwrap()],
        );
        let pngs = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "png")
            })
            .count();
        assert_eq!(pngs, self.pages, "one PNG per page");
        let grey = self.dir.path().join("grey");
        self.run(
            "pdftoppm",
            &["-gray", "-r", "30", pdf, grey.to_str().unwrap()],
        );
        let mut images: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
            .collect();
        images.sort();
        images.iter().map(|path| ink(path)).collect()
    }
}

/// The share of pixels that are not white in a binary PGM (P5) image.
fn ink(path: &Path) -> f64 {
    let bytes = std::fs::read(path).unwrap();
    // Header: "P5", width, height, maxval, each followed by whitespace.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    let pixels = &bytes[at + 1..];
    pixels.iter().filter(|&&p| p < 200).count() as f64 / pixels.len() as f64
}

fn render(document: &InvoiceDocument, xml: Option<&[u8]>) -> Rendered {
    let pdf = renderer().render(document, xml).unwrap();
    Rendered::new(&pdf.bytes, pdf.pages)
}

fn ehf_xml(number: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><cbc:ID xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">{number}</cbc:ID><!-- æøå --></Invoice>\n"
    )
    .into_bytes()
}

fn assert_contains(text: &str, expected: &str) {
    assert!(
        text.contains(expected),
        "`{expected}` is not in the text:\n{text}"
    );
}

fn assert_pages_render_with_ink(rendered: &Rendered) {
    let ink = rendered.page_ink();
    assert_eq!(ink.len(), rendered.pages);
    for (page, share) in ink.iter().enumerate() {
        // A blank page has none; the sparsest real page (an address page) has about 1 %.
        assert!(*share > 0.001, "page {} looks blank ({share})", page + 1);
    }
}

#[test]
fn a_household_invoice_shows_what_a_payer_checks_in_each_language() {
    require_poppler!();
    for (language, amount, due, period) in [
        (
            Language::Nb,
            "1 500,00 kr",
            "20.02.2025",
            "01.01.2025–31.01.2025",
        ),
        (
            Language::Da,
            "1.500,00 NOK",
            "20.02.2025",
            "01.01.2025–31.01.2025",
        ),
        (
            Language::En,
            "NOK 1,500.00",
            "20 Feb 2025",
            "1 Jan 2025 – 31 Jan 2025",
        ),
    ] {
        let document = fixtures::household(language);
        let rendered = render(&document, Some(&ehf_xml("F-1001")));
        assert!(rendered.pages >= 2, "page 1 and the details");
        assert_pages_render_with_ink(&rendered);
        let text = rendered.text(None);
        let kid = document.document.kid.as_ref().unwrap().as_str();
        for expected in [
            "F-1001",
            kid,
            amount,
            due,
            period,
            "1234.56.78903",
            "923 609 016 MVA",
            "Foretaksregisteret",
            "Kari Nordmann",
            "Lillevegen 7",
            "707057500000000124",
            "Nordlys Energi AS",
        ] {
            assert_contains(&text, expected);
        }
        // VAT is stated: 25 % of the net, in NOK.
        let vat = format::amount("300".parse().unwrap(), language);
        assert_contains(&text, &vat);
        // Details: every line with quantity, unit price and amount; the subsidy's effect.
        let details = rendered.text(Some((2, rendered.pages)));
        assert_contains(&details, "Nettleie energiledd");
        assert_contains(
            &details,
            &format::decimal("0.1875".parse().unwrap(), language, 2, 4),
        );
        assert_contains(&details, &format::amount("415".parse().unwrap(), language));
        assert_contains(&details, "Strømstøtte");
        assert_contains(
            &details,
            &format::money(
                "-42".parse().unwrap(),
                nordlys_core::quantity::Currency::Nok,
                language,
            ),
        );
    }
}

#[test]
fn the_capacity_step_shows_its_three_peaks_with_dates_and_the_step_they_give() {
    require_poppler!();
    let rendered = render(&fixtures::household(Language::Nb), None);
    let details = rendered.text(Some((2, rendered.pages)));
    for expected in [
        "Kapasitetsledd: de tre høyeste timene",
        "08.01.2025",
        "18:00–19:00",
        "7,20",
        "15.01.2025",
        "07:00–08:00",
        "22.01.2025",
        "Snitt av de tre timene: 6,80 kW",
        "Gir trinn 5–10 kW",
    ] {
        assert_contains(&details, expected);
    }
    let english = render(&fixtures::household(Language::En), None).text(None);
    assert_contains(&english, "8 Jan 2025");
    assert_contains(&english, "Average of the three hours: 6.80 kW");
}

#[test]
fn every_fixture_kind_renders_with_its_ehf_which_comes_out_valid() {
    require_poppler!();
    let dir = tempfile::tempdir().unwrap();
    let mut extracted = Vec::new();
    for (kind, document) in nordlys_documents::fixtures::all() {
        let profile = UblProfile::for_buyer(&document.buyer);
        let xml = render_ubl(&document, profile).unwrap();
        let rendered = render(&document, Some(&xml));
        assert_pages_render_with_ink(&rendered);
        let text = rendered.text(None);
        assert_contains(&text, &document.document.display_number());
        assert!(
            !text.contains(nordlys_documents::fixtures::HOUSEHOLD_NATIONAL_ID),
            "{}: a personal id is printed",
            kind.name()
        );
        let saved = dir.path().join(format!("{}.xml", kind.name()));
        let pdf = rendered.pdf.to_str().unwrap();
        rendered.run(
            "pdfdetach",
            &["-save", "1", "-o", saved.to_str().unwrap(), pdf],
        );
        assert_eq!(std::fs::read(&saved).unwrap(), xml, "{}", kind.name());
        extracted.push((saved, profile));
    }
    let validator =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/peppol/validate");
    if !validator.exists() {
        eprintln!("not validated: ../shared/tools/peppol/validate is absent");
        return;
    }
    // One run per rule set: households (no Peppol endpoint) against EN 16931 alone.
    for peppol in [true, false] {
        let files: Vec<&PathBuf> = extracted
            .iter()
            .filter(|(_, profile)| (*profile == UblProfile::Peppol) == peppol)
            .map(|(file, _)| file)
            .collect();
        if files.is_empty() {
            continue;
        }
        let mut command = Command::new(&validator);
        command.arg("--quiet");
        if !peppol {
            command.args(["--only", "cen"]);
        }
        let output = command.args(&files).output().unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_labels_are_in_the_buyers_language() {
    require_poppler!();
    let cases = [
        (
            Language::Nb,
            [
                "Faktura F-1001",
                "Forfallsdato",
                "Å betale",
                "Kontonummer",
                "Forbruk per dag",
            ],
        ),
        (
            Language::Da,
            [
                "Faktura F-1001",
                "Forfaldsdato",
                "At betale",
                "Kontonummer",
                "Forbrug pr. dag",
            ],
        ),
        (
            Language::En,
            [
                "Invoice F-1001",
                "Due date",
                "Amount due",
                "Account number",
                "Consumption per day",
            ],
        ),
    ];
    for (language, labels) in cases {
        let text = render(&fixtures::household(language), None).text(None);
        for label in labels {
            assert_contains(&text, label);
        }
    }
}

#[test]
fn the_ehf_xml_is_attached_byte_for_byte_and_the_file_is_pdf_a_3a_and_ua_1() {
    require_poppler!();
    let xml = ehf_xml("F-1001");
    let rendered = render(&fixtures::household(Language::Nb), Some(&xml));
    let pdf = rendered.pdf.to_str().unwrap();
    let list = rendered.run("pdfdetach", &["-list", pdf]);
    assert!(list.contains("1 embedded files"), "{list}");
    assert!(list.contains("F-1001.xml"), "{list}");
    let saved = rendered.dir.path().join("saved.xml");
    rendered.run(
        "pdfdetach",
        &["-save", "1", "-o", saved.to_str().unwrap(), pdf],
    );
    assert_eq!(std::fs::read(&saved).unwrap(), xml);

    let info = rendered.run("pdfinfo", &[pdf]);
    assert!(info.contains("Title:           Faktura F-1001"), "{info}");
    assert!(info.contains("Tagged:          yes"), "{info}");
    let metadata = rendered.run("pdfinfo", &["-meta", pdf]);
    assert!(
        metadata.contains("<pdfaid:part>3</pdfaid:part>"),
        "{metadata}"
    );
    assert!(
        metadata.contains("<pdfaid:conformance>A</pdfaid:conformance>"),
        "{metadata}"
    );
    // The file specification: the XML is the document's alternative form, typed as XML.
    let raw = String::from_utf8_lossy(&std::fs::read(&rendered.pdf).unwrap()).into_owned();
    assert!(
        raw.contains("/AFRelationship/Alternative"),
        "the attachment is the document's alternative"
    );
    assert!(
        raw.contains("/Subtype/application#2Fxml"),
        "the attachment is typed application/xml"
    );
}

#[test]
fn a_business_invoice_names_the_buyers_organisation_and_reference() {
    require_poppler!();
    let text = render(&fixtures::business(Language::En), None).text(None);
    for expected in [
        "Fjordkraft Bakeri AS",
        "Org. no. 974 760 673",
        "PO-4711",
        "Your reference",
        "Org. no. 923 609 016 MVA",
        "Foretaksregisteret",
    ] {
        assert_contains(&text, expected);
    }
}

#[test]
fn a_credit_note_names_the_invoice_it_corrects_and_why_with_positive_amounts() {
    require_poppler!();
    let rendered = render(&fixtures::credit_note(Language::Da), None);
    assert_pages_render_with_ink(&rendered);
    let text = rendered.text(None);
    for expected in [
        "Kreditnota K-77",
        "faktura F-12 af 31.01.2025",
        "Netselskabet har rettet måleraflæsningerne",
        "1.500,00 NOK",
        "CVR-nr. 25313763",
        "Du skal ikke betale noget",
    ] {
        assert_contains(&text, expected);
    }
    // Shown as the reversed invoice read: charges positive (only the support stays negative).
    for negated in [
        "\u{2212}1.500,00",
        "\u{2212}1.200,00",
        "\u{2212}415,00",
        "\u{2212}300,00",
    ] {
        assert!(!text.contains(negated), "{negated} in:\n{text}");
    }
}

#[test]
fn electricity_and_broadband_are_summarised_per_service() {
    require_poppler!();
    let rendered = render(&fixtures::with_broadband(Language::Nb), None);
    let page_one = rendered.text(Some((1, 1)));
    // Net 1 200,00 + 520,00; VAT 430,00; gross 2 150,00.
    for expected in [
        "Strøm Spot, Nettleie",
        "Bredbånd Fiber 500",
        "1 200,00",
        "520,00",
        "430,00",
        "2 150,00 kr",
    ] {
        assert_contains(&page_one, expected);
    }
    let details = rendered.text(Some((2, rendered.pages)));
    assert_contains(&details, "Fiber 500/500");
    assert_contains(&details, "Ruterleie");
}

#[test]
fn a_300_line_invoice_spans_pages_with_the_table_header_on_each() {
    require_poppler!();
    let rendered = render(&fixtures::long_invoice(Language::Nb), None);
    assert!(rendered.pages >= 5, "{} pages", rendered.pages);
    assert_pages_render_with_ink(&rendered);
    let text = rendered.text(None);
    assert_contains(&text, "Ladepunkt 001, økter");
    assert_contains(&text, "Ladepunkt 300, økter");
    let last = rendered.text(Some((rendered.pages, rendered.pages)));
    assert_contains(&last, "Beskrivelse");
    assert_contains(
        &last,
        &format!("Side {} av {}", rendered.pages, rendered.pages),
    );
}

#[test]
fn a_print_run_has_a_cover_list_and_an_address_page_before_each_document() {
    require_poppler!();
    let documents = [
        fixtures::household(Language::Nb),
        fixtures::credit_note(Language::Da),
        fixtures::long_invoice(Language::Nb),
    ];
    let singles: Vec<usize> = documents
        .iter()
        .map(|d| renderer().render(d, None).unwrap().pages)
        .collect();
    let refs: Vec<&InvoiceDocument> = documents.iter().collect();
    let run = renderer().render_print_run_counted(&refs).unwrap();
    // The cover, then per document its address page and its own pages.
    assert_eq!(run.pages, 1 + singles.iter().map(|p| p + 1).sum::<usize>());
    let rendered = Rendered::new(&run.bytes, run.pages);
    assert_pages_render_with_ink(&rendered);
    let cover = rendered.text(Some((1, 1)));
    assert_contains(&cover, "Utskriftsliste");
    assert_contains(&cover, &format!("3 dokumenter, {} sider", run.pages));
    assert_contains(&cover, "Jens Hansen");
    assert_contains(&cover, "Kreditnota K-77");
    // The long invoice's own page count on its cover row.
    let long_row = cover.lines().find(|l| l.contains("F-1005")).unwrap();
    assert!(
        long_row.contains(&format!(" {} ", singles[2])),
        "{long_row}"
    );
    let address_page = rendered.text(Some((2, 2)));
    assert_contains(&address_page, "Kari Nordmann");
    assert_contains(&address_page, "7030 Trondheim");
    assert!(!address_page.contains("Å betale"), "{address_page}");
    let second_address = 2 + singles[0] + 1;
    assert_contains(
        &rendered.text(Some((second_address, second_address))),
        "Jens Hansen",
    );
    // Each document numbers its own pages.
    assert_contains(
        &rendered.text(Some((3, 3))),
        &format!("Side 1 av {}", singles[0]),
    );
}

#[test]
fn the_same_document_renders_to_the_same_bytes() {
    let document = fixtures::household(Language::Nb);
    let xml = ehf_xml("F-1001");
    let first = renderer().render_pdf(&document, Some(&xml)).unwrap();
    let second = std::thread::spawn(move || renderer().render_pdf(&document, Some(&xml)).unwrap())
        .join()
        .unwrap();
    assert_eq!(first, second);
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let mut stray = fixtures::household(Language::Nb);
    stray.document.document.lines[2].contract_id = "C-404".into();
    let error = renderer().render_pdf(&stray, None).unwrap_err();
    assert!(matches!(error, PdfError::Input(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "F-1001: line 3 (Fastbeløp) is for contract `C-404`, which no delivery point lists"
    );

    let mut broken_logo = fixtures::household(Language::Nb);
    broken_logo.branding.logo_svg = Some("<svg this is not".into());
    let error = renderer().render_pdf(&broken_logo, None).unwrap_err();
    assert!(matches!(error, PdfError::Layout { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("F-1001: cannot lay out the PDF"),
        "{error}"
    );

    let error = renderer().render_print_run(&[]).unwrap_err();
    assert_eq!(error.to_string(), "a print run needs at least one document");
}

#[test]
fn the_renderer_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<PdfRenderer>();
}

//! PDF throughput in the shape of a monthly run: documents as a 100,000-account run issues
//! them (mostly one-point households, some businesses, electricity with broadband, a few
//! credit notes), each with its EHF XML attached, rendered on 1 and 2 threads sharing one
//! renderer. Prints the machine, the input and pages per second; then divan times one
//! document of each kind.
//!
//! `cargo bench -p nordlys-documents --bench pdf` (release). `NORDLYS_BENCH_DOCUMENTS`
//! sets how many documents the run-shaped part renders (default 600).

#[path = "../tests/support/pdf_fixtures.rs"]
mod fixtures;

use std::sync::OnceLock;
use std::time::Instant;

use divan::Bencher;
use divan::counter::ItemsCount;
use jiff::civil::Date;
use nordlys_core::document::DocumentKind;
use nordlys_core::model::Language;
use nordlys_documents::{InvoiceDocument, PdfRenderer};

fn renderer() -> &'static PdfRenderer {
    static RENDERER: OnceLock<PdfRenderer> = OnceLock::new();
    RENDERER.get_or_init(|| PdfRenderer::new().unwrap())
}

fn xml_of(document: &InvoiceDocument) -> Vec<u8> {
    // About the size of a real EHF invoice of this kind (~12 KB).
    let number = document.document.display_number();
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice><ID>{number}</ID>");
    for line in &document.document.document.lines {
        xml.push_str(&format!(
            "<InvoiceLine><Note>{}</Note><InvoicedQuantity unitCode=\"KWH\">{}</InvoicedQuantity><LineExtensionAmount currencyID=\"NOK\">{}</LineExtensionAmount><Item><Name>{}</Name></Item><Price><PriceAmount currencyID=\"NOK\">{}</PriceAmount></Price></InvoiceLine>\n",
            line.description, line.quantity, line.net, line.description, line.unit_price
        ));
    }
    xml.push_str("</Invoice>\n");
    xml.into_bytes()
}

/// The `index`th document of a run: kinds in a monthly run's proportions, every one with
/// its own number, buyer and consumption.
fn run_document(index: usize) -> InvoiceDocument {
    let language = match index % 20 {
        0 => Language::En,
        1 => Language::Da,
        _ => Language::Nb,
    };
    let mut document = match index % 100 {
        0..=1 => fixtures::credit_note(language),
        2..=9 => fixtures::business(language),
        10..=14 => fixtures::with_broadband(language),
        _ => fixtures::household(language),
    };
    let number = 100_000 + index as i64;
    document.document.number = number;
    if document.document.document.kind == DocumentKind::Invoice {
        document.document.kid = nordlys_core::kid::kid_for_document_number(
            number,
            nordlys_core::kid::KidAlgorithm::Mod10,
        )
        .ok();
    }
    document.buyer.name = format!("Kunde {index}");
    document.buyer.customer_number = format!("A-{index}");
    for point in &mut document.delivery_points {
        for (day, usage) in point.daily.iter_mut().enumerate() {
            usage.energy_wh += ((index * 37 + day * 11) % 9_000) as i64;
        }
    }
    document.document.document.issue_date = Date::constant(2025, 2, 3);
    document
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {threads} hardware threads")
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`: with other
/// work on the machine, pages per CPU-second says what the renderer costs.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

/// Renders `documents` on `threads` threads sharing one renderer: (pages, seconds).
fn run(documents: &[(InvoiceDocument, Vec<u8>)], threads: usize) -> (usize, f64) {
    let started = Instant::now();
    let pages: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    documents
                        .iter()
                        .skip(thread)
                        .step_by(threads)
                        .map(|(document, xml)| {
                            renderer().render(document, Some(xml)).unwrap().pages
                        })
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (pages, started.elapsed().as_secs_f64())
}

fn main() {
    let count: usize = std::env::var("NORDLYS_BENCH_DOCUMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    // Each measurement renders documents of its own: typst memoises layouts, and a second pass
    // over the same documents would measure its cache.
    let batch = |offset: usize| -> Vec<(InvoiceDocument, Vec<u8>)> {
        (offset..offset + count)
            .map(|i| {
                let document = run_document(i);
                let xml = xml_of(&document);
                (document, xml)
            })
            .collect()
    };
    println!("machine: {}", machine());
    println!(
        "input: {count} documents per measurement, as a monthly run issues them (85 % households with a 31-day chart, 8 % businesses, 5 % electricity + broadband, 2 % credit notes), each with its EHF XML attached; PDF/A-3a + PDF/UA-1"
    );
    // Warm the shared renderer (fonts, templates, messages) outside the timing.
    run(&batch(1_000_000)[..4.min(count)], 1);
    for (index, threads) in [1, 2].into_iter().enumerate() {
        let documents = batch(index * count);
        let cpu_before = cpu_seconds();
        let (pages, seconds) = run(&documents, threads);
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "{threads} thread(s): {pages} pages in {seconds:.2} s = {:.0} pages/s ({:.0} documents/s); {cpu:.2} CPU s = {:.0} pages per CPU-second",
            pages as f64 / seconds,
            count as f64 / seconds,
            pages as f64 / cpu.max(0.01)
        );
    }
    divan::main();
}

fn bench_one(bencher: Bencher, document: InvoiceDocument) {
    let xml = xml_of(&document);
    let pages = renderer().render(&document, Some(&xml)).unwrap().pages;
    bencher
        .counter(ItemsCount::new(pages))
        .bench(|| renderer().render(&document, Some(&xml)).unwrap());
}

#[divan::bench(sample_count = 20, sample_size = 5)]
fn household(bencher: Bencher) {
    bench_one(bencher, fixtures::household(Language::Nb));
}

#[divan::bench(sample_count = 20, sample_size = 5)]
fn credit_note(bencher: Bencher) {
    bench_one(bencher, fixtures::credit_note(Language::Da));
}

#[divan::bench(sample_count = 10, sample_size = 2)]
fn long_300_lines(bencher: Bencher) {
    bench_one(bencher, fixtures::long_invoice(Language::Nb));
}

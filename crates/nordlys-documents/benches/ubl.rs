//! EHF rendering throughput: documents per second for the fixture mix (every kind but the
//! 300-line invoice: 5–16 lines each), on one thread and on two, and the 300-line invoice alone.
//!
//! Run: `cargo bench -p nordlys-documents --bench ubl`. `throughput` prints the machine's cores,
//! the input (documents, lines, bytes of XML) and documents/s; divan then times single renders.

use std::hint::black_box;
use std::time::Instant;

use nordlys_documents::fixtures::FixtureKind;
use nordlys_documents::{InvoiceDocument, UblProfile, render_ubl};

fn main() {
    throughput();
    divan::main();
}

fn mix() -> Vec<(InvoiceDocument, UblProfile)> {
    FixtureKind::ALL
        .iter()
        .filter(|kind| **kind != FixtureKind::ThreeHundredLines)
        .map(|kind| {
            let document = kind.build();
            let profile = UblProfile::for_buyer(&document.buyer);
            (document, profile)
        })
        .collect()
}

/// Renders `count` documents cycling through `documents`; returns the bytes written.
fn render_many(documents: &[(InvoiceDocument, UblProfile)], count: usize) -> usize {
    let mut bytes = 0;
    for n in 0..count {
        let (document, profile) = &documents[n % documents.len()];
        bytes += render_ubl(black_box(document), *profile).map_or(0, |xml| xml.len());
    }
    bytes
}

fn documents_per_second(
    threads: usize,
    documents: &[(InvoiceDocument, UblProfile)],
    count: usize,
) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| render_many(documents, count / threads));
        }
    });
    count as f64 / started.elapsed().as_secs_f64()
}

fn throughput() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let documents = mix();
    let lines: usize = documents
        .iter()
        .map(|(d, _)| d.document.document.lines.len())
        .sum();
    let bytes = render_many(&documents, documents.len());
    println!(
        "machine: {cores} cores; input: the fixture mix of {} documents, {:.1} lines and {} bytes of XML each on average",
        documents.len(),
        lines as f64 / documents.len() as f64,
        bytes / documents.len()
    );
    render_many(&documents, 2_000); // warm-up
    let count = 100_000;
    for threads in [1, 2] {
        let rate = documents_per_second(threads, &documents, count);
        println!("{threads} thread(s): {rate:.0} documents/s ({count} documents)");
    }
    let big = [(FixtureKind::ThreeHundredLines.build(), UblProfile::Peppol)];
    let big_bytes = render_many(&big, 1);
    let rate = documents_per_second(1, &big, 2_000);
    println!("300-line invoice ({big_bytes} bytes): {rate:.0} documents/s on 1 thread");
}

#[divan::bench(args = [FixtureKind::Household, FixtureKind::PublicSector, FixtureKind::CreditNote, FixtureKind::ThreeHundredLines])]
fn render(bencher: divan::Bencher, kind: FixtureKind) {
    let document = kind.build();
    let profile = UblProfile::for_buyer(&document.buyer);
    bencher.bench(|| render_ubl(black_box(&document), profile));
}

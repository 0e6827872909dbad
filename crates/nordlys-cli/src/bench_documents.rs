//! `nordlys bench documents`: the documents of a billed monthly run (e.g. the 100,000 invoices
//! `nordlys bench settle --keep --dir D` leaves in `D/settle.db`) assembled from the store,
//! rendered as EHF on 1 and 2 threads (every document), as PDF/A-3 with the EHF attached (a
//! sample spread over the run, pages counted), and a sample validated with the official
//! Peppol / EN 16931 rules — each figure with the machine and the input size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nordlys_app::SystemClock;
use nordlys_app::demo::DEMO_ISSUER_PROFILE;
use nordlys_app::documents::{IssuerProfile, assemble_document, set_issuer_profile};
use nordlys_documents::{InvoiceDocument, PdfRenderer, UblProfile, render_ubl};
use nordlys_store::Store;
use rayon::prelude::*;

use crate::bench::machine;

/// Stack of a rendering thread: typst recurses deeply (rayon's default 2 MB overflows).
const TYPST_STACK_BYTES: usize = 64 << 20;

pub struct DocumentsBench {
    pub period: String,
    pub threads: Vec<usize>,
    pub pdf_sample: usize,
    pub validate_sample: usize,
    pub validator: PathBuf,
}

pub async fn run(db: &str, bench: DocumentsBench) -> Result<()> {
    if bench.threads.is_empty() || bench.threads.contains(&0) {
        bail!("--threads: give one or more thread counts of at least 1, e.g. 1,2");
    }
    let store = crate::open(db).await?;
    println!("nordlys bench documents");
    println!("machine: {}", machine());
    let profile = issuer_profile(&store).await?;
    let ids: Vec<i64> = store
        .documents(None, Some(&bench.period), i64::MAX)
        .await?
        .into_iter()
        .map(|d| d.id)
        .rev()
        .collect();
    if ids.is_empty() {
        bail!(
            "no documents of {} in the database (bill a period first, e.g. `nordlys bench settle --keep --dir D` and `--db D/settle.db`)",
            bench.period
        );
    }
    let started = Instant::now();
    let mut documents = Vec::with_capacity(ids.len());
    for id in &ids {
        documents.push(assemble_document(&store, *id, &profile, None).await?);
    }
    store.close().await;
    let assembled = started.elapsed().as_secs_f64();
    let lines: usize = documents
        .iter()
        .map(|d| d.document.document.lines.len())
        .sum();
    println!(
        "input:   {} documents of {} ({lines} lines, {:.1} per document); assembled from the store in {assembled:.1} s ({:.0} documents/s)",
        documents.len(),
        bench.period,
        lines as f64 / documents.len() as f64,
        documents.len() as f64 / assembled
    );

    let mut xml: Vec<Vec<u8>> = Vec::new();
    for &threads in &bench.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(TYPST_STACK_BYTES)
            .build()?;
        let started = Instant::now();
        let rendered: Result<Vec<Vec<u8>>, _> = pool.install(|| {
            documents
                .par_iter()
                .map(|d| render_ubl(d, UblProfile::for_buyer(&d.buyer)))
                .collect()
        });
        let seconds = started.elapsed().as_secs_f64();
        let rendered = rendered.map_err(|e| anyhow::anyhow!("{e}"))?;
        let bytes: usize = rendered.iter().map(Vec::len).sum();
        println!(
            "EHF  {threads} thread(s): {} documents in {seconds:.2} s = {:.0} documents/s ({:.1} KB each)",
            rendered.len(),
            rendered.len() as f64 / seconds,
            bytes as f64 / rendered.len() as f64 / 1000.0
        );
        xml = rendered;
    }

    let sample = spread(documents.len(), bench.pdf_sample);
    let renderer = PdfRenderer::new()?;
    for &threads in &bench.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(TYPST_STACK_BYTES)
            .build()?;
        let started = Instant::now();
        let pages: Result<Vec<usize>, _> = pool.install(|| {
            sample
                .par_iter()
                .map(|&i| {
                    renderer
                        .render(&documents[i], Some(&xml[i]))
                        .map(|pdf| pdf.pages)
                })
                .collect()
        });
        let seconds = started.elapsed().as_secs_f64();
        let pages: usize = pages?.iter().sum();
        println!(
            "PDF  {threads} thread(s): {} documents ({pages} pages, EHF attached) in {seconds:.2} s = {:.0} pages/s ({:.0} documents/s)",
            sample.len(),
            pages as f64 / seconds,
            sample.len() as f64 / seconds
        );
    }

    validate(&bench, &documents, &xml)?;
    Ok(())
}

/// The stored issuer profile, or the demo's set now (a bench database has none).
async fn issuer_profile(store: &Store) -> Result<IssuerProfile> {
    if let Some(stored) = store.issuer_profile(None).await? {
        return Ok(nordlys_app::documents::parse_issuer_profile(
            &stored.body,
            stored.version,
        )?);
    }
    let (_, profile) =
        set_issuer_profile(store, DEMO_ISSUER_PROFILE, "bench documents", &SystemClock).await?;
    println!("issuer:  none was set; set the demo's (examples/issuer.toml)");
    Ok(profile)
}

/// `count` indexes spread evenly over `0..len` (all of them if `count >= len`).
fn spread(len: usize, count: usize) -> Vec<usize> {
    if count >= len {
        return (0..len).collect();
    }
    (0..count).map(|k| k * len / count).collect()
}

/// Validate a sample of the run's EHF with the official rules in one validator run.
fn validate(bench: &DocumentsBench, documents: &[InvoiceDocument], xml: &[Vec<u8>]) -> Result<()> {
    if bench.validate_sample == 0 {
        return Ok(());
    }
    if !bench.validator.exists() {
        println!(
            "validation: skipped, {} is absent (--validator names it)",
            bench.validator.display()
        );
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("nordlys-bench-ehf-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut peppol = Vec::new();
    let mut cen = Vec::new();
    for i in spread(documents.len(), bench.validate_sample) {
        let path = dir.join(format!("{}.xml", documents[i].document.display_number()));
        std::fs::write(&path, &xml[i])?;
        match UblProfile::for_buyer(&documents[i].buyer) {
            UblProfile::Peppol => peppol.push(path),
            UblProfile::En16931 => cen.push(path),
        }
    }
    let started = Instant::now();
    let mut fatal = 0usize;
    let mut warnings = 0usize;
    for (files, only_cen) in [(&peppol, false), (&cen, true)] {
        let (f, w) = run_validator(&bench.validator, files, only_cen)?;
        fatal += f;
        warnings += w;
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = peppol.len() + cen.len();
    println!(
        "validation (official CEN EN 16931{} rules): {count} documents in {seconds:.1} s = {:.1} ms per document (one validator run per rule set, its fixed start-up included); {fatal} fatal, {warnings} warnings; the run's {} documents at this rate: {:.0} s",
        if peppol.is_empty() {
            ""
        } else {
            " + Peppol BIS 3.0"
        },
        seconds * 1000.0 / count as f64,
        documents.len(),
        seconds / count as f64 * documents.len() as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    if fatal > 0 {
        bail!("{fatal} fatal findings in the validated sample");
    }
    Ok(())
}

fn run_validator(validator: &Path, files: &[PathBuf], only_cen: bool) -> Result<(usize, usize)> {
    if files.is_empty() {
        return Ok((0, 0));
    }
    let mut command = std::process::Command::new(validator);
    command.arg("--quiet");
    if only_cen {
        command.args(["--only", "cen"]);
    }
    let out = command
        .args(files)
        .output()
        .with_context(|| format!("running {}", validator.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!(
            "the validator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `--quiet`: a summary line per file, e.g. `PASS file.xml  fatal=0 warning=0  (rules …)`.
    let count = |key: &str| -> usize {
        text.split_whitespace()
            .filter_map(|word| word.strip_prefix(key)?.parse::<usize>().ok())
            .sum()
    };
    Ok((count("fatal="), count("warning=")))
}

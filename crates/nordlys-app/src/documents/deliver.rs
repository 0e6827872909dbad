//! Delivery of issued documents, each exactly once: planning (the channel of each document not
//! yet planned, its renditions made and kept, or the reason it is held), then sending what is
//! due — EHF into the access point's outbox, e-mail with the PDF attached over SMTP, paper in
//! one merged print file per send — with every attempt recorded and failures retried with
//! backoff until they are given up and reported.
//!
//! Exactly once: a delivery is claimed in the store before anything leaves, and its result is
//! recorded under that claim, so concurrent senders never take the same document; a sender
//! killed between handing a document over and recording it leaves a claim whose lease runs out,
//! and the document is handed over again — under the same outbox file name and the same
//! `Message-ID`, so the receiving side sees the same document, not a new one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use nordlys_core::model::{CustomerKind, InvoiceChannel, Language};
use nordlys_documents::i18n::format;
use nordlys_store::{
    AttemptResult, ClaimedDelivery, DeliveryChannel, PlannedDelivery, Store, StoreError,
};

use super::render::{RenderContext, RenderError, Renditions, renditions};
use crate::Clock;

/// Where deliveries go and how hard to try.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://…?tls=required` (STARTTLS) or
    /// `smtps://host:port`, with `user:password@` where the relay wants a login.
    pub smtp_url: Option<String>,
    /// Where EHF files and their manifests go for the access point to pick up.
    pub ehf_outbox: Option<PathBuf>,
    /// Where the print files go.
    pub print_dir: Option<PathBuf>,
    /// Attempts before a delivery is given up and reported.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_retry: Duration,
    /// How long a sender's claim lasts.
    pub lease: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            smtp_url: None,
            ehf_outbox: None,
            print_dir: None,
            max_attempts: 5,
            first_retry: Duration::from_secs(60),
            lease: Duration::from_secs(300),
        }
    }
}

/// What one `send` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Documents planned in this send.
    pub planned: u64,
    /// Documents held (now or before), with why.
    pub held: Vec<(String, String)>,
    /// Documents left for a later run because the buyer's Peppol capability could not be
    /// learnt now, with why.
    pub deferred: Vec<(String, String)>,
    pub delivered_ehf: u64,
    pub delivered_email: u64,
    pub delivered_print: u64,
    /// The print files written.
    pub print_files: Vec<PathBuf>,
    /// Failed attempts that will be retried: number, error, next attempt.
    pub retrying: Vec<(String, String, Timestamp)>,
    /// Deliveries given up after their last attempt: number, last error.
    pub gave_up: Vec<(String, String)>,
    /// Channels this run had no destination for (no outbox, relay or print folder): their
    /// deliveries wait for a run that has one.
    pub not_configured: Vec<DeliveryChannel>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the SMTP URL {url:?} is not usable: {reason}")]
    SmtpUrl { url: String, reason: String },
}

/// Deliveries claimed per round.
const CLAIM_BATCH: i64 = 200;

/// Plan and send everything not yet delivered (of one period if given).
pub async fn send_documents(
    store: &Store,
    context: &RenderContext,
    config: &DeliveryConfig,
    clock: &dyn Clock,
    period: Option<&str>,
) -> Result<SendReport, DeliveryError> {
    let mut report = SendReport::default();
    plan(store, context, clock, period, &mut report).await?;
    let smtp = match &config.smtp_url {
        Some(url) => Some(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| DeliveryError::SmtpUrl {
                    url: nordlys_store::redacted(url),
                    reason: e.to_string(),
                })?
                .timeout(Some(Duration::from_secs(30)))
                .build(),
        ),
        None => None,
    };
    // What fails in this run is tried again in a later one (after its backoff), not in this.
    let started = clock.now();
    // Only channels this run can deliver to are claimed: the others wait, their attempts unspent.
    let mut channels = Vec::new();
    for (channel, configured) in [
        (DeliveryChannel::Ehf, config.ehf_outbox.is_some()),
        (DeliveryChannel::Email, smtp.is_some()),
        (DeliveryChannel::Print, config.print_dir.is_some()),
    ] {
        if configured {
            channels.push(channel);
        } else {
            report.not_configured.push(channel);
        }
    }
    for channel in channels {
        deliver_channel(
            store,
            context,
            config,
            clock,
            smtp.as_ref(),
            channel,
            started,
            &mut report,
        )
        .await?;
    }
    Ok(report)
}

/// Claim and deliver the due deliveries of one channel, a batch at a time.
#[allow(clippy::too_many_arguments)]
async fn deliver_channel(
    store: &Store,
    context: &RenderContext,
    config: &DeliveryConfig,
    clock: &dyn Clock,
    smtp: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    channel: DeliveryChannel,
    started: Timestamp,
    report: &mut SendReport,
) -> Result<(), DeliveryError> {
    loop {
        let now = clock.now();
        let lease_until = now + config.lease;
        let claimed = store
            .claim_deliveries(Some(channel), CLAIM_BATCH, now, started, lease_until)
            .await?;
        if claimed.is_empty() {
            break;
        }
        let mut print: Vec<(ClaimedDelivery, Renditions)> = Vec::new();
        for delivery in claimed {
            let made = match renditions(store, context, delivery.document_id, clock).await {
                Ok(made) => made,
                Err(RenderError::Held { number, reason }) => {
                    record(
                        store,
                        &delivery,
                        AttemptResult::Held {
                            reason: reason.clone(),
                        },
                        clock,
                    )
                    .await?;
                    report.held.push((number, reason));
                    continue;
                }
                Err(RenderError::Lookup { number, reason }) => {
                    settle(
                        store,
                        config,
                        clock,
                        &delivery,
                        &number,
                        Err(reason),
                        report,
                    )
                    .await?;
                    continue;
                }
                Err(other) => return Err(other.into()),
            };
            let outcome = match delivery.channel {
                DeliveryChannel::Print => {
                    print.push((delivery, made));
                    continue;
                }
                DeliveryChannel::Ehf => deliver_ehf(config, &delivery, &made).await,
                DeliveryChannel::Email => deliver_email(smtp, context, &delivery, &made).await,
            };
            settle(
                store,
                config,
                clock,
                &delivery,
                &made.number,
                outcome,
                report,
            )
            .await?;
        }
        if !print.is_empty() {
            let outcome = deliver_print(context, config, clock, &print).await;
            for (delivery, made) in &print {
                let outcome = outcome.clone();
                if let Ok(path) = &outcome
                    && !report.print_files.contains(path)
                {
                    report.print_files.push(path.clone());
                }
                let outcome = outcome.map(|path| format!("in print file {}", path.display()));
                settle(
                    store,
                    config,
                    clock,
                    delivery,
                    &made.number,
                    outcome,
                    report,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Plan the deliveries of documents that have none, or are held: choose the channel, or hold
/// (again) with the reason.
async fn plan(
    store: &Store,
    context: &RenderContext,
    clock: &dyn Clock,
    period: Option<&str>,
    report: &mut SendReport,
) -> Result<(), DeliveryError> {
    let ids = store.documents_to_plan(period).await?;
    let mut planned = Vec::with_capacity(ids.len());
    for id in ids {
        let delivery = match renditions(store, context, id, clock).await {
            Ok(made) => {
                let delivery = channel_of(&made);
                if let Some(reason) = &delivery.held {
                    report.held.push((made.number.clone(), reason.clone()));
                }
                delivery
            }
            Err(RenderError::Lookup { number, reason }) => {
                report.deferred.push((number, reason));
                continue;
            }
            Err(RenderError::Held { number, reason }) => {
                report.held.push((number, reason.clone()));
                PlannedDelivery {
                    document_id: id,
                    channel: DeliveryChannel::Print,
                    destination: String::new(),
                    held: Some(reason),
                }
            }
            Err(other) => return Err(other.into()),
        };
        planned.push(delivery);
        if planned.len() == 500 {
            report.planned += store.plan_deliveries(&planned, clock.now()).await?;
            planned.clear();
        }
    }
    report.planned += store.plan_deliveries(&planned, clock.now()).await?;
    Ok(())
}

/// The channel of an assembled document: EHF where the buyer is in Peppol, else the account's
/// choice — e-mail, or paper; an account that asked for EHF but cannot receive it, or for
/// e-mail without an address, is held with the reason (customer service fixes the account).
fn channel_of(made: &Renditions) -> PlannedDelivery {
    let document = &made.document;
    let buyer = &document.buyer;
    let id = document.document.id;
    let held = |channel, reason: String| PlannedDelivery {
        document_id: id,
        channel,
        destination: String::new(),
        held: Some(reason),
    };
    if let Some(endpoint) = &buyer.endpoint {
        return PlannedDelivery {
            document_id: id,
            channel: DeliveryChannel::Ehf,
            destination: format!("{}:{}", endpoint.scheme, endpoint.id),
            held: None,
        };
    }
    let postal = || {
        let a = &buyer.address;
        (!a.street.trim().is_empty() && !a.city.trim().is_empty())
            .then(|| format!("{}, {}, {} {}", buyer.name, a.street, a.postcode, a.city))
    };
    let email = || (!buyer.email.trim().is_empty()).then(|| buyer.email.clone());
    match made.channel {
        InvoiceChannel::Ehf => held(
            DeliveryChannel::Ehf,
            if buyer.identity.kind() == CustomerKind::Organisation {
                "the account asks for EHF, but the buyer is not registered in Peppol to receive it (look it up again, or choose e-mail or paper)".into()
            } else {
                "the account asks for EHF, but the buyer is a person without a Peppol endpoint (choose e-mail or paper)".into()
            },
        ),
        InvoiceChannel::Email | InvoiceChannel::EFaktura => match email() {
            Some(address) => PlannedDelivery {
                document_id: id,
                channel: DeliveryChannel::Email,
                destination: address,
                held: None,
            },
            None => held(
                DeliveryChannel::Email,
                "the account asks for e-mail but has no e-mail address".into(),
            ),
        },
        InvoiceChannel::Paper => match postal() {
            Some(address) => PlannedDelivery {
                document_id: id,
                channel: DeliveryChannel::Print,
                destination: address,
                held: None,
            },
            None => held(
                DeliveryChannel::Print,
                "the account asks for paper but the buyer has no postal address".into(),
            ),
        },
    }
}

/// Record one attempt's outcome: delivered, or failed with a retry after backoff, or given up.
async fn settle(
    store: &Store,
    config: &DeliveryConfig,
    clock: &dyn Clock,
    delivery: &ClaimedDelivery,
    number: &str,
    outcome: Result<String, String>,
    report: &mut SendReport,
) -> Result<(), DeliveryError> {
    let result = match outcome {
        Ok(detail) => {
            match delivery.channel {
                DeliveryChannel::Ehf => report.delivered_ehf += 1,
                DeliveryChannel::Email => report.delivered_email += 1,
                DeliveryChannel::Print => report.delivered_print += 1,
            }
            AttemptResult::Delivered { detail }
        }
        Err(error) => {
            let attempt = delivery.attempts + 1;
            if attempt >= i64::from(config.max_attempts) {
                report.gave_up.push((number.to_owned(), error.clone()));
                AttemptResult::Failed {
                    detail: format!("{error} (attempt {attempt}, given up)"),
                    retry_at_us: None,
                }
            } else {
                let wait = config.first_retry * 2u32.saturating_pow((attempt - 1) as u32);
                let retry_at = clock.now() + wait;
                report
                    .retrying
                    .push((number.to_owned(), error.clone(), retry_at));
                AttemptResult::Failed {
                    detail: format!("{error} (attempt {attempt})"),
                    retry_at_us: Some(retry_at.as_microsecond()),
                }
            }
        }
    };
    record(store, delivery, result, clock).await
}

async fn record(
    store: &Store,
    delivery: &ClaimedDelivery,
    result: AttemptResult,
    clock: &dyn Clock,
) -> Result<(), DeliveryError> {
    match store
        .record_delivery_attempt(delivery, &result, clock.now())
        .await
    {
        // Another sender took the delivery over; its record stands.
        Err(StoreError::DeliveryClaimLost { .. }) => Ok(()),
        other => Ok(other?),
    }
}

/// Write the EHF file and its manifest into the outbox: `<number>.xml` and `<number>.json`,
/// each written to a temporary name and renamed, so the access point never reads half a file.
async fn deliver_ehf(
    config: &DeliveryConfig,
    delivery: &ClaimedDelivery,
    made: &Renditions,
) -> Result<String, String> {
    let outbox = config
        .ehf_outbox
        .as_ref()
        .ok_or("no EHF outbox is configured (--ehf-outbox)")?;
    tokio::fs::create_dir_all(outbox)
        .await
        .map_err(|e| format!("cannot create the EHF outbox {}: {e}", outbox.display()))?;
    let xml_path = outbox.join(format!("{}.xml", made.number));
    write_atomically(&xml_path, &made.xml.content).await?;
    let manifest = serde_json::json!({
        "document": made.number,
        "kind": made.document.document.document.kind.code(),
        "file": xml_path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "sha256": made.xml.sha256,
        "size_bytes": made.xml.content.len(),
        "receiver": delivery.destination,
        "sender": made.document.seller.identity.electronic_address().id,
        "document_type": if made.document.document.document.kind == nordlys_core::document::DocumentKind::CreditNote {
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
        } else {
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
        },
        "process": "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    });
    let manifest_path = outbox.join(format!("{}.json", made.number));
    write_atomically(&manifest_path, manifest.to_string().as_bytes()).await?;
    Ok(format!("{}", xml_path.display()))
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let temporary = path.with_extension("partial");
    tokio::fs::write(&temporary, bytes)
        .await
        .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    tokio::fs::rename(&temporary, path)
        .await
        .map_err(|e| format!("cannot move {} into place: {e}", path.display()))
}

/// Send the PDF by e-mail, in the buyer's language, with a `Message-ID` derived from the
/// document, so a message handed over twice is recognisably the same message.
async fn deliver_email(
    smtp: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    context: &RenderContext,
    delivery: &ClaimedDelivery,
    made: &Renditions,
) -> Result<String, String> {
    let smtp = smtp.ok_or("no SMTP relay is configured (--smtp-url)")?;
    let document = &made.document;
    let from: Mailbox = context
        .profile
        .email_from
        .parse()
        .map_err(|e| format!("the issuer's e-mail sender is not an address: {e}"))?;
    let to: Mailbox = delivery
        .destination
        .parse()
        .map_err(|e| format!("{:?} is not an e-mail address: {e}", delivery.destination))?;
    let (subject, body) = email_text(document.language, made, &document.seller.name);
    let domain = from.email.domain().to_owned();
    let message_id = format!("<{}.{}@{domain}>", made.number, &made.pdf.sha256[..16]);
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.clone()))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body))
                .singlepart(Attachment::new(format!("{}.pdf", made.number)).body(
                    made.pdf.content.clone(),
                    ContentType::parse("application/pdf").map_err(|e| e.to_string())?,
                )),
        )
        .map_err(|e| format!("the message cannot be built: {e}"))?;
    smtp.send(message)
        .await
        .map_err(|e| format!("the SMTP relay refused or could not be reached: {e}"))?;
    Ok(format!("to {} as {message_id}", delivery.destination))
}

/// Subject and body of the invoice e-mail.
fn email_text(language: Language, made: &Renditions, seller: &str) -> (String, String) {
    let document = &made.document.document;
    let credit = document.document.kind == nordlys_core::document::DocumentKind::CreditNote;
    let amount = format::amount(document.document.gross.abs(), language);
    let currency = document.document.currency.code();
    let due = document
        .document
        .due_date
        .map(|d| format::date(d, language))
        .unwrap_or_default();
    let kid = document
        .kid
        .as_ref()
        .map(|k| k.as_str().to_owned())
        .unwrap_or_default();
    let number = &made.number;
    match (language, credit) {
        (Language::Nb, false) => (
            format!("Faktura {number} fra {seller}"),
            format!(
                "Vedlagt er faktura {number} på {currency} {amount}, forfall {due}, KID {kid}.\n\nMed vennlig hilsen\n{seller}\n"
            ),
        ),
        (Language::Nb, true) => (
            format!("Kreditnota {number} fra {seller}"),
            format!(
                "Vedlagt er kreditnota {number} på {currency} {amount}.\n\nMed vennlig hilsen\n{seller}\n"
            ),
        ),
        (Language::Da, false) => (
            format!("Faktura {number} fra {seller}"),
            format!(
                "Vedhæftet er faktura {number} på {currency} {amount}, forfald {due}.\n\nMed venlig hilsen\n{seller}\n"
            ),
        ),
        (Language::Da, true) => (
            format!("Kreditnota {number} fra {seller}"),
            format!(
                "Vedhæftet er kreditnota {number} på {currency} {amount}.\n\nMed venlig hilsen\n{seller}\n"
            ),
        ),
        (Language::En, false) => (
            format!("Invoice {number} from {seller}"),
            format!(
                "Attached is invoice {number} for {currency} {amount}, due {due}, KID {kid}.\n\nKind regards\n{seller}\n"
            ),
        ),
        (Language::En, true) => (
            format!("Credit note {number} from {seller}"),
            format!(
                "Attached is credit note {number} for {currency} {amount}.\n\nKind regards\n{seller}\n"
            ),
        ),
    }
}

/// Render this round's paper documents into one print file (a cover list, then per document
/// an address page and its pages) in the print folder.
async fn deliver_print(
    context: &RenderContext,
    config: &DeliveryConfig,
    clock: &dyn Clock,
    batch: &[(ClaimedDelivery, Renditions)],
) -> Result<PathBuf, String> {
    let dir = config
        .print_dir
        .as_ref()
        .ok_or("no print folder is configured (--print-dir)")?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| format!("cannot create the print folder {}: {e}", dir.display()))?;
    let documents: Vec<&Renditions> = batch.iter().map(|(_, made)| made).collect();
    let pdf = context
        .print_run(&documents)
        .map_err(|e| format!("the print file cannot be made: {e}"))?;
    let first = &batch[0].1.number;
    let stamp = clock.now().strftime("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("print-{stamp}-{first}-{}.pdf", batch.len()));
    write_atomically(&path, &pdf).await?;
    Ok(path)
}

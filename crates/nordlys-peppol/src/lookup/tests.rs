//! The lookup end to end: a real DNS server (dnsmasq on 127.0.0.1) with NAPTR records under a
//! test SML zone, pointing at a local SMP serving the fixtures. Skipped, with a line saying so,
//! where dnsmasq is missing and cannot be installed.

use std::time::Duration;

use super::*;
use crate::testing::{LocalDns, LocalSmp, SilentDns};

const ZONE: &str = "sml.nordlys.test";

fn now() -> Timestamp {
    "2026-11-01T12:00:00Z".parse().unwrap()
}

fn config(dns: SocketAddr) -> LookupConfig {
    LookupConfig {
        sml_zone: ZONE.into(),
        nameserver: Some(dns),
        dns_timeout: Duration::from_millis(500),
        http_timeout: Duration::from_secs(5),
        allow_insecure_http: true,
        ..LookupConfig::default()
    }
}

/// dnsmasq with a record for each participant pointing at `smp`, or `None` (skip) without it.
fn dns_for(participants: &[&ParticipantId], smp: &LocalSmp) -> Option<LocalDns> {
    let records: Vec<(String, String)> = participants
        .iter()
        .map(|p| (p.sml_host(ZONE), format!("{}/", smp.base_url)))
        .collect();
    match LocalDns::start(ZONE, &records) {
        Ok(dns) => Some(dns),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

#[tokio::test]
async fn a_registered_participant_receives_invoices_and_credit_notes() {
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&participant);
    let Some(dns) = dns_for(&[&participant], &smp) else {
        return;
    };
    let lookup = Lookup::new(config(dns.address)).unwrap();
    let outcome = lookup.lookup(&participant, now()).await.unwrap();
    let LookupOutcome::Registered(registration) = &outcome else {
        panic!("not registered: {outcome}");
    };
    assert_eq!(registration.smp_url, format!("{}/", smp.base_url));
    let invoice = registration.invoice.as_ref().unwrap();
    assert_eq!(
        invoice.url,
        "https://ap.example.no/as4?tenant=nordlys&channel=ehf"
    );
    assert_eq!(invoice.transport_profile, "peppol-transport-as4-v2_0");
    assert_eq!(
        registration.credit_note.as_ref().unwrap().url,
        "https://ap.example.no/as4"
    );
    let capability = outcome.capability(now());
    assert!(capability.can_receive_invoice && capability.can_receive_credit_note);
    assert_eq!(capability.source, CapabilitySource::Sml);
    assert_eq!(capability.checked_at, now());
    assert_eq!(
        smp.requests(),
        [
            "/iso6523-actorid-upis%3A%3A0192%3A923609016".to_owned(),
            smp.metadata_path(&participant, BisDocument::Invoice),
            smp.metadata_path(&participant, BisDocument::CreditNote),
        ],
        "the ServiceGroup, then the metadata of each BIS 3.0 document it lists"
    );
}

#[tokio::test]
async fn a_participant_without_a_naptr_record_is_not_registered() {
    let registered = ParticipantId::parse("0192:923609016").unwrap();
    let unknown = ParticipantId::parse("0192:974760673").unwrap();
    let smp = LocalSmp::start();
    let Some(dns) = dns_for(&[&registered], &smp) else {
        return;
    };
    let lookup = Lookup::new(config(dns.address)).unwrap();
    let outcome = lookup.lookup(&unknown, now()).await.unwrap();
    assert_eq!(
        outcome.to_string(),
        format!(
            "no NAPTR record for {}: the participant is not registered in SML zone {ZONE}",
            unknown.sml_host(ZONE)
        )
    );
    let capability = outcome.capability(now());
    assert!(!capability.can_receive_invoice && !capability.can_receive_credit_note);
    assert!(smp.requests().is_empty(), "no SMP is asked");
}

#[tokio::test]
async fn what_the_service_group_does_not_list_is_not_received() {
    let danish = ParticipantId::parse("0184:12345678").unwrap();
    let smp = LocalSmp::start();
    smp.serve(
        &format!("/{}", "iso6523-actorid-upis%3A%3A0184%3A12345678"),
        200,
        include_str!("../../tests/fixtures/service-group-invoice-only.xml"),
    );
    smp.serve(
        &smp.metadata_path(&danish, BisDocument::Invoice),
        200,
        &crate::testing::fixtures::INVOICE_METADATA.replace("0192:923609016", "0184:12345678"),
    );
    let Some(dns) = dns_for(&[&danish], &smp) else {
        return;
    };
    let lookup = Lookup::new(config(dns.address)).unwrap();
    let capability = lookup
        .lookup(&danish, now())
        .await
        .unwrap()
        .capability(now());
    assert!(capability.can_receive_invoice);
    assert!(!capability.can_receive_credit_note);
    assert_eq!(smp.requests().len(), 2, "the credit note is not asked for");
}

#[tokio::test]
async fn an_smp_that_fails_is_an_error_not_a_no() {
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&participant);
    smp.serve(
        &smp.metadata_path(&participant, BisDocument::Invoice),
        500,
        "database down",
    );
    let Some(dns) = dns_for(&[&participant], &smp) else {
        return;
    };
    let lookup = Lookup::new(config(dns.address)).unwrap();
    let error = lookup.lookup(&participant, now()).await.unwrap_err();
    assert!(
        matches!(error, LookupError::SmpStatus { status: 500, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("answered HTTP 500"), "{error}");
}

#[tokio::test]
async fn an_http_smp_is_refused_unless_allowed() {
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&participant);
    let Some(dns) = dns_for(&[&participant], &smp) else {
        return;
    };
    let strict = LookupConfig {
        allow_insecure_http: false,
        ..config(dns.address)
    };
    let error = Lookup::new(strict)
        .unwrap()
        .lookup(&participant, now())
        .await
        .unwrap_err();
    assert!(matches!(error, LookupError::InsecureSmp { .. }), "{error}");
    assert!(error.to_string().contains("https-only"), "{error}");
    assert!(smp.requests().is_empty());
}

#[tokio::test]
async fn a_dns_server_that_does_not_answer_is_an_error() {
    let silent = SilentDns::start();
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    let lookup = Lookup::new(config(silent.address())).unwrap();
    let started = std::time::Instant::now();
    let error = lookup.lookup(&participant, now()).await.unwrap_err();
    assert!(matches!(error, LookupError::Dns { .. }), "{error}");
    assert!(
        error.to_string().contains(&participant.sml_host(ZONE)),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the timeout"
    );
}

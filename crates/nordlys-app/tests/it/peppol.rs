//! Does a customer receive EHF: online (a real DNS server, dnsmasq, with NAPTR records pointing
//! at a local SMP), cached with its time, refreshed when stale, or from a Directory export.
//! The online tests skip with a line saying so where dnsmasq is missing and cannot be installed.

use std::time::Duration;

use jiff::SignedDuration;
use nordlys_app::FixedClock;
use nordlys_app::peppol::{
    DirectoryImportError, DirectoryImportOptions, PeppolPolicy, receives_ehf, refresh,
};
use nordlys_core::ids::{CvrNumber, NationalId, OrgNumber};
use nordlys_core::model::CustomerIdentity;
use nordlys_peppol::testing::{LocalDns, LocalSmp, SilentDns, fixtures};
use nordlys_peppol::{BisDocument, CapabilitySource, Lookup, LookupConfig, ParticipantId};
use nordlys_store::PeppolSource;

use crate::fixtures::{clock, empty_db};

const ZONE: &str = "sml.nordlys.test";

fn lookup_at(dns: std::net::SocketAddr) -> Lookup {
    Lookup::new(LookupConfig {
        sml_zone: ZONE.into(),
        nameserver: Some(dns),
        dns_timeout: Duration::from_millis(500),
        allow_insecure_http: true,
        ..LookupConfig::default()
    })
    .unwrap()
}

fn norwegian(org: &str) -> CustomerIdentity {
    CustomerIdentity::NorwegianOrganisation(OrgNumber::parse(org).unwrap())
}

/// dnsmasq answering for `registered` with `smp`, or `None` (the test skips).
fn dns(registered: &[&ParticipantId], smp: &LocalSmp) -> Option<LocalDns> {
    let records: Vec<(String, String)> = registered
        .iter()
        .map(|p| (p.sml_host(ZONE), smp.base_url.clone()))
        .collect();
    LocalDns::start(ZONE, &records)
        .map_err(|reason| eprintln!("skipped: {reason}"))
        .ok()
}

#[tokio::test]
async fn an_organisation_is_looked_up_once_then_answered_from_the_cache_until_stale() {
    let customer = norwegian("923609016");
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&participant);
    let Some(dns) = dns(&[&participant], &smp) else {
        return;
    };
    let db = empty_db().await;
    let lookup = lookup_at(dns.address);
    let policy = PeppolPolicy::default();

    let first = receives_ehf(
        &db.store,
        &lookup,
        &customer,
        &policy,
        &clock("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(first.receives_ehf() && first.capability.can_receive_credit_note);
    assert!(!first.from_cache);
    assert_eq!(first.capability.source, CapabilitySource::Sml);
    assert_eq!(
        smp.requests().len(),
        3,
        "ServiceGroup, invoice and credit note"
    );
    let cached = db
        .store
        .peppol_participant(&participant.full())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.checked_at, "2026-11-01T08:00:00Z".parse().unwrap());
    assert_eq!(
        cached.invoice_endpoint_url.as_deref(),
        Some("https://ap.example.no/as4?tenant=nordlys&channel=ehf")
    );

    // Six days later the answer is fresh: no request.
    let second = receives_ehf(
        &db.store,
        &lookup,
        &customer,
        &policy,
        &clock("2026-11-07T08:00:00Z"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(second.from_cache && second.receives_ehf());
    assert_eq!(second.capability.checked_at, first.capability.checked_at);
    assert_eq!(smp.requests().len(), 3);

    // Eight days later it is stale: looked up again; meanwhile the invoice endpoint went away.
    smp.serve(
        &smp.metadata_path(&participant, BisDocument::Invoice),
        404,
        "",
    );
    let third = receives_ehf(
        &db.store,
        &lookup,
        &customer,
        &policy,
        &clock("2026-11-09T08:00:00Z"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!third.from_cache);
    assert!(!third.receives_ehf(), "no invoice endpoint: no EHF");
    assert!(third.capability.can_receive_credit_note);
    assert_eq!(
        db.store
            .peppol_participant(&participant.full())
            .await
            .unwrap()
            .unwrap()
            .checked_at,
        "2026-11-09T08:00:00Z".parse().unwrap()
    );
}

#[tokio::test]
async fn persons_have_no_participant_and_unregistered_organisations_no_ehf() {
    let smp = LocalSmp::start();
    let someone_else = ParticipantId::parse("0192:923609016").unwrap();
    let Some(dns) = dns(&[&someone_else], &smp) else {
        return;
    };
    let db = empty_db().await;
    let lookup = lookup_at(dns.address);
    let c = clock("2026-11-01T08:00:00Z");
    let person = CustomerIdentity::NorwegianPerson(NationalId::parse("01010112377").unwrap());
    let policy = PeppolPolicy::default();
    assert_eq!(
        receives_ehf(&db.store, &lookup, &person, &policy, &c)
            .await
            .unwrap(),
        None
    );

    let answer = receives_ehf(&db.store, &lookup, &norwegian("974760673"), &policy, &c)
        .await
        .unwrap()
        .unwrap();
    assert!(!answer.receives_ehf());
    let cached = db
        .store
        .peppol_participant("iso6523-actorid-upis::0192:974760673")
        .await
        .unwrap()
        .unwrap();
    assert!(!cached.registered, "the no is cached too, with its time");
    assert_eq!(cached.can_receive_invoice, Some(false));
}

#[tokio::test]
async fn refresh_looks_up_the_stale_answers_again_and_reports_what_changed() {
    let a = ParticipantId::parse("0192:923609016").unwrap();
    let b = ParticipantId::parse("0192:974760673").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&a);
    smp.serve_bis3(&b);
    let Some(dns) = dns(&[&a, &b], &smp) else {
        return;
    };
    let db = empty_db().await;
    let lookup = lookup_at(dns.address);
    let policy = PeppolPolicy::default();
    receives_ehf(
        &db.store,
        &lookup,
        &norwegian("923609016"),
        &policy,
        &clock("2026-10-01T00:00:00Z"),
    )
    .await
    .unwrap();
    receives_ehf(
        &db.store,
        &lookup,
        &norwegian("974760673"),
        &policy,
        &clock("2026-10-20T00:00:00Z"),
    )
    .await
    .unwrap();
    smp.serve(&smp.metadata_path(&a, BisDocument::Invoice), 404, "");

    let mut steps = Vec::new();
    let report = refresh(
        &db.store,
        &lookup,
        SignedDuration::from_hours(24 * 7),
        100,
        &clock("2026-10-22T00:00:00Z"),
        &mut |step| steps.push(step.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.due, report.refreshed, report.changed, report.failed),
        (1, 1, 1, 0)
    );
    assert_eq!(steps[0].participant, a.full(), "only the stale one");
    assert!(steps[0].changed);
    let refreshed = db
        .store
        .peppol_participant(&a.full())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        refreshed.checked_at,
        "2026-10-22T00:00:00Z".parse().unwrap()
    );
    assert_eq!(refreshed.can_receive_invoice, Some(false));
    let untouched = db
        .store
        .peppol_participant(&b.full())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        untouched.checked_at,
        "2026-10-20T00:00:00Z".parse().unwrap()
    );

    // A failing SMP: counted, the old answer kept, the rest go on.
    smp.serve(
        &format!("/{}", "iso6523-actorid-upis%3A%3A0192%3A974760673"),
        500,
        "down",
    );
    let report = refresh(
        &db.store,
        &lookup,
        SignedDuration::from_hours(24 * 7),
        100,
        &clock("2026-12-01T00:00:00Z"),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!((report.due, report.refreshed, report.failed), (2, 1, 1));
    let kept = db
        .store
        .peppol_participant(&b.full())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.checked_at,
        "2026-10-20T00:00:00Z".parse().unwrap(),
        "still due"
    );
}

#[tokio::test]
async fn a_directory_export_answers_without_the_network() {
    let db = empty_db().await;
    let report = nordlys_app::peppol::import_directory(
        &db.store,
        "businesscards.xml",
        fixtures::DIRECTORY_BUSINESS_CARDS.as_bytes(),
        &DirectoryImportOptions::default(),
        &clock("2026-11-01T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((report.entries, report.inserted), (3, 3));
    // A lookup would fail: this DNS server never answers.
    let silent = SilentDns::start();
    let lookup = lookup_at(silent.address());
    let danish = CustomerIdentity::DanishOrganisation(CvrNumber::parse("12345678").unwrap());
    let answer = receives_ehf(
        &db.store,
        &lookup,
        &danish,
        &PeppolPolicy::default(),
        &FixedClock("2026-11-02T00:00:00Z".parse().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(answer.from_cache && answer.receives_ehf());
    assert!(!answer.capability.can_receive_credit_note);
    assert_eq!(answer.capability.source, CapabilitySource::Directory);
    assert_eq!(
        answer.capability.checked_at,
        "2026-10-30T02:00:00Z".parse().unwrap(),
        "a Directory answer is as old as the export"
    );
    let stored = db
        .store
        .peppol_participant("iso6523-actorid-upis::0184:12345678")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name.as_deref(), Some("Dansk Kunde & Søn ApS"));
    assert_eq!(stored.source, PeppolSource::Directory);

    // Not accepting the Directory sends the question to the network (which fails here).
    let strict = PeppolPolicy {
        accept_directory: false,
        ..PeppolPolicy::default()
    };
    let error = receives_ehf(
        &db.store,
        &lookup,
        &danish,
        &strict,
        &clock("2026-11-02T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("DNS lookup of NAPTR"), "{error}");
}

#[tokio::test]
async fn a_directory_export_with_a_bad_identifier_stores_nothing_unless_told_to_skip() {
    let db = empty_db().await;
    let text = include_str!("../../../nordlys-peppol/tests/fixtures/directory-participants.csv");
    let c = clock("2026-11-01T00:00:00Z");
    let error = nordlys_app::peppol::import_directory(
        &db.store,
        "participants.csv",
        text.as_bytes(),
        &DirectoryImportOptions::default(),
        &c,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, DirectoryImportError::Rejected { .. }));
    assert_eq!(
        error.to_string(),
        "participants.csv: line 3: participant \"iso6523-actorid-upis::0192:923609017\": the mod-11 check digit (weights 3,2,7,6,5,4,3,2) does not match; nothing was stored"
    );
    assert_eq!(
        db.store
            .peppol_participant("iso6523-actorid-upis::0192:923609016")
            .await
            .unwrap(),
        None
    );

    let options = DirectoryImportOptions {
        icds: vec!["0192".into()],
        skip_invalid: true,
    };
    let report = nordlys_app::peppol::import_directory(
        &db.store,
        "participants.csv",
        text.as_bytes(),
        &options,
        &c,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.entries,
            report.skipped_invalid,
            report.filtered_out,
            report.inserted
        ),
        (3, 1, 1, 1)
    );
    let listed = db
        .store
        .peppol_participant("iso6523-actorid-upis::0192:923609016")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.can_receive_invoice, None, "this export does not say");
}

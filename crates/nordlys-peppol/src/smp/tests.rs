//! SMP documents written by hand from the specifications (Peppol SMP 1.x and OASIS BDXR SMP 1.0).

use super::*;

const SERVICE_GROUP: &str = include_str!("../../tests/fixtures/service-group.xml");
const SERVICE_GROUP_INVOICE_ONLY: &str =
    include_str!("../../tests/fixtures/service-group-invoice-only.xml");
const INVOICE_METADATA: &str = include_str!("../../tests/fixtures/invoice-metadata.xml");
const CREDIT_NOTE_METADATA: &str = include_str!("../../tests/fixtures/credit-note-metadata.xml");

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn urls_percent_encode_the_identifiers() {
    let participant = ParticipantId::parse("0192:923609016").unwrap();
    assert_eq!(
        service_group_url("https://smp.example.no/", &participant),
        "https://smp.example.no/iso6523-actorid-upis%3A%3A0192%3A923609016"
    );
    let url = service_metadata_url("https://smp.example.no", &participant, BisDocument::Invoice);
    assert_eq!(
        url,
        "https://smp.example.no/iso6523-actorid-upis%3A%3A0192%3A923609016/services/\
         busdox-docid-qns%3A%3Aurn%3Aoasis%3Anames%3Aspecification%3Aubl%3Aschema%3Axsd%3AInvoice-2%3A%3AInvoice\
         %23%23urn%3Acen.eu%3Aen16931%3A2017%23compliant%23urn%3Afdc%3Apeppol.eu%3A2017%3Apoacc%3Abilling%3A3.0%3A%3A2.1"
    );
}

#[test]
fn document_identifiers_are_those_of_domain_md() {
    assert_eq!(
        BisDocument::Invoice.full_identifier(),
        "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    );
    assert_eq!(
        BisDocument::from_full_identifier(
            &BisDocument::CreditNote
                .full_identifier()
                .replace("busdox", "BUSDOX")
        ),
        Some(BisDocument::CreditNote),
        "the scheme is compared without case"
    );
    assert_eq!(
        BisDocument::from_full_identifier(
            &BisDocument::Invoice
                .full_identifier()
                .replace("::2.1", "::2.0")
        ),
        None,
        "the value is compared exactly"
    );
}

#[test]
fn a_service_group_lists_its_document_types() {
    let group = parse_service_group(SERVICE_GROUP).unwrap();
    assert_eq!(group.participant, "iso6523-actorid-upis::0192:923609016");
    assert_eq!(group.document_types.len(), 3);
    assert!(group.supports(BisDocument::Invoice));
    assert!(group.supports(BisDocument::CreditNote));
    assert!(group.document_types[2].contains("Order-2::Order"));

    let invoice_only = parse_service_group(SERVICE_GROUP_INVOICE_ONLY).unwrap();
    assert!(invoice_only.supports(BisDocument::Invoice));
    assert!(!invoice_only.supports(BisDocument::CreditNote));
}

#[test]
fn peppol_smp_metadata_gives_the_as4_endpoint_in_service() {
    let metadata = parse_service_metadata(INVOICE_METADATA).unwrap();
    let ServiceMetadata::Service {
        participant,
        document_type,
        processes,
    } = &metadata
    else {
        panic!("not a redirect");
    };
    assert_eq!(participant, "iso6523-actorid-upis::0192:923609016");
    assert_eq!(
        BisDocument::from_full_identifier(document_type),
        Some(BisDocument::Invoice)
    );
    assert_eq!(processes.len(), 1);
    let endpoint = metadata.bis3_endpoint(at("2026-11-01T00:00:00Z")).unwrap();
    assert_eq!(
        endpoint.url,
        "https://ap.example.no/as4?tenant=nordlys&channel=ehf"
    );
    assert_eq!(endpoint.transport_profile, "peppol-transport-as4-v2_0");
    assert_eq!(endpoint.activation, Some(at("2024-01-01T00:00:00Z")));
    assert_eq!(endpoint.expiration, Some(at("2030-01-01T00:00:00Z")));
    assert!(
        metadata.bis3_endpoint(at("2023-12-31T23:59:59Z")).is_none(),
        "not yet active"
    );
    assert!(
        metadata.bis3_endpoint(at("2030-01-01T00:00:00Z")).is_none(),
        "expired"
    );
}

#[test]
fn bdxr_metadata_skips_other_processes_profiles_and_expired_endpoints() {
    let metadata = parse_service_metadata(CREDIT_NOTE_METADATA).unwrap();
    let now = at("2026-11-01T00:00:00Z");
    let endpoint = metadata.bis3_endpoint(now).unwrap();
    assert_eq!(endpoint.url, "https://ap.example.no/as4");
    assert_eq!(
        endpoint.activation,
        Some(at("2025-06-30T00:00:00Z")),
        "an xs:date is its UTC start"
    );
    let before = metadata.bis3_endpoint(at("2025-01-01T00:00:00Z")).unwrap();
    assert_eq!(
        before.url, "https://old-ap.example.no/as4",
        "the retired one was in service then"
    );
    let ServiceMetadata::Service { processes, .. } = &metadata else {
        panic!("not a redirect");
    };
    assert_eq!(
        processes[0].endpoints[0].url,
        "https://selfbilling.example.no/as4"
    );
    assert_eq!(
        processes[1].endpoints[0].activation,
        Some(at("2019-04-02T00:00:00Z")),
        "an xs:dateTime without offset is UTC"
    );
}

#[test]
fn a_redirect_is_returned_as_such() {
    let xml = r#"<SignedServiceMetadata xmlns="http://busdox.org/serviceMetadata/publishing/1.0/">
        <ServiceMetadata><Redirect href="https://other-smp.example/x"><CertificateUID>CN=x</CertificateUID></Redirect></ServiceMetadata>
        </SignedServiceMetadata>"#;
    assert_eq!(
        parse_service_metadata(xml).unwrap(),
        ServiceMetadata::Redirect {
            href: "https://other-smp.example/x".into()
        }
    );
}

#[test]
fn broken_documents_are_errors_with_their_line() {
    let truncated = &INVOICE_METADATA[..INVOICE_METADATA.find("</ProcessList>").unwrap()];
    let error = parse_service_metadata(truncated).unwrap_err();
    assert!(error.message.contains("ends inside"), "{error}");

    let bad_date = INVOICE_METADATA.replace("2030-01-01T00:00:00Z", "soon");
    let error = parse_service_metadata(&bad_date).unwrap_err();
    assert_eq!(error.line, 22, "{error}");
    assert!(error.message.contains("<ServiceExpirationDate>"), "{error}");
    assert!(error.message.contains("\"soon\""), "{error}");

    let error = parse_service_group(INVOICE_METADATA).unwrap_err();
    assert!(
        error.message.contains("expected a <ServiceGroup>"),
        "{error}"
    );

    let entity = "<!DOCTYPE x [<!ENTITY e \"boom\">]><ServiceGroup>&e;</ServiceGroup>";
    assert!(
        parse_service_group(entity)
            .unwrap_err()
            .message
            .contains("DOCTYPE")
    );

    let no_address = INVOICE_METADATA.replace(
        "https://ap.example.no/as4?tenant=nordlys&amp;channel=ehf",
        "",
    );
    let error = parse_service_metadata(&no_address).unwrap_err();
    assert!(error.message.contains("has no address"), "{error}");
}

//! The SMP's REST interface (Peppol SMP 1.x, OASIS BDXR SMP 1.0): the URLs of a participant's
//! ServiceGroup and of its service metadata for a document type, percent-encoded; the parsing
//! of both documents; and which endpoint, if any, receives a BIS Billing 3.0 document now.
//!
//! The signature of a SignedServiceMetadata is not verified: the result decides a delivery
//! channel, and the access point that sends the document looks the participant up again.

use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::participant::ParticipantId;
use crate::xml::{XmlError, XmlEvent, XmlReader, attribute};

/// The document identifier scheme of BIS documents.
pub const DOCUMENT_SCHEME: &str = "busdox-docid-qns";
/// The process identifier scheme of BIS processes.
pub const PROCESS_SCHEME: &str = "cenbii-procid-ubl";
/// Peppol BIS Billing 3.0's process (profile 01).
pub const BIS3_PROCESS: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";
/// The transport profile of Peppol AS4.
pub const AS4_TRANSPORT_PROFILE: &str = "peppol-transport-as4-v2_0";

const BIS3_CUSTOMIZATION: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";

/// The two BIS Billing 3.0 documents an EHF customer receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BisDocument {
    Invoice,
    CreditNote,
}

impl BisDocument {
    pub const ALL: [BisDocument; 2] = [BisDocument::Invoice, BisDocument::CreditNote];

    /// The document identifier's value (after `busdox-docid-qns::`).
    pub fn identifier(self) -> String {
        let root = match self {
            BisDocument::Invoice => {
                "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
            }
            BisDocument::CreditNote => {
                "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote"
            }
        };
        format!("{root}##{BIS3_CUSTOMIZATION}::2.1")
    }

    /// `busdox-docid-qns::…`, as SMP URLs and the Directory write it.
    pub fn full_identifier(self) -> String {
        format!("{DOCUMENT_SCHEME}::{}", self.identifier())
    }

    /// Which BIS document `full` (`scheme::value`) is, if any (the scheme compared without case).
    pub fn from_full_identifier(full: &str) -> Option<BisDocument> {
        let (scheme, value) = full.split_once("::")?;
        if !scheme.eq_ignore_ascii_case(DOCUMENT_SCHEME) {
            return None;
        }
        BisDocument::ALL
            .into_iter()
            .find(|d| d.identifier() == value)
    }
}

/// RFC 3986 unreserved characters stay; everything else (`:` → `%3A`, `#` → `%23`) is encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// `{smp}/{iso6523-actorid-upis%3A%3A…}`: the participant's ServiceGroup.
pub fn service_group_url(smp_base_url: &str, participant: &ParticipantId) -> String {
    format!(
        "{}/{}",
        smp_base_url.trim_end_matches('/'),
        encode(&participant.full())
    )
}

/// `{smp}/{participant}/services/{busdox-docid-qns%3A%3A…}`: its metadata for one document type.
pub fn service_metadata_url(
    smp_base_url: &str,
    participant: &ParticipantId,
    document: BisDocument,
) -> String {
    format!(
        "{}/services/{}",
        service_group_url(smp_base_url, participant),
        encode(&document.full_identifier())
    )
}

/// A participant's ServiceGroup: the document types it has service metadata for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceGroup {
    /// `scheme::value` as the SMP wrote it.
    pub participant: String,
    /// Each reference's document type, `scheme::value`, percent-decoded from its href.
    pub document_types: Vec<String>,
}

impl ServiceGroup {
    pub fn supports(&self, document: BisDocument) -> bool {
        self.document_types
            .iter()
            .any(|d| BisDocument::from_full_identifier(d) == Some(document))
    }
}

/// One endpoint of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub transport_profile: String,
    pub url: String,
    pub activation: Option<Timestamp>,
    pub expiration: Option<Timestamp>,
}

impl Endpoint {
    /// Whether the endpoint is in service at `now` (activation ≤ now < expiration).
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.activation.is_none_or(|a| a <= now) && self.expiration.is_none_or(|e| now < e)
    }
}

/// One process of a document type, with its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// `scheme::value`.
    pub identifier: String,
    pub endpoints: Vec<Endpoint>,
}

/// What an SMP answers for one document type: its processes, or a redirect to another SMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceMetadata {
    Service {
        participant: String,
        /// `scheme::value`.
        document_type: String,
        processes: Vec<Process>,
    },
    Redirect {
        href: String,
    },
}

impl ServiceMetadata {
    /// The AS4 endpoint of the BIS Billing 3.0 process that is in service at `now`.
    pub fn bis3_endpoint(&self, now: Timestamp) -> Option<&Endpoint> {
        let ServiceMetadata::Service { processes, .. } = self else {
            return None;
        };
        processes
            .iter()
            .filter(|p| is_bis3_process(&p.identifier))
            .flat_map(|p| &p.endpoints)
            .find(|e| e.transport_profile == AS4_TRANSPORT_PROFILE && e.is_active(now))
    }
}

fn is_bis3_process(identifier: &str) -> bool {
    identifier.split_once("::").is_some_and(|(scheme, value)| {
        scheme.eq_ignore_ascii_case(PROCESS_SCHEME) && value == BIS3_PROCESS
    })
}

/// `scheme::value` of an identifier element.
fn identifier(attributes: &[(String, String)], text: &str) -> String {
    match attribute(attributes, "scheme") {
        Some(scheme) => format!("{scheme}::{}", text.trim()),
        None => text.trim().to_owned(),
    }
}

/// Parse a ServiceGroup document.
pub fn parse_service_group(xml: &str) -> Result<ServiceGroup, XmlError> {
    let mut reader = XmlReader::new(xml.as_bytes());
    let mut participant = None;
    let mut document_types = Vec::new();
    let mut root_seen = false;
    while let Some(event) = reader.next()? {
        let XmlEvent::Start { name, attributes } = event else {
            continue;
        };
        if !root_seen {
            root_seen = true;
            if name != "ServiceGroup" {
                return Err(reader.error(format!("expected a <ServiceGroup>, found <{name}>")));
            }
        }
        match name.as_str() {
            "ParticipantIdentifier" => {
                let text = reader.text_of_element()?;
                participant = Some(identifier(&attributes, &text));
            }
            "ServiceMetadataReference" => {
                let href = attribute(&attributes, "href")
                    .ok_or_else(|| reader.error("<ServiceMetadataReference> has no href"))?;
                let encoded = href
                    .rsplit_once("/services/")
                    .map(|(_, d)| d)
                    .ok_or_else(|| {
                        reader.error(format!("href {href:?} has no /services/ segment"))
                    })?;
                let decoded = percent_encoding::percent_decode_str(encoded)
                    .decode_utf8()
                    .map_err(|_| {
                        reader.error(format!("href {href:?} is not UTF-8 when decoded"))
                    })?;
                document_types.push(decoded.into_owned());
            }
            _ => {}
        }
    }
    let participant = participant
        .ok_or_else(|| reader.error("the ServiceGroup has no <ParticipantIdentifier>"))?;
    Ok(ServiceGroup {
        participant,
        document_types,
    })
}

/// Parse a SignedServiceMetadata (or bare ServiceMetadata) document.
pub fn parse_service_metadata(xml: &str) -> Result<ServiceMetadata, XmlError> {
    let mut reader = XmlReader::new(xml.as_bytes());
    let mut participant = None;
    let mut document_type = None;
    let mut processes: Vec<Process> = Vec::new();
    let mut root_seen = false;
    while let Some(event) = reader.next()? {
        let XmlEvent::Start { name, attributes } = event else {
            continue;
        };
        if !root_seen {
            root_seen = true;
            if name != "SignedServiceMetadata" && name != "ServiceMetadata" {
                return Err(reader.error(format!(
                    "expected a <SignedServiceMetadata>, found <{name}>"
                )));
            }
        }
        // The signature's own elements are not the service's.
        if reader.path().iter().any(|p| p == "Signature") {
            continue;
        }
        match name.as_str() {
            "Redirect" => {
                let href = attribute(&attributes, "href")
                    .ok_or_else(|| reader.error("<Redirect> has no href"))?;
                return Ok(ServiceMetadata::Redirect {
                    href: href.to_owned(),
                });
            }
            "ParticipantIdentifier" => {
                participant = Some(identifier(&attributes, &reader.text_of_element()?));
            }
            "DocumentIdentifier" => {
                document_type = Some(identifier(&attributes, &reader.text_of_element()?));
            }
            "ProcessIdentifier" => {
                processes.push(Process {
                    identifier: identifier(&attributes, &reader.text_of_element()?),
                    endpoints: Vec::new(),
                });
            }
            "Endpoint" => {
                let transport_profile = attribute(&attributes, "transportProfile")
                    .ok_or_else(|| reader.error("<Endpoint> has no transportProfile"))?
                    .to_owned();
                let process = processes
                    .last_mut()
                    .ok_or_else(|| reader.error("an <Endpoint> outside a <Process>"))?;
                process.endpoints.push(Endpoint {
                    transport_profile,
                    url: String::new(),
                    activation: None,
                    expiration: None,
                });
            }
            // BDXR: EndpointURI; Peppol SMP 1.x: EndpointReference/Address.
            "EndpointURI" | "Address" => {
                let text = reader.text_of_element()?;
                current_endpoint(&mut processes, &reader)?.url = text.trim().to_owned();
            }
            "ServiceActivationDate" | "ActivationDate" => {
                let text = reader.text_of_element()?;
                let at = xsd_instant(&text).map_err(|m| reader.error(format!("<{name}>: {m}")))?;
                current_endpoint(&mut processes, &reader)?.activation = Some(at);
            }
            "ServiceExpirationDate" | "ExpirationDate" => {
                let text = reader.text_of_element()?;
                let at = xsd_instant(&text).map_err(|m| reader.error(format!("<{name}>: {m}")))?;
                current_endpoint(&mut processes, &reader)?.expiration = Some(at);
            }
            _ => {}
        }
    }
    let participant = participant
        .ok_or_else(|| reader.error("the service metadata has no <ParticipantIdentifier>"))?;
    let document_type = document_type
        .ok_or_else(|| reader.error("the service metadata has no <DocumentIdentifier>"))?;
    for endpoint in processes.iter().flat_map(|p| &p.endpoints) {
        if endpoint.url.is_empty() {
            return Err(reader.error(format!(
                "an endpoint of transport profile {} has no address",
                endpoint.transport_profile
            )));
        }
    }
    Ok(ServiceMetadata::Service {
        participant,
        document_type,
        processes,
    })
}

fn current_endpoint<'p, R: std::io::BufRead>(
    processes: &'p mut [Process],
    reader: &XmlReader<R>,
) -> Result<&'p mut Endpoint, XmlError> {
    processes
        .last_mut()
        .and_then(|p| p.endpoints.last_mut())
        .ok_or_else(|| reader.error("an endpoint's element outside an <Endpoint>"))
}

/// An `xs:dateTime` (without offset: UTC) or `xs:date` (its start, UTC).
pub(crate) fn xsd_instant(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let civil = text.strip_suffix('Z').unwrap_or(text);
    if let Ok(datetime) = civil.parse::<jiff::civil::DateTime>()
        && let Ok(at) = datetime.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(at.timestamp());
    }
    if let Ok(date) = civil.parse::<jiff::civil::Date>()
        && let Ok(at) = date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(at.timestamp());
    }
    Err(format!(
        "{text:?} is not an xs:dateTime (2026-01-01T00:00:00Z) or xs:date"
    ))
}

#[cfg(test)]
mod tests;

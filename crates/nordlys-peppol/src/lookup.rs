//! The online lookup: the participant's NAPTR record under the SML zone (hickory, with the
//! system's resolver or a nameserver of our choosing), then the SMP's ServiceGroup and service
//! metadata over HTTPS (ureq with rustls, on a blocking thread), each with a timeout and a size
//! limit. "No NAPTR record" is an answer ([`LookupOutcome::NotRegistered`]); a DNS timeout, an
//! SMP that answers 500 or an unreadable document is an error.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use jiff::Timestamp;

use crate::naptr::{NaptrError, NaptrRecord, smp_url_from_naptr};
use crate::participant::ParticipantId;
use crate::smp::{
    BisDocument, Endpoint, ServiceMetadata, parse_service_group, parse_service_metadata,
    service_group_url, service_metadata_url,
};
use crate::xml::XmlError;
use crate::{Capability, CapabilitySource};

/// The production SML zone (DOMAIN.md §8: valid from 19 March 2026).
pub const PRODUCTION_SML_ZONE: &str = "participant.sml.prod.tech.peppol.org";
/// The SML zone of Peppol's test network.
pub const TEST_SML_ZONE: &str = "participant.sml.test.tech.peppol.org";

/// How to look participants up.
#[derive(Debug, Clone)]
pub struct LookupConfig {
    pub sml_zone: String,
    /// The DNS server to ask; `None`: the system's resolver (`/etc/resolv.conf`).
    pub nameserver: Option<SocketAddr>,
    /// Per DNS attempt (two attempts).
    pub dns_timeout: Duration,
    /// Per HTTP request, connection to last byte.
    pub http_timeout: Duration,
    /// SMPs are https-only since 2026-02-01; `true` also accepts `http://` (tests, local SMPs).
    pub allow_insecure_http: bool,
    /// A larger SMP response is refused.
    pub max_response_bytes: u64,
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            sml_zone: PRODUCTION_SML_ZONE.to_owned(),
            nameserver: None,
            dns_timeout: Duration::from_secs(3),
            http_timeout: Duration::from_secs(10),
            allow_insecure_http: false,
            max_response_bytes: 1 << 20,
        }
    }
}

/// What the network says about a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupOutcome {
    /// No NAPTR record for `host`: the participant is not registered in SML zone `zone`.
    NotRegistered {
        host: String,
        zone: String,
    },
    Registered(Registration),
}

/// A registered participant: its SMP, and the BIS Billing 3.0 endpoints in service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub smp_url: String,
    pub invoice: Option<Endpoint>,
    pub credit_note: Option<Endpoint>,
}

impl LookupOutcome {
    /// The decision: which BIS 3.0 documents the participant receives, as of `checked_at`.
    pub fn capability(&self, checked_at: Timestamp) -> Capability {
        let (invoice, credit_note) = match self {
            LookupOutcome::NotRegistered { .. } => (false, false),
            LookupOutcome::Registered(r) => (r.invoice.is_some(), r.credit_note.is_some()),
        };
        Capability {
            can_receive_invoice: invoice,
            can_receive_credit_note: credit_note,
            source: CapabilitySource::Sml,
            checked_at,
        }
    }
}

impl std::fmt::Display for LookupOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupOutcome::NotRegistered { host, zone } => write!(
                f,
                "no NAPTR record for {host}: the participant is not registered in SML zone {zone}"
            ),
            LookupOutcome::Registered(r) => write!(
                f,
                "registered at SMP {}: invoice {}, credit note {}",
                r.smp_url,
                r.invoice
                    .as_ref()
                    .map_or("not received", |e| e.url.as_str()),
                r.credit_note
                    .as_ref()
                    .map_or("not received", |e| e.url.as_str()),
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("DNS lookup of NAPTR {host} failed: {message}")]
    Dns { host: String, message: String },
    #[error("the NAPTR record of {host} is unusable: {error}")]
    Naptr { host: String, error: NaptrError },
    #[error(
        "the SMP URL {url} is not https: SMPs are https-only since 2026-02-01 (allow_insecure_http is off)"
    )]
    InsecureSmp { url: String },
    #[error("the SMP URL {url:?} is not an http(s) URL")]
    BadSmpUrl { url: String },
    #[error("GET {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("GET {url} answered HTTP {status}")]
    SmpStatus { url: String, status: u16 },
    #[error("GET {url}: the response is larger than {limit_bytes} bytes")]
    TooLarge { url: String, limit_bytes: u64 },
    #[error("GET {url}: the document is unreadable: {error}")]
    SmpDocument { url: String, error: XmlError },
    #[error("GET {url}: a redirect to another SMP redirects again")]
    RedirectLoop { url: String },
    #[error("cannot set up the DNS resolver: {0}")]
    Resolver(String),
}

/// Looks participants up on the network; one per process is enough (it holds no cache).
pub struct Lookup {
    resolver: Resolver<TokioConnectionProvider>,
    agent: ureq::Agent,
    config: LookupConfig,
}

impl Lookup {
    pub fn new(config: LookupConfig) -> Result<Lookup, LookupError> {
        let mut options = ResolverOpts::default();
        options.timeout = config.dns_timeout;
        options.attempts = 2;
        // Results are cached in the store with their time, not here.
        options.cache_size = 0;
        options.use_hosts_file = ResolveHosts::Never;
        let builder = match config.nameserver {
            Some(address) => {
                let servers = vec![
                    NameServerConfig::new(address, Protocol::Udp),
                    NameServerConfig::new(address, Protocol::Tcp),
                ];
                Resolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], servers),
                    TokioConnectionProvider::default(),
                )
            }
            None => Resolver::builder_tokio().map_err(|e| LookupError::Resolver(e.to_string()))?,
        };
        let resolver = builder.with_options(options).build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.http_timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(!config.allow_insecure_http)
            .user_agent(concat!("nordlys/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Lookup {
            resolver,
            agent,
            config,
        })
    }

    pub fn config(&self) -> &LookupConfig {
        &self.config
    }

    /// Look `participant` up: SML (NAPTR), then its SMP; `now` decides which endpoints are in
    /// service.
    pub async fn lookup(
        &self,
        participant: &ParticipantId,
        now: Timestamp,
    ) -> Result<LookupOutcome, LookupError> {
        let zone = self.config.sml_zone.trim_end_matches('.').to_owned();
        let host = participant.sml_host(&zone);
        let Some(smp_url) = self.smp_url(&host).await? else {
            return Ok(LookupOutcome::NotRegistered { host, zone });
        };
        let group_url = service_group_url(&smp_url, participant);
        let Some(group_xml) = self.get(&group_url).await? else {
            // Registered in the SML, unknown to its SMP: it receives nothing.
            return Ok(LookupOutcome::Registered(Registration {
                smp_url,
                invoice: None,
                credit_note: None,
            }));
        };
        let group = parse_service_group(&group_xml).map_err(|error| LookupError::SmpDocument {
            url: group_url.clone(),
            error,
        })?;
        let mut registration = Registration {
            smp_url: smp_url.clone(),
            invoice: None,
            credit_note: None,
        };
        for document in BisDocument::ALL {
            if !group.supports(document) {
                continue;
            }
            let endpoint = self
                .endpoint(&service_metadata_url(&smp_url, participant, document), now)
                .await?;
            match document {
                BisDocument::Invoice => registration.invoice = endpoint,
                BisDocument::CreditNote => registration.credit_note = endpoint,
            }
        }
        Ok(LookupOutcome::Registered(registration))
    }

    /// The SMP base URL of the NAPTR records of `host`; `None` if it has none for an SMP.
    async fn smp_url(&self, host: &str) -> Result<Option<String>, LookupError> {
        let fqdn = format!("{host}.");
        let dns_error = |message: String| LookupError::Dns {
            host: host.to_owned(),
            message,
        };
        let answer = match self.resolver.lookup(fqdn.as_str(), RecordType::NAPTR).await {
            Ok(answer) => answer,
            Err(error) => {
                let not_found = error.proto().is_some_and(|p| {
                    matches!(
                        p.kind(),
                        ProtoErrorKind::NoRecordsFound { response_code, .. }
                            if *response_code == ResponseCode::NXDomain
                                || *response_code == ResponseCode::NoError
                    )
                });
                if not_found {
                    return Ok(None);
                }
                return Err(dns_error(error.to_string()));
            }
        };
        let records: Vec<NaptrRecord> = answer
            .iter()
            .filter_map(|data| match data {
                RData::NAPTR(naptr) => Some(NaptrRecord {
                    order: naptr.order(),
                    preference: naptr.preference(),
                    flags: String::from_utf8_lossy(naptr.flags()).into_owned(),
                    services: String::from_utf8_lossy(naptr.services()).into_owned(),
                    regexp: String::from_utf8_lossy(naptr.regexp()).into_owned(),
                    replacement: naptr.replacement().to_string(),
                }),
                _ => None,
            })
            .collect();
        smp_url_from_naptr(&records, host).map_err(|error| LookupError::Naptr {
            host: host.to_owned(),
            error,
        })
    }

    /// The BIS 3.0 endpoint in service at `now` of the metadata at `url` (one redirect followed).
    async fn endpoint(&self, url: &str, now: Timestamp) -> Result<Option<Endpoint>, LookupError> {
        let mut url = url.to_owned();
        for hop in 0..2 {
            let Some(xml) = self.get(&url).await? else {
                return Ok(None);
            };
            let metadata =
                parse_service_metadata(&xml).map_err(|error| LookupError::SmpDocument {
                    url: url.clone(),
                    error,
                })?;
            match metadata {
                ServiceMetadata::Redirect { href } if hop == 0 => url = href,
                ServiceMetadata::Redirect { .. } => return Err(LookupError::RedirectLoop { url }),
                service => return Ok(service.bis3_endpoint(now).cloned()),
            }
        }
        Err(LookupError::RedirectLoop { url })
    }

    /// GET `url`: its body on 200, `None` on 404, an error otherwise.
    async fn get(&self, url: &str) -> Result<Option<String>, LookupError> {
        let insecure = url.starts_with("http://");
        if !insecure && !url.starts_with("https://") {
            return Err(LookupError::BadSmpUrl {
                url: url.to_owned(),
            });
        }
        if insecure && !self.config.allow_insecure_http {
            return Err(LookupError::InsecureSmp {
                url: url.to_owned(),
            });
        }
        let agent = self.agent.clone();
        let limit_bytes = self.config.max_response_bytes;
        let owned = url.to_owned();
        let fetched = tokio::task::spawn_blocking(move || fetch(&agent, &owned, limit_bytes)).await;
        fetched.unwrap_or_else(|e| {
            Err(LookupError::Http {
                url: url.to_owned(),
                message: format!("the request's thread ended: {e}"),
            })
        })
    }
}

fn fetch(agent: &ureq::Agent, url: &str, limit_bytes: u64) -> Result<Option<String>, LookupError> {
    let http_error = |error: ureq::Error| LookupError::Http {
        url: url.to_owned(),
        message: match error {
            ureq::Error::Timeout(what) => format!("timed out ({what})"),
            other => other.to_string(),
        },
    };
    let mut response = agent.get(url).call().map_err(http_error)?;
    let status = response.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(LookupError::SmpStatus {
            url: url.to_owned(),
            status,
        });
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(limit_bytes)
        .read_to_string();
    match body {
        Ok(text) => Ok(Some(text)),
        Err(ureq::Error::BodyExceedsLimit(_)) => Err(LookupError::TooLarge {
            url: url.to_owned(),
            limit_bytes,
        }),
        Err(error) => Err(http_error(error)),
    }
}

#[cfg(test)]
mod tests;

//! The issuer's profile: who sends the documents (a seller per market the utility serves),
//! how they look (logo, colours, texts) and how e-mail is signed — one TOML text, set with
//! `nordlys issuer set FILE` and stored versioned, so every process renders with the same one
//! and each stored rendition names the version it was made with.
//!
//! ```toml
//! [seller.NO]
//! name = "Nordlys Kraft AS"
//! organisation_number = "923609016"
//! vat_registered = true
//! foretaksregisteret = true
//! street = "Kraftveien 1"
//! postcode = "0150"
//! city = "Oslo"
//! email = "faktura@nordlys.example"
//! phone = "+47 22 00 00 00"
//! website = "https://nordlys.example"
//! bank_account = "1234.56.78903"       # or: iban = "…", bic = "…"
//! vat_exemption_reason = "Unntatt fra merverdiavgift, jf. merverdiavgiftsloven § 3-…"  # if any line is exempt (E)
//!
//! [branding]
//! primary_colour = "#1a5fb4"
//! accent_colour = "#e66100"
//! logo_svg = """<svg …>…</svg>"""      # optional
//! sender_text = { nb = "…", da = "…", en = "…" }
//! payment_terms = { nb = "…", da = "…", en = "…" }
//!
//! [email]
//! from = "Nordlys Kraft <faktura@nordlys.example>"
//! ```

use std::collections::BTreeMap;

use nordlys_core::ParseError;
use nordlys_core::ids::{CvrNumber, OrgNumber};
use nordlys_core::model::{Address, Market};
use nordlys_documents::{BankAccount, Branding, Colour, LocalisedText, PartyIdentity, Seller};
use serde::Deserialize;

/// A parsed issuer profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerProfile {
    /// The stored version it was read from (0 when parsed from a file not yet stored).
    pub version: i64,
    pub sellers: BTreeMap<Market, Seller>,
    pub branding: Branding,
    /// Per market, why the seller's VAT-exempt lines (category E) carry no VAT, as the law
    /// gives it (EN 16931 BT-120); documents with exempt lines need it.
    pub vat_exemption_reasons: BTreeMap<Market, String>,
    /// The `From:` of invoice e-mail, e.g. `Nordlys Kraft <faktura@nordlys.example>`.
    pub email_from: String,
}

impl IssuerProfile {
    /// The seller for documents of `market`.
    pub fn seller(&self, market: Market) -> Option<&Seller> {
        self.sellers.get(&market)
    }
}

/// A profile that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("issuer profile: {0}")]
pub struct ProfileError(pub String);

impl From<ParseError> for ProfileError {
    fn from(error: ParseError) -> Self {
        ProfileError(error.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    seller: BTreeMap<String, SellerFile>,
    branding: BrandingFile,
    email: EmailFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SellerFile {
    name: String,
    organisation_number: Option<String>,
    cvr: Option<String>,
    vat_registered: bool,
    #[serde(default)]
    foretaksregisteret: bool,
    street: String,
    postcode: String,
    city: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    website: String,
    bank_account: Option<String>,
    iban: Option<String>,
    bic: Option<String>,
    vat_exemption_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrandingFile {
    primary_colour: String,
    accent_colour: String,
    logo_svg: Option<String>,
    #[serde(default)]
    sender_text: TextFile,
    #[serde(default)]
    payment_terms: TextFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TextFile {
    #[serde(default)]
    nb: String,
    #[serde(default)]
    da: String,
    #[serde(default)]
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFile {
    from: String,
}

/// The largest logo kept in a profile.
const MAX_LOGO_BYTES: usize = 256 * 1024;

/// Parse a profile's TOML text; `version` is the stored version it came from.
pub fn parse_issuer_profile(text: &str, version: i64) -> Result<IssuerProfile, ProfileError> {
    let file: ProfileFile = toml::from_str(text).map_err(|e| ProfileError(e.to_string()))?;
    if file.seller.is_empty() {
        return Err(ProfileError(
            "no [seller.NO] or [seller.DK] table: documents need a seller".into(),
        ));
    }
    let mut sellers = BTreeMap::new();
    let mut vat_exemption_reasons = BTreeMap::new();
    for (market_code, mut seller) in file.seller {
        let market = Market::parse(&market_code)
            .map_err(|e| ProfileError(format!("[seller.{market_code}]: {e}")))?;
        if let Some(reason) = seller.vat_exemption_reason.take() {
            vat_exemption_reasons.insert(market, reason);
        }
        let seller = parse_seller(market, seller)
            .map_err(|e| ProfileError(format!("[seller.{market_code}]: {}", e.0)))?;
        sellers.insert(market, seller);
    }
    let branding = file.branding;
    if let Some(logo) = &branding.logo_svg
        && (logo.len() > MAX_LOGO_BYTES || !logo.trim_start().starts_with('<'))
    {
        return Err(ProfileError(format!(
            "[branding] logo_svg: an SVG document of at most {MAX_LOGO_BYTES} bytes is expected"
        )));
    }
    let text = |t: TextFile| LocalisedText {
        nb: t.nb,
        da: t.da,
        en: t.en,
    };
    if !file.email.from.contains('@') {
        return Err(ProfileError(format!(
            "[email] from = {:?}: an address like \"Name <invoice@example.no>\" is expected",
            file.email.from
        )));
    }
    Ok(IssuerProfile {
        version,
        sellers,
        branding: Branding {
            logo_svg: branding.logo_svg,
            primary_colour: Colour::parse(&branding.primary_colour)?,
            accent_colour: Colour::parse(&branding.accent_colour)?,
            sender_text: text(branding.sender_text),
            payment_terms: text(branding.payment_terms),
        },
        vat_exemption_reasons,
        email_from: file.email.from,
    })
}

fn parse_seller(market: Market, seller: SellerFile) -> Result<Seller, ProfileError> {
    let identity = match (market, &seller.organisation_number, &seller.cvr) {
        (Market::No, Some(org), None) => {
            PartyIdentity::NorwegianOrganisation(OrgNumber::parse(org)?)
        }
        (Market::Dk, None, Some(cvr)) => PartyIdentity::DanishOrganisation(CvrNumber::parse(cvr)?),
        (Market::No, ..) => {
            return Err(ProfileError(
                "a Norwegian seller gives organisation_number (9 digits) and no cvr".into(),
            ));
        }
        (Market::Dk, ..) => {
            return Err(ProfileError(
                "a Danish seller gives cvr (8 digits) and no organisation_number".into(),
            ));
        }
    };
    let bank_account = match (&seller.bank_account, &seller.iban) {
        (Some(account), None) => BankAccount::norwegian(account)?,
        (None, Some(iban)) => BankAccount::iban(iban, seller.bic.as_deref())?,
        _ => {
            return Err(ProfileError(
                "give either bank_account (a Norwegian account number) or iban".into(),
            ));
        }
    };
    let address = Address {
        street: seller.street,
        postcode: seller.postcode,
        city: seller.city,
        municipality: String::new(),
        county: String::new(),
    };
    address.validate(market)?;
    if seller.name.trim().is_empty() {
        return Err(ProfileError("name is empty".into()));
    }
    Ok(Seller {
        name: seller.name,
        identity,
        vat_registered: seller.vat_registered,
        in_foretaksregisteret: seller.foretaksregisteret,
        address,
        email: seller.email,
        phone: seller.phone,
        website: seller.website,
        bank_account,
    })
}

/// Why a profile could not be set.
#[derive(Debug, thiserror::Error)]
pub enum SetProfileError {
    #[error(transparent)]
    Invalid(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] nordlys_store::StoreError),
}

/// Check a profile and store it as the issuer's (a new version if it differs from the
/// latest); nothing is stored if it does not parse.
pub async fn set_issuer_profile(
    store: &nordlys_store::Store,
    text: &str,
    source: &str,
    clock: &dyn crate::Clock,
) -> Result<(nordlys_store::Upsert, IssuerProfile), SetProfileError> {
    let mut profile = parse_issuer_profile(text, 0)?;
    let mut tx = store.begin_import("issuer", source, clock.now()).await?;
    let upsert = tx.set_issuer_profile(text).await?;
    let mut counts = nordlys_store::ImportCounts::default();
    counts.record(upsert);
    tx.commit(counts).await?;
    profile.version = store
        .issuer_profile(None)
        .await?
        .map_or(0, |stored| stored.version);
    Ok((upsert, profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const PROFILE: &str = r##"
[seller.NO]
name = "Nordlys Kraft AS"
organisation_number = "923609016"
vat_registered = true
foretaksregisteret = true
street = "Kraftveien 1"
postcode = "0150"
city = "Oslo"
bank_account = "1234.56.78903"

[branding]
primary_colour = "#1a5fb4"
accent_colour = "#e66100"
payment_terms = { nb = "Betaling innen forfall.", en = "Payment by the due date." }

[email]
from = "Nordlys Kraft <faktura@nordlys.example>"
"##;

    #[test]
    fn a_profile_gives_its_seller_and_branding() {
        let profile = parse_issuer_profile(PROFILE, 3).unwrap();
        let seller = profile.seller(Market::No).unwrap();
        assert_eq!(seller.vat_id().as_deref(), Some("NO923609016MVA"));
        assert_eq!(seller.bank_account.id(), "12345678903");
        assert_eq!(profile.branding.primary_colour.hex(), "#1a5fb4");
        assert_eq!(
            profile
                .branding
                .payment_terms
                .get(nordlys_core::model::Language::Da),
            "Payment by the due date."
        );
        assert_eq!(profile.version, 3);
        assert!(profile.seller(Market::Dk).is_none());
    }

    #[test]
    fn a_bad_profile_says_where() {
        let bad = PROFILE.replace("1234.56.78903", "1234.56.78904");
        let error = parse_issuer_profile(&bad, 0).unwrap_err().to_string();
        assert!(
            error.contains("[seller.NO]") && error.contains("MOD11"),
            "{error}"
        );
        let bad = PROFILE.replace("#1a5fb4", "blue");
        let error = parse_issuer_profile(&bad, 0).unwrap_err().to_string();
        assert!(error.contains("#rrggbb"), "{error}");
        let bad = PROFILE.replace("vat_registered", "vat_registred");
        let error = parse_issuer_profile(&bad, 0).unwrap_err().to_string();
        assert!(error.contains("vat_registred"), "{error}");
    }
}

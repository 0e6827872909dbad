//! The wire schema of issued documents, and the reads that fill it: one set of serde types
//! that `nordlys invoices --format json` prints and the HTTP API will serve. Domain types are
//! not `Serialize`; these are, and they change only compatibly.
//!
//! Conventions: decimals are JSON strings, exact — money amounts with at least 2 decimals
//! (`"141.35"`, `"100.00"`), quantities, unit prices and rates normalised (`"0.2877"`, `"25"`);
//! dates are `YYYY-MM-DD`; a document is named by its number (`"F-12"`), never by an internal id
//! alone. A list carries each document without its lines (`lines` is absent, `line_count` says
//! how many); one document carries them.

pub mod master;
pub mod runs;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::document::{DocumentKind, DocumentLine};
use nordlys_core::time::LocalPeriod;
use nordlys_store::{DocumentDetails, DocumentNumber, DocumentSummary, Store, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Invoice or credit note, as the wire spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Invoice,
    CreditNote,
}

impl Kind {
    /// The wire spelling: `invoice` or `credit_note`.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit_note",
        }
    }
}

impl From<DocumentKind> for Kind {
    fn from(kind: DocumentKind) -> Self {
        match kind {
            DocumentKind::Invoice => Kind::Invoice,
            DocumentKind::CreditNote => Kind::CreditNote,
        }
    }
}

/// An issued invoice or credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// Series and number, e.g. `F-12`: what the customer and the books know it by.
    pub number: String,
    /// The store's id (what `invoices show ID` also accepts).
    pub id: i64,
    pub kind: Kind,
    pub account: String,
    /// Name of the customer the account serves.
    pub customer: String,
    /// Name of the customer who pays (often the same as `customer`).
    pub payer: String,
    /// The billing period `YYYY-MM` the document settles.
    pub period: String,
    /// ISO 4217 code of every amount of the document.
    pub currency: String,
    /// The payment reference, if the document is paid by one.
    pub kid: Option<String>,
    #[serde(with = "date_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub issue_date: Date,
    #[serde(with = "optional_date_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub due_date: Option<Date>,
    /// The number of the document this one corrects (the first, if it corrects several).
    pub corrects: Option<String>,
    /// The numbers of every document this one corrects, in the order their lines were billed.
    pub corrects_all: Vec<String>,
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub net: Decimal,
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub vat: Decimal,
    /// Net plus VAT.
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub total: Decimal,
    /// VAT per category and rate, as stored with the document (not recomputed).
    pub vat_breakdown: Vec<VatAmount>,
    pub line_count: u64,
    /// The lines, when one document is shown; absent in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<Line>>,
    /// An invoice's state in the ledger as of the day listed: `open`, `partially_paid`,
    /// `paid`, `credited`, `overdue`, `reminded`, `in_collection` or `written_off`. Absent for
    /// a credit note (it settles the invoice it corrects) and where the ledger was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What is still to pay of an invoice, as of the same day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_amount: Option<String>,
}

/// VAT of one category and rate on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VatAmount {
    /// VAT category code (S, Z, E …).
    pub category: String,
    /// Percent, e.g. `"25"`.
    #[serde(with = "exact_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub rate: Decimal,
    /// The sum of the line nets of this category and rate.
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub taxable: Decimal,
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub vat: Decimal,
}

/// One line of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Line {
    pub description: String,
    #[serde(with = "exact_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub quantity: Decimal,
    /// Our unit: `kWh`, `kW`, `month`, `day`, `hour`, `piece`, or a usage service's own.
    pub unit: String,
    /// The unit's UN/ECE Recommendation 20 code, as an EHF/UBL document carries it (`KWH`,
    /// `KWT`, `MON`, `DAY`, `HUR`, `C62` for a piece, `ZZ` for a unit of no such code).
    /// Absent in the output of earlier versions, where it reads as empty.
    #[serde(default)]
    pub unit_code: String,
    /// Exact; an average where the price varied within the line (spot, subsidy).
    #[serde(with = "exact_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub unit_price: Decimal,
    #[serde(with = "amount_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub net: Decimal,
    /// VAT percent, e.g. `"25"`.
    #[serde(with = "exact_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub vat_rate: Decimal,
    pub vat_category: String,
    /// The product or statutory table the line came from.
    pub product: String,
    /// The price component of the product.
    pub component: String,
    /// Line kind: fixed, energy, spot, capacity, demand, tax, subsidy, subscription, fee, usage.
    pub line_kind: String,
    pub contract: String,
    /// GSRN of the metering point the line settles; null for a service without one.
    pub metering_point: Option<String>,
    /// First day the line covers.
    #[serde(with = "date_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from: Date,
    /// The day after the last day the line covers.
    #[serde(with = "date_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to: Date,
    /// Why the line is what it is, one entry per line of text.
    pub explanation: Vec<String>,
}

/// How a user names one document: its number (`F-12`) or the store's id (`12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKey {
    Id(i64),
    Number(DocumentNumber),
}

impl DocumentKey {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(
                "document",
                text,
                "name a document by its number, e.g. F-12, or by its id",
            )
        };
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(DocumentKey::Id).map_err(|_| bad());
        }
        let (series, number) = text.rsplit_once('-').ok_or_else(bad)?;
        let number: i64 = number.parse().map_err(|_| bad())?;
        if series.is_empty() || number < 1 {
            return Err(bad());
        }
        Ok(DocumentKey::Number(DocumentNumber {
            series: series.to_owned(),
            number,
        }))
    }
}

/// Which documents a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFilter {
    pub account: Option<String>,
    pub period: Option<LocalPeriod>,
    /// The most documents returned, newest first.
    pub limit: u32,
    /// The day the invoices' `status` and `open_amount` stand at; `None` leaves them out.
    pub as_of: Option<Date>,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentQueryError {
    #[error("account {0:?}: no account has this id")]
    UnknownAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Documents, newest first, without their lines. An unknown account is an error, not an
/// empty list.
pub async fn list_documents(
    store: &Store,
    filter: &DocumentFilter,
) -> Result<Vec<Document>, DocumentQueryError> {
    if let Some(account) = &filter.account
        && !store.account_exists(account).await?
    {
        return Err(DocumentQueryError::UnknownAccount(account.clone()));
    }
    let period = filter.period.map(crate::billing::period_code);
    let summaries = store
        .documents(
            filter.account.as_deref(),
            period.as_deref(),
            i64::from(filter.limit),
        )
        .await?;
    let ids: Vec<i64> = summaries.iter().map(|s| s.id).collect();
    let mut details = store.document_details(&ids).await?;
    let mut documents: Vec<Document> = summaries
        .into_iter()
        .map(|summary| {
            let details = details.remove(&summary.id);
            document(summary, details, None)
        })
        .collect::<Result<_, _>>()?;
    if let Some(as_of) = filter.as_of {
        let accounts: Vec<String> = documents
            .iter()
            .map(|d| d.account.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let items = crate::receivables::items_of_accounts(store, &accounts, as_of).await?;
        for d in &mut documents {
            if let Some(item) = items.get(&d.id) {
                d.status = Some(item.status.code().to_owned());
                d.open_amount = Some(Decimal::new(item.open_minor, 2).to_string());
            }
        }
    }
    Ok(documents)
}

/// One document with its lines, or `None` if no document has this number or id.
pub async fn find_document(
    store: &Store,
    key: &DocumentKey,
) -> Result<Option<Document>, StoreError> {
    let id = match key {
        DocumentKey::Id(id) => *id,
        DocumentKey::Number(number) => match store.document_id_by_number(number).await? {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    let Some(summary) = store.document(id).await? else {
        return Ok(None);
    };
    let details = store.document_details(&[id]).await?.remove(&id);
    let points = store.document_metering_points(id).await?;
    let lines = store
        .document_lines(id)
        .await?
        .into_iter()
        .map(|line| {
            let metering_point = points.get(&line.contract_id).cloned();
            wire_line(line, metering_point)
        })
        .collect();
    document(summary, details, Some(lines)).map(Some)
}

fn document(
    summary: DocumentSummary,
    details: Option<DocumentDetails>,
    lines: Option<Vec<Line>>,
) -> Result<Document, StoreError> {
    let details = details.ok_or_else(|| {
        StoreError::CorruptValue(ParseError::new(
            "account_id",
            &summary.account_id,
            "the document's account or its customer is missing",
        ))
    })?;
    let corrects_all: Vec<String> = details.corrects.iter().map(|n| n.to_string()).collect();
    Ok(Document {
        number: DocumentNumber {
            series: summary.series,
            number: summary.number,
        }
        .to_string(),
        id: summary.id,
        kind: summary.kind.into(),
        account: summary.account_id,
        customer: details.customer_name,
        payer: details.payer_name,
        period: summary.period,
        currency: summary.currency.code().to_owned(),
        kid: summary.kid,
        issue_date: summary.issue_date,
        due_date: summary.due_date,
        corrects: corrects_all.first().cloned(),
        corrects_all,
        net: summary.net,
        vat: summary.vat,
        total: summary.gross,
        vat_breakdown: details
            .vat
            .into_iter()
            .map(|v| VatAmount {
                category: v.category.code().to_owned(),
                rate: v.percent,
                taxable: v.taxable,
                vat: v.vat,
            })
            .collect(),
        line_count: u64::try_from(summary.lines).unwrap_or_default(),
        lines,
        status: None,
        open_amount: None,
    })
}

fn wire_line(line: DocumentLine, metering_point: Option<String>) -> Line {
    Line {
        description: line.description,
        quantity: line.quantity,
        unit_code: line.unit.un_ece_code().to_owned(),
        unit: line.unit.code().to_owned(),
        unit_price: line.unit_price,
        net: line.net,
        vat_rate: line.vat_percent,
        vat_category: line.vat_category.code().to_owned(),
        product: line.source,
        component: line.code,
        line_kind: line.kind.code().to_owned(),
        contract: line.contract_id,
        metering_point,
        from: line.from,
        to: line.to,
        explanation: line.explanation.iter().map(|e| e.to_string()).collect(),
    }
}

/// A money amount as text: exact, with at least the 2 decimals of minor units.
pub fn amount_string(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

/// A quantity, price or rate as text: exact, without trailing zeros.
pub fn exact_string(value: Decimal) -> String {
    value.normalize().to_string()
}

fn parse_decimal<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a decimal number")))
}

fn parse_date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a date YYYY-MM-DD")))
}

mod amount_text {
    use super::*;
    pub fn serialize<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&amount_string(*value))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse_decimal(d)
    }
}

mod exact_text {
    use super::*;
    pub fn serialize<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&exact_string(*value))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse_decimal(d)
    }
}

mod date_text {
    use super::*;
    pub fn serialize<S: serde::Serializer>(value: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        parse_date(d)
    }
}

mod optional_date_text {
    use super::*;
    pub fn serialize<S: serde::Serializer>(value: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(date) => s.collect_str(date),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("{text:?} is not a date YYYY-MM-DD"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_document_is_named_by_its_number_or_its_id() {
        assert_eq!(DocumentKey::parse("12"), Ok(DocumentKey::Id(12)));
        assert_eq!(
            DocumentKey::parse("F-12"),
            Ok(DocumentKey::Number(DocumentNumber {
                series: "F".into(),
                number: 12
            }))
        );
        assert_eq!(
            DocumentKey::parse("NO-K-3"),
            Ok(DocumentKey::Number(DocumentNumber {
                series: "NO-K".into(),
                number: 3
            }))
        );
        for bad in ["", "F", "F-", "-3", "F-0", "F-x", "F-1.5"] {
            let error = DocumentKey::parse(bad).unwrap_err();
            assert_eq!(error.field, "document", "{bad}");
            assert!(error.rule.contains("F-12"), "{bad}: {error}");
        }
    }

    #[test]
    fn amounts_keep_minor_units_and_other_decimals_are_normalised_exactly() {
        assert_eq!(amount_string(decimal("100")), "100.00");
        assert_eq!(amount_string(decimal("-287.840")), "-287.84");
        assert_eq!(amount_string(decimal("0.125")), "0.125", "never rounded");
        assert_eq!(exact_string(decimal("0.287700")), "0.2877");
        assert_eq!(exact_string(decimal("25.00")), "25");
        assert_eq!(
            exact_string(decimal("0.12345678901234567891")),
            "0.12345678901234567891"
        );
    }

    #[test]
    fn a_line_round_trips_through_json_with_decimals_as_strings() {
        let line = Line {
            description: "Energiledd – Dag".into(),
            quantity: decimal("491.326"),
            unit: "kWh".into(),
            unit_code: "KWH".into(),
            unit_price: decimal("0.28770000001"),
            net: decimal("141.35"),
            vat_rate: decimal("25"),
            vat_category: "S".into(),
            product: "ELVIA".into(),
            component: "energy_day".into(),
            line_kind: "energy".into(),
            contract: "C1-G".into(),
            metering_point: None,
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            explanation: vec!["weekdays 06–22".into()],
        };
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["quantity"], "491.326");
        assert_eq!(json["unit_price"], "0.28770000001");
        assert_eq!(json["net"], "141.35");
        assert_eq!(json["vat_rate"], "25");
        assert_eq!(json["from"], "2025-01-01");
        assert_eq!(json["metering_point"], serde_json::Value::Null);
        let back: Line = serde_json::from_value(json).unwrap();
        assert_eq!(back, line);
    }

    /// The schema as clients see it: a change here is a change of the HTTP API.
    #[test]
    fn a_credit_note_in_the_wire_schema() {
        let line = Line {
            description: "Energiledd – Dag".into(),
            quantity: decimal("-491.326"),
            unit: "kWh".into(),
            unit_code: "KWH".into(),
            unit_price: decimal("0.2877"),
            net: decimal("-141.35"),
            vat_rate: decimal("25"),
            vat_category: "S".into(),
            product: "elvia-husholdning".into(),
            component: "energiledd".into(),
            line_kind: "energy".into(),
            contract: "C000011-G".into(),
            metering_point: Some("707057500000000124".into()),
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            explanation: vec![],
        };
        let document = Document {
            number: "K-1".into(),
            id: 60,
            kind: Kind::CreditNote,
            account: "A000011".into(),
            customer: "Ingrid Larsen".into(),
            payer: "Ingrid Larsen".into(),
            period: "2025-01".into(),
            currency: "NOK".into(),
            kid: None,
            issue_date: Date::constant(2025, 2, 3),
            due_date: None,
            corrects: Some("F-12".into()),
            corrects_all: vec!["F-12".into()],
            net: decimal("-141.35"),
            vat: decimal("-35.34"),
            total: decimal("-176.69"),
            vat_breakdown: vec![VatAmount {
                category: "S".into(),
                rate: decimal("25.00"),
                taxable: decimal("-141.35"),
                vat: decimal("-35.34"),
            }],
            line_count: 1,
            lines: Some(vec![line]),
            status: None,
            open_amount: None,
        };
        let expected = r#"{
  "number": "K-1",
  "id": 60,
  "kind": "credit_note",
  "account": "A000011",
  "customer": "Ingrid Larsen",
  "payer": "Ingrid Larsen",
  "period": "2025-01",
  "currency": "NOK",
  "kid": null,
  "issue_date": "2025-02-03",
  "due_date": null,
  "corrects": "F-12",
  "corrects_all": [
    "F-12"
  ],
  "net": "-141.35",
  "vat": "-35.34",
  "total": "-176.69",
  "vat_breakdown": [
    {
      "category": "S",
      "rate": "25",
      "taxable": "-141.35",
      "vat": "-35.34"
    }
  ],
  "line_count": 1,
  "lines": [
    {
      "description": "Energiledd – Dag",
      "quantity": "-491.326",
      "unit": "kWh",
      "unit_code": "KWH",
      "unit_price": "0.2877",
      "net": "-141.35",
      "vat_rate": "25",
      "vat_category": "S",
      "product": "elvia-husholdning",
      "component": "energiledd",
      "line_kind": "energy",
      "contract": "C000011-G",
      "metering_point": "707057500000000124",
      "from": "2025-01-01",
      "to": "2025-02-01",
      "explanation": []
    }
  ]
}"#;
        assert_eq!(serde_json::to_string_pretty(&document).unwrap(), expected);
        let back: Document = serde_json::from_str(expected).unwrap();
        assert_eq!(back, document);
        // In a list the lines are left out.
        let listed = Document {
            lines: None,
            ..document
        };
        let json = serde_json::to_value(&listed).unwrap();
        assert!(json.get("lines").is_none());
        assert_eq!(serde_json::from_value::<Document>(json).unwrap(), listed);
    }

    #[test]
    fn the_kind_is_spelt_as_its_code() {
        for kind in [Kind::Invoice, Kind::CreditNote] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
    }
}

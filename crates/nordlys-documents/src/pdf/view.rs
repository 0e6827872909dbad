//! The JSON the typst template reads: an [`InvoiceDocument`] turned into texts written in the
//! buyer's language (labels from Fluent, numbers and dates from [`format`]) and chart ratios.
//! A credit note's amounts are shown positive. These are wire types for the template only;
//! the model stays free of serde.

use jiff::ToSpan;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use nordlys_core::document::{DocumentKind, DocumentLine, LineUnit, VatCategory};
use nordlys_core::model::{Address, Language};

mod point;

use super::PdfError;
use super::chart::ChartGeometry;
use crate::i18n::{Localiser, format};
use crate::model::{BankAccount, DocumentPurpose, InvoiceDocument, PartyIdentity};

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct DocumentView {
    pub lang: &'static str,
    pub title: String,
    pub number: String,
    pub date: DateParts,
    pub primary: String,
    pub accent: String,
    pub has_logo: bool,
    pub seller: SellerView,
    pub buyer: BuyerView,
    pub facts: Vec<[String; 2]>,
    pub payment: PaymentView,
    pub sender_text: String,
    pub payment_terms: String,
    pub correction: Option<CorrectionView>,
    pub summary: SummaryView,
    pub points: Vec<PointView>,
    pub footer: FooterView,
    pub attachment: Option<AttachmentView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DateParts {
    pub year: i16,
    pub month: i8,
    pub day: i8,
}

impl From<Date> for DateParts {
    fn from(date: Date) -> Self {
        DateParts {
            year: date.year(),
            month: date.month(),
            day: date.day(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct SellerView {
    pub name: String,
    pub address: Vec<String>,
    pub contact: Vec<String>,
    /// Organisation number with "MVA", "Foretaksregisteret", VAT id: the legal identity.
    pub legal: Vec<String>,
    /// The sender line above the window address.
    pub return_address: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct BuyerView {
    pub name: String,
    pub address: Vec<String>,
    pub identity: Option<String>,
    /// For the print run's cover list.
    pub postcode: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PaymentView {
    pub heading: String,
    pub amount_label: String,
    pub amount: String,
    pub rows: Vec<[String; 2]>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CorrectionView {
    pub heading: String,
    pub text: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SummaryView {
    pub heading: String,
    pub columns: [String; 4],
    pub rows: Vec<SummaryRow>,
    pub totals: Vec<[String; 2]>,
    pub gross: [String; 2],
    /// The currency, and why exempt lines carry no VAT.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SummaryRow {
    pub label: String,
    pub place: Vec<String>,
    pub period: String,
    pub amount: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PointView {
    pub heading: String,
    pub facts: Vec<[String; 2]>,
    pub chart: Option<ChartView>,
    /// One table per capacity line with peaks (a period over two months has two).
    pub peaks: Vec<PeaksView>,
    pub columns: [String; 6],
    /// Whether some line's period differs from the point's (else the column is left out).
    pub line_periods: bool,
    pub lines: Vec<LineView>,
    pub subsidy_heading: String,
    pub subsidies: Vec<String>,
    pub subtotal: [String; 2],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ChartView {
    pub title: String,
    pub consumption_legend: String,
    pub price_legend: String,
    pub total: String,
    pub alt: String,
    #[serde(flatten)]
    pub geometry: ChartGeometry,
}

#[derive(Debug, Serialize)]
pub(crate) struct PeaksView {
    pub heading: String,
    pub columns: [String; 3],
    pub rows: Vec<[String; 3]>,
    pub average: String,
    pub step: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct LineView {
    pub description: String,
    pub notes: Vec<String>,
    pub period: String,
    pub quantity: String,
    pub unit_price: String,
    pub vat: String,
    pub amount: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct FooterView {
    pub legal: String,
    /// "Side {page} av {pages}": the template puts the numbers in.
    pub page_pattern: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AttachmentView {
    pub name: String,
    pub description: String,
}

/// Builds the texts of one document in its language.
pub(crate) struct Writer<'a> {
    pub localiser: &'a Localiser,
    pub language: Language,
}

impl Writer<'_> {
    pub fn text(&self, id: &str, args: &[(&str, &str)]) -> Result<String, PdfError> {
        Ok(self.localiser.text(self.language, id, args)?)
    }

    fn amount(&self, value: Decimal) -> String {
        format::amount(value, self.language)
    }

    fn date(&self, date: Date) -> String {
        format::date(date, self.language)
    }

    /// `[from, to)` as printed: the last day included.
    fn period(&self, from: Date, to: Date) -> Result<String, PdfError> {
        let last = to.checked_sub(1.day()).unwrap_or(to).max(from);
        self.text(
            "period-range",
            &[("from", &self.date(from)), ("to", &self.date(last))],
        )
    }

    fn unit(&self, unit: &LineUnit) -> Result<String, PdfError> {
        Ok(match unit {
            LineUnit::Month => self.text("unit-month", &[])?,
            LineUnit::Day => self.text("unit-day", &[])?,
            LineUnit::Hour => self.text("unit-hour", &[])?,
            LineUnit::Piece => self.text("unit-piece", &[])?,
            LineUnit::Kwh | LineUnit::Kw | LineUnit::Other(_) => unit.code().to_owned(),
        })
    }
}

fn address_lines(address: &Address) -> Vec<String> {
    let mut lines = Vec::with_capacity(2);
    if !address.street.is_empty() {
        lines.push(address.street.clone());
    }
    let city = format!("{} {}", address.postcode, address.city);
    if !city.trim().is_empty() {
        lines.push(city.trim().to_owned());
    }
    lines
}

fn one_line(address: &Address) -> String {
    address_lines(address).join(", ")
}

/// The `[from, to)` span of some lines, `None` when there are none.
fn span_of<'a>(lines: impl Iterator<Item = &'a DocumentLine>) -> Option<(Date, Date)> {
    lines.fold(None, |span, line| match span {
        None => Some((line.from, line.to)),
        Some((from, to)) => Some((from.min(line.from), to.max(line.to))),
    })
}

/// The view of `invoice` in its language; `attachment_name` when the EHF XML is embedded.
pub(crate) fn document_view(
    localiser: &Localiser,
    invoice: &InvoiceDocument,
    attachment_name: Option<String>,
) -> Result<DocumentView, PdfError> {
    let w = Writer {
        localiser,
        language: invoice.language,
    };
    let issued = &invoice.document;
    let document = &issued.document;
    let credit = document.kind == DocumentKind::CreditNote;
    // Shown amounts: a credit note's stored negated amounts turned positive.
    let shown = |value: Decimal| if credit { -value } else { value };
    let number = issued.display_number();
    let currency = document.currency;

    let kind = match (document.kind, invoice.purpose) {
        (DocumentKind::CreditNote, _) => w.text("kind-credit-note", &[])?,
        (DocumentKind::Invoice, DocumentPurpose::FinalSettlement) => {
            w.text("kind-final-settlement", &[])?
        }
        (DocumentKind::Invoice, DocumentPurpose::Difference) => w.text("kind-difference", &[])?,
        (DocumentKind::Invoice, _) => w.text("kind-invoice", &[])?,
    };
    let title = w.text("document-title", &[("kind", &kind), ("number", &number)])?;

    let seller = &invoice.seller;
    let mut legal = Vec::new();
    match &seller.identity {
        PartyIdentity::NorwegianOrganisation(org) => {
            let mut text = w.text(
                "seller-organisation-number",
                &[("number", &format::organisation_number(org.as_str()))],
            )?;
            if seller.vat_registered {
                // Bokføringsforskriften § 5-1-2: "MVA" after the number, in every language.
                text.push_str(" MVA");
            }
            legal.push(text);
            if seller.in_foretaksregisteret {
                legal.push("Foretaksregisteret".to_owned());
            }
        }
        PartyIdentity::DanishOrganisation(cvr) => {
            legal.push(w.text("seller-cvr-number", &[("number", cvr.as_str())])?);
            if let Some(vat_id) = seller.vat_id() {
                legal.push(w.text("seller-vat-id", &[("vat_id", &vat_id)])?);
            }
        }
    }
    let mut contact = Vec::new();
    if !seller.phone.is_empty() {
        contact.push(w.text("contact-phone", &[("phone", &seller.phone)])?);
    }
    for item in [&seller.email, &seller.website] {
        if !item.is_empty() {
            contact.push(item.clone());
        }
    }
    let seller_view = SellerView {
        name: seller.name.clone(),
        address: address_lines(&seller.address),
        contact: contact.clone(),
        legal: legal.clone(),
        return_address: format!("{}, {}", seller.name, one_line(&seller.address)),
    };

    let buyer = &invoice.buyer;
    let buyer_identity = match buyer.organisation() {
        Some(PartyIdentity::NorwegianOrganisation(org)) => Some(w.text(
            "buyer-organisation-number",
            &[("number", &format::organisation_number(org.as_str()))],
        )?),
        Some(PartyIdentity::DanishOrganisation(cvr)) => {
            Some(w.text("buyer-cvr-number", &[("number", cvr.as_str())])?)
        }
        None => None,
    };
    let buyer_view = BuyerView {
        name: buyer.name.clone(),
        address: address_lines(&buyer.address),
        identity: buyer_identity,
        postcode: buyer.address.postcode.clone(),
    };

    let document_span = span_of(document.lines.iter());
    let mut facts = vec![
        [
            w.text(
                if credit {
                    "credit-note-number"
                } else {
                    "invoice-number"
                },
                &[],
            )?,
            number.clone(),
        ],
        [w.text("issue-date", &[])?, w.date(document.issue_date)],
        [
            w.text("customer-number", &[])?,
            buyer.customer_number.clone(),
        ],
    ];
    facts.push([
        w.text("period", &[])?,
        match document_span {
            Some((from, to)) => w.period(from, to)?,
            None => document.period.clone(),
        },
    ]);
    if let Some(due) = document.due_date {
        facts.push([w.text("due-date", &[])?, w.date(due)]);
    }
    if let Some(reference) = &buyer.buyer_reference {
        facts.push([w.text("buyer-reference", &[])?, reference.clone()]);
    }
    if let Some(reference) = &buyer.order_reference {
        facts.push([w.text("order-reference", &[])?, reference.clone()]);
    }

    let payment = payment_view(&w, invoice, credit)?;

    let correction = if invoice.corrects.is_empty() {
        None
    } else {
        let documents = invoice
            .corrects
            .iter()
            .map(|c| {
                w.text(
                    "corrected-document",
                    &[("number", &c.number), ("date", &w.date(c.issue_date))],
                )
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(", ");
        Some(CorrectionView {
            heading: w.text("corrects-heading", &[])?,
            text: w.text(
                if credit {
                    "corrects-document"
                } else {
                    "corrects-document-invoice"
                },
                &[("documents", &documents)],
            )?,
            reason: invoice
                .correction_reason
                .as_deref()
                .map(|reason| w.text("correction-reason", &[("reason", reason)]))
                .transpose()?,
        })
    };

    // Every line belongs to exactly one delivery point; one that does not is bad input.
    for (index, line) in document.lines.iter().enumerate() {
        if invoice.delivery_point_of(&line.contract_id).is_none() {
            return Err(PdfError::Input(format!(
                "line {} ({}) is for contract `{}`, which no delivery point lists",
                index + 1,
                line.description,
                line.contract_id
            )));
        }
    }

    let mut summary_rows = Vec::new();
    let mut points = Vec::new();
    for point in &invoice.delivery_points {
        let lines: Vec<&DocumentLine> = document
            .lines
            .iter()
            .filter(|line| point.contract_ids.contains(&line.contract_id))
            .collect();
        let net: Decimal = lines.iter().map(|line| line.net).sum();
        let span = span_of(lines.iter().copied());
        let period = match span {
            Some((from, to)) => w.period(from, to)?,
            None => String::new(),
        };
        let mut place = Vec::new();
        if let Some(gsrn) = &point.metering_point_id {
            place.push(gsrn.as_str().to_owned());
        }
        if let Some(address) = &point.address {
            place.push(one_line(address));
        }
        summary_rows.push(SummaryRow {
            label: point.label.clone(),
            place,
            period: period.clone(),
            amount: w.amount(shown(net)),
        });
        points.push(point::point_view(
            &w, point, &lines, &period, currency, shown,
        )?);
    }

    let mut totals = vec![[w.text("net-total", &[])?, w.amount(shown(document.net))]];
    for vat in &document.vat {
        let base = w.amount(shown(vat.taxable));
        let label = match vat.category {
            VatCategory::Zero => w.text("vat-zero-line", &[("base", &base)])?,
            VatCategory::Exempt => w.text("vat-exempt-line", &[("base", &base)])?,
            _ if vat.percent.is_zero() => w.text(
                "vat-other-line",
                &[("category", vat.category.code()), ("base", &base)],
            )?,
            _ => w.text(
                "vat-line",
                &[
                    ("percent", &format::percent(vat.percent, w.language)),
                    ("base", &base),
                ],
            )?,
        };
        totals.push([label, w.amount(shown(vat.vat))]);
    }
    totals.push([
        w.text("vat-total", &[])?,
        w.amount(shown(document.vat_total)),
    ]);
    let summary = SummaryView {
        heading: w.text("summary-heading", &[])?,
        columns: [
            w.text("summary-service", &[])?,
            w.text("delivery-place", &[])?,
            w.text("delivery-period", &[])?,
            w.text("column-amount", &[])?,
        ],
        rows: summary_rows,
        totals,
        gross: [
            w.text("gross-total", &[])?,
            format::money(shown(document.gross), currency, w.language),
        ],
        notes: std::iter::once(w.text("amounts-in", &[("currency", currency.code())])?)
            .chain(
                document
                    .vat
                    .iter()
                    .any(|vat| vat.category == VatCategory::Exempt)
                    .then(|| invoice.vat_exemption_reason.clone())
                    .flatten(),
            )
            .collect(),
    };

    let footer = FooterView {
        legal: std::iter::once(seller.name.clone())
            .chain(legal)
            .chain(std::iter::once(one_line(&seller.address)))
            .chain(contact)
            .collect::<Vec<_>>()
            .join(" · "),
        page_pattern: w.text("page-number", &[("page", "{page}"), ("pages", "{pages}")])?,
    };

    Ok(DocumentView {
        lang: invoice.language.code(),
        title: title.clone(),
        number: number.clone(),
        date: document.issue_date.into(),
        primary: invoice.branding.primary_colour.hex(),
        accent: invoice.branding.accent_colour.hex(),
        has_logo: invoice.branding.logo_svg.is_some(),
        seller: seller_view,
        buyer: buyer_view,
        facts,
        payment,
        sender_text: invoice.branding.sender_text.get(w.language).to_owned(),
        payment_terms: invoice.branding.payment_terms.get(w.language).to_owned(),
        correction,
        summary,
        points,
        footer,
        attachment: attachment_name.map(|name| AttachmentView {
            name,
            description: format!("EHF / Peppol BIS Billing 3.0: {title}"),
        }),
    })
}

fn payment_view(
    w: &Writer<'_>,
    invoice: &InvoiceDocument,
    credit: bool,
) -> Result<PaymentView, PdfError> {
    let document = &invoice.document.document;
    let mut rows = Vec::new();
    let mut note = None;
    let (amount_label, amount) = if credit {
        note = Some(w.text("credit-note-no-payment", &[])?);
        (
            w.text("credited-amount", &[])?,
            format::money(-document.gross, document.currency, w.language),
        )
    } else {
        if let Some(due) = document.due_date {
            rows.push([w.text("due-date", &[])?, w.date(due)]);
        }
        match &invoice.seller.bank_account {
            account @ BankAccount::Norwegian(_) => {
                rows.push([
                    w.text("account-number", &[])?,
                    format::bank_account(account),
                ]);
            }
            account @ BankAccount::Iban { bic, .. } => {
                rows.push([w.text("iban", &[])?, format::bank_account(account)]);
                if let Some(bic) = bic {
                    rows.push([w.text("bic", &[])?, bic.clone()]);
                }
            }
        }
        if let Some(kid) = &invoice.document.kid {
            rows.push([w.text("kid", &[])?, kid.as_str().to_owned()]);
        }
        (
            w.text("amount-due", &[])?,
            format::money(document.gross, document.currency, w.language),
        )
    };
    Ok(PaymentView {
        heading: w.text("payment-heading", &[])?,
        amount_label,
        amount,
        rows,
        note,
    })
}

//! The UBL 2.1 document around the lines: header, references, the parties, delivery, payment,
//! the VAT breakdown and the totals, in the element order the UBL schema requires (it is
//! order-sensitive; the order follows the official BIS 3 examples).

use nordlys_core::document::DocumentKind;
use nordlys_core::model::{Address, Market};

use super::UblProfile;
use super::check::asks_for_payment;
use super::codes::{VatCategoryCode, payment_means_code, type_code};
use super::lines::{document_period, shown_sign, write_lines, write_vat_scheme};
use super::xml::{ForbiddenText, Xml};
use crate::model::{BankAccount, InvoiceDocument, PartyIdentity};

const INVOICE_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const CREDIT_NOTE_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
const CAC_NAMESPACE: &str =
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

/// Peppol BIS Billing 3.0 specification identifier (PEPPOL-EN16931-R004).
pub const PEPPOL_CUSTOMIZATION_ID: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
/// Peppol BIS Billing 3.0 business process (PEPPOL-EN16931-R001, R007).
pub const PEPPOL_PROFILE_ID: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";
/// EN 16931 core specification identifier, for documents outside Peppol.
pub const EN16931_CUSTOMIZATION_ID: &str = "urn:cen.eu:en16931:2017";

/// Bytes of a document header and parties, and of one line, for pre-sizing the buffer.
const HEADER_BYTES: usize = 4_096;
const LINE_BYTES: usize = 1_024;

pub(crate) fn write_document(
    document: &InvoiceDocument,
    profile: UblProfile,
) -> (String, Vec<ForbiddenText>) {
    let issued = &document.document.document;
    let mut xml = Xml::with_capacity(HEADER_BYTES + LINE_BYTES * issued.lines.len());
    let kind = issued.kind;
    let (root, namespace) = match kind {
        DocumentKind::Invoice => ("Invoice", INVOICE_NAMESPACE),
        DocumentKind::CreditNote => ("CreditNote", CREDIT_NOTE_NAMESPACE),
    };
    xml.open_with(
        root,
        &[
            ("xmlns", namespace),
            ("xmlns:cac", CAC_NAMESPACE),
            ("xmlns:cbc", CBC_NAMESPACE),
        ],
    );
    let currency = issued.currency.code();
    match profile {
        UblProfile::Peppol => {
            xml.text("cbc:CustomizationID", PEPPOL_CUSTOMIZATION_ID);
            xml.text("cbc:ProfileID", PEPPOL_PROFILE_ID);
        }
        UblProfile::En16931 => xml.text("cbc:CustomizationID", EN16931_CUSTOMIZATION_ID),
    }
    xml.text("cbc:ID", &document.document.display_number());
    xml.date("cbc:IssueDate", issued.issue_date);
    match kind {
        DocumentKind::Invoice => {
            if let Some(due) = issued.due_date {
                xml.date("cbc:DueDate", due);
            }
            xml.text("cbc:InvoiceTypeCode", type_code(kind));
        }
        DocumentKind::CreditNote => xml.text("cbc:CreditNoteTypeCode", type_code(kind)),
    }
    // One note at most (PEPPOL-EN16931-R002): why a correction was issued.
    if let Some(reason) = &document.correction_reason {
        xml.text("cbc:Note", reason);
    }
    xml.text("cbc:DocumentCurrencyCode", currency);
    // PEPPOL-EN16931-R003 wants a buyer reference or an order reference: the buyer's own,
    // else the customer number the buyer finds on its contract and on every document.
    let buyer = &document.buyer;
    let buyer_reference = buyer
        .buyer_reference
        .as_deref()
        .filter(|r| !r.trim().is_empty());
    xml.text(
        "cbc:BuyerReference",
        buyer_reference.unwrap_or(&buyer.customer_number),
    );
    if let Some((from, to)) = document_period(&issued.lines) {
        xml.open("cac:InvoicePeriod");
        xml.date("cbc:StartDate", from);
        xml.date("cbc:EndDate", to);
        xml.close();
    }
    if let Some(order) = buyer
        .order_reference
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        xml.open("cac:OrderReference");
        xml.text("cbc:ID", order);
        xml.close();
    }
    for corrected in &document.corrects {
        xml.open("cac:BillingReference");
        xml.open("cac:InvoiceDocumentReference");
        xml.text("cbc:ID", &corrected.number);
        xml.date("cbc:IssueDate", corrected.issue_date);
        xml.close();
        xml.close();
    }
    write_seller(&mut xml, document);
    write_buyer(&mut xml, document);
    write_delivery(&mut xml, document);
    if asks_for_payment(document) {
        write_payment(&mut xml, document);
    }
    let sign = shown_sign(kind);
    xml.open("cac:TaxTotal");
    xml.amount("cbc:TaxAmount", currency, issued.vat_total * sign);
    for group in &issued.vat {
        xml.open("cac:TaxSubtotal");
        xml.amount("cbc:TaxableAmount", currency, group.taxable * sign);
        xml.amount("cbc:TaxAmount", currency, group.vat * sign);
        xml.open("cac:TaxCategory");
        let category = VatCategoryCode::parse(group.category.code());
        xml.text("cbc:ID", category.map_or("S", |c| c.code()));
        xml.decimal("cbc:Percent", None, group.percent);
        if category == Some(VatCategoryCode::Exempt) {
            let reason = document.vat_exemption_reason.as_deref().unwrap_or_default();
            xml.text("cbc:TaxExemptionReason", reason);
        }
        write_vat_scheme(&mut xml);
        xml.close();
        xml.close();
    }
    xml.close();
    xml.open("cac:LegalMonetaryTotal");
    xml.amount("cbc:LineExtensionAmount", currency, issued.net * sign);
    xml.amount("cbc:TaxExclusiveAmount", currency, issued.net * sign);
    xml.amount("cbc:TaxInclusiveAmount", currency, issued.gross * sign);
    xml.amount("cbc:PayableAmount", currency, issued.gross * sign);
    xml.close();
    write_lines(&mut xml, document, currency);
    xml.close();
    xml.finish()
}

fn write_address(xml: &mut Xml, tag: &'static str, address: &Address, country: Market) {
    xml.open(tag);
    xml.text("cbc:StreetName", &address.street);
    xml.text("cbc:CityName", &address.city);
    xml.text("cbc:PostalZone", &address.postcode);
    xml.text("cbc:CountrySubentity", &address.county);
    xml.open("cac:Country");
    xml.text("cbc:IdentificationCode", country.code());
    xml.close();
    xml.close();
}

fn write_legal_entity(xml: &mut Xml, name: &str, organisation: Option<&PartyIdentity>) {
    xml.open("cac:PartyLegalEntity");
    xml.text("cbc:RegistrationName", name);
    if let Some(organisation) = organisation {
        let address = organisation.electronic_address();
        xml.text_with(
            "cbc:CompanyID",
            Some(("schemeID", &address.scheme)),
            organisation.number(),
        );
    }
    xml.close();
}

fn write_seller(xml: &mut Xml, document: &InvoiceDocument) {
    let seller = &document.seller;
    xml.open("cac:AccountingSupplierParty");
    xml.open("cac:Party");
    let endpoint = seller.identity.electronic_address();
    xml.text_with(
        "cbc:EndpointID",
        Some(("schemeID", &endpoint.scheme)),
        &endpoint.id,
    );
    xml.open("cac:PartyName");
    xml.text("cbc:Name", &seller.name);
    xml.close();
    write_address(xml, "cac:PostalAddress", &seller.address, seller.country());
    if let Some(vat_id) = seller.vat_id() {
        xml.open("cac:PartyTaxScheme");
        xml.text("cbc:CompanyID", &vat_id);
        xml.open("cac:TaxScheme");
        xml.text("cbc:ID", "VAT");
        xml.close();
        xml.close();
    }
    // NO-R-002: "Foretaksregisteret" where the seller is registered there.
    if seller.country() == Market::No && seller.in_foretaksregisteret {
        xml.open("cac:PartyTaxScheme");
        xml.text("cbc:CompanyID", "Foretaksregisteret");
        xml.open("cac:TaxScheme");
        xml.text("cbc:ID", "TAX");
        xml.close();
        xml.close();
    }
    write_legal_entity(xml, &seller.name, Some(&seller.identity));
    if !seller.phone.is_empty() || !seller.email.is_empty() {
        xml.open("cac:Contact");
        xml.text("cbc:Telephone", &seller.phone);
        xml.text("cbc:ElectronicMail", &seller.email);
        xml.close();
    }
    xml.close();
    xml.close();
}

/// The buyer: name, address and, for an organisation, its registry number. A person's national
/// identity number is never written (GDPR; EN 16931 does not need it).
fn write_buyer(xml: &mut Xml, document: &InvoiceDocument) {
    let buyer = &document.buyer;
    xml.open("cac:AccountingCustomerParty");
    xml.open("cac:Party");
    if let Some(endpoint) = &buyer.endpoint {
        xml.text_with(
            "cbc:EndpointID",
            Some(("schemeID", &endpoint.scheme)),
            &endpoint.id,
        );
    }
    // The customer number as the buyer's identifier (BT-46), but not from a Danish seller:
    // DK-R-013 wants a scheme on every party identifier, and a customer number has none.
    if document.seller.country() != Market::Dk {
        xml.open("cac:PartyIdentification");
        xml.text("cbc:ID", &buyer.customer_number);
        xml.close();
    }
    xml.open("cac:PartyName");
    xml.text("cbc:Name", &buyer.name);
    xml.close();
    write_address(xml, "cac:PostalAddress", &buyer.address, buyer.country());
    let organisation = buyer.organisation();
    write_legal_entity(xml, &buyer.name, organisation.as_ref());
    if !buyer.email.is_empty() {
        xml.open("cac:Contact");
        xml.text("cbc:ElectronicMail", &buyer.email);
        xml.close();
    }
    xml.close();
    xml.close();
}

/// The place of delivery when the document settles one metering point: its GSRN and address.
/// With several points each line names its own (the line's metering-point property).
fn write_delivery(xml: &mut Xml, document: &InvoiceDocument) {
    let mut metered = document
        .delivery_points
        .iter()
        .filter(|point| point.metering_point_id.is_some());
    let (Some(point), None) = (metered.next(), metered.next()) else {
        return;
    };
    let (Some(gsrn), Some(address)) = (&point.metering_point_id, &point.address) else {
        return;
    };
    xml.open("cac:Delivery");
    xml.open("cac:DeliveryLocation");
    xml.text("cbc:ID", gsrn.as_str());
    let country = [Market::No, Market::Dk]
        .into_iter()
        .find(|market| gsrn.as_str().starts_with(market.gsrn_prefix()))
        .unwrap_or(document.seller.country());
    write_address(xml, "cac:Address", address, country);
    xml.close();
    xml.close();
}

/// Credit transfer to the seller's account with the KID as payment id, and the terms.
fn write_payment(xml: &mut Xml, document: &InvoiceDocument) {
    let seller = &document.seller;
    xml.open("cac:PaymentMeans");
    xml.text(
        "cbc:PaymentMeansCode",
        payment_means_code(seller.country(), document.buyer.country()),
    );
    if let Some(kid) = &document.document.kid {
        xml.text("cbc:PaymentID", kid.as_str());
    }
    xml.open("cac:PayeeFinancialAccount");
    xml.text("cbc:ID", seller.bank_account.id());
    if let BankAccount::Iban { bic: Some(bic), .. } = &seller.bank_account {
        xml.open("cac:FinancialInstitutionBranch");
        xml.text("cbc:ID", bic);
        xml.close();
    }
    xml.close();
    xml.close();
    let terms = document.branding.payment_terms.get(document.language);
    if !terms.is_empty() {
        xml.open("cac:PaymentTerms");
        xml.text("cbc:Note", terms);
        xml.close();
    }
}

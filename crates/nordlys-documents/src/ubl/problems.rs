//! Why a document cannot be rendered as EHF: every reason found, each naming what is wrong,
//! where, and the rule it breaks (EN 16931 `BR-*`, Peppol `PEPPOL-*`, national `NO-R-*` /
//! `DK-R-*`), checked before any bytes are written. A delivery holds such a document with its
//! reasons and goes on with the rest; nothing half-made is sent.

use std::fmt;

use jiff::civil::Date;
use rust_decimal::Decimal;

/// A line by its number in the document (1-based, as `cbc:ID`) and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef {
    pub number: usize,
    pub code: String,
}

impl fmt::Display for LineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} ({})", self.number, self.code)
    }
}

/// One reason a document cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentProblem {
    #[error("the document has no lines (BR-16)")]
    NoLines,
    #[error("the seller has no name (BR-06)")]
    SellerNameMissing,
    #[error("the buyer has no name (BR-07)")]
    BuyerNameMissing,
    #[error("the seller's address has no {} (BR-08)", .missing.join(", "))]
    SellerAddressIncomplete { missing: Vec<&'static str> },
    #[error("the buyer's address has no {} (BR-10)", .missing.join(", "))]
    BuyerAddressIncomplete { missing: Vec<&'static str> },
    #[error(
        "the buyer has no Peppol endpoint, which a Peppol document requires (PEPPOL-EN16931-R010); render it with the EN 16931 profile"
    )]
    BuyerHasNoEndpoint,
    #[error("the buyer's endpoint {scheme}:{id} is not valid: {rule}")]
    InvalidEndpoint {
        scheme: String,
        id: String,
        rule: &'static str,
    },
    #[error(
        "the seller is not VAT registered, but VAT category {category} needs its VAT identifier (BR-{category}-02)"
    )]
    SellerNotVatRegistered { category: &'static str },
    #[error("{line}: VAT category {category:?} is not one Nordlys issues (S, Z or E; BR-CL-18)")]
    UnsupportedVatCategory { line: LineRef, category: String },
    #[error("{line}: VAT category {category} at {percent} %: {rule}")]
    VatRateInvalid {
        line: LineRef,
        category: &'static str,
        percent: Decimal,
        rule: &'static str,
    },
    #[error(
        "exempt (E) lines need the reason of the exemption, and the document gives none (BR-E-10)"
    )]
    ExemptionReasonMissing,
    #[error("{line}: the line has neither a description nor a code to name its item (BR-25)")]
    ItemNameMissing { line: LineRef },
    #[error("{line}: its period {from} to {to} (exclusive) is empty")]
    LinePeriodEmpty { line: LineRef, from: Date, to: Date },
    #[error("{line}: net amount {net} has more than 2 decimals (BR-DEC-23)")]
    LineAmountTooPrecise { line: LineRef, net: Decimal },
    #[error(
        "{line}: quantity {quantity} × unit price {unit_price} differs from the net amount {net} by more than 0.02 (PEPPOL-EN16931-R120)"
    )]
    LineAmountMismatch {
        line: LineRef,
        quantity: Decimal,
        unit_price: Decimal,
        net: Decimal,
    },
    #[error("the document's {what} is {stated}, but its lines give {computed} ({rule})")]
    TotalsDisagree {
        what: String,
        stated: Decimal,
        computed: Decimal,
        rule: &'static str,
    },
    #[error(
        "a credit note must reference the invoice it corrects, and this one references none (bokføringsforskriften § 5-2-8)"
    )]
    CreditNoteCorrectsNothing,
    #[error("the invoice asks for {gross} but has no due date (bokføringsforskriften § 5-1-1)")]
    DueDateMissing { gross: Decimal },
    #[error(
        "payments between Danish parties go to a bank account with its bank's BIC or registration number, and the seller's account has none (DK-R-006)"
    )]
    BankBranchMissing,
    #[error(
        "a Danish seller's credit note to a Danish buyer cannot have a negative total ({gross}) (DK-R-016)"
    )]
    DanishCreditNoteNegative { gross: Decimal },
    #[error("{location} would hold a character XML cannot carry (a control character): {value:?}")]
    ForbiddenCharacter { location: String, value: String },
}

/// Every reason one document cannot be rendered, before any bytes are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentProblems {
    /// The document's number as printed, `F-12`.
    pub document: String,
    pub problems: Vec<DocumentProblem>,
}

impl fmt::Display for DocumentProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {} cannot be rendered as EHF:", self.document)?;
        for (n, problem) in self.problems.iter().enumerate() {
            write!(f, "\n  {}. {problem}", n + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for DocumentProblems {}

//! Dunning policies and their dated tables (fees, late-payment interest) as read from TOML,
//! checked when read: every step's fee names a fee row, steps are ordered as the law orders
//! them, and every policy ends with the handover.

use jiff::civil::Date;
use nordlys_core::model::Market;
use rust_decimal::Decimal;
use serde::Deserialize;

/// The tables Nordlys ships with.
pub const DEFAULT_DUNNING_TOML: &str = include_str!("../data/dunning.toml");

/// A customer's kind as the law treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Household,
    Business,
}

impl CustomerKind {
    pub fn code(self) -> &'static str {
        match self {
            CustomerKind::Household => "household",
            CustomerKind::Business => "business",
        }
    }
}

/// A step of dunning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Purring / rykker.
    Reminder,
    /// Inkassovarsel / påkrav: the last letter before collection.
    CollectionNotice,
    /// The claim goes to the collection agency.
    Handover,
}

impl StepKind {
    pub fn code(self) -> &'static str {
        match self {
            StepKind::Reminder => "reminder",
            StepKind::CollectionNotice => "collection_notice",
            StepKind::Handover => "handover",
        }
    }

    pub fn parse(code: &str) -> Option<StepKind> {
        [
            StepKind::Reminder,
            StepKind::CollectionNotice,
            StepKind::Handover,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// One step of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRule {
    pub kind: StepKind,
    /// Days after the due date (the first step) or after the previous step's deadline.
    pub wait_days: i64,
    /// Days at least between the previous step's sending and this one's.
    #[serde(default)]
    pub min_days_between: i64,
    /// Days the customer has to pay (moved to the next working day).
    #[serde(default)]
    pub deadline_days: i64,
    /// The code of the dated fee this step carries.
    #[serde(default)]
    pub fee: Option<String>,
}

/// The dunning of one market and customer kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(deserialize_with = "market")]
    pub market: Market,
    pub customer_kind: CustomerKind,
    /// The most fees one claim may carry.
    pub max_fees: usize,
    pub steps: Vec<StepRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatedFee {
    code: String,
    #[serde(deserialize_with = "civil_date")]
    from: Date,
    #[serde(deserialize_with = "decimal")]
    amount: Decimal,
    source: String,
}

/// A late-payment interest rate from a day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterestRate {
    #[serde(deserialize_with = "market")]
    pub market: Market,
    #[serde(deserialize_with = "civil_date")]
    pub from: Date,
    /// Percent a year.
    #[serde(deserialize_with = "decimal")]
    pub percent: Decimal,
    pub source: String,
}

fn civil_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a date (YYYY-MM-DD)")))
}

fn decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a decimal number")))
}

fn market<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Market, D::Error> {
    let code = String::deserialize(d)?;
    Market::parse(&code).map_err(|e| serde::de::Error::custom(e.rule))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    policy: Vec<Policy>,
    fee: Vec<DatedFee>,
    #[serde(default)]
    interest: Vec<InterestRate>,
}

/// What is wrong with the tables, or what they lack for a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("dunning tables: {0}")]
    Invalid(String),
    #[error("no dunning policy for {market} {kind} customers")]
    NoPolicy {
        market: &'static str,
        kind: &'static str,
    },
    #[error("no {code} fee row on or before {day}")]
    NoFee { code: String, day: Date },
    #[error("no late-payment interest rate for {market} on or before {day}")]
    NoInterest { market: &'static str, day: Date },
}

/// Policies, fees and interest rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningTables {
    policies: Vec<Policy>,
    fees: Vec<DatedFee>,
    interest: Vec<InterestRate>,
}

impl Default for DunningTables {
    fn default() -> Self {
        // The shipped tables are checked by a test: they always read.
        DunningTables::from_toml(DEFAULT_DUNNING_TOML).expect("the shipped dunning tables read")
    }
}

impl DunningTables {
    /// Read and check tables.
    pub fn from_toml(text: &str) -> Result<DunningTables, PolicyError> {
        let file: File = toml::from_str(text).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        for policy in &file.policy {
            let name = format!("{} {}", policy.market.code(), policy.customer_kind.code());
            if policy.steps.last().map(|s| s.kind) != Some(StepKind::Handover) {
                return Err(PolicyError::Invalid(format!(
                    "the {name} policy must end with the handover"
                )));
            }
            for (i, step) in policy.steps.iter().enumerate() {
                if step.wait_days < 0 || step.min_days_between < 0 || step.deadline_days < 0 {
                    return Err(PolicyError::Invalid(format!(
                        "the {name} policy's step {}: days cannot be negative",
                        i + 1
                    )));
                }
                if step.kind != StepKind::Handover && step.deadline_days == 0 {
                    return Err(PolicyError::Invalid(format!(
                        "the {name} policy's step {} ({}) gives the customer no days to pay",
                        i + 1,
                        step.kind.code()
                    )));
                }
                if let Some(code) = &step.fee
                    && !file.fee.iter().any(|f| &f.code == code)
                {
                    return Err(PolicyError::Invalid(format!(
                        "the {name} policy's step {} names the fee {code:?}, which has no row",
                        i + 1
                    )));
                }
                if step.kind == StepKind::Handover && i + 1 != policy.steps.len() {
                    return Err(PolicyError::Invalid(format!(
                        "the {name} policy hands over at step {} but goes on",
                        i + 1
                    )));
                }
            }
        }
        for fee in &file.fee {
            if fee.amount < Decimal::ZERO || fee.source.trim().is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "fee {} from {}: an amount of at least 0 and a source",
                    fee.code, fee.from
                )));
            }
        }
        Ok(DunningTables {
            policies: file.policy,
            fees: file.fee,
            interest: file.interest,
        })
    }

    pub fn policy(&self, market: Market, kind: CustomerKind) -> Result<&Policy, PolicyError> {
        self.policies
            .iter()
            .find(|p| p.market == market && p.customer_kind == kind)
            .ok_or(PolicyError::NoPolicy {
                market: market.code(),
                kind: kind.code(),
            })
    }

    /// The fee `code` of the row in force on `day`.
    pub fn fee(&self, code: &str, day: Date) -> Result<Decimal, PolicyError> {
        self.fees
            .iter()
            .filter(|f| f.code == code && f.from <= day)
            .max_by_key(|f| f.from)
            .map(|f| f.amount)
            .ok_or_else(|| PolicyError::NoFee {
                code: code.to_owned(),
                day,
            })
    }

    /// The interest rate in force on `day` and the day the next row starts, if any.
    pub fn interest_on(
        &self,
        market: Market,
        day: Date,
    ) -> Result<(Decimal, Option<Date>), PolicyError> {
        let current = self
            .interest
            .iter()
            .filter(|r| r.market == market && r.from <= day)
            .max_by_key(|r| r.from)
            .ok_or(PolicyError::NoInterest {
                market: market.code(),
                day,
            })?;
        let next = self
            .interest
            .iter()
            .filter(|r| r.market == market && r.from > day)
            .map(|r| r.from)
            .min();
        Ok((current.percent, next))
    }
}

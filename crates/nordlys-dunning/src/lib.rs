//! Dunning as a pure function of (claim, its dunning so far, policy, calendar, day): what is
//! due for one open invoice — a reminder, a collection notice, the handover to a collection
//! agency — or why nothing is (paid, held, not yet, done). Policies, fees and interest rates
//! are dated data (`data/dunning.toml`), never constants in code.

mod policy;

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::model::Market;
use nordlys_rating::calendar::HolidayCalendar;
use rust_decimal::Decimal;

pub use policy::{
    CustomerKind, DEFAULT_DUNNING_TOML, DunningTables, InterestRate, Policy, PolicyError, StepKind,
    StepRule,
};

/// One open invoice as dunning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub document_id: i64,
    pub market: Market,
    pub customer_kind: CustomerKind,
    /// The due date in force (as postponed, if it was).
    pub due_date: Date,
    /// What is still to pay, fees included, in minor units.
    pub open_minor: i64,
    /// The steps taken so far, oldest first.
    pub history: Vec<DoneStep>,
    /// A hold in force stops every step until it ends.
    pub hold: Option<Hold>,
}

/// A dunning step already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneStep {
    pub kind: StepKind,
    pub sent_on: Date,
    pub deadline: Option<Date>,
    pub fee_minor: i64,
}

/// Why an invoice is not dunned, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// `postponed`, `disputed`, `payment_plan` …
    pub reason: String,
    /// The last day of the hold.
    pub until: Date,
}

/// What dunning decides for a claim on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing is owed: a paid or credited invoice is never dunned.
    Settled,
    /// Held, with the hold's reason and last day.
    Held(Hold),
    /// The next step is due on this day, not before.
    NotYet { step: StepKind, on: Date },
    /// Send this step now.
    Send(StepToSend),
    /// Every step of the policy has been taken (the claim is with the collection agency).
    Done,
}

/// A step to send, with what the law allows it to carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepToSend {
    pub kind: StepKind,
    /// Its number in the policy (0 = the first step).
    pub index: usize,
    pub fee_minor: i64,
    /// The day the customer has to pay by (a working day); `None` for the handover.
    pub deadline: Option<Date>,
    /// The rule that made it due, for the record.
    pub rule: String,
}

fn minor(amount: Decimal) -> i64 {
    i64::try_from((amount * Decimal::from(100)).round()).unwrap_or(i64::MAX)
}

fn calendar(market: Market) -> HolidayCalendar {
    match market {
        Market::No => HolidayCalendar::Norway,
        Market::Dk => HolidayCalendar::Denmark,
    }
}

/// `day`, or the first working day after it (not a weekend, not a public holiday).
pub fn working_day_from(day: Date, market: Market) -> Date {
    let holidays = calendar(market);
    let mut d = day;
    while matches!(
        d.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) || holidays.is_holiday(d)
    {
        d = d.tomorrow().unwrap_or(d);
        if d == Date::MAX {
            break;
        }
    }
    d
}

/// What is due for `claim` on `today` under `tables`.
pub fn evaluate(
    claim: &Claim,
    tables: &DunningTables,
    today: Date,
) -> Result<Decision, PolicyError> {
    if claim.open_minor <= 0 {
        return Ok(Decision::Settled);
    }
    if let Some(hold) = &claim.hold
        && hold.until >= today
    {
        return Ok(Decision::Held(hold.clone()));
    }
    let policy = tables.policy(claim.market, claim.customer_kind)?;
    let index = claim.history.len();
    let Some(rule) = policy.steps.get(index) else {
        return Ok(Decision::Done);
    };
    let earliest = match claim.history.last() {
        None => claim
            .due_date
            .checked_add(rule.wait_days.days())
            .unwrap_or(Date::MAX),
        Some(previous) => {
            let after_deadline = previous
                .deadline
                .unwrap_or(previous.sent_on)
                .checked_add(rule.wait_days.days())
                .unwrap_or(Date::MAX);
            let after_sending = previous
                .sent_on
                .checked_add(rule.min_days_between.days())
                .unwrap_or(Date::MAX);
            after_deadline.max(after_sending)
        }
    };
    if today < earliest {
        return Ok(Decision::NotYet {
            step: rule.kind,
            on: earliest,
        });
    }
    let fees_charged = claim.history.iter().filter(|s| s.fee_minor > 0).count();
    let fee_minor = match &rule.fee {
        Some(code) if fees_charged < policy.max_fees => minor(tables.fee(code, today)?),
        _ => 0,
    };
    let deadline = (rule.kind != StepKind::Handover).then(|| {
        working_day_from(
            today
                .checked_add(rule.deadline_days.days())
                .unwrap_or(Date::MAX),
            claim.market,
        )
    });
    Ok(Decision::Send(StepToSend {
        kind: rule.kind,
        index,
        fee_minor,
        deadline,
        rule: format!(
            "{} {} of the {} {} policy: {} days after {}",
            rule.kind.code(),
            index + 1,
            claim.market.code(),
            claim.customer_kind.code(),
            rule.wait_days,
            if index == 0 {
                "the due date".to_owned()
            } else {
                "the previous deadline".to_owned()
            }
        ),
    }))
}

/// Late-payment interest on `principal_minor` from the day after `due` through `today`, simple
/// interest at the rate of each half-year (a year of 365 days), in minor units.
pub fn interest_minor(
    principal_minor: i64,
    due: Date,
    today: Date,
    market: Market,
    tables: &DunningTables,
) -> Result<i64, PolicyError> {
    if principal_minor <= 0 || today <= due {
        return Ok(0);
    }
    let mut total = Decimal::ZERO;
    let mut day = due.tomorrow().unwrap_or(due);
    while day <= today {
        // The rate of `day` holds until the next row starts (or through `today`).
        let (rate, next) = tables.interest_on(market, day)?;
        let end = next.map_or(today, |n| n.yesterday().unwrap_or(n).min(today));
        let days = i64::from((end - day).get_days()) + 1;
        total += Decimal::from(principal_minor) * rate / Decimal::from(100) * Decimal::from(days)
            / Decimal::from(365);
        day = end.tomorrow().unwrap_or(Date::MAX);
        if end == today {
            break;
        }
    }
    Ok(i64::try_from(total.round()).unwrap_or(i64::MAX))
}

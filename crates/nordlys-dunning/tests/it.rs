//! Dunning as the law and an auditor check it: the shipped tables read; the Norwegian and
//! Danish timelines step by step; and, for any claim and day, the properties that must always
//! hold — a settled invoice is never dunned, a held one never escalates, no step is skipped, no
//! fee is above its table or beyond the policy's count, and deciding twice on one day sends
//! nothing new.

use jiff::civil::{Date, date};
use nordlys_core::model::Market;
use nordlys_dunning::{
    Claim, CustomerKind, Decision, DoneStep, DunningTables, Hold, StepKind, evaluate,
    interest_minor, working_day_from,
};
use proptest::prelude::*;

fn claim(market: Market, due: Date, open_minor: i64) -> Claim {
    Claim {
        document_id: 1,
        market,
        customer_kind: CustomerKind::Household,
        due_date: due,
        open_minor,
        history: Vec::new(),
        hold: None,
    }
}

/// Take the step `decision` sends, as the run records it.
fn take(claim: &mut Claim, decision: &Decision, today: Date) {
    let Decision::Send(step) = decision else {
        panic!("nothing to send: {decision:?}");
    };
    claim.history.push(DoneStep {
        kind: step.kind,
        sent_on: today,
        deadline: step.deadline,
        fee_minor: step.fee_minor,
    });
    claim.open_minor += step.fee_minor;
}

#[test]
fn the_norwegian_timeline_reminder_notice_handover_with_two_fees_at_most() {
    let tables = DunningTables::default();
    // Due Friday 2026-01-16.
    let mut c = claim(Market::No, date(2026, 1, 16), 150_000);
    // No reminder fee before 14 days after the due date.
    assert_eq!(
        evaluate(&c, &tables, date(2026, 1, 29)).unwrap(),
        Decision::NotYet {
            step: StepKind::Reminder,
            on: date(2026, 1, 30)
        }
    );
    let first = evaluate(&c, &tables, date(2026, 1, 30)).unwrap();
    let Decision::Send(reminder) = &first else {
        panic!("{first:?}")
    };
    assert_eq!(
        (reminder.kind, reminder.fee_minor),
        (StepKind::Reminder, 3_800),
        "38 kr in 2026"
    );
    // 14 days: Friday 13 February, a working day.
    assert_eq!(reminder.deadline, Some(date(2026, 2, 13)));
    take(&mut c, &first, date(2026, 1, 30));
    // The same day again: nothing new.
    assert!(matches!(
        evaluate(&c, &tables, date(2026, 1, 30)).unwrap(),
        Decision::NotYet { .. }
    ));
    // The notice comes after the reminder's deadline has passed.
    let notice = evaluate(&c, &tables, date(2026, 2, 14)).unwrap();
    let Decision::Send(n) = &notice else {
        panic!("{notice:?}")
    };
    assert_eq!((n.kind, n.fee_minor), (StepKind::CollectionNotice, 3_800));
    take(&mut c, &notice, date(2026, 2, 14));
    let handover = evaluate(&c, &tables, date(2026, 3, 3)).unwrap();
    let Decision::Send(h) = &handover else {
        panic!("{handover:?}")
    };
    assert_eq!(
        (h.kind, h.fee_minor, h.deadline),
        (StepKind::Handover, 0, None)
    );
    take(&mut c, &handover, date(2026, 3, 3));
    assert_eq!(
        evaluate(&c, &tables, date(2026, 6, 1)).unwrap(),
        Decision::Done
    );
    // In 2025 the fee was 35 kr.
    let old = claim(Market::No, date(2025, 3, 3), 10_000);
    let Decision::Send(s) = evaluate(&old, &tables, date(2025, 3, 20)).unwrap() else {
        panic!()
    };
    assert_eq!(s.fee_minor, 3_500);
}

#[test]
fn the_danish_rules_three_fees_at_most_ten_days_apart() {
    let tables = DunningTables::default();
    let mut c = claim(Market::Dk, date(2026, 3, 2), 80_000);
    let mut today = date(2026, 3, 12);
    let mut fees = Vec::new();
    loop {
        match evaluate(&c, &tables, today).unwrap() {
            Decision::Send(step) => {
                if let Some(previous) = c.history.last() {
                    assert!((today - previous.sent_on).get_days() >= 10, "10 days apart");
                }
                fees.push(step.fee_minor);
                take(&mut c, &Decision::Send(step), today);
            }
            Decision::Done => break,
            Decision::NotYet { on, .. } => today = on,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        fees,
        vec![10_000, 10_000, 10_000, 0],
        "100 DKK three times, then the handover"
    );
}

#[test]
fn a_deadline_on_a_holiday_moves_to_the_next_working_day() {
    // 17 May 2026 is a Sunday and Norway's constitution day; 18 May a Monday.
    assert_eq!(
        working_day_from(date(2026, 5, 16), Market::No),
        date(2026, 5, 18)
    );
    // Easter Monday 2026 is 6 April.
    assert_eq!(
        working_day_from(date(2026, 4, 2), Market::No),
        date(2026, 4, 7)
    );
}

#[test]
fn late_payment_interest_follows_the_half_years() {
    let tables = DunningTables::default();
    // 10,000.00 NOK from 1 Dec 2025 through 31 Jan 2026: 31 days at 12.25 %, 31 at 12.00 %.
    let minor = interest_minor(
        1_000_000,
        date(2025, 11, 30),
        date(2026, 1, 31),
        Market::No,
        &tables,
    )
    .unwrap();
    // 1,000,000 × 12.25 % × 31/365 = 10,404.11 and 1,000,000 × 12.00 % × 31/365 = 10,191.78 øre.
    assert_eq!(minor, 20_596);
    assert_eq!(
        interest_minor(
            1_000_000,
            date(2026, 1, 31),
            date(2026, 1, 31),
            Market::No,
            &tables
        )
        .unwrap(),
        0
    );
}

#[test]
fn tables_that_break_the_rules_are_refused_with_the_reason() {
    let no_handover = r#"
[[policy]]
market = "NO"
customer_kind = "household"
max_fees = 2
steps = [{ kind = "reminder", wait_days = 14, deadline_days = 14 }]
[[fee]]
code = "x"
from = "2020-01-01"
amount = "1"
source = "s"
"#;
    let error = DunningTables::from_toml(no_handover)
        .unwrap_err()
        .to_string();
    assert!(error.contains("must end with the handover"), "{error}");
    let unknown_fee = no_handover.replace(
        "deadline_days = 14 }]",
        "deadline_days = 14, fee = \"nope\" }, { kind = \"handover\", wait_days = 1 }]",
    );
    let error = DunningTables::from_toml(&unknown_fee)
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"nope\", which has no row"), "{error}");
}

fn any_claim() -> impl Strategy<Value = (Claim, Date)> {
    (
        prop_oneof![Just(Market::No), Just(Market::Dk)],
        prop_oneof![Just(CustomerKind::Household), Just(CustomerKind::Business)],
        0i64..800,
        -5_000i64..500_000,
        proptest::collection::vec((0i64..40, 0i64..30), 0..5),
        proptest::option::of((0i64..120, prop_oneof![Just("postponed"), Just("disputed")])),
        0i64..400,
    )
        .prop_map(
            |(market, kind, due_offset, open, steps, hold, today_offset)| {
                let due = date(2025, 1, 1)
                    .checked_add(jiff::Span::new().days(due_offset))
                    .unwrap();
                let mut sent = due;
                let tables = DunningTables::default();
                let policy = tables.policy(market, kind).unwrap().clone();
                let history = steps
                    .into_iter()
                    .zip(policy.steps.iter())
                    .map(|((gap, deadline), rule)| {
                        sent = sent.checked_add(jiff::Span::new().days(gap + 1)).unwrap();
                        DoneStep {
                            kind: rule.kind,
                            sent_on: sent,
                            deadline: Some(
                                sent.checked_add(jiff::Span::new().days(deadline)).unwrap(),
                            ),
                            fee_minor: 0,
                        }
                    })
                    .collect();
                let claim = Claim {
                    document_id: 1,
                    market,
                    customer_kind: kind,
                    due_date: due,
                    open_minor: open,
                    history,
                    hold: hold.map(|(days, reason)| Hold {
                        reason: reason.to_owned(),
                        until: due.checked_add(jiff::Span::new().days(days)).unwrap(),
                    }),
                };
                let today = sent
                    .checked_add(jiff::Span::new().days(today_offset))
                    .unwrap();
                (claim, today)
            },
        )
}

proptest! {
    #[test]
    fn dunning_never_breaks_its_rules((claim, today) in any_claim()) {
        let tables = DunningTables::default();
        let decision = evaluate(&claim, &tables, today).unwrap();
        let policy = tables.policy(claim.market, claim.customer_kind).unwrap();
        if claim.open_minor <= 0 {
            prop_assert_eq!(&decision, &Decision::Settled, "a settled invoice is never dunned");
        }
        if let Some(hold) = &claim.hold && hold.until >= today && claim.open_minor > 0 {
            prop_assert!(matches!(decision, Decision::Held(_)), "a held invoice is never escalated");
        }
        if let Decision::Send(step) = &decision {
            prop_assert_eq!(step.index, claim.history.len(), "no step is skipped");
            prop_assert_eq!(step.kind, policy.steps[step.index].kind);
            let fees = claim.history.iter().filter(|s| s.fee_minor > 0).count();
            if step.fee_minor > 0 {
                prop_assert!(fees < policy.max_fees, "no fee beyond the policy's count");
                let cap = tables.fee(policy.steps[step.index].fee.as_deref().unwrap(), today).unwrap();
                prop_assert!(rust_decimal::Decimal::new(step.fee_minor, 2) <= cap, "no fee above its table");
            }
            if let Some(deadline) = step.deadline {
                prop_assert!(deadline > today);
            }
            // Deciding again the same day, after recording the step, sends nothing new.
            let mut after = claim.clone();
            after.history.push(DoneStep { kind: step.kind, sent_on: today, deadline: step.deadline, fee_minor: step.fee_minor });
            after.open_minor += step.fee_minor;
            let again = evaluate(&after, &tables, today).unwrap();
            prop_assert!(!matches!(again, Decision::Send(_)), "running twice issues nothing new: {:?}", again);
        }
    }
}

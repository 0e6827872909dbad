//! The pure correction diff. From what was billed for a contract-period (the lines of every
//! document issued for it, in issue order) and a new rating, the lines of a credit note and a
//! reissued invoice, or of one difference document. No I/O.
//!
//! What stands billed is kept line by line, never merged: a credit note's line cancels the line
//! it reversed, so after credit-and-reissue what stands is the reissue's lines exactly, and the
//! next credit note negates those lines one for one. Lines are compared per
//! [`DocumentLine::identity`], which includes the description and the unit price: a changed price
//! is a reversed line and a new one, never one line whose quantity and amount disagree.

use std::collections::HashMap;

use nordlys_core::document::{BilledLine, DocumentLine, Explanation, LineIdentity};
use rust_decimal::Decimal;

/// What stands billed for one contract-period: every billed line not cancelled by a later
/// line that reverses it exactly, in the order first billed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    entries: Vec<BilledLine>,
}

impl Standing {
    /// Replay the lines of every document issued for the contract-period, oldest first.
    pub fn replay(billed: impl IntoIterator<Item = BilledLine>) -> Standing {
        let mut entries: Vec<BilledLine> = Vec::new();
        for line in billed {
            let reverses = entries.iter().rposition(|e| {
                e.line.identity() == line.line.identity()
                    && e.line.quantity == -line.line.quantity
                    && e.line.net == -line.line.net
            });
            match reverses {
                Some(i) => {
                    entries.remove(i);
                }
                None if line.line.quantity.is_zero() && line.line.net.is_zero() => {}
                None => entries.push(line),
            }
        }
        Standing { entries }
    }

    pub fn lines(&self) -> impl Iterator<Item = &DocumentLine> {
        self.entries.iter().map(|e| &e.line)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The documents whose lines stand, each once, in the order their lines were billed.
    pub fn documents(&self) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = Vec::new();
        for e in &self.entries {
            if !out.iter().any(|(id, _)| *id == e.document_id) {
                out.push((e.document_id, e.document_number.clone()));
            }
        }
        out
    }

    /// Whether a new rating bills exactly what stands: per line identity the same quantity and
    /// amount (lines of one identity summed).
    pub fn same_as(&self, rating: &[DocumentLine]) -> bool {
        totals(self.lines()) == totals(rating.iter())
    }

    /// The credit note's lines: every standing line reversed, in order, with `note` first in
    /// its explanation.
    pub fn credit_lines(&self, note: &Explanation) -> Vec<DocumentLine> {
        self.lines().map(|l| annotated(l.negated(), note)).collect()
    }

    /// The lines of one difference document: per standing line identity the change — one line
    /// with the change in quantity and amount at the same unit price, or, where that would not
    /// be a true line, the standing lines reversed and the new ones billed — then the rating's
    /// lines that are new.
    pub fn difference_lines(
        &self,
        rating: &[DocumentLine],
        note: &Explanation,
    ) -> Vec<DocumentLine> {
        let standing = grouped(self.lines());
        let new = grouped(rating.iter());
        let mut out = Vec::new();
        for (identity, old_lines) in &standing {
            let new_lines = new
                .iter()
                .find(|(i, _)| i == identity)
                .map_or(&[][..], |(_, lines)| lines.as_slice());
            let (old_quantity, old_net) = sum(old_lines.iter().copied());
            let (new_quantity, new_net) = sum(new_lines.iter().copied());
            if (old_quantity, old_net) == (new_quantity, new_net) {
                continue;
            }
            let quantity = new_quantity - old_quantity;
            let change = new_lines.first().map(|template| DocumentLine {
                quantity,
                net: new_net - old_net,
                ..(*template).clone()
            });
            match change {
                // Each of two lines may miss quantity × unit price by up to the tolerance, so
                // their difference can miss it by twice as much: then it is no true line.
                Some(change) if !quantity.is_zero() && is_true_line(&change) => {
                    out.push(annotated(change, note));
                }
                _ => {
                    out.extend(old_lines.iter().map(|l| annotated(l.negated(), note)));
                    out.extend(new_lines.iter().map(|l| annotated((*l).clone(), note)));
                }
            }
        }
        for (identity, new_lines) in &new {
            if !standing.iter().any(|(i, _)| i == identity) {
                out.extend(new_lines.iter().map(|l| annotated((*l).clone(), note)));
            }
        }
        out
    }
}

/// One line identity (contract, kind, description, unit price …) whose quantity or amount a new
/// rating changes: what stands billed and what the new rating bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    pub contract_id: String,
    pub description: String,
    pub billed_quantity: Decimal,
    pub billed_net: Decimal,
    pub rated_quantity: Decimal,
    pub rated_net: Decimal,
}

impl Standing {
    /// The line identities whose quantity or amount `rating` changes, standing ones first in
    /// the order first billed, then the new ones.
    pub fn changes(&self, rating: &[DocumentLine]) -> Vec<LineChange> {
        let standing = grouped(self.lines());
        let new = grouped(rating.iter());
        let mut identities: Vec<LineIdentity<'_>> = standing.iter().map(|(i, _)| *i).collect();
        identities.extend(
            new.iter()
                .map(|(i, _)| *i)
                .filter(|i| !standing.iter().any(|(s, _)| s == i)),
        );
        identities
            .into_iter()
            .filter_map(|identity| {
                let old_lines = lines_of(&standing, &identity);
                let new_lines = lines_of(&new, &identity);
                let (billed_quantity, billed_net) = sum(old_lines.iter().copied());
                let (rated_quantity, rated_net) = sum(new_lines.iter().copied());
                let template = old_lines.first().or(new_lines.first())?;
                ((billed_quantity, billed_net) != (rated_quantity, rated_net)).then(|| LineChange {
                    contract_id: template.contract_id.clone(),
                    description: template.description.clone(),
                    billed_quantity,
                    billed_net,
                    rated_quantity,
                    rated_net,
                })
            })
            .collect()
    }
}

/// The lines of `identity` in `groups` (none if it has no group).
fn lines_of<'a>(
    groups: &[(LineIdentity<'a>, Vec<&'a DocumentLine>)],
    identity: &LineIdentity<'a>,
) -> Vec<&'a DocumentLine> {
    groups
        .iter()
        .find(|(i, _)| i == identity)
        .map(|(_, lines)| lines.clone())
        .unwrap_or_default()
}

/// PEPPOL-EN16931-R120: a line's amount is its quantity × unit price within 0.02.
fn is_true_line(line: &DocumentLine) -> bool {
    (line.quantity * line.unit_price - line.net).abs() <= Decimal::new(2, 2)
}

fn annotated(mut line: DocumentLine, note: &Explanation) -> DocumentLine {
    line.explanation.insert(0, note.clone());
    line
}

/// Lines grouped by identity, groups in order of first appearance.
fn grouped<'a>(
    lines: impl Iterator<Item = &'a DocumentLine>,
) -> Vec<(LineIdentity<'a>, Vec<&'a DocumentLine>)> {
    let mut out: Vec<(LineIdentity<'a>, Vec<&'a DocumentLine>)> = Vec::new();
    let mut index: HashMap<LineIdentity<'a>, usize> = HashMap::new();
    for line in lines {
        let identity = line.identity();
        match index.get(&identity) {
            Some(&i) => out[i].1.push(line),
            None => {
                index.insert(identity, out.len());
                out.push((identity, vec![line]));
            }
        }
    }
    out
}

fn sum<'a>(lines: impl Iterator<Item = &'a DocumentLine>) -> (Decimal, Decimal) {
    lines.fold((Decimal::ZERO, Decimal::ZERO), |(q, n), l| {
        (q + l.quantity, n + l.net)
    })
}

/// Quantity and amount per identity, zero groups left out, in a canonical order.
fn totals<'a>(
    lines: impl Iterator<Item = &'a DocumentLine>,
) -> Vec<(LineIdentity<'a>, Decimal, Decimal)> {
    let mut out: Vec<(LineIdentity<'a>, Decimal, Decimal)> = grouped(lines)
        .into_iter()
        .map(|(identity, lines)| {
            let (q, n) = sum(lines.into_iter());
            (identity, q.normalize(), n.normalize())
        })
        .filter(|(_, q, n)| !q.is_zero() || !n.is_zero())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Date;
    use nordlys_core::document::{LineKind, LineUnit, VatCategory};

    fn corrects(number: &str) -> Explanation {
        Explanation::Corrects {
            documents: vec![number.to_owned()],
        }
    }

    fn line(description: &str, quantity: &str, unit_price: &str, net: &str) -> DocumentLine {
        DocumentLine {
            contract_id: "G1".into(),
            kind: LineKind::Energy,
            source: "elvia".into(),
            code: "energy".into(),
            description: description.into(),
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            quantity: quantity.parse().unwrap(),
            unit: LineUnit::Kwh,
            unit_price: unit_price.parse().unwrap(),
            net: net.parse().unwrap(),
            vat_category: VatCategory::Standard,
            vat_percent: Decimal::from(25),
            explanation: vec![],
        }
    }

    fn billed(number: &str, id: i64, lines: &[DocumentLine]) -> Vec<BilledLine> {
        lines
            .iter()
            .map(|l| BilledLine {
                document_id: id,
                document_number: number.into(),
                line: l.clone(),
            })
            .collect()
    }

    fn day_and_base() -> Vec<DocumentLine> {
        vec![
            line("Energiledd – Dag", "491.326", "0.2877", "141.35"),
            line("Energiledd – grunnpris", "771.425", "0.1899", "146.49"),
        ]
    }

    #[test]
    fn a_change_that_would_miss_quantity_times_price_is_reversed_and_rebilled() {
        // Both lines price 0.8618 (4 decimals, each within 0.02), but their difference would
        // be 0.304 kWh × 0.8618 = 0.26 for an amount of 0.29.
        let standing =
            Standing::replay(billed("F-1", 1, &[line("Spot", "800", "0.8618", "689.45")]));
        let rating = [line("Spot", "800.304", "0.8618", "689.74")];
        let diff = standing.difference_lines(&rating, &corrects("F-1"));
        let shown: Vec<(String, String)> = diff
            .iter()
            .map(|l| {
                (
                    l.quantity.normalize().to_string(),
                    l.net.normalize().to_string(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("-800".to_owned(), "-689.45".to_owned()),
                ("800.304".to_owned(), "689.74".to_owned())
            ]
        );
    }

    #[test]
    fn the_changes_name_each_changed_line_with_what_stands_and_what_is_rated() {
        let standing = Standing::replay(billed("F-12", 12, &day_and_base()));
        let rating = [
            line("Energiledd – Dag", "500", "0.2877", "143.85"),
            line("Energiledd – grunnpris", "771.425", "0.1899", "146.49"),
            line("Fastledd", "1", "50", "50.00"),
        ];
        let changes = standing.changes(&rating);
        let shown: Vec<(&str, String, String)> = changes
            .iter()
            .map(|c| {
                (
                    c.description.as_str(),
                    c.billed_net.normalize().to_string(),
                    c.rated_net.normalize().to_string(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("Energiledd – Dag", "141.35".to_owned(), "143.85".to_owned()),
                ("Fastledd", "0".to_owned(), "50".to_owned()),
            ]
        );
        assert!(standing.changes(&day_and_base()).is_empty());
    }

    #[test]
    fn a_credit_note_reverses_each_line_of_the_original_in_order() {
        // The demo's F-12: two energy lines of one product that differ only by description.
        let standing = Standing::replay(billed("F-12", 12, &day_and_base()));
        let credit = standing.credit_lines(&corrects("F-12"));
        assert_eq!(credit.len(), 2);
        assert_eq!(credit[0].description, "Energiledd – Dag");
        assert_eq!(credit[0].quantity, "-491.326".parse().unwrap());
        assert_eq!(credit[0].net, "-141.35".parse().unwrap());
        assert_eq!(credit[1].description, "Energiledd – grunnpris");
        assert_eq!(credit[1].net, "-146.49".parse().unwrap());
        assert_eq!(credit[1].explanation, vec![corrects("F-12")]);
        assert_eq!(credit[1].explanation[0].to_string(), "correction of F-12");
        assert_eq!(standing.documents(), vec![(12, "F-12".to_owned())]);
    }

    #[test]
    fn after_credit_and_reissue_the_reissue_is_what_stands() {
        let reissue = vec![
            line("Energiledd – Dag", "500", "0.2877", "143.85"),
            line("Energiledd – grunnpris", "771.425", "0.1899", "146.49"),
        ];
        let mut history = billed("F-12", 12, &day_and_base());
        let credit: Vec<DocumentLine> = day_and_base().iter().map(|l| l.negated()).collect();
        history.extend(billed("K-1", 13, &credit));
        history.extend(billed("F-30", 14, &reissue));
        let standing = Standing::replay(history);
        assert_eq!(standing.lines().cloned().collect::<Vec<_>>(), reissue);
        assert_eq!(standing.documents(), vec![(14, "F-30".to_owned())]);
        assert!(standing.same_as(&reissue));
        assert!(!standing.same_as(&day_and_base()));
    }

    #[test]
    fn a_difference_changes_quantity_at_the_same_price_and_reverses_a_changed_price() {
        let standing = Standing::replay(billed(
            "F-12",
            12,
            &[
                line("Energiledd – Dag", "491.326", "0.2877", "141.35"),
                line("Spot", "100", "0.9", "90.00"),
                line("Gone", "1", "10", "10.00"),
            ],
        ));
        let rating = vec![
            line("Energiledd – Dag", "500", "0.2877", "143.85"),
            line("Spot", "100", "0.95", "95.00"),
            line("New", "2", "3", "6.00"),
        ];
        let diff = standing.difference_lines(&rating, &corrects("F-12"));
        let shown: Vec<(String, String, String, String)> = diff
            .iter()
            .map(|l| {
                (
                    l.description.clone(),
                    l.quantity.normalize().to_string(),
                    l.unit_price.normalize().to_string(),
                    l.net.normalize().to_string(),
                )
            })
            .collect();
        let expected = [
            ("Energiledd – Dag", "8.674", "0.2877", "2.5"),
            ("Spot", "-100", "0.9", "-90"),
            ("Gone", "-1", "10", "-10"),
            ("Spot", "100", "0.95", "95"),
            ("New", "2", "3", "6"),
        ];
        let expected: Vec<(String, String, String, String)> = expected
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(shown, expected);
        // What stands afterwards is the new rating.
        let mut history = billed("F-12", 12, &standing.lines().cloned().collect::<Vec<_>>());
        history.extend(billed("D-1", 13, &diff));
        assert!(Standing::replay(history).same_as(&rating));
    }
}

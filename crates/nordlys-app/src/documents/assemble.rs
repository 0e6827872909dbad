//! Assembling one issued document's [`InvoiceDocument`] from the store: the document with its
//! lines, the payer as buyer (the account's invoice address, else the payer's), the seller of
//! the document's market from the issuer profile, what it corrects, and per metering point the
//! consumption and average spot price of each local day of the period.

use std::collections::BTreeMap;

use jiff::civil::Date;
use nordlys_core::document::{DocumentKind, Explanation, IssuedDocument, NewDocument};
use nordlys_core::kid::{Kid, KidAlgorithm};
use nordlys_core::model::{Address, CustomerKind, Market};
use nordlys_core::time::{LocalPeriod, utc_day_start};
use nordlys_documents::{
    Buyer, CorrectedDocument, DailyUsage, DeliveryPoint, DocumentPurpose, ElectronicAddress,
    InvoiceDocument,
};
use nordlys_store::{BillablePoint, Store, StoreError, utc_days_of};
use rust_decimal::Decimal;

use super::issuer::IssuerProfile;

/// Why a document cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("no document has id {0}")]
    UnknownDocument(i64),
    #[error("document {number}: {reason}")]
    Incomplete { number: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A delivery point being gathered: its metering point (none for a service), its contracts and
/// their products.
type PointContracts = (Option<BillablePoint>, Vec<String>, Vec<String>);

/// Decimals of a day's average spot price per kWh on the chart.
const SPOT_DECIMALS: u32 = 4;

/// Assemble document `document_id`. `endpoint` is the buyer's Peppol endpoint where it
/// receives EHF (decided by the caller's Peppol lookup), `None` otherwise.
pub async fn assemble_document(
    store: &Store,
    document_id: i64,
    profile: &IssuerProfile,
    endpoint: Option<ElectronicAddress>,
) -> Result<InvoiceDocument, AssembleError> {
    let summary = store
        .document(document_id)
        .await?
        .ok_or(AssembleError::UnknownDocument(document_id))?;
    let number = summary.display_number();
    let incomplete = |reason: String| AssembleError::Incomplete {
        number: number.clone(),
        reason,
    };
    let lines = store.document_lines(document_id).await?;
    let details = store
        .document_details(&[document_id])
        .await?
        .remove(&document_id)
        .unwrap_or_default();
    let references = store.referenced_documents(document_id).await?;
    let account = store
        .account(&summary.account_id)
        .await?
        .ok_or_else(|| incomplete(format!("its account {} is missing", summary.account_id)))?;
    let payer = store
        .customer(&account.payer_customer_id)
        .await?
        .ok_or_else(|| {
            incomplete(format!(
                "its payer {} is missing",
                account.payer_customer_id
            ))
        })?;
    // The seller is the one of the market the document is in: its currency's.
    let market = match summary.currency {
        nordlys_core::quantity::Currency::Dkk => Market::Dk,
        nordlys_core::quantity::Currency::Nok => Market::No,
        _ => payer.identity.country(),
    };
    let seller = profile.seller(market).cloned().ok_or_else(|| {
        incomplete(format!(
            "the issuer profile has no seller for market {market} (add [seller.{market}])"
        ))
    })?;
    let period = LocalPeriod::parse_month(&summary.period)
        .map_err(|e| incomplete(format!("its period is unreadable: {e}")))?;

    // Delivery points: each contract's metering point (or the contract alone, a service).
    let mut points: BTreeMap<String, PointContracts> = BTreeMap::new();
    let mut contract_ids: Vec<&str> = lines.iter().map(|l| l.contract_id.as_str()).collect();
    contract_ids.dedup();
    contract_ids.sort_unstable();
    contract_ids.dedup();
    let mut all_ended = true;
    for contract_id in contract_ids {
        let contract = store
            .billable_contract(contract_id)
            .await?
            .ok_or_else(|| incomplete(format!("its contract {contract_id} is missing")))?;
        all_ended &= contract.end.is_some_and(|end| end <= period.end);
        let key = match &contract.point {
            Some(point) => point.gsrn.clone(),
            None => format!("service {contract_id}"),
        };
        let entry = points
            .entry(key)
            .or_insert_with(|| (contract.point.clone(), Vec::new(), Vec::new()));
        entry.1.push(contract.contract_id.clone());
        if !entry.2.contains(&contract.product_code) {
            entry.2.push(contract.product_code.clone());
        }
    }
    let mut delivery_points = Vec::with_capacity(points.len());
    for (_, (point, contracts, products)) in points {
        delivery_points.push(delivery_point(store, point, contracts, products, period).await?);
    }

    let identity = payer.identity.clone();
    let address = account
        .invoice_address
        .clone()
        .unwrap_or(payer.address.clone());
    let buyer = Buyer {
        name: payer.name.clone(),
        identity,
        address,
        email: if account.email.is_empty() {
            payer.email.clone()
        } else {
            account.email.clone()
        },
        endpoint: endpoint.filter(|_| payer.identity.kind() == CustomerKind::Organisation),
        buyer_reference: None,
        order_reference: None,
        customer_number: account.account_id.clone(),
    };

    let kid = summary
        .kid
        .as_deref()
        .map(|kid| {
            Kid::parse(kid, KidAlgorithm::Mod10)
                .or_else(|_| Kid::parse(kid, KidAlgorithm::Mod11))
                .map_err(|e| incomplete(format!("its KID is unreadable: {e}")))
        })
        .transpose()?;
    let purpose = purpose_of(summary.kind, &lines, !references.is_empty(), all_ended);
    let document = IssuedDocument {
        id: summary.id,
        series: summary.series.clone(),
        number: summary.number,
        kid,
        document: NewDocument {
            kind: summary.kind,
            account_id: summary.account_id.clone(),
            period: summary.period.clone(),
            issue_date: summary.issue_date,
            due_date: summary.due_date,
            currency: summary.currency,
            lines,
            vat: details.vat,
            net: summary.net,
            vat_total: summary.vat,
            gross: summary.gross,
            references: references.iter().map(|(id, ..)| *id).collect(),
        },
    };
    Ok(InvoiceDocument {
        document,
        language: account.language,
        purpose,
        seller,
        buyer,
        corrects: references
            .iter()
            .map(|(_, number, issue_date)| CorrectedDocument {
                number: number.to_string(),
                issue_date: *issue_date,
            })
            .collect(),
        correction_reason: (!references.is_empty()).then(|| {
            let numbers: Vec<String> = references.iter().map(|(_, n, _)| n.to_string()).collect();
            correction_reason(account.language, &numbers.join(", "))
        }),
        vat_exemption_reason: profile.vat_exemption_reasons.get(&market).cloned(),
        delivery_points,
        branding: profile.branding.clone(),
    })
}

/// Why a correction was issued, in the buyer's language: settlement corrects a settled period
/// when what it was billed from changed afterwards (meter values, prices, contracts).
fn correction_reason(language: nordlys_core::model::Language, numbers: &str) -> String {
    use nordlys_core::model::Language;
    match language {
        Language::Nb => format!(
            "Måleverdier, priser eller avtaler for perioden er endret etter at {numbers} ble utstedt; dette dokumentet retter det som ble fakturert."
        ),
        Language::Da => format!(
            "Måleværdier, priser eller aftaler for perioden er ændret efter at {numbers} blev udstedt; dette dokument retter det fakturerede."
        ),
        Language::En => format!(
            "Meter values, prices or agreements for the period changed after {numbers} was issued; this document corrects what was invoiced."
        ),
    }
}

/// Why the document was issued, from what it is: a credit note corrects; an invoice that
/// references earlier documents is a reissue or, when it carries reversals of earlier lines
/// (explained as correcting them), a difference document; an invoice whose
/// contracts have all ended by the period's end is the final settlement.
fn purpose_of(
    kind: DocumentKind,
    lines: &[nordlys_core::document::DocumentLine],
    references: bool,
    all_ended: bool,
) -> DocumentPurpose {
    match (kind, references) {
        (DocumentKind::CreditNote, _) => DocumentPurpose::Correction,
        (DocumentKind::Invoice, true) => {
            let reverses = lines.iter().any(|line| {
                line.explanation
                    .iter()
                    .any(|e| matches!(e, Explanation::Corrects { .. }))
            });
            if reverses {
                DocumentPurpose::Difference
            } else {
                DocumentPurpose::Correction
            }
        }
        (DocumentKind::Invoice, false) if all_ended => DocumentPurpose::FinalSettlement,
        (DocumentKind::Invoice, false) => DocumentPurpose::Regular,
    }
}

async fn delivery_point(
    store: &Store,
    point: Option<BillablePoint>,
    contract_ids: Vec<String>,
    products: Vec<String>,
    period: LocalPeriod,
) -> Result<DeliveryPoint, AssembleError> {
    let label = products.join(", ");
    let Some(point) = point else {
        return Ok(DeliveryPoint {
            metering_point_id: None,
            label,
            utility: None,
            address: None,
            contract_ids,
            daily: Vec::new(),
        });
    };
    let gsrn = nordlys_core::ids::Gsrn::parse(&point.gsrn).map_err(StoreError::CorruptValue)?;
    let master = store.metering_point(&gsrn).await?;
    let tz = point.market.time_zone();
    let daily = daily_usage(store, &point, period, &tz).await?;
    Ok(DeliveryPoint {
        metering_point_id: Some(gsrn),
        label,
        utility: master.as_ref().map(|m| m.utility),
        address: master
            .map(|m| m.address)
            .filter(|a: &Address| !a.street.is_empty()),
        contract_ids,
        daily,
    })
}

/// Consumption per local day of `period` and the day's average spot price (in the currency
/// of the point's market, per kWh).
async fn daily_usage(
    store: &Store,
    point: &BillablePoint,
    period: LocalPeriod,
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<DailyUsage>, StoreError> {
    let (first_day, last_day) = utc_days_of(period.start, period.end, tz);
    let chunks = store
        .day_chunks(&[point.id], first_day, last_day)
        .await?
        .remove(&point.id)
        .unwrap_or_default();
    let mut energy_by_date: BTreeMap<Date, i64> = BTreeMap::new();
    let mut date = period.start;
    while date < period.end {
        energy_by_date.insert(date, 0);
        date = date
            .tomorrow()
            .map_err(|_| StoreError::Unsupported("date out of range".into()))?;
    }
    for day in &chunks {
        let step = day.resolution().seconds();
        let start = utc_day_start(day.utc_day());
        for (slot, reading) in day.readings().enumerate() {
            let Some((energy, _)) = reading else { continue };
            let at = start + jiff::SignedDuration::from_secs(step * slot as i64);
            let local = tz.to_datetime(at).date();
            if let Some(total) = energy_by_date.get_mut(&local) {
                *total += energy.0;
            }
        }
    }
    let (from, to) = period.to_utc(tz);
    let prices = store.spot_prices(point.price_area, from, to).await?;
    let currency = point.market.currency();
    let mut rates = BTreeMap::new();
    if let Some(first) = prices.first()
        && first.currency != currency
    {
        rates = store
            .exchange_rates(first.currency, currency, period.start, period.end)
            .await?;
    }
    let mut price_sums: BTreeMap<Date, (Decimal, u32)> = BTreeMap::new();
    for price in &prices {
        let date = tz.to_datetime(price.start).date();
        let rate = if price.currency == currency {
            Some(Decimal::ONE)
        } else {
            rates.range(..=date).next_back().map(|(_, rate)| *rate)
        };
        if let Some(rate) = rate {
            let entry = price_sums.entry(date).or_default();
            entry.0 += price.price_per_mwh * rate / Decimal::ONE_THOUSAND;
            entry.1 += 1;
        }
    }
    Ok(energy_by_date
        .into_iter()
        .map(|(date, energy_wh)| DailyUsage {
            date,
            energy_wh,
            spot_price_per_kwh: price_sums
                .get(&date)
                .map(|(sum, n)| (sum / Decimal::from(*n)).round_dp(SPOT_DECIMALS)),
        })
        .collect())
}

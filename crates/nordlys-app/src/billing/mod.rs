//! Settlement: validation before settlement, rating of every contract, one invoice per account
//! with a gapless number and KID, exactly once per contract-period; and correction settlement
//! that re-rates settled contract-periods whose inputs changed and issues the difference.

pub(crate) mod inputs;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::document::{
    CorrectionMode, DocumentKind, DocumentLine, IssuedDocument, NewDocument, document_totals,
};
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::model::{ContractRole, Market};
use nordlys_core::quantity::Currency;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{
    ContractSpan, MeterInput, Product, RateError, RatingContext, RatingPlan, Scratch, Statutory,
    UsageQuantity,
};
use nordlys_store::{BillableContract, BillingTx, RunCounts, SettlementRecord, Store, StoreError};
use rust_decimal::Decimal;

pub use inputs::PeriodInputs;

use crate::products::{LoadProductsError, load_products};
use crate::{Clock, Progress};

/// How a utility bills: number series, KID, payment terms, corrections, quality policy.
#[derive(Debug, Clone)]
pub struct BillingPolicy {
    pub invoice_series: String,
    /// Equal to `invoice_series` to number credit notes in the same series.
    pub credit_note_series: String,
    pub kid: KidAlgorithm,
    pub payment_terms_days: i32,
    pub correction_mode: CorrectionMode,
    /// Whether estimated readings may be settled (missing ones never are).
    pub accept_estimated: bool,
    /// Accounts written per database transaction (a crash loses at most this batch, never half of one).
    pub accounts_per_transaction: usize,
}

impl Default for BillingPolicy {
    fn default() -> Self {
        BillingPolicy {
            invoice_series: "F".into(),
            credit_note_series: "K".into(),
            kid: KidAlgorithm::Mod10,
            payment_terms_days: 14,
            correction_mode: CorrectionMode::CreditAndReissue,
            accept_estimated: true,
            accounts_per_transaction: 500,
        }
    }
}

/// A contract-period that was not billed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub contract_id: String,
    pub account_id: String,
    pub period: String,
    pub metering_point: Option<String>,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub kind: &'static str,
    pub period: String,
    pub dry_run: bool,
    pub run_id: Option<i64>,
    pub accounts: u64,
    pub contracts_settled: u64,
    pub already_settled: u64,
    pub unchanged_after_correction: u64,
    pub invoices: u64,
    pub credit_notes: u64,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    pub numbers: Vec<(String, i64, i64)>,
    pub not_ready: Vec<NotReady>,
    pub elapsed: Duration,
}

impl RunReport {
    fn count(&mut self, issued: &IssuedDocument) {
        match issued.document.kind {
            DocumentKind::Invoice => self.invoices += 1,
            DocumentKind::CreditNote => self.credit_notes += 1,
        }
        self.net += issued.document.net;
        self.vat += issued.document.vat_total;
        self.gross += issued.document.gross;
        match self
            .numbers
            .iter_mut()
            .find(|(s, _, _)| *s == issued.series)
        {
            Some((_, first, last)) => {
                *first = (*first).min(issued.number);
                *last = (*last).max(issued.number);
            }
            None => self
                .numbers
                .push((issued.series.clone(), issued.number, issued.number)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Products(#[from] LoadProductsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A plan per product, resolution (None: not metered) and market.
type PlanKey = (String, Option<nordlys_core::time::Resolution>, Market);

/// A period's products, statutory tables, plans and market inputs, built once and shared
/// by every contract of the period.
pub struct PeriodContext {
    pub period: LocalPeriod,
    pub code: String,
    statutory: Arc<Statutory>,
    products: Arc<HashMap<String, Product>>,
    plans: HashMap<PlanKey, Result<Arc<RatingPlan>, String>>,
    inputs: PeriodInputs,
}

pub fn period_code(period: LocalPeriod) -> String {
    format!("{:04}-{:02}", period.start.year(), period.start.month())
}

impl PeriodContext {
    pub async fn new(
        store: &Store,
        period: LocalPeriod,
        statutory: Arc<Statutory>,
        products: Arc<HashMap<String, Product>>,
    ) -> Result<Self, BillingError> {
        Ok(PeriodContext {
            period,
            code: period_code(period),
            statutory,
            products,
            plans: HashMap::new(),
            inputs: PeriodInputs::load(store, period).await?,
        })
    }

    fn plan(
        &mut self,
        product: &str,
        resolution: Option<nordlys_core::time::Resolution>,
        market: Market,
    ) -> Result<Arc<RatingPlan>, String> {
        let key = (product.to_owned(), resolution, market);
        if let Some(plan) = self.plans.get(&key) {
            return plan.clone();
        }
        let plan = match self.products.get(product) {
            None => Err(format!(
                "product {product:?} is unknown (import it with `nordlys import products`)"
            )),
            Some(p) => RatingPlan::new(
                std::slice::from_ref(p),
                &self.statutory,
                market,
                self.period,
                resolution.unwrap_or(nordlys_core::time::Resolution::Pt60m),
            )
            .map(Arc::new)
            .map_err(|e| format!("product {product:?}: {e}")),
        };
        self.plans.insert(key, plan.clone());
        plan
    }

    /// Rate one contract for this period, or say why it is not ready.
    pub async fn rate_contract(
        &mut self,
        store: &Store,
        contract: &BillableContract,
        series: Option<&[(i64, nordlys_store::chunk::DayChunk)]>,
        accept_estimated: bool,
        scratch: &mut Scratch,
    ) -> Result<Result<Vec<DocumentLine>, String>, StoreError> {
        let span = ContractSpan {
            start: contract.start,
            end: contract.end,
        };
        let (market, context, resolution) = match &contract.point {
            Some(point) => {
                let apply_statutory = match point.market {
                    Market::No => contract.role == ContractRole::GridOwner,
                    Market::Dk => contract.role == ContractRole::Supplier,
                };
                let context = RatingContext {
                    market: point.market,
                    price_area: point.price_area,
                    municipality: point.municipality.clone(),
                    usage: point.usage,
                    apply_statutory,
                    norgespris_from: point.norgespris_from,
                    main_fuse_amperes: point.main_fuse_amperes,
                };
                (point.market, context, Some(point.resolution))
            }
            None => {
                let market = match self
                    .products
                    .get(&contract.product_code)
                    .map(|p| p.currency)
                {
                    Some(Currency::Dkk) => Market::Dk,
                    _ => Market::No,
                };
                let context = RatingContext {
                    market,
                    price_area: if market == Market::Dk {
                        nordlys_core::model::PriceArea::Dk1
                    } else {
                        nordlys_core::model::PriceArea::No1
                    },
                    municipality: String::new(),
                    usage: nordlys_core::model::UsageKind::Business,
                    apply_statutory: false,
                    norgespris_from: None,
                    main_fuse_amperes: None,
                };
                (market, context, None)
            }
        };
        let plan = match self.plan(&contract.product_code, resolution, market) {
            Ok(plan) => plan,
            Err(reason) => return Ok(Err(reason)),
        };
        let energy;
        let spot;
        let mut input = MeterInput {
            contract: Some(span),
            ..MeterInput::default()
        };
        if let Some(point) = &contract.point {
            energy = match inputs::dense_series(
                &plan,
                series.unwrap_or(&[]),
                point,
                span,
                accept_estimated,
            ) {
                Ok(energy) => energy,
                Err(reason) => return Ok(Err(reason)),
            };
            input.energy_wh = &energy;
            spot =
                self.inputs
                    .spot_series(point.price_area, point.resolution, plan.currency(), &plan);
            input.spot_price = spot.as_ref().ok().map(|v| v.as_slice());
        } else if plan.metered() {
            return Ok(Err(format!(
                "product {:?} is metered but contract has no metering point",
                contract.product_code
            )));
        }
        let usage_rows = if contract.point.is_none() {
            store
                .usage_quantities(&contract.contract_id, self.period.start, self.period.end)
                .await?
        } else {
            Vec::new()
        };
        let usage: Vec<UsageQuantity> = usage_rows
            .iter()
            .map(|(c, q)| UsageQuantity {
                component: c,
                quantity: *q,
            })
            .collect();
        input.usage = &usage;
        match plan.rate_with(scratch, &context, &input) {
            Ok(rating) => Ok(Ok(rating
                .lines
                .iter()
                .map(|line| to_document_line(&contract.contract_id, line))
                .collect())),
            Err(RateError::MissingSpotPrices { .. }) => {
                let area = contract
                    .point
                    .as_ref()
                    .map(|p| p.price_area.code())
                    .unwrap_or("?");
                let why = match contract.point.as_ref().map(|p| {
                    self.inputs
                        .spot_series(p.price_area, p.resolution, plan.currency(), &plan)
                }) {
                    Some(Err(reason)) => reason,
                    _ => format!("spot prices for {area} are missing"),
                };
                Ok(Err(why))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

impl PeriodContext {
    /// Rate `contract` with its metering point's chunks from `chunks`, or say why it is not ready.
    async fn rate_or_not_ready(
        &mut self,
        store: &Store,
        contract: &BillableContract,
        chunks: &HashMap<i64, Vec<(i64, nordlys_store::chunk::DayChunk)>>,
        accept_estimated: bool,
        scratch: &mut Scratch,
    ) -> Result<Result<Vec<DocumentLine>, NotReady>, StoreError> {
        let series = contract
            .point
            .as_ref()
            .and_then(|p| chunks.get(&p.id))
            .map(|v| v.as_slice());
        let rated = self
            .rate_contract(store, contract, series, accept_estimated, scratch)
            .await?;
        Ok(rated.map_err(|reason| NotReady {
            contract_id: contract.contract_id.clone(),
            account_id: contract.account_id.clone(),
            period: self.code.clone(),
            metering_point: contract.point.as_ref().map(|p| p.gsrn.clone()),
            reason,
        }))
    }
}

fn to_document_line(contract_id: &str, line: &nordlys_rating::InvoiceLine) -> DocumentLine {
    DocumentLine {
        contract_id: contract_id.to_owned(),
        kind: line.kind.code().to_owned(),
        source: line.source.to_string(),
        code: line.code.to_string(),
        description: line.description.to_string(),
        from: line.from,
        to: line.to,
        quantity: line.quantity,
        unit: line.unit.code().to_owned(),
        unit_price: line.unit_price,
        net: line.net,
        vat_category: line.vat_category.code().to_owned(),
        vat_percent: line.vat_percent,
        explanation: line.explanation.iter().map(|e| e.to_string()).collect(),
    }
}

#[allow(clippy::too_many_arguments)] // a private constructor: every field is needed
fn new_document(
    kind: DocumentKind,
    account_id: &str,
    period: &str,
    currency: Currency,
    lines: Vec<DocumentLine>,
    issue_date: Date,
    policy: &BillingPolicy,
    references: Option<i64>,
) -> NewDocument {
    let (net, vat, vat_total, gross) = document_totals(&lines);
    NewDocument {
        kind,
        account_id: account_id.to_owned(),
        period: period.to_owned(),
        issue_date,
        due_date: issue_date
            .checked_add(policy.payment_terms_days.days())
            .unwrap_or(issue_date),
        currency,
        lines,
        vat,
        net,
        vat_total,
        gross,
        references,
    }
}

fn issue_date(clock: &dyn Clock) -> Date {
    Market::No.time_zone().to_datetime(clock.now()).date()
}

fn product_currency(products: &HashMap<String, Product>, code: &str) -> Currency {
    products.get(code).map_or(Currency::Nok, |p| p.currency)
}

/// Settle every unsettled contract of `period` (optionally of one account).
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    store: &Store,
    period: LocalPeriod,
    account: Option<&str>,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    dry_run: bool,
) -> Result<RunReport, BillingError> {
    let started = Instant::now();
    let products = Arc::new(load_products(store).await?);
    let mut ctx = PeriodContext::new(store, period, statutory, Arc::clone(&products)).await?;
    let mut report = RunReport {
        kind: "settlement",
        period: ctx.code.clone(),
        dry_run,
        ..RunReport::default()
    };
    let contracts = store
        .billable_contracts(period.start, period.end, account)
        .await?;
    let settled = store.settled_contracts(&ctx.code).await?;
    let open_tasks: std::collections::HashSet<String> = store
        .missing_basis_tasks()
        .await?
        .into_iter()
        .filter(|(_, period, _, _)| *period == ctx.code)
        .map(|(contract, ..)| contract)
        .collect();
    let mut accounts: Vec<(String, Vec<BillableContract>)> = Vec::new();
    for contract in contracts {
        if settled.contains(&contract.contract_id) {
            report.already_settled += 1;
            continue;
        }
        match accounts.last_mut() {
            Some((id, list)) if *id == contract.account_id => list.push(contract),
            _ => accounts.push((contract.account_id.clone(), vec![contract])),
        }
    }
    report.run_id = if dry_run {
        None
    } else {
        Some(
            store
                .start_run("settlement", &ctx.code, clock.now())
                .await?,
        )
    };
    progress.start(
        &format!("settlement {}", ctx.code),
        Some(accounts.len() as u64),
    );
    let today = issue_date(clock);
    let mut scratch = Scratch::default();
    let (first_day, last_day) = ctx.inputs.utc_days();
    for batch in accounts.chunks(policy.accounts_per_transaction.max(1)) {
        let point_ids: Vec<i64> = batch
            .iter()
            .flat_map(|(_, cs)| cs.iter().filter_map(|c| c.point.as_ref().map(|p| p.id)))
            .collect();
        let chunks = store.day_chunks(&point_ids, first_day, last_day).await?;
        let mut tx = match report.run_id {
            Some(run_id) => Some(store.begin_billing(run_id, clock.now()).await?),
            None => None,
        };
        let mut ready: Vec<(NewDocument, &Vec<BillableContract>)> = Vec::new();
        for (account_id, contracts) in batch {
            let mut lines = Vec::new();
            let mut not_ready = Vec::new();
            let mut currencies: Vec<Currency> = Vec::new();
            for contract in contracts {
                match ctx
                    .rate_or_not_ready(
                        store,
                        contract,
                        &chunks,
                        policy.accept_estimated,
                        &mut scratch,
                    )
                    .await?
                {
                    Ok(contract_lines) => {
                        let currency = product_currency(&products, &contract.product_code);
                        if !currencies.contains(&currency) {
                            currencies.push(currency);
                        }
                        lines.extend(contract_lines);
                    }
                    Err(nr) => not_ready.push(nr),
                }
            }
            if currencies.len() > 1 && not_ready.is_empty() {
                for contract in contracts {
                    not_ready.push(NotReady {
                        contract_id: contract.contract_id.clone(),
                        account_id: account_id.clone(),
                        period: ctx.code.clone(),
                        metering_point: contract.point.as_ref().map(|p| p.gsrn.clone()),
                        reason: format!("the account's contracts are priced in different currencies ({currencies:?}); one invoice has one currency"),
                    });
                }
            }
            report.accounts += 1;
            progress.advance(1);
            if !not_ready.is_empty() {
                // The account's invoice waits until every contract of it is ready: one invoice per account and period.
                if let Some(tx) = tx.as_mut() {
                    for nr in &not_ready {
                        tx.record_missing_basis(
                            &nr.contract_id,
                            &nr.period,
                            nr.metering_point.as_deref(),
                            &nr.reason,
                        )
                        .await?;
                    }
                }
                report.not_ready.extend(not_ready);
                continue;
            }
            let currency = currencies.first().copied().unwrap_or(Currency::Nok);
            let document = new_document(
                DocumentKind::Invoice,
                account_id,
                &ctx.code,
                currency,
                lines,
                today,
                policy,
                None,
            );
            report.contracts_settled += contracts.len() as u64;
            ready.push((document, contracts));
        }
        match tx.as_mut() {
            None => ready
                .iter()
                .for_each(|(document, _)| count_dry(&mut report, document)),
            Some(tx) => {
                let (documents, contracts): (Vec<NewDocument>, Vec<&Vec<BillableContract>>) =
                    ready.drain(..).unzip();
                let issued = tx
                    .issue_many(documents, &policy.invoice_series, policy.kid)
                    .await?;
                let mut records = Vec::new();
                let mut resolved = Vec::new();
                for (document, contracts) in issued.iter().zip(contracts) {
                    report.count(document);
                    for contract in contracts {
                        records.push(settlement_record(&ctx, contract, document.id));
                        if open_tasks.contains(&contract.contract_id) {
                            resolved.push((contract.contract_id.clone(), ctx.code.clone()));
                        }
                    }
                }
                tx.record_settlements(&records).await?;
                tx.resolve_missing_basis(&resolved).await?;
            }
        }
        if let Some(tx) = tx {
            tx.commit().await?;
        }
    }
    progress.finish();
    finish(store, &mut report, clock, started).await?;
    Ok(report)
}

fn count_dry(report: &mut RunReport, document: &NewDocument) {
    match document.kind {
        DocumentKind::Invoice => report.invoices += 1,
        DocumentKind::CreditNote => report.credit_notes += 1,
    }
    report.net += document.net;
    report.vat += document.vat_total;
    report.gross += document.gross;
}

async fn finish(
    store: &Store,
    report: &mut RunReport,
    clock: &dyn Clock,
    started: Instant,
) -> Result<(), StoreError> {
    report.elapsed = started.elapsed();
    if let Some(run_id) = report.run_id {
        let counts = RunCounts {
            invoices: report.invoices,
            credit_notes: report.credit_notes,
            not_ready: report.not_ready.len() as u64,
        };
        store.finish_run(run_id, counts, clock.now()).await?;
    }
    Ok(())
}

fn settlement_record(
    ctx: &PeriodContext,
    contract: &BillableContract,
    document_id: i64,
) -> SettlementRecord {
    let (first_utc_day, last_utc_day) = ctx.inputs.utc_days();
    SettlementRecord {
        contract_id: contract.contract_id.clone(),
        period: ctx.code.clone(),
        account_id: contract.account_id.clone(),
        metering_point: contract.point.as_ref().map(|p| p.id),
        price_area: contract.point.as_ref().map(|p| p.price_area),
        first_utc_day,
        last_utc_day,
        last_document: document_id,
    }
}

/// Lines summed per identity: what has been billed so far, or a new rating.
type Aggregate = BTreeMap<String, DocumentLine>;

fn aggregate(lines: &[DocumentLine]) -> Aggregate {
    let mut out: Aggregate = BTreeMap::new();
    for line in lines {
        let key = format!("{:?}", line.identity());
        match out.get_mut(&key) {
            Some(sum) => {
                sum.quantity += line.quantity;
                sum.net += line.net;
            }
            None => {
                out.insert(key, line.clone());
            }
        }
    }
    out
}

fn same(a: &Aggregate, b: &Aggregate) -> bool {
    let nonzero = |agg: &Aggregate| -> Vec<(String, Decimal, Decimal)> {
        agg.iter()
            .filter(|(_, l)| !l.net.is_zero() || !l.quantity.is_zero())
            .map(|(k, l)| (k.clone(), l.quantity.normalize(), l.net.normalize()))
            .collect()
    };
    nonzero(a) == nonzero(b)
}

fn negated(lines: impl IntoIterator<Item = DocumentLine>, note: &str) -> Vec<DocumentLine> {
    lines
        .into_iter()
        .filter(|l| !l.net.is_zero() || !l.quantity.is_zero())
        .map(|mut l| {
            l.quantity = -l.quantity;
            l.net = -l.net;
            l.explanation = vec![note.to_owned()];
            l
        })
        .collect()
}

fn differences(billed: &Aggregate, new: &Aggregate, note: &str) -> Vec<DocumentLine> {
    let mut out = Vec::new();
    for (key, line) in new {
        let (q, n) = billed
            .get(key)
            .map_or((Decimal::ZERO, Decimal::ZERO), |b| (b.quantity, b.net));
        if line.quantity != q || line.net != n {
            let mut diff = line.clone();
            diff.quantity = line.quantity - q;
            diff.net = line.net - n;
            diff.explanation.insert(0, note.to_owned());
            out.push(diff);
        }
    }
    for (key, line) in billed {
        if !new.contains_key(key) && (!line.net.is_zero() || !line.quantity.is_zero()) {
            out.extend(negated([line.clone()], note));
        }
    }
    out
}

/// Re-rate every settled contract-period whose readings or prices changed after it was
/// settled, and issue the difference as the policy says. Nothing issued is edited.
pub async fn correct(
    store: &Store,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    dry_run: bool,
) -> Result<RunReport, BillingError> {
    let started = Instant::now();
    let products = Arc::new(load_products(store).await?);
    let changed = store.changed_settlements().await?;
    let mut report = RunReport {
        kind: "corrections",
        period: "all settled periods".into(),
        dry_run,
        ..RunReport::default()
    };
    report.run_id = if dry_run || changed.is_empty() {
        None
    } else {
        Some(store.start_run("corrections", "*", clock.now()).await?)
    };
    // Group by (period, account): one credit note + invoice (or one difference document) each.
    let mut groups: BTreeMap<(String, String), Vec<SettlementRecord>> = BTreeMap::new();
    for record in changed {
        groups
            .entry((record.period.clone(), record.account_id.clone()))
            .or_default()
            .push(record);
    }
    progress.start("corrections", Some(groups.len() as u64));
    let mut contexts: HashMap<String, PeriodContext> = HashMap::new();
    let mut scratch = Scratch::default();
    let today = issue_date(clock);
    for ((period_code, account_id), records) in groups {
        progress.advance(1);
        if !contexts.contains_key(&period_code) {
            let period =
                LocalPeriod::parse_month(&period_code).map_err(StoreError::CorruptValue)?;
            contexts.insert(
                period_code.clone(),
                PeriodContext::new(store, period, Arc::clone(&statutory), Arc::clone(&products))
                    .await?,
            );
        }
        let Some(ctx) = contexts.get_mut(&period_code) else {
            continue;
        };
        let contracts = store
            .billable_contracts(ctx.period.start, ctx.period.end, Some(&account_id))
            .await?;
        let (first_day, last_day) = ctx.inputs.utc_days();
        let point_ids: Vec<i64> = records.iter().filter_map(|r| r.metering_point).collect();
        let chunks = store.day_chunks(&point_ids, first_day, last_day).await?;
        let mut changed_contracts: Vec<(SettlementRecord, Aggregate, Aggregate)> = Vec::new();
        let mut unchanged = Vec::new();
        let mut currency = Currency::Nok;
        for record in records {
            let Some(contract) = contracts
                .iter()
                .find(|c| c.contract_id == record.contract_id)
            else {
                report.not_ready.push(NotReady {
                    contract_id: record.contract_id.clone(),
                    account_id: account_id.clone(),
                    period: period_code.clone(),
                    metering_point: None,
                    reason: "the contract no longer covers this period; correct it by hand".into(),
                });
                continue;
            };
            currency = product_currency(&products, &contract.product_code);
            match ctx
                .rate_or_not_ready(
                    store,
                    contract,
                    &chunks,
                    policy.accept_estimated,
                    &mut scratch,
                )
                .await?
            {
                Err(mut nr) => {
                    nr.reason = format!("cannot re-rate for correction: {}", nr.reason);
                    report.not_ready.push(nr);
                }
                Ok(lines) => {
                    let billed = aggregate(
                        &store
                            .billed_lines(&record.contract_id, &period_code)
                            .await?,
                    );
                    let new = aggregate(&lines);
                    if same(&billed, &new) {
                        unchanged.push(record);
                    } else {
                        changed_contracts.push((record, billed, new));
                    }
                }
            }
        }
        report.unchanged_after_correction += unchanged.len() as u64;
        let mut tx: Option<BillingTx> = match report.run_id {
            Some(run_id) if !(changed_contracts.is_empty() && unchanged.is_empty()) => {
                Some(store.begin_billing(run_id, clock.now()).await?)
            }
            _ => None,
        };
        if let Some(tx) = tx.as_mut() {
            for record in &unchanged {
                tx.mark_settled_now(&record.contract_id, &record.period, None)
                    .await?;
            }
        }
        if !changed_contracts.is_empty() {
            let original = changed_contracts[0].0.last_document;
            let note = format!("correction of document {original}");
            let documents: Vec<(NewDocument, String)> = match policy.correction_mode {
                CorrectionMode::CreditAndReissue => {
                    let credit_lines: Vec<DocumentLine> = changed_contracts
                        .iter()
                        .flat_map(|(_, billed, _)| negated(billed.values().cloned(), &note))
                        .collect();
                    let invoice_lines: Vec<DocumentLine> = changed_contracts
                        .iter()
                        .flat_map(|(_, _, new)| new.values().cloned())
                        .collect();
                    vec![
                        (
                            new_document(
                                DocumentKind::CreditNote,
                                &account_id,
                                &period_code,
                                currency,
                                credit_lines,
                                today,
                                policy,
                                Some(original),
                            ),
                            policy.credit_note_series.clone(),
                        ),
                        (
                            new_document(
                                DocumentKind::Invoice,
                                &account_id,
                                &period_code,
                                currency,
                                invoice_lines,
                                today,
                                policy,
                                Some(original),
                            ),
                            policy.invoice_series.clone(),
                        ),
                    ]
                }
                CorrectionMode::Difference => {
                    let lines: Vec<DocumentLine> = changed_contracts
                        .iter()
                        .flat_map(|(_, billed, new)| differences(billed, new, &note))
                        .collect();
                    let (net, ..) = document_totals(&lines);
                    let (kind, series) = if net < Decimal::ZERO {
                        (DocumentKind::CreditNote, policy.credit_note_series.clone())
                    } else {
                        (DocumentKind::Invoice, policy.invoice_series.clone())
                    };
                    vec![(
                        new_document(
                            kind,
                            &account_id,
                            &period_code,
                            currency,
                            lines,
                            today,
                            policy,
                            Some(original),
                        ),
                        series,
                    )]
                }
            };
            report.contracts_settled += changed_contracts.len() as u64;
            match tx.as_mut() {
                None => documents
                    .iter()
                    .for_each(|(d, _)| count_dry(&mut report, d)),
                Some(tx) => {
                    let mut last = original;
                    for (document, series) in documents {
                        let issued = tx.issue(document, &series, policy.kid).await?;
                        last = issued.id;
                        report.count(&issued);
                    }
                    for (record, _, _) in &changed_contracts {
                        tx.mark_settled_now(&record.contract_id, &record.period, Some(last))
                            .await?;
                    }
                }
            }
        }
        if let Some(tx) = tx {
            tx.commit().await?;
        }
    }
    progress.finish();
    finish(store, &mut report, clock, started).await?;
    Ok(report)
}

//! A period's products, statutory tables, plans and market inputs, loaded once and shared by
//! every contract rated for that period; rating one contract, or saying why it is not ready.

use std::collections::HashMap;
use std::sync::Arc;

use nordlys_core::document::DocumentLine;
use nordlys_core::model::{ContractRole, DayReadings, Market};
use nordlys_core::quantity::Currency;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{
    ContractSpan, MeterInput, Product, RateError, RatingContext, RatingPlan, Scratch, Statutory,
    UsageQuantity,
};
use nordlys_store::{BillableContract, Store, StoreError};

use super::BillingError;
use super::inputs::{self, PeriodInputs};
use super::not_ready::{NotReady, NotReadyReason};

/// A plan per product, resolution (None: not metered) and market.
type PlanKey = (String, Option<nordlys_core::time::Resolution>, Market);

/// A period's products, statutory tables, plans and market inputs, built once and shared
/// by every contract of the period.
pub struct PeriodContext {
    pub period: LocalPeriod,
    pub code: String,
    pub(super) statutory: Arc<Statutory>,
    pub(super) products: Arc<HashMap<String, Product>>,
    plans: HashMap<PlanKey, Result<Arc<RatingPlan>, NotReadyReason>>,
    pub(super) inputs: PeriodInputs,
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

    /// The version of the statutory tables this period is rated with.
    pub fn statutory_version(&self) -> String {
        self.statutory.version.clone()
    }

    fn plan(
        &mut self,
        product: &str,
        resolution: Option<nordlys_core::time::Resolution>,
        market: Market,
    ) -> Result<Arc<RatingPlan>, NotReadyReason> {
        let key = (product.to_owned(), resolution, market);
        if let Some(plan) = self.plans.get(&key) {
            return plan.clone();
        }
        let plan = match self.products.get(product) {
            None => Err(NotReadyReason::UnknownProduct {
                product: product.to_owned(),
            }),
            Some(p) => RatingPlan::new(
                std::slice::from_ref(p),
                &self.statutory,
                market,
                self.period,
                resolution.unwrap_or(nordlys_core::time::Resolution::Pt60m),
            )
            .map(Arc::new)
            .map_err(|e| NotReadyReason::ProductInvalid {
                product: product.to_owned(),
                error: e.to_string(),
            }),
        };
        self.plans.insert(key, plan.clone());
        plan
    }

    /// Rate one contract for this period, or say why it is not ready.
    pub async fn rate_contract(
        &mut self,
        store: &Store,
        contract: &BillableContract,
        series: Option<&[DayReadings]>,
        accept_estimated: bool,
        scratch: &mut Scratch,
    ) -> Result<Result<Vec<DocumentLine>, NotReadyReason>, StoreError> {
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
                // A service without a metering point is rated in its product's market.
                let market = match self
                    .products
                    .get(&contract.product_code)
                    .map(|p| p.currency)
                {
                    None => {
                        return Ok(Err(NotReadyReason::UnknownProduct {
                            product: contract.product_code.clone(),
                        }));
                    }
                    Some(Currency::Dkk) => Market::Dk,
                    Some(Currency::Nok) => Market::No,
                    Some(other) => {
                        return Ok(Err(NotReadyReason::ProductInvalid {
                            product: contract.product_code.clone(),
                            error: format!(
                                "a service priced in {other} has no market (NOK: Norway, DKK: Denmark)"
                            ),
                        }));
                    }
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
            return Ok(Err(NotReadyReason::MeteredWithoutPoint {
                product: contract.product_code.clone(),
            }));
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
            Err(RateError::MissingSpotPrices { code }) => {
                let why = match contract.point.as_ref().map(|p| {
                    (
                        p.price_area,
                        self.inputs
                            .spot_series(p.price_area, p.resolution, plan.currency(), &plan),
                    )
                }) {
                    Some((_, Err(reason))) => reason,
                    Some((area, Ok(_))) => NotReadyReason::Rating {
                        error: format!("component {code:?} needs spot prices for {area}"),
                    },
                    None => NotReadyReason::Rating {
                        error: format!(
                            "component {code:?} needs spot prices but the contract has no metering point"
                        ),
                    },
                };
                Ok(Err(why))
            }
            Err(e) => Ok(Err(NotReadyReason::Rating {
                error: e.to_string(),
            })),
        }
    }
}

impl PeriodContext {
    /// Rate `contract` with its metering point's readings from `chunks` (by point id, day by day),
    /// or say why it is not ready.
    pub(super) async fn rate_or_not_ready(
        &mut self,
        store: &Store,
        contract: &BillableContract,
        chunks: &HashMap<i64, Vec<DayReadings>>,
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

pub(super) fn to_document_line(
    contract_id: &str,
    line: &nordlys_rating::InvoiceLine,
) -> DocumentLine {
    DocumentLine {
        contract_id: contract_id.to_owned(),
        kind: line.kind,
        source: line.source.to_string(),
        code: line.code.to_string(),
        description: line.description.to_string(),
        from: line.from,
        to: line.to,
        quantity: line.quantity,
        unit: line.unit.clone(),
        unit_price: line.unit_price,
        net: line.net,
        vat_category: line.vat_category,
        vat_percent: line.vat_percent,
        explanation: line.explanation.clone(),
    }
}

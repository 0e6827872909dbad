//! `/api/v1` master data: customers, accounts, metering points and contracts, each listed a
//! page at a time with its filters and read one by one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use nordlys_app::access::Scope;
use nordlys_app::wire::master::{Page, WireAccount, WireContract, WireCustomer, WireMeteringPoint};
use nordlys_core::ids::Gsrn;
use nordlys_store::CustomerFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::extract::{ApiPath, ApiQuery, Caller, page_limit};
use crate::problem::{ApiError, Problem};

pub(crate) fn gsrn(text: &str) -> Result<Gsrn, ApiError> {
    Gsrn::parse(text)
        .map_err(|e| ApiError::invalid("metering_point", format!("{:?}: {}", e.value, e.rule)))
}

/// Filters of the customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Part of the name, street, e-mail or phone (any case), or the whole customer id.
    pub q: Option<String>,
    /// Items per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Customers in the order of their ids.
#[utoipa::path(get, path = "/api/v1/customers", tag = "master data", params(CustomerQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Page<WireCustomer>),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_customers(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CustomerQuery>,
) -> Result<Json<Page<WireCustomer>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let filter = CustomerFilter { text: query.q };
    let page = state
        .store
        .customers_page(&filter, query.after.as_deref(), limit)
        .await?;
    let personal = caller.0.may(Scope::PersonalData);
    Ok(Json(Page::of(page, |c| WireCustomer::new(&c, personal))))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "master data",
    params(("id" = String, Path, description = "The customer's id")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireCustomer), (status = 404, body = Problem)))]
pub async fn get_customer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WireCustomer>, ApiError> {
    caller.require(Scope::Read)?;
    let customer = state
        .store
        .customer(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("customer {id:?} does not exist")))?;
    Ok(Json(WireCustomer::new(
        &customer,
        caller.0.may(Scope::PersonalData),
    )))
}

/// Filters of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Accounts this customer is served by or pays.
    pub customer: Option<String>,
    /// Items per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Accounts in the order of their ids.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "master data", params(AccountQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Page<WireAccount>), (status = 400, body = Problem)))]
pub async fn list_accounts(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<Json<Page<WireAccount>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let page = state
        .store
        .accounts_page(query.customer.as_deref(), query.after.as_deref(), limit)
        .await?;
    Ok(Json(Page::of(page, |a| WireAccount::from(&a))))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "master data",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireAccount), (status = 404, body = Problem)))]
pub async fn get_account(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WireAccount>, ApiError> {
    caller.require(Scope::Read)?;
    let account = state
        .store
        .account(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("account {id:?} does not exist")))?;
    Ok(Json(WireAccount::from(&account)))
}

/// Filters of the metering point list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointQuery {
    /// Metering points with a contract (past or present) of this account.
    pub account: Option<String>,
    /// Items per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Metering points in the order of their GSRNs.
#[utoipa::path(get, path = "/api/v1/metering-points", tag = "master data", params(PointQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Page<WireMeteringPoint>), (status = 400, body = Problem)))]
pub async fn list_metering_points(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PointQuery>,
) -> Result<Json<Page<WireMeteringPoint>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let page = state
        .store
        .metering_points_page(query.account.as_deref(), query.after.as_deref(), limit)
        .await?;
    Ok(Json(Page::of(page, |p| WireMeteringPoint::from(&p))))
}

/// One metering point.
#[utoipa::path(get, path = "/api/v1/metering-points/{gsrn}", tag = "master data",
    params(("gsrn" = String, Path, description = "GSRN, 18 digits", pattern = "^[0-9]{18}$")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = WireMeteringPoint), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_metering_point(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WireMeteringPoint>, ApiError> {
    caller.require(Scope::Read)?;
    let gsrn = gsrn(&id)?;
    let point = state
        .store
        .metering_point(&gsrn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("metering point {id} does not exist")))?;
    Ok(Json(WireMeteringPoint::from(&point)))
}

/// Filters of the contract list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Contracts of this account.
    pub account: Option<String>,
    /// Contracts on this metering point (GSRN).
    pub metering_point: Option<String>,
    /// Items per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Contracts in the order of their ids.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "master data", params(ContractQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Page<WireContract>), (status = 400, body = Problem)))]
pub async fn list_contracts(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ContractQuery>,
) -> Result<Json<Page<WireContract>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let point = query.metering_point.as_deref().map(gsrn).transpose()?;
    let page = state
        .store
        .contracts_page(
            query.account.as_deref(),
            point.as_ref(),
            query.after.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(Page::of(page, |c| WireContract::from(&c))))
}

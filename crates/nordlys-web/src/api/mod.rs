//! The JSON API under `/api/v1` and its OpenAPI 3.1 document, generated from the handlers and
//! the wire types (utoipa) and served at `/api/openapi.json`.

pub mod documents;
pub mod journal;
pub mod market;
pub mod master;
pub mod readings;
pub mod runs;
pub mod work_orders;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A service account's token (`nordlys tokens create NAME --scope read`), scopes: read, write, billing, personal_data".to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every error answer is a problem document: documented as `application/problem+json`, and
/// the answers every operation can give (401 and 403 with a token, 500, 503) added to each.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, RefOr, Response};
        let problem = |description: &str| {
            let mut response = Response::new(description);
            response.content.insert(
                "application/problem+json".to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
            );
            RefOr::T(response)
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (code, response) in responses.iter_mut() {
                    if (code.starts_with('4') || code.starts_with('5'))
                        && let RefOr::T(response) = response
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response
                            .content
                            .insert("application/problem+json".to_owned(), content);
                    }
                }
                let has_body = operation.request_body.is_some();
                let mut add = |code: &str, description: &str| {
                    responses
                        .entry(code.to_owned())
                        .or_insert_with(|| problem(description));
                };
                if has_body {
                    add("413", "The body is larger than the server accepts");
                    add("415", "The body is not of a type the operation takes");
                    add("422", "The body breaks the rules");
                }
                if operation.security.is_some() {
                    add("401", "No token, or an unknown or revoked one");
                    add("403", "The token lacks the scope");
                }
                add("400", "Invalid parameter");
                add(
                    "500",
                    "Internal error (named by the request id in the server's log)",
                );
                add("503", "The database does not answer");
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Nordlys API", description = "Customer information and billing for Nordic utilities. Errors are RFC 9457 problem details with a stable `code`; every response carries `X-Request-Id`; lists are paged with `limit` and `after`; a POST that creates something takes an `Idempotency-Key`."),
    modifiers(&BearerAuth, &ProblemResponses),
    paths(
        crate::ops::healthz, crate::ops::readyz, crate::ops::metrics_text,
        master::list_customers, master::get_customer,
        master::list_accounts, master::get_account,
        master::list_metering_points, master::get_metering_point,
        master::list_contracts,
        readings::get_consumption, readings::get_readings, readings::post_readings,
        market::list_spot_prices, market::list_products,
        runs::list_runs, runs::get_run, runs::start_run, runs::list_tasks,
        documents::list_invoices, documents::get_invoice, documents::get_invoice_pdf,
        documents::get_invoice_xml, documents::list_corrections,
        journal::list_changes,
        work_orders::list_work_orders, work_orders::get_work_order,
        work_orders::create_work_order, work_orders::approve_work_order,
        work_orders::reject_work_order,
    ),
    components(schemas(crate::problem::Problem, crate::problem::ProblemItem)),
    tags(
        (name = "master data", description = "Customers, accounts, metering points, contracts"),
        (name = "readings", description = "Consumption and meter values"),
        (name = "market data", description = "Spot prices and products"),
        (name = "billing", description = "Settlement runs and missing-basis tasks"),
        (name = "documents", description = "Invoices, credit notes, PDF and EHF"),
        (name = "journal", description = "The change journal"),
        (name = "work orders", description = "Moves out and in, postponements, and their decisions"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// The routes of `/api/v1`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/customers", get(master::list_customers))
        .route("/api/v1/customers/{id}", get(master::get_customer))
        .route("/api/v1/accounts", get(master::list_accounts))
        .route("/api/v1/accounts/{id}", get(master::get_account))
        .route("/api/v1/metering-points", get(master::list_metering_points))
        .route(
            "/api/v1/metering-points/{gsrn}",
            get(master::get_metering_point),
        )
        .route(
            "/api/v1/metering-points/{gsrn}/consumption",
            get(readings::get_consumption),
        )
        .route(
            "/api/v1/metering-points/{gsrn}/readings",
            get(readings::get_readings),
        )
        .route("/api/v1/contracts", get(master::list_contracts))
        .route("/api/v1/readings", post(readings::post_readings))
        .route("/api/v1/spot-prices", get(market::list_spot_prices))
        .route("/api/v1/products", get(market::list_products))
        .route(
            "/api/v1/billing-runs",
            get(runs::list_runs).post(runs::start_run),
        )
        .route("/api/v1/billing-runs/{id}", get(runs::get_run))
        .route("/api/v1/tasks", get(runs::list_tasks))
        .route("/api/v1/invoices", get(documents::list_invoices))
        .route("/api/v1/invoices/{number}", get(documents::get_invoice))
        .route(
            "/api/v1/invoices/{number}/pdf",
            get(documents::get_invoice_pdf),
        )
        .route(
            "/api/v1/invoices/{number}/xml",
            get(documents::get_invoice_xml),
        )
        .route("/api/v1/corrections", get(documents::list_corrections))
        .route("/api/v1/changes", get(journal::list_changes))
        .route(
            "/api/v1/work-orders",
            get(work_orders::list_work_orders).post(work_orders::create_work_order),
        )
        .route("/api/v1/work-orders/{id}", get(work_orders::get_work_order))
        .route(
            "/api/v1/work-orders/{id}/approve",
            post(work_orders::approve_work_order),
        )
        .route(
            "/api/v1/work-orders/{id}/reject",
            post(work_orders::reject_work_order),
        )
}

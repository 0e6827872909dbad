//! `/api/v1` invoices and credit notes in the CLI's wire schema, their PDF and EHF XML as
//! issued (rendered at first need, then served byte for byte as kept), and the corrections
//! (credit notes and the documents they correct).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nordlys_app::SystemClock;
use nordlys_app::access::Scope;
use nordlys_app::documents::{RenderContext, RenderError, renditions};
use nordlys_app::wire::{self, Document, DocumentFilter, DocumentKey, DocumentQueryError, Kind};
use nordlys_core::time::LocalPeriod;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::problem::{ApiError, Problem};

/// Filters of the document list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// Documents of this account.
    pub account: Option<String>,
    /// Documents of this billing period, `YYYY-MM`.
    pub period: Option<String>,
    /// At most this many, newest first: 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

fn filter_of(state: &AppState, query: &DocumentQuery) -> Result<DocumentFilter, ApiError> {
    let period = query
        .period
        .as_deref()
        .map(|p| {
            LocalPeriod::parse_month(p).map_err(|e| {
                ApiError::invalid("period", format!("period {:?}: {}", e.value, e.rule))
            })
        })
        .transpose()?;
    Ok(DocumentFilter {
        account: query.account.clone(),
        period,
        limit: u32::try_from(crate::extract::page_limit(query.limit)?).unwrap_or(100),
        as_of: Some(crate::today_in_market(state)),
    })
}

async fn list(state: &AppState, filter: &DocumentFilter) -> Result<Vec<Document>, ApiError> {
    wire::list_documents(&state.store, filter)
        .await
        .map_err(|e| match e {
            DocumentQueryError::UnknownAccount(account) => {
                ApiError::not_found(format!("account {account:?} does not exist"))
            }
            DocumentQueryError::Store(e) => e.into(),
        })
}

/// Invoices and credit notes, newest first, without their lines.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "documents", params(DocumentQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Vec<Document>), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_invoices(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DocumentQuery>,
) -> Result<Json<Vec<Document>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(list(&state, &filter_of(&state, &query)?).await?))
}

/// Credit notes, newest first, each with the documents it corrects (`corrects_all`).
#[utoipa::path(get, path = "/api/v1/corrections", tag = "documents", params(DocumentQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Vec<Document>), (status = 400, body = Problem)))]
pub async fn list_corrections(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DocumentQuery>,
) -> Result<Json<Vec<Document>>, ApiError> {
    caller.require(Scope::Read)?;
    let mut filter = filter_of(&state, &query)?;
    let wanted = filter.limit as usize;
    filter.limit = 500;
    let mut documents = list(&state, &filter).await?;
    documents.retain(|d| d.kind == Kind::CreditNote || !d.corrects_all.is_empty());
    documents.truncate(wanted);
    Ok(Json(documents))
}

fn key_of(number: &str) -> Result<DocumentKey, ApiError> {
    DocumentKey::parse(number)
        .map_err(|e| ApiError::invalid("number", format!("{:?}: {}", e.value, e.rule)))
}

async fn document_id(state: &AppState, number: &str) -> Result<i64, ApiError> {
    let key = key_of(number)?;
    let id = match &key {
        DocumentKey::Id(id) => Some(*id),
        DocumentKey::Number(n) => state.store.document_id_by_number(n).await?,
    };
    match id {
        Some(id) if state.store.document(id).await?.is_some() => Ok(id),
        _ => Err(ApiError::not_found(format!(
            "document {number:?} does not exist"
        ))),
    }
}

/// One document with its lines and their explanations.
#[utoipa::path(get, path = "/api/v1/invoices/{number}", tag = "documents",
    params(("number" = String, Path, description = "The document's number, e.g. F-12")),
    security(("bearer" = ["read"])),
    responses((status = 200, body = Document), (status = 404, body = Problem)))]
pub async fn get_invoice(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<Document>, ApiError> {
    caller.require(Scope::Read)?;
    let key = key_of(&number)?;
    let document = wire::find_document(&state.store, &key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("document {number:?} does not exist")))?;
    Ok(Json(document))
}

/// The render context for the issuer profile as stored now (made again when it changes).
async fn render_context(state: &AppState) -> Result<Arc<RenderContext>, ApiError> {
    let version = state
        .store
        .issuer_profile(None)
        .await?
        .map(|p| p.version)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_issuer_profile",
                "No issuer profile",
            )
            .detail("documents need the issuer's profile: `nordlys issuer set FILE`")
        })?;
    let mut cached = state.render.lock().await;
    if let Some(context) = cached.as_ref()
        && context.profile.version == version
    {
        return Ok(Arc::clone(context));
    }
    let context = Arc::new(
        RenderContext::load(&state.store)
            .await
            .map_err(render_problem)?,
    );
    *cached = Some(Arc::clone(&context));
    Ok(context)
}

fn render_problem(error: RenderError) -> ApiError {
    match error {
        RenderError::NoProfile => ApiError::new(
            StatusCode::CONFLICT,
            "no_issuer_profile",
            "No issuer profile",
        )
        .detail(error.to_string()),
        RenderError::Held { .. } => {
            ApiError::new(StatusCode::CONFLICT, "document_held", "Document held")
                .detail(error.to_string())
        }
        RenderError::Lookup { .. } => ApiError::unavailable(error.to_string()),
        RenderError::UnknownDocument(_) => ApiError::not_found(error.to_string()),
        RenderError::Profile(_) => ApiError::internal(&error),
        RenderError::Store(e) => e.into(),
    }
}

pub(crate) async fn rendition(
    state: &AppState,
    number: &str,
    pdf: bool,
) -> Result<Response, ApiError> {
    let id = document_id(state, number).await?;
    let context = render_context(state).await?;
    let made = renditions(&state.store, &context, id, &SystemClock)
        .await
        .map_err(render_problem)?;
    let (rendition, content_type, extension) = if pdf {
        (made.pdf, "application/pdf", "pdf")
    } else {
        (made.xml, "application/xml", "xml")
    };
    let mut response = (StatusCode::OK, rendition.content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.{extension}\"",
        made.number
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"sha256-{}\"", rendition.sha256)) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// The document's PDF as issued (PDF/A-3 with its EHF XML embedded).
#[utoipa::path(get, path = "/api/v1/invoices/{number}/pdf", tag = "documents",
    params(("number" = String, Path, description = "The document's number, e.g. F-12")),
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The PDF", content_type = "application/pdf"),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn get_invoice_pdf(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    rendition(&state, &number, true).await
}

/// The document's EHF (Peppol BIS Billing 3.0) XML as issued.
#[utoipa::path(get, path = "/api/v1/invoices/{number}/xml", tag = "documents",
    params(("number" = String, Path, description = "The document's number, e.g. F-12")),
    security(("bearer" = ["read"])),
    responses((status = 200, description = "UBL 2.1 Invoice or CreditNote", content_type = "application/xml"),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn get_invoice_xml(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    rendition(&state, &number, false).await
}

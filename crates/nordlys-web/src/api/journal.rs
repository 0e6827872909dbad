//! `/api/v1/changes`: the change journal in commit order, a page at a time after a sequence
//! number — the feed an integration follows to stay in step with Nordlys (the records are the
//! `nordlys changes` JSON lines).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use nordlys_app::access::Scope;
use nordlys_store::Domain;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{ApiQuery, Caller, page_limit};
use crate::problem::{ApiError, Problem};

/// Where to read the journal from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Records after this sequence number (0 or absent: from the start).
    pub after: Option<i64>,
    /// Only records of this domain, e.g. `customer`, `meter_values`, `document`.
    pub domain: Option<String>,
    /// Records per page, 1 to 500 (100 if absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A page of change records.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    /// Records in `seq` order: `seq`, `tx_id`, `domain`, `key`, `op`, `schema_version`,
    /// `before`, `after`, `changed_at`, `scope`.
    pub items: Vec<serde_json::Value>,
    /// Pass as `after` for the next page (null: nothing more now; poll again later).
    pub next: Option<i64>,
    /// The journal's last committed sequence number.
    pub head: i64,
}

/// Change records in commit order.
#[utoipa::path(get, path = "/api/v1/changes", tag = "journal", params(ChangesQuery),
    security(("bearer" = ["read"])),
    responses((status = 200, body = ChangesPage), (status = 400, body = Problem)))]
pub async fn list_changes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<Json<ChangesPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(query.limit)?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid(
            "after",
            format!("after {after}: a sequence number is 0 or more"),
        ));
    }
    let domain = query
        .domain
        .as_deref()
        .map(|d| {
            Domain::parse(d).map_err(|e| {
                ApiError::invalid("domain", format!("domain {:?}: {}", e.value, e.rule))
            })
        })
        .transpose()?;
    let head = state.store.journal_head().await?;
    let records = state.store.changes(after, domain, limit + 1).await?;
    let more = records.len() as i64 > limit;
    let items: Vec<_> = records.iter().take(limit as usize).collect();
    let next = if more {
        items.last().map(|r| r.seq)
    } else {
        None
    };
    let personal = caller.0.may(Scope::PersonalData);
    Ok(Json(ChangesPage {
        items: items
            .iter()
            .map(|r| {
                let mut json = r.to_json();
                if !personal && r.domain == Domain::Customer {
                    redact_identity(&mut json);
                }
                json
            })
            .collect(),
        next,
        head,
    }))
}

/// A customer record without the national identity number of a person (the `personal_data`
/// scope sees it); an organisation number is public and stays.
fn redact_identity(record: &mut serde_json::Value) {
    for side in ["before", "after"] {
        if let Some(object) = record.get_mut(side).and_then(|v| v.as_object_mut())
            && object.get("kind").and_then(|k| k.as_str()) != Some("organisation")
            && object.contains_key("identity")
        {
            object.insert("identity".to_owned(), serde_json::Value::Null);
        }
    }
}

//! `Idempotency-Key` on POSTs that create something: the first answer to a key is kept in the
//! store and replayed to every repeat of the same request (with `Idempotent-Replayed: true`);
//! the same key with a different request is refused (422), and a repeat that arrives while the
//! first is still being answered is told so (409). A reservation whose process died is taken
//! over after its lease; a request that failed without storing anything frees its key.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nordlys_app::access::Principal;
use nordlys_store::{IdempotentEntry, Store};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::ApiError;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long a reservation holds before another request may take the key over.
const RESERVATION_SECONDS: i64 = 300;

/// Go on with the request (under a reservation, if it has a key), or answer a repeat.
pub enum Idempotent {
    Replay(Response),
    Proceed(Guard),
}

/// The reservation of a request's key: finish it with the answer, or abandon it.
pub struct Guard {
    store: Store,
    reserved: Option<(i64, String)>,
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Reserve the request's `Idempotency-Key`, if it has one.
pub async fn begin(
    state: &Arc<AppState>,
    principal: &Principal,
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
) -> Result<Idempotent, ApiError> {
    let Some(value) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(Idempotent::Proceed(Guard {
            store: state.store.clone(),
            reserved: None,
        }));
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "an Idempotency-Key is 1 to 255 visible ASCII characters",
            )
        })?
        .to_owned();
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let request_sha256: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now_us = state.clock.now().as_microsecond();
    let entry = state
        .store
        .reserve_idempotency_key(
            principal.token_id,
            &key,
            &request_sha256,
            now_us,
            now_us + RESERVATION_SECONDS * 1_000_000,
        )
        .await?;
    let reused = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Idempotency key reused",
        )
        .field("Idempotency-Key")
        .detail("this Idempotency-Key was used for a different request; use a new key")
    };
    match entry {
        IdempotentEntry::Reserved => Ok(Idempotent::Proceed(Guard {
            store: state.store.clone(),
            reserved: Some((principal.token_id, key)),
        })),
        IdempotentEntry::Answered {
            request_sha256: kept,
            status,
            body,
        } => {
            if kept != request_sha256 {
                return Err(reused());
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(Idempotent::Replay(response))
        }
        IdempotentEntry::InProgress {
            request_sha256: kept,
        } => {
            if kept != request_sha256 {
                return Err(reused());
            }
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
                "Request in progress",
            )
            .field("Idempotency-Key")
            .detail("a request with this Idempotency-Key is being answered; repeat it later"))
        }
    }
}

impl Guard {
    /// Answer with `value`, keeping the answer for repeats of the key.
    pub async fn finish<T: Serialize>(
        self,
        status: StatusCode,
        value: &T,
    ) -> Result<Response, ApiError> {
        let body = serde_json::to_string(value).map_err(|e| ApiError::internal(&e))?;
        if let Some((token_id, key)) = &self.reserved {
            self.store
                .keep_idempotent_answer(*token_id, key, status.as_u16(), &body)
                .await?;
        }
        Ok(json_response(status, body))
    }

    /// The request stored nothing: free its key for a new try.
    pub async fn abandon(self) {
        if let Some((token_id, key)) = &self.reserved
            && let Err(error) = self.store.release_idempotency_key(*token_id, key).await
        {
            tracing::warn!(%error, "could not free an idempotency key");
        }
    }
}

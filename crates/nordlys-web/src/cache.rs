//! Consumption series as served, kept by request and by the journal head they were read at:
//! a series is read again only when something was written since (by this server or any other
//! process), which every write moves the head past. The hot read of the self-service web —
//! one metering point's year of hourly values — is then one small query and a copy.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use axum::body::Bytes;
use jiff::civil::Date;
use nordlys_app::consumption::{ConsumptionSeries, Step};
use nordlys_core::ids::Gsrn;
use nordlys_store::Store;

use crate::problem::ApiError;

/// Series kept at most; the cache starts over when full.
const MAX_ENTRIES: usize = 4096;

type Key = (String, Date, Date, &'static str);

#[derive(Default)]
pub struct ConsumptionCache {
    entries: Mutex<HashMap<Key, (i64, Bytes)>>,
}

impl ConsumptionCache {
    /// The JSON of the series, from the cache if nothing was written since it was read.
    pub async fn get_or_compute<F, Fut>(
        &self,
        store: &Store,
        gsrn: &Gsrn,
        from: Date,
        to: Date,
        step: Step,
        compute: F,
    ) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<ConsumptionSeries, ApiError>>,
    {
        let head = store.journal_head().await?;
        let key: Key = (gsrn.as_str().to_owned(), from, to, step.code());
        if let Ok(entries) = self.entries.lock()
            && let Some((at, body)) = entries.get(&key)
            && *at == head
        {
            return Ok(body.clone());
        }
        let series = compute().await?;
        let body = Bytes::from(serde_json::to_vec(&series).map_err(|e| ApiError::internal(&e))?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (head, body.clone()));
        }
        Ok(body)
    }

    /// Forget every series (after this server wrote readings).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

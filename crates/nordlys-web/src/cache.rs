//! Answers kept by request and by the journal head they were read at: an answer is computed
//! again only when something was written since (by this server or any other process), which
//! every write moves the head past. The hot reads of the self-service web — one metering
//! point's year of hourly values, this month's cost so far — are then one small query and a
//! copy.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use axum::body::Bytes;
use jiff::civil::Date;
use nordlys_app::consumption::{ConsumptionSeries, Step};
use nordlys_core::ids::Gsrn;
use nordlys_store::Store;

use crate::problem::ApiError;

/// Answers kept at most per cache; a cache starts over when full.
const MAX_ENTRIES: usize = 4096;

/// Values of `V` by key, each valid while the journal head is the one it was computed at.
pub struct HeadCache<K, V> {
    entries: Mutex<HashMap<K, (i64, V)>>,
    /// Held while a missing value is computed, so that requests arriving together for it wait
    /// for the one computation instead of each computing it (a cold page under load); one of
    /// a few by the key's hash, so values of other keys are computed meanwhile.
    computing: [tokio::sync::Mutex<()>; COMPUTING_SHARDS],
    /// The hash that picks a key's shard (one per cache, so a key always picks the same).
    shard_of: std::collections::hash_map::RandomState,
}

const COMPUTING_SHARDS: usize = 16;

impl<K, V> Default for HeadCache<K, V> {
    fn default() -> Self {
        HeadCache {
            entries: Mutex::new(HashMap::new()),
            computing: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
            shard_of: Default::default(),
        }
    }
}

impl<K: Hash + Eq, V: Clone> HeadCache<K, V> {
    /// The value of `key`, from the cache if nothing was written since it was computed.
    pub async fn get_or_compute<E, F, Fut>(&self, store: &Store, key: K, compute: F) -> Result<V, E>
    where
        E: From<nordlys_store::StoreError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let head = store.journal_head().await?;
        if let Some(value) = self.fresh(&key, head) {
            return Ok(value);
        }
        let shard = {
            use std::hash::BuildHasher;
            self.shard_of.hash_one(&key) as usize
        };
        let _computing = self.computing[shard % COMPUTING_SHARDS].lock().await;
        // Another request may have computed it while this one waited.
        if let Some(value) = self.fresh(&key, head) {
            return Ok(value);
        }
        let value = compute().await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (head, value.clone()));
        }
        Ok(value)
    }

    /// The value of `key` if it was computed at journal head `head`.
    fn fresh(&self, key: &K, head: i64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, _)| *at == head)
            .map(|(_, value)| value.clone())
    }

    /// Forget every value (after this server wrote what they were computed from).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// A consumption series as JSON, by metering point, range and resolution.
#[derive(Default)]
pub struct ConsumptionCache {
    series: HeadCache<(String, Date, Date, &'static str), Bytes>,
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
        let key = (gsrn.as_str().to_owned(), from, to, step.code());
        self.series
            .get_or_compute(store, key, || async {
                let series = compute().await?;
                serde_json::to_vec(&series)
                    .map(Bytes::from)
                    .map_err(|e| ApiError::internal(&e))
            })
            .await
    }

    /// Forget every series (after this server wrote readings).
    pub fn clear(&self) {
        self.series.clear();
    }
}

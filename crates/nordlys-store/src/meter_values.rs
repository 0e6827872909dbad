//! Meter values as versioned day chunks. A re-delivered identical day changes nothing; a
//! changed reading writes a new version of the whole day and keeps the old one, so any
//! earlier state can be read back with `as_of`. The journal gets one record per (import,
//! metering point) with the changed range, accumulated in memory and written at commit.

use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::model::{Quality, Reading};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::{utc_day_number, utc_day_start};
use sqlx::Row;

use serde_json::json;

use crate::chunk::DayChunk;
use crate::db::SqlBuilder;
use crate::journal::ChangedRange;
use crate::{Change, ChangeScope, Domain, Store, StoreError, StoreTx};

/// What one import changed in one metering point's readings (journaled at commit).
#[derive(Debug, Clone)]
pub(crate) struct PointChanges {
    gsrn: String,
    range: ChangedRange,
}

/// The journal records of one import's meter-value changes, one per metering point.
pub(crate) fn range_changes(points: std::collections::BTreeMap<i64, PointChanges>) -> Vec<Change> {
    points
        .into_iter()
        .map(|(point_id, PointChanges { gsrn, range })| {
            let (first_day, last_day) = range.utc_dates();
            Change {
                domain: Domain::MeterValues,
                key: gsrn.clone(),
                op: range.op(),
                before: None,
                after: Some(json!({
                    "gsrn": gsrn,
                    "first_day": first_day,
                    "last_day": last_day,
                    "days_changed": range.days_changed,
                    "readings_changed": range.values_changed,
                })),
                scope: ChangeScope {
                    metering_point: Some(point_id),
                    first_utc_day: Some(range.first_utc_day),
                    last_utc_day: Some(range.last_utc_day),
                    ..ChangeScope::default()
                },
            }
        })
        .collect()
}

/// What merging a batch of day chunks did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    /// Days stored for the first time.
    pub days_new: u64,
    /// Days that got a new version because a reading changed or was added.
    pub days_versioned: u64,
    /// Days whose readings were already stored exactly so.
    pub days_unchanged: u64,
}

/// A reading as stored, with the version it came from.
pub type StoredReading = Reading;

/// Rows per multi-row INSERT (SQLite's bound-parameter limit is far above 6 × this).
const INSERT_BATCH_ROWS: usize = 500;

struct LatestChunk {
    day: i64,
    version: i64,
    import_id: i64,
    chunk: DayChunk,
}

impl StoreTx {
    /// Merge `incoming` day chunks of one metering point into the store (see module docs).
    pub async fn merge_day_chunks(
        &mut self,
        point_id: i64,
        gsrn: &str,
        mut incoming: Vec<(i64, DayChunk)>,
    ) -> Result<MergeCounts, StoreError> {
        let mut counts = MergeCounts::default();
        if incoming.is_empty() {
            return Ok(counts);
        }
        incoming.sort_unstable_by_key(|(day, _)| *day);
        let (first_day, last_day) = (incoming[0].0, incoming[incoming.len() - 1].0);
        self.journal
            .lock_series(&format!("meter_values/{point_id}"))
            .await?;
        let rows = sqlx::query(
            "SELECT utc_day, version, import_id, data FROM meter_value_chunks
             WHERE metering_point = $1 AND utc_day BETWEEN $2 AND $3 ORDER BY utc_day, version",
        )
        .bind(point_id)
        .bind(first_day)
        .bind(last_day)
        .fetch_all(self.journal.conn())
        .await?;
        let mut latest: Vec<LatestChunk> = Vec::new();
        for row in rows {
            let day: i64 = row.get(0);
            let entry = LatestChunk {
                day,
                version: row.get(1),
                import_id: row.get(2),
                chunk: DayChunk::decode(row.get::<&[u8], _>(3))?,
            };
            match latest.last_mut() {
                Some(last) if last.day == day => *last = entry,
                _ => latest.push(entry),
            }
        }

        let mut inserts: Vec<(i64, i64, Vec<u8>)> = Vec::new();
        // For the journal: the changed days' range and counts, and whether any was versioned.
        let mut changed: Option<ChangedRange> = None;
        let mut note = |day: i64, days: u64, readings: usize, new: bool| {
            changed
                .get_or_insert_with(|| ChangedRange::new(day))
                .include(day, day, days, readings as u64, new);
        };
        let mut stored = latest.into_iter().peekable();
        for (day, chunk) in incoming {
            while stored.next_if(|s| s.day < day).is_some() {}
            match stored.next_if(|s| s.day == day) {
                None => {
                    counts.days_new += 1;
                    note(day, 1, chunk.present_slots(), true);
                    inserts.push((day, 1, chunk.encode()));
                }
                Some(mut existing) => {
                    if existing.chunk.resolution != chunk.resolution {
                        return Err(StoreError::Rejected(ParseError::new(
                            "start",
                            utc_day_start(day).to_string(),
                            format!(
                                "metering point {gsrn} already has {} readings for this UTC day; these are {}",
                                existing.chunk.resolution, chunk.resolution
                            ),
                        )));
                    }
                    let readings_changed = existing.chunk.overlay(&chunk);
                    if readings_changed == 0 {
                        counts.days_unchanged += 1;
                    } else if existing.import_id == self.import_id {
                        // The day was counted when this import first wrote it.
                        note(day, 0, readings_changed, existing.version == 1);
                        // Written earlier in this same import: still unpublished, amend in place.
                        sqlx::query(
                            "UPDATE meter_value_chunks SET data = $1 WHERE metering_point = $2 AND utc_day = $3 AND version = $4",
                        )
                        .bind(existing.chunk.encode())
                        .bind(point_id)
                        .bind(day)
                        .bind(existing.version)
                        .execute(self.journal.conn())
                        .await?;
                    } else {
                        counts.days_versioned += 1;
                        note(day, 1, readings_changed, false);
                        inserts.push((day, existing.version + 1, existing.chunk.encode()));
                    }
                }
            }
        }
        let (now_us, import_id) = (self.journal.now_us(), self.import_id);
        for batch in inserts.chunks(INSERT_BATCH_ROWS) {
            let mut builder = SqlBuilder::new(
                "INSERT INTO meter_value_chunks (metering_point, utc_day, version, recorded_at_us, import_id, data)",
            );
            builder.values(batch, |row, (day, version, data)| {
                row.bind(point_id)
                    .bind(*day)
                    .bind(*version)
                    .bind(now_us)
                    .bind(import_id)
                    .bind(data.as_slice());
            });
            let backend = self.journal.backend();
            builder.build(backend).execute(self.journal.conn()).await?;
        }
        if let Some(range) = changed {
            match self.meter_value_ranges.entry(point_id) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(PointChanges {
                        gsrn: gsrn.to_owned(),
                        range,
                    });
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let r = &mut o.get_mut().range;
                    r.include(
                        range.first_utc_day,
                        range.last_utc_day,
                        range.days_changed,
                        range.values_changed,
                        range.only_new,
                    );
                }
            }
        }
        Ok(counts)
    }
}

impl Store {
    /// Readings of a metering point in `[from, to)`: the latest version of each day, or the
    /// version that was stored at `as_of`. Slots without any reading are left out.
    pub async fn meter_values(
        &self,
        point_id: i64,
        from: Timestamp,
        to: Timestamp,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<Reading>, StoreError> {
        let mut readings = Vec::new();
        if to <= from {
            return Ok(readings);
        }
        let first_day = utc_day_number(from);
        let last_day = utc_day_number(to - jiff::SignedDuration::from_nanos(1));
        let rows = sqlx::query(
            "SELECT utc_day, data FROM meter_value_chunks
             WHERE metering_point = $1 AND utc_day BETWEEN $2 AND $3 AND recorded_at_us <= $4
             ORDER BY utc_day, version",
        )
        .bind(point_id)
        .bind(first_day)
        .bind(last_day)
        .bind(as_of.map_or(i64::MAX, |t| t.as_microsecond()))
        .fetch_all(&self.pool)
        .await?;
        let mut latest: Vec<(i64, Vec<u8>)> = Vec::new();
        for row in rows {
            let day: i64 = row.get(0);
            let data: Vec<u8> = row.get(1);
            match latest.last_mut() {
                Some(last) if last.0 == day => last.1 = data,
                _ => latest.push((day, data)),
            }
        }
        let (from_s, to_s) = (from.as_second(), to.as_second());
        for (day, data) in latest {
            let chunk = DayChunk::decode(&data)?;
            let step = chunk.resolution.seconds();
            let day_start = day * 86_400;
            for slot in 0..chunk.slots() {
                let start = day_start + slot as i64 * step;
                if chunk.is_present(slot) && start >= from_s && start < to_s {
                    readings.push(Reading {
                        start: Timestamp::from_second(start)
                            .map_err(|_| crate::chunk::CorruptChunk("day out of range"))?,
                        energy: EnergyWh(chunk.energy_wh[slot]),
                        quality: Quality::from_code(chunk.quality[slot])
                            .ok_or(crate::chunk::CorruptChunk("quality"))?,
                    });
                }
            }
        }
        Ok(readings)
    }
}

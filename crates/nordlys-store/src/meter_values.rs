//! Meter values as versioned day chunks. A re-delivered identical day changes nothing; a
//! changed reading writes a new version of the whole day and keeps the old one, so any
//! earlier state can be read back with `as_of`. The journal gets one record per (import,
//! metering point) with the changed range, accumulated in memory and written at commit.

use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::model::{DayReadings, Reading};
use nordlys_core::time::{utc_day_number, utc_day_start};
use sqlx::Row;

use serde_json::json;

use crate::chunk::{self, CorruptChunk};
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
    version: i64,
    import_id: i64,
    readings: DayReadings,
}

/// Overlay `newer` on `stored`: every reading of `newer` replaces ours.
/// Returns how many slots changed (0: nothing did).
fn overlay(stored: &mut DayReadings, newer: &DayReadings) -> usize {
    let mut changed = 0;
    for slot in 0..stored.slots() {
        if let Some((energy, quality)) = newer.get(slot)
            && stored.get(slot) != Some((energy, quality))
        {
            stored.set(slot, energy, quality);
            changed += 1;
        }
    }
    changed
}

impl StoreTx {
    /// Merge `incoming` days of one metering point's readings into the store, one day chunk
    /// each (see module docs).
    pub async fn merge_day_chunks(
        &mut self,
        point_id: i64,
        gsrn: &str,
        mut incoming: Vec<DayReadings>,
    ) -> Result<MergeCounts, StoreError> {
        let mut counts = MergeCounts::default();
        if incoming.is_empty() {
            return Ok(counts);
        }
        incoming.sort_unstable_by_key(DayReadings::utc_day);
        let (first_day, last_day) = (
            incoming[0].utc_day(),
            incoming[incoming.len() - 1].utc_day(),
        );
        self.journal
            .lock_row("metering_points", "id", point_id)
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
                version: row.get(1),
                import_id: row.get(2),
                readings: chunk::decode(day, row.get::<&[u8], _>(3))?,
            };
            match latest.last_mut() {
                Some(last) if last.readings.utc_day() == day => *last = entry,
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
        for readings in incoming {
            let day = readings.utc_day();
            while stored.next_if(|s| s.readings.utc_day() < day).is_some() {}
            match stored.next_if(|s| s.readings.utc_day() == day) {
                None => {
                    counts.days_new += 1;
                    note(day, 1, readings.present_slots(), true);
                    inserts.push((day, 1, chunk::encode(&readings)));
                }
                Some(mut existing) => {
                    if existing.readings.resolution() != readings.resolution() {
                        return Err(StoreError::Rejected(ParseError::new(
                            "start",
                            utc_day_start(day).to_string(),
                            format!(
                                "metering point {gsrn} already has {} readings for this UTC day; these are {}",
                                existing.readings.resolution(),
                                readings.resolution()
                            ),
                        )));
                    }
                    let readings_changed = overlay(&mut existing.readings, &readings);
                    if readings_changed == 0 {
                        counts.days_unchanged += 1;
                    } else if existing.import_id == self.import_id {
                        // The day was counted when this import first wrote it.
                        note(day, 0, readings_changed, existing.version == 1);
                        // Written earlier in this same import: still unpublished, amend in place.
                        sqlx::query(
                            "UPDATE meter_value_chunks SET data = $1 WHERE metering_point = $2 AND utc_day = $3 AND version = $4",
                        )
                        .bind(chunk::encode(&existing.readings))
                        .bind(point_id)
                        .bind(day)
                        .bind(existing.version)
                        .execute(self.journal.conn())
                        .await?;
                    } else {
                        counts.days_versioned += 1;
                        note(day, 1, readings_changed, false);
                        inserts.push((
                            day,
                            existing.version + 1,
                            chunk::encode(&existing.readings),
                        ));
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
            let day_readings = chunk::decode(day, &data)?;
            let step = day_readings.resolution().seconds();
            let day_start = day * 86_400;
            for (slot, reading) in day_readings.readings().enumerate() {
                let start = day_start + slot as i64 * step;
                if let Some((energy, quality)) = reading
                    && start >= from_s
                    && start < to_s
                {
                    readings.push(Reading {
                        start: Timestamp::from_second(start)
                            .map_err(|_| CorruptChunk("day out of range"))?,
                        energy,
                        quality,
                    });
                }
            }
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nordlys_core::model::Quality;
    use nordlys_core::quantity::EnergyWh;
    use nordlys_core::time::Resolution;

    #[test]
    fn overlay_reports_change_only_when_values_differ() {
        let day = 20_089;
        let mut stored = DayReadings::new(day, Resolution::Pt60m);
        stored.set(3, EnergyWh(1000), Quality::Estimated);
        let mut same = DayReadings::new(day, Resolution::Pt60m);
        same.set(3, EnergyWh(1000), Quality::Estimated);
        assert_eq!(overlay(&mut stored, &same), 0);
        let mut corrected = DayReadings::new(day, Resolution::Pt60m);
        corrected.set(3, EnergyWh(1200), Quality::Corrected);
        corrected.set(5, EnergyWh(700), Quality::Measured);
        assert_eq!(
            overlay(&mut stored, &corrected),
            2,
            "slot 3 changed, slot 5 added"
        );
        assert_eq!(stored.present_slots(), 2);
        assert_eq!(stored.get(3), Some((EnergyWh(1200), Quality::Corrected)));
        assert!(!stored.is_present(4));
    }
}

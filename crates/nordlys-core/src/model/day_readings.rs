//! One metering point's readings for one UTC day, slot by slot: what imports hand to the store
//! and what settlement reads back. How the store encodes a day is its own business.

use crate::model::Quality;
use crate::quantity::EnergyWh;
use crate::time::Resolution;

/// Slots of a UTC day at the finest resolution (quarter-hours); an hourly day uses the first 24.
/// A UTC day has no DST, so its slots are fixed.
pub const MAX_SLOTS_PER_UTC_DAY: usize = 96;

/// One metering point's readings for one UTC day: per slot (an interval of the resolution from
/// the day's start), either no reading at all or energy with its quality (a `missing` reading is
/// a reading). Held inline, without allocation, so a month of a point is one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReadings {
    utc_day: i64,
    resolution: Resolution,
    /// Energy per slot; 0 where there is no reading and beyond [`DayReadings::slots`].
    energy_wh: [i64; MAX_SLOTS_PER_UTC_DAY],
    /// Quality per slot; `None` where there is no reading and beyond [`DayReadings::slots`].
    quality: [Option<Quality>; MAX_SLOTS_PER_UTC_DAY],
}

impl DayReadings {
    /// UTC day `utc_day` (days since 1970-01-01) at `resolution`, with no readings yet.
    pub fn new(utc_day: i64, resolution: Resolution) -> Self {
        DayReadings {
            utc_day,
            resolution,
            energy_wh: [0; MAX_SLOTS_PER_UTC_DAY],
            quality: [None; MAX_SLOTS_PER_UTC_DAY],
        }
    }

    /// Days since 1970-01-01 (UTC).
    #[inline]
    pub fn utc_day(&self) -> i64 {
        self.utc_day
    }

    #[inline]
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Slots in the day: 96 quarter-hours or 24 hours.
    #[inline]
    pub fn slots(&self) -> usize {
        self.resolution.intervals_per_utc_day()
    }

    /// The reading of `slot`, if there is one. Panics if `slot` is not below [`Self::slots`].
    #[inline]
    pub fn get(&self, slot: usize) -> Option<(EnergyWh, Quality)> {
        assert!(
            slot < self.slots(),
            "slot {slot} of a {} day",
            self.resolution
        );
        self.quality[slot].map(|quality| (EnergyWh(self.energy_wh[slot]), quality))
    }

    #[inline]
    pub fn is_present(&self, slot: usize) -> bool {
        self.get(slot).is_some()
    }

    /// Put a reading in `slot`, replacing any. Panics if `slot` is not below [`Self::slots`].
    #[inline]
    pub fn set(&mut self, slot: usize, energy: EnergyWh, quality: Quality) {
        assert!(
            slot < self.slots(),
            "slot {slot} of a {} day",
            self.resolution
        );
        self.energy_wh[slot] = energy.0;
        self.quality[slot] = Some(quality);
    }

    /// The reading of each slot in order, `None` where there is none.
    #[inline]
    pub fn readings(&self) -> impl Iterator<Item = Option<(EnergyWh, Quality)>> + '_ {
        let slots = self.slots();
        self.energy_wh[..slots]
            .iter()
            .zip(&self.quality[..slots])
            .map(|(&energy_wh, &quality)| quality.map(|quality| (EnergyWh(energy_wh), quality)))
    }

    /// Slots that hold a reading (of any quality).
    pub fn present_slots(&self) -> usize {
        self.quality[..self.slots()]
            .iter()
            .filter(|q| q.is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_has_the_slots_of_its_resolution_and_starts_empty() {
        let hourly = DayReadings::new(20_089, Resolution::Pt60m);
        assert_eq!((hourly.slots(), hourly.present_slots()), (24, 0));
        assert_eq!(hourly.readings().count(), 24);
        assert_eq!(DayReadings::new(20_089, Resolution::Pt15m).slots(), 96);
    }

    #[test]
    fn a_set_slot_reads_back_and_others_stay_absent() {
        let mut day = DayReadings::new(20_089, Resolution::Pt60m);
        day.set(3, EnergyWh(1_200), Quality::Missing);
        day.set(3, EnergyWh(1_250), Quality::Corrected);
        assert_eq!(day.get(3), Some((EnergyWh(1_250), Quality::Corrected)));
        assert!(!day.is_present(4));
        assert_eq!(day.present_slots(), 1);
        assert_eq!(day.readings().flatten().count(), 1);
    }
}

//! The compact storage unit for meter values: one metering point's readings for one UTC day
//! (96 quarter-hours or 24 hours), with quality per interval, encoded in about 1.3 bytes
//! per reading. Rows in the database are chunks, never single readings.
//!
//! Encoding (version 1): `[1, resolution]`, then quality as run-length pairs
//! `(code, varint run)` until all slots are covered, then the values of present slots as
//! zig-zag varint deltas from the previous present value (the first from 0).

use nordlys_core::model::Quality;
use nordlys_core::time::Resolution;

/// Quality code of a slot that has no reading at all (not even a "missing" one).
pub const ABSENT: u8 = 0xFF;
const FORMAT_VERSION: u8 = 1;
const RLE_ABSENT: u8 = 4;

/// One metering point's readings for one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayChunk {
    pub resolution: Resolution,
    /// Energy in Wh per slot; meaningless where `quality` is [`ABSENT`].
    pub energy_wh: Vec<i64>,
    /// [`Quality::to_code`] per slot, or [`ABSENT`].
    pub quality: Vec<u8>,
}

/// A stored chunk that cannot be decoded: the database was damaged or written by a newer Nordlys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored meter-value chunk is unreadable: {0}")]
pub struct CorruptChunk(pub &'static str);

impl DayChunk {
    pub fn empty(resolution: Resolution) -> Self {
        let n = resolution.intervals_per_utc_day();
        DayChunk {
            resolution,
            energy_wh: vec![0; n],
            quality: vec![ABSENT; n],
        }
    }

    pub fn slots(&self) -> usize {
        self.quality.len()
    }

    pub fn set(&mut self, slot: usize, energy_wh: i64, quality: Quality) {
        self.energy_wh[slot] = energy_wh;
        self.quality[slot] = quality.to_code();
    }

    pub fn is_present(&self, slot: usize) -> bool {
        self.quality[slot] != ABSENT
    }

    /// Slots that hold a reading (of any quality).
    pub fn present_slots(&self) -> usize {
        self.quality.iter().filter(|&&q| q != ABSENT).count()
    }

    /// Overlay `newer` on `self`: every present slot of `newer` replaces ours.
    /// Returns how many slots changed (0: nothing did).
    pub fn overlay(&mut self, newer: &DayChunk) -> usize {
        let mut changed = 0;
        for slot in 0..self.slots() {
            if newer.quality[slot] != ABSENT
                && (self.quality[slot] != newer.quality[slot]
                    || self.energy_wh[slot] != newer.energy_wh[slot])
            {
                self.quality[slot] = newer.quality[slot];
                self.energy_wh[slot] = newer.energy_wh[slot];
                changed += 1;
            }
        }
        changed
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.slots() * 2);
        out.push(FORMAT_VERSION);
        out.push(match self.resolution {
            Resolution::Pt15m => 0,
            Resolution::Pt60m => 1,
        });
        let mut slot = 0;
        while slot < self.slots() {
            let code = self.quality[slot];
            let run = self.quality[slot..]
                .iter()
                .take_while(|&&q| q == code)
                .count();
            out.push(if code == ABSENT { RLE_ABSENT } else { code });
            write_varint(&mut out, run as u64);
            slot += run;
        }
        let mut previous = 0i64;
        for slot in 0..self.slots() {
            if self.quality[slot] != ABSENT {
                let value = self.energy_wh[slot];
                write_varint(&mut out, zigzag(value.wrapping_sub(previous)));
                previous = value;
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CorruptChunk> {
        let mut cursor = Cursor { bytes, at: 0 };
        if cursor.byte()? != FORMAT_VERSION {
            return Err(CorruptChunk("unknown format version"));
        }
        let resolution = match cursor.byte()? {
            0 => Resolution::Pt15m,
            1 => Resolution::Pt60m,
            _ => return Err(CorruptChunk("unknown resolution")),
        };
        let mut chunk = DayChunk::empty(resolution);
        let mut slot = 0;
        while slot < chunk.slots() {
            let code = cursor.byte()?;
            let run = cursor.varint()? as usize;
            if run == 0 || slot + run > chunk.slots() {
                return Err(CorruptChunk("quality runs do not cover the day"));
            }
            let code = match code {
                RLE_ABSENT => ABSENT,
                c if Quality::from_code(c).is_some() => c,
                _ => return Err(CorruptChunk("unknown quality code")),
            };
            chunk.quality[slot..slot + run].fill(code);
            slot += run;
        }
        let mut previous = 0i64;
        for slot in 0..chunk.slots() {
            if chunk.quality[slot] != ABSENT {
                previous = previous.wrapping_add(unzigzag(cursor.varint()?));
                chunk.energy_wh[slot] = previous;
            }
        }
        if cursor.at != bytes.len() {
            return Err(CorruptChunk("trailing bytes"));
        }
        Ok(chunk)
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, CorruptChunk> {
        let b = *self.bytes.get(self.at).ok_or(CorruptChunk("truncated"))?;
        self.at += 1;
        Ok(b)
    }
    fn varint(&mut self) -> Result<u64, CorruptChunk> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CorruptChunk("varint too long"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_typical_household_day_is_small() {
        let mut chunk = DayChunk::empty(Resolution::Pt15m);
        for slot in 0..96 {
            let wh = 150 + (slot as i64 % 24) * 10 + if slot % 7 == 0 { 300 } else { 0 };
            chunk.set(slot, wh, Quality::Measured);
        }
        let bytes = chunk.encode();
        assert!(bytes.len() < 160, "{} bytes", bytes.len());
        assert_eq!(DayChunk::decode(&bytes).unwrap(), chunk);
    }

    #[test]
    fn overlay_reports_change_only_when_values_differ() {
        let mut stored = DayChunk::empty(Resolution::Pt60m);
        stored.set(3, 1000, Quality::Estimated);
        let mut same = DayChunk::empty(Resolution::Pt60m);
        same.set(3, 1000, Quality::Estimated);
        assert_eq!(stored.overlay(&same), 0);
        let mut corrected = DayChunk::empty(Resolution::Pt60m);
        corrected.set(3, 1200, Quality::Corrected);
        corrected.set(5, 700, Quality::Measured);
        assert_eq!(
            stored.overlay(&corrected),
            2,
            "slot 3 changed, slot 5 added"
        );
        assert_eq!(stored.present_slots(), 2);
        assert_eq!(
            (stored.energy_wh[3], stored.quality[3]),
            (1200, Quality::Corrected.to_code())
        );
        assert!(!stored.is_present(4));
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        assert!(DayChunk::decode(&[]).is_err());
        assert!(DayChunk::decode(&[1, 0, 0, 200]).is_err());
        assert!(DayChunk::decode(&[9, 0]).is_err());
        let mut good = DayChunk::empty(Resolution::Pt60m).encode();
        good.push(0);
        assert_eq!(DayChunk::decode(&good), Err(CorruptChunk("trailing bytes")));
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(
            hourly in any::<bool>(),
            slots in proptest::collection::vec(any::<Option<(i64, u8)>>(), 96),
        ) {
            let resolution = if hourly { Resolution::Pt60m } else { Resolution::Pt15m };
            let mut chunk = DayChunk::empty(resolution);
            for (slot, value) in slots.iter().take(chunk.slots()).enumerate() {
                if let Some((wh, q)) = value {
                    chunk.set(slot, *wh, Quality::from_code(q % 4).unwrap());
                }
            }
            prop_assert_eq!(DayChunk::decode(&chunk.encode()).unwrap(), chunk);
        }
    }
}

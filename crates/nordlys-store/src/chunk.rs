//! The compact encoding of one metering point's readings for one UTC day (the `data` of a
//! `meter_value_chunks` row), about 1.3 bytes per reading. Private to the store: callers hand
//! over and get back [`DayReadings`]; the quality codes and the "absent" code live only here.
//! Rows in the database are chunks, never single readings.
//!
//! Encoding (version 1): `[1, resolution]`, then quality as run-length pairs
//! `(code, varint run)` until all slots are covered, then the values of present slots as
//! zig-zag varint deltas from the previous present value (the first from 0). Quality codes:
//! measured 0, estimated 1, missing 2, corrected 3, no reading 4.

use nordlys_core::model::{DayReadings, MAX_SLOTS_PER_UTC_DAY, Quality};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::Resolution;

const FORMAT_VERSION: u8 = 1;
/// Quality code of a slot that has no reading at all (not even a "missing" one).
const ABSENT: u8 = 4;

/// A stored chunk that cannot be decoded: the database was damaged or written by a newer Nordlys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored meter-value chunk is unreadable: {0}")]
pub struct CorruptChunk(pub &'static str);

/// The stored code of a quality (never [`ABSENT`]).
fn quality_code(quality: Quality) -> u8 {
    match quality {
        Quality::Measured => 0,
        Quality::Estimated => 1,
        Quality::Missing => 2,
        Quality::Corrected => 3,
    }
}

/// The quality of a stored code; `Ok(None)` for [`ABSENT`].
fn quality_of_code(code: u8) -> Result<Option<Quality>, CorruptChunk> {
    Ok(Some(match code {
        0 => Quality::Measured,
        1 => Quality::Estimated,
        2 => Quality::Missing,
        3 => Quality::Corrected,
        ABSENT => return Ok(None),
        _ => return Err(CorruptChunk("unknown quality code")),
    }))
}

/// The stored bytes of `day`.
pub(crate) fn encode(day: &DayReadings) -> Vec<u8> {
    let slots = day.slots();
    let mut out = Vec::with_capacity(8 + slots * 2);
    out.push(FORMAT_VERSION);
    out.push(match day.resolution() {
        Resolution::Pt15m => 0,
        Resolution::Pt60m => 1,
    });
    let mut codes = [ABSENT; MAX_SLOTS_PER_UTC_DAY];
    for (code, reading) in codes.iter_mut().zip(day.readings()) {
        *code = reading.map_or(ABSENT, |(_, quality)| quality_code(quality));
    }
    let codes = &codes[..slots];
    let mut slot = 0;
    while slot < slots {
        let code = codes[slot];
        let run = codes[slot..].iter().take_while(|&&c| c == code).count();
        out.push(code);
        write_varint(&mut out, run as u64);
        slot += run;
    }
    let mut previous = 0i64;
    for (energy, _) in day.readings().flatten() {
        write_varint(&mut out, zigzag(energy.0.wrapping_sub(previous)));
        previous = energy.0;
    }
    out
}

/// The readings of UTC day `utc_day` stored as `bytes`.
pub(crate) fn decode(utc_day: i64, bytes: &[u8]) -> Result<DayReadings, CorruptChunk> {
    let mut cursor = Cursor { bytes, at: 0 };
    if cursor.byte()? != FORMAT_VERSION {
        return Err(CorruptChunk("unknown format version"));
    }
    let resolution = match cursor.byte()? {
        0 => Resolution::Pt15m,
        1 => Resolution::Pt60m,
        _ => return Err(CorruptChunk("unknown resolution")),
    };
    let mut day = DayReadings::new(utc_day, resolution);
    let slots = day.slots();
    let mut qualities: [Option<Quality>; MAX_SLOTS_PER_UTC_DAY] = [None; MAX_SLOTS_PER_UTC_DAY];
    let mut slot = 0;
    while slot < slots {
        let code = cursor.byte()?;
        let run = cursor.varint()? as usize;
        if run == 0 || slot + run > slots {
            return Err(CorruptChunk("quality runs do not cover the day"));
        }
        qualities[slot..slot + run].fill(quality_of_code(code)?);
        slot += run;
    }
    let mut previous = 0i64;
    for (slot, quality) in qualities[..slots].iter().enumerate() {
        if let Some(quality) = *quality {
            previous = previous.wrapping_add(unzigzag(cursor.varint()?));
            day.set(slot, EnergyWh(previous), quality);
        }
    }
    if cursor.at != bytes.len() {
        return Err(CorruptChunk("trailing bytes"));
    }
    Ok(day)
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

    const UTC_DAY: i64 = 20_089; // 2025-01-01

    #[test]
    fn a_typical_household_day_is_small() {
        let mut day = DayReadings::new(UTC_DAY, Resolution::Pt15m);
        for slot in 0..96 {
            let wh = 150 + (slot as i64 % 24) * 10 + if slot % 7 == 0 { 300 } else { 0 };
            day.set(slot, EnergyWh(wh), Quality::Measured);
        }
        let bytes = encode(&day);
        assert!(bytes.len() < 160, "{} bytes", bytes.len());
        assert_eq!(decode(UTC_DAY, &bytes).unwrap(), day);
    }

    #[test]
    fn the_format_on_disk_is_version_1_as_written_by_every_release() {
        // Hourly; 1000 Wh and 1100 Wh measured, two slots without a reading, a missing
        // reading, 900 Wh estimated, then nothing for the rest of the day.
        let mut day = DayReadings::new(UTC_DAY, Resolution::Pt60m);
        day.set(0, EnergyWh(1000), Quality::Measured);
        day.set(1, EnergyWh(1100), Quality::Measured);
        day.set(4, EnergyWh(0), Quality::Missing);
        day.set(5, EnergyWh(900), Quality::Estimated);
        let stored = [
            1, 1, // version, PT60M
            0, 2, 4, 2, 2, 1, 1, 1, 4, 18, // quality runs (code, length)
            0xD0, 0x0F, 0xC8, 0x01, 0x97, 0x11, 0x88,
            0x0E, // zig-zag deltas +1000 +100 -1100 +900
        ];
        assert_eq!(encode(&day), stored);
        assert_eq!(decode(UTC_DAY, &stored).unwrap(), day);
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        assert!(decode(UTC_DAY, &[]).is_err());
        assert!(decode(UTC_DAY, &[1, 0, 0, 200]).is_err());
        assert!(decode(UTC_DAY, &[9, 0]).is_err());
        assert_eq!(
            decode(UTC_DAY, &[1, 1, 5, 24]),
            Err(CorruptChunk("unknown quality code"))
        );
        let mut good = encode(&DayReadings::new(UTC_DAY, Resolution::Pt60m));
        good.push(0);
        assert_eq!(decode(UTC_DAY, &good), Err(CorruptChunk("trailing bytes")));
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(
            hourly in any::<bool>(),
            slots in proptest::collection::vec(any::<Option<(i64, u8)>>(), 96),
        ) {
            let resolution = if hourly { Resolution::Pt60m } else { Resolution::Pt15m };
            let mut day = DayReadings::new(UTC_DAY, resolution);
            for (slot, value) in slots.iter().take(day.slots()).enumerate() {
                if let Some((wh, q)) = value {
                    let quality = quality_of_code(q % 4).unwrap().unwrap();
                    day.set(slot, EnergyWh(*wh), quality);
                }
            }
            prop_assert_eq!(decode(UTC_DAY, &encode(&day)).unwrap(), day);
        }
    }
}

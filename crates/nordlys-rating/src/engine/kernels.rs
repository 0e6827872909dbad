//! The engine's integer kernels: exact dot products, the branch-free day of a spot subsidy
//! below its cap, the hourly basis of a day, and the range check of input series.

/// The first value of `values` outside `±max`, with its index.
pub(super) fn first_out_of_range(values: &[i64], max: i64) -> Option<(i64, i64)> {
    // A fast pass with shifts and ors (it vectorises on every x86-64): every value in
    // [−2^k, 2^k) with 2^k ≤ max is within bounds. Only if one is not is the exact scan needed.
    if let Some(k) = max.checked_ilog2() {
        let offset = 1i64 << k;
        let spill = values.iter().fold(0u64, |spill, &v| {
            spill | (v.wrapping_add(offset).cast_unsigned() >> (k + 1))
        });
        if spill == 0 {
            return None;
        }
    }
    (0i64..)
        .zip(values.iter().copied())
        .find(|&(_, v)| v > max || v < -max)
}

/// Clock-hour sums of one day's intervals (`per_hour` of 1, 2 or 4, the resolutions).
pub(super) fn hour_sums(energy: &[i64], per_hour: usize, out: &mut Vec<i64>) {
    out.clear();
    out.extend(
        energy
            .chunks_exact(per_hour)
            .map(|hour| hour.iter().sum::<i64>()),
    );
}

/// The hourly basis of spot subsidies: per clock hour the time average of the hour's prices in
/// the engine's scale, rounded half away from zero (the rounding the caller applies when it
/// prices an hourly series from quarter-hour prices). `per_hour` is 1, 2 or 4.
pub(super) fn hourly_average_prices(spot: &[i64], per_hour: usize, out: &mut Vec<i64>) {
    match per_hour {
        4 => average_of::<4, 2>(spot, out),
        2 => average_of::<2, 1>(spot, out),
        _ => {
            out.clear();
            out.extend_from_slice(spot);
        }
    }
}

/// [`hourly_average_prices`] for `N = 2^SHIFT` intervals per hour: the rounding is a shift,
/// not a division. Sums stay within i64 for prices inside their checked bounds.
fn average_of<const N: usize, const SHIFT: u32>(spot: &[i64], out: &mut Vec<i64>) {
    let half = 1i64 << (SHIFT - 1);
    let (hours, _) = spot.as_chunks::<N>();
    out.clear();
    out.resize(hours.len(), 0);
    for (average, prices) in out.iter_mut().zip(hours) {
        let sum: i64 = prices.iter().sum();
        let magnitude = (sum.abs() + half) >> SHIFT;
        *average = if sum < 0 { -magnitude } else { magnitude };
    }
}

/// `Σ a[i] × b[i]` exactly, with four independent accumulators so that the 128-bit additions
/// do not wait on each other.
#[inline]
pub(super) fn dot(a: &[i64], b: &[i64]) -> i128 {
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let rest: i128 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| i128::from(x) * i128::from(y))
        .sum();
    let mut acc = [0i128; 4];
    for (x4, y4) in a_chunks.zip(b_chunks) {
        for k in 0..4 {
            acc[k] += i128::from(x4[k]) * i128::from(y4[k]);
        }
    }
    acc.iter().sum::<i128>() + rest
}

/// One day of a spot subsidy or price hedge, as if the monthly cap were not reached.
pub(super) struct SubsidyDay {
    /// Σ Wh × nano per kWh: energy × (spot − threshold) where spot is above the threshold for a
    /// subsidy, energy × (threshold − spot) for a hedge.
    pub amount_pico: i128,
    /// Consumed Wh the subsidy pays for (a hedge covers every consumed Wh).
    pub covered_wh: i64,
    /// Every consumed Wh of the day, which counts against the cap.
    pub consumed_wh: i64,
}

/// Computes [`SubsidyDay`] without branches on the price (its comparison with the threshold is
/// unpredictable); the amount in two independent 128-bit accumulators.
#[inline]
pub(super) fn subsidy_below_cap(
    energy: &[i64],
    spot: &[i64],
    threshold: i64,
    hedge: bool,
) -> SubsidyDay {
    // Readings are rarely negative: a plain sum with a sign check vectorises, `max(0)` does not.
    let (sum_wh, any_bits) = energy
        .iter()
        .fold((0i64, 0i64), |(sum, bits), &w| (sum + w, bits | w));
    let consumed_wh = if any_bits < 0 {
        energy.iter().map(|&w| w.max(0)).sum()
    } else {
        sum_wh
    };
    let mut amount = [0i128; 2];
    let mut covered_wh = 0i64;
    let (energy_pairs, spot_pairs) = (energy.chunks_exact(2), spot.chunks_exact(2));
    let last = energy_pairs
        .remainder()
        .first()
        .zip(spot_pairs.remainder().first());
    if hedge {
        for (w2, p2) in energy_pairs.zip(spot_pairs) {
            for k in 0..2 {
                amount[k] += i128::from(w2[k].max(0)) * i128::from(threshold - p2[k]);
            }
        }
        if let Some((&w, &p)) = last {
            amount[0] += i128::from(w.max(0)) * i128::from(threshold - p);
        }
        covered_wh = consumed_wh;
    } else {
        let mut term = |k: usize, w: i64, p: i64| {
            let (w, above) = (w.max(0), (p - threshold).max(0));
            amount[k] += i128::from(w) * i128::from(above);
            covered_wh += if above > 0 { w } else { 0 };
        };
        for (w2, p2) in energy_pairs.zip(spot_pairs) {
            term(0, w2[0], p2[0]);
            term(1, w2[1], p2[1]);
        }
        if let Some((&w, &p)) = last {
            term(0, w, p);
        }
    }
    SubsidyDay {
        amount_pico: amount[0] + amount[1],
        covered_wh,
        consumed_wh,
    }
}

#[cfg(test)]
mod tests {
    use super::{dot, first_out_of_range, hour_sums, hourly_average_prices, subsidy_below_cap};

    #[test]
    fn the_range_check_is_exact_at_the_bounds() {
        let max = 100_000_000_000_000;
        // Values between 2^46 and the bound pass the exact scan, not only the fast pass.
        let inside = [0, max, -max, 80_000_000_000_000, -80_000_000_000_000, 7];
        assert_eq!(first_out_of_range(&inside, max), None);
        assert_eq!(
            first_out_of_range(&[1, 2, max + 1], max),
            Some((2, max + 1))
        );
        assert_eq!(first_out_of_range(&[-max - 1], max), Some((0, -max - 1)));
        assert_eq!(
            first_out_of_range(&[i64::MIN, i64::MAX], max),
            Some((0, i64::MIN))
        );
    }

    #[test]
    fn the_hourly_basis_rounds_half_away_from_zero() {
        let (mut wh, mut price) = (Vec::new(), Vec::new());
        let energy = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1];
        // Hour sums 7/4 = 1.75 → 2, 6/4 = 1.5 → 2, −6/4 → −2, 5/4 = 1.25 → 1.
        let spot = [1, 2, 2, 2, 1, 1, 1, 3, -1, -1, -1, -3];
        hour_sums(&energy, 4, &mut wh);
        hourly_average_prices(&spot, 4, &mut price);
        assert_eq!(
            (wh.as_slice(), price.as_slice()),
            (&[10, 26, 1][..], &[2, 2, -2][..])
        );
        hourly_average_prices(&[1, 1, 1, 2], 4, &mut price);
        assert_eq!(price, [1]);
        hour_sums(&energy[..4], 2, &mut wh);
        hourly_average_prices(&[3, 4, -3, -4], 2, &mut price);
        assert_eq!(
            (wh.as_slice(), price.as_slice()),
            (&[3, 7][..], &[4, -4][..])
        );
    }

    /// Deterministic values from −100 to a large positive bound (xorshift).
    fn series(seed: u64, len: usize, bound: i64) -> Vec<i64> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % (bound as u64 + 101)) as i64 - 100
            })
            .collect()
    }

    #[test]
    fn the_unrolled_kernels_equal_the_plain_sums() {
        for len in [0, 1, 2, 3, 4, 5, 92, 96, 100, 2976] {
            let energy = series(7 + len as u64, len, 5_000_000);
            let spot = series(11 + len as u64, len, 3_000_000_000);
            let plain_dot: i128 = energy
                .iter()
                .zip(&spot)
                .map(|(&w, &p)| i128::from(w) * i128::from(p))
                .sum();
            assert_eq!(dot(&energy, &spot), plain_dot, "dot over {len}");
            let threshold = 1_500_000_000;
            for hedge in [false, true] {
                let (mut amount, mut covered, mut consumed) = (0i128, 0i64, 0i64);
                for (&w, &p) in energy.iter().zip(&spot) {
                    if w <= 0 {
                        continue;
                    }
                    consumed += w;
                    if hedge {
                        amount += i128::from(w) * i128::from(threshold - p);
                        covered += w;
                    } else if p > threshold {
                        amount += i128::from(w) * i128::from(p - threshold);
                        covered += w;
                    }
                }
                let day = subsidy_below_cap(&energy, &spot, threshold, hedge);
                assert_eq!(
                    (day.amount_pico, day.covered_wh, day.consumed_wh),
                    (amount, covered, consumed),
                    "subsidy over {len}, hedge {hedge}"
                );
            }
        }
    }
}

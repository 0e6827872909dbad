//! The engine's integer kernels: exact dot products, the branch-free day of a spot subsidy
//! below its cap, the hourly basis of a day, and the range check of input series.

/// The first value of `values` outside `±max`, with its index.
pub(super) fn first_out_of_range(values: &[i64], max: i64) -> Option<(i64, i64)> {
    // One branch-free pass (it vectorises); the position is looked for only when one is off.
    let off = values
        .iter()
        .fold(false, |off, &v| off | (v > max) | (v < -max));
    if !off {
        return None;
    }
    (0i64..)
        .zip(values.iter().copied())
        .find(|&(_, v)| v > max || v < -max)
}

/// One day of a series on the hourly basis of spot subsidies: per clock hour the energy and
/// the time average of the hour's prices in the engine's scale, rounded half away from zero
/// (the rounding the caller applies when it prices an hourly series from quarter-hour prices).
pub(super) fn hourly_basis(
    energy: &[i64],
    spot: &[i64],
    (per_hour, n): (usize, i64),
    hour_wh: &mut Vec<i64>,
    hour_price: &mut Vec<i64>,
) {
    hour_wh.clear();
    hour_price.clear();
    // `n` = `per_hour` intervals (2 or 4): the sums stay within i64 for prices and energies
    // inside their checked bounds.
    for (e, p) in energy
        .chunks_exact(per_hour)
        .zip(spot.chunks_exact(per_hour))
    {
        hour_wh.push(e.iter().sum());
        let sum: i64 = p.iter().sum();
        let (quotient, remainder) = (sum / n, sum % n);
        let away = if 2 * remainder.abs() >= n {
            sum.signum()
        } else {
            0
        };
        hour_price.push(quotient + away);
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
    use super::{dot, subsidy_below_cap};

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

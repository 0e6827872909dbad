#!/usr/bin/env python3
"""Reference figure for the rating target: NREL SAM's rate engine (PyPI nrel-pysam, module
Utilityrate5) on a tariff comparable to Nordlys's default bench mix — two-period time-of-use
energy (working days 06–22 / other), a time-series buy rate standing in for the spot price, flat
monthly demand and a fixed monthly charge — for N generated household loads of one year, hourly or at 15 minutes.

Usage: python3 scripts/peer/pysam_rate.py [N] [PT60M|PT15M] [--json]
(installs nrel-pysam when missing; `nordlys bench rate --peer all` runs it for you)
Prints metering-point-months per second on one core, as a line or as a JSON object. SAM's year is 365 days from a Monday with
no DST and no holidays; loads are average kW per interval. Not the same tariff to the øre: a throughput
reference only (the to-the-øre peer is scripts/peer/duckdb_rate.py).
"""
import json
import random
import subprocess
import sys
import time

try:
    import PySAM.Utilityrate5 as ur
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "nrel-pysam"])
    import PySAM.Utilityrate5 as ur
import PySAM


def household(seed: int, steps_per_hour: int) -> list:
    rng = random.Random(seed)
    load = []
    for i in range(8760 * steps_per_hour):
        h = i // steps_per_hour
        hour, day = h % 24, h // 24
        shape = 1.8 if 7 <= hour <= 8 else 2.2 if 17 <= hour <= 20 else 0.7 if hour <= 5 else 1.0
        ev = 7.2 if day % 3 == seed % 3 and hour >= 22 else 0.0
        load.append(0.9 * shape + rng.random() * 0.4 + ev)
    return load


def main(n: int, resolution: str, as_json: bool) -> None:
    steps_per_hour = {"PT60M": 1, "PT15M": 4}[resolution]
    steps = 8760 * steps_per_hour
    weekday = [[2 if 6 <= h < 22 else 1 for h in range(24)] for _ in range(12)]
    weekend = [[1] * 24 for _ in range(12)]
    spot = [0.4 + 0.6 * ((i * 7919) % 1000) / 1000 for i in range(steps)]
    loads = [household(i, steps_per_hour) for i in range(n)]
    started = time.perf_counter()
    for load in loads:
        m = ur.new()
        m.Lifetime.analysis_period = 1
        m.Lifetime.inflation_rate = 0
        m.Lifetime.system_use_lifetime_output = 0
        m.SystemOutput.gen = [0.0] * steps
        m.SystemOutput.degradation = [0]
        m.Load.load = load
        r = m.ElectricityRates
        r.en_electricity_rates = 1
        r.rate_escalation = [0]
        r.ur_metering_option = 4  # buy all / sell all: time-series buy rates need it
        r.ur_monthly_fixed_charge = 39 + 280
        r.ur_ec_sched_weekday = weekday
        r.ur_ec_sched_weekend = weekend
        # period, tier, max usage, max usage units (0 = kWh), buy, sell
        r.ur_ec_tou_mat = [[1, 1, 1e38, 0, 0.1521 + 0.0979 + 0.01, 0], [2, 1, 1e38, 0, 0.2321 + 0.0979 + 0.01, 0]]
        r.ur_en_ts_buy_rate = 1
        r.ur_ts_buy_rate = spot
        r.ur_dc_enable = 1
        r.ur_dc_flat_mat = [[m_, 1, 1e38, 20.0] for m_ in range(12)]
        r.ur_dc_sched_weekday = [[1] * 24 for _ in range(12)]
        r.ur_dc_sched_weekend = [[1] * 24 for _ in range(12)]
        r.ur_dc_tou_mat = [[1, 1, 1e38, 0.0]]
        m.execute(0)
    seconds = time.perf_counter() - started
    if as_json:
        print(json.dumps({
            "pysam_version": PySAM.__version__, "loads": n, "months": n * 12,
            "resolution": resolution, "seconds": seconds,
        }))
    else:
        print(
            f"SAM Utilityrate5 (nrel-pysam {PySAM.__version__}): {n} loads at {resolution} × 12 months"
            f" in {seconds:.2f} s = {n * 12 / seconds:.0f} metering-point-months/s on one core"
        )


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if any(f != "--json" for f in flags) or len(args) > 2 or (len(args) == 2 and args[1] not in ("PT60M", "PT15M")):
        sys.exit(__doc__)
    main(int(args[0]) if args else 200, args[1] if len(args) > 1 else "PT60M", "--json" in flags)

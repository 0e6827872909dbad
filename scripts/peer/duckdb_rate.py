#!/usr/bin/env python3
"""The peer of `nordlys bench rate`: the same invoice as Nordlys's default product mix (Elvia grid
tariff with statutory charges + a spot supplier product), written as straightforward SQL in DuckDB.

Usage: duckdb_rate.py DIR
DIR holds loads.csv (mp,i,wh), prices.csv (i,price: NOK/kWh) and params.json (written by the
bench). The calendar (local date, clock hour, working day) is computed here, independently of
Nordlys, with zoneinfo and the Norwegian public holidays. Writes DIR/duckdb_totals.csv (mp,gross)
and prints one JSON line with the timings.
"""
import datetime as dt
import json
import os
import sys
import time
from zoneinfo import ZoneInfo

import duckdb


def easter(year: int) -> dt.date:
    # Anonymous Gregorian algorithm.
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def norwegian_holidays(year: int) -> set:
    e = easter(year)
    fixed = {dt.date(year, 1, 1), dt.date(year, 5, 1), dt.date(year, 5, 17), dt.date(year, 12, 25), dt.date(year, 12, 26)}
    moving = {e + dt.timedelta(days=n) for n in (-3, -2, 0, 1, 39, 49, 50)}
    return fixed | moving


def main(folder: str) -> None:
    params = json.load(open(os.path.join(folder, "params.json")))
    tz = ZoneInfo(params["time_zone"])
    start = dt.datetime.fromisoformat(params["start_utc"].replace("Z", "+00:00"))
    step = params["resolution_seconds"]
    holidays = set()
    rows = []
    for i in range(params["intervals"]):
        t = (start + dt.timedelta(seconds=i * step)).astimezone(tz)
        if t.year not in {h.year for h in holidays}:
            holidays |= norwegian_holidays(t.year)
        working = t.weekday() < 5 and t.date() not in holidays
        is_day = working and params["day_from_hour"] <= t.hour < params["day_to_hour"]
        hour_key = (i * step) // 3600  # clock hours: the zone's offsets are whole hours
        rows.append(f"{i},{t.date().isoformat()},{hour_key},{str(is_day).lower()}")
    with open(os.path.join(folder, "calendar.csv"), "w") as out:
        out.write("i,local_date,hour_key,is_day\n" + "\n".join(rows) + "\n")

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    loaded = time.perf_counter()
    con.execute(f"CREATE TABLE loads AS SELECT * FROM read_csv('{folder}/loads.csv', columns = {{'mp': 'INTEGER', 'i': 'INTEGER', 'wh': 'BIGINT'}}, header = true)")
    con.execute(f"CREATE TABLE prices AS SELECT * FROM read_csv('{folder}/prices.csv', columns = {{'i': 'INTEGER', 'price': 'DECIMAL(18,9)'}}, header = true)")
    con.execute(f"CREATE TABLE cal AS SELECT * FROM read_csv('{folder}/calendar.csv', columns = {{'i': 'INTEGER', 'local_date': 'DATE', 'hour_key': 'INTEGER', 'is_day': 'BOOLEAN'}}, header = true)")
    steps = ", ".join(f"({s['from_w']}, {s['price_per_month']}::DECIMAL(18,2))" for s in params["capacity_steps"])
    con.execute(f"CREATE TABLE steps AS SELECT * FROM (VALUES {steps}) t(from_w, price_per_month)")
    load_seconds = time.perf_counter() - loaded

    p = params
    query = f"""
    WITH per_mp AS (
        SELECT l.mp,
               sum(l.wh) AS wh,
               sum(CASE WHEN c.is_day THEN l.wh ELSE 0 END) AS day_wh,
               sum(l.wh * pr.price) AS spot_wh_price,
               sum(CASE WHEN pr.price > {p['subsidy_threshold']} THEN l.wh * (pr.price - {p['subsidy_threshold']}) ELSE 0 END) AS subsidy_base
        FROM loads l JOIN cal c USING (i) JOIN prices pr USING (i)
        GROUP BY l.mp
    ),
    hourly AS (
        SELECT l.mp, c.local_date, c.hour_key, sum(l.wh) AS wh
        FROM loads l JOIN cal c USING (i)
        GROUP BY ALL
    ),
    daily AS (SELECT mp, local_date, max(wh) AS peak_wh FROM hourly GROUP BY ALL),
    top3 AS (
        SELECT mp, sum(peak_wh) AS sum3
        FROM (SELECT mp, peak_wh, row_number() OVER (PARTITION BY mp ORDER BY peak_wh DESC) AS r FROM daily)
        WHERE r <= {p['capacity_peaks']}
        GROUP BY mp
    ),
    capacity AS (
        SELECT t.mp, max_by(s.price_per_month, s.from_w) AS price_per_month
        FROM top3 t JOIN steps s ON t.sum3 >= {p['capacity_peaks']} * s.from_w
        GROUP BY t.mp
    ),
    lines AS (
        -- Exact decimals only: DuckDB evaluates DECIMAL division as DOUBLE, so every division
        -- is written as a multiplication by a decimal constant.
        SELECT m.mp,
               cap.price_per_month                                                              AS capacity,
               round(m.day_wh * 0.001 * {p['energy_day']}, 2)                                   AS energy_day,
               round((m.wh - m.day_wh) * 0.001 * {p['energy_other']}, 2)                        AS energy_other,
               round(m.wh * 0.001 * {p['elavgift']}, 2)                                         AS elavgift,
               round(m.wh * 0.001 * {p['enova']}, 2)                                            AS enova,
               -round(m.subsidy_base * 0.001 * {p['subsidy_share']}, 2)                        AS subsidy,
               round((m.spot_wh_price * {p['spot_factor']} + m.wh * {p['spot_markup']}) * 0.001, 2) AS spot,
               {p['supplier_fixed']}::DECIMAL(18,2)                                             AS fixed
        FROM per_mp m JOIN capacity cap USING (mp)
    ),
    nets AS (
        SELECT mp, capacity + energy_day + energy_other + elavgift + enova + subsidy + spot + fixed AS net FROM lines
    )
    SELECT mp, net + round(net * {p['vat_share']}, 2) AS gross FROM nets ORDER BY mp
    """
    started = time.perf_counter()
    result = con.execute(query).fetchall()
    query_seconds = time.perf_counter() - started
    with open(os.path.join(folder, "duckdb_totals.csv"), "w") as out:
        out.write("mp,gross\n")
        for mp, gross in result:
            out.write(f"{mp},{gross:.2f}\n")
    print(json.dumps({"duckdb_version": duckdb.__version__, "load_seconds": load_seconds, "query_seconds": query_seconds, "metering_points": len(result)}))


if __name__ == "__main__":
    main(sys.argv[1])

//! Market data: spot prices per area and interval and daily exchange rates, both versioned
//! like meter values (a corrected price or rate is a new version; `as_of` reads reproduce the
//! earlier state) and journaled: one record per (transaction, area) for spot prices, with the
//! changed range, and one per changed exchange rate.

use std::collections::{BTreeMap, btree_map::Entry};

use jiff::Timestamp;
use jiff::civil::Date;
use nordlys_core::model::{ExchangeRate, PriceArea, SpotPrice};
use nordlys_core::quantity::Currency;
use nordlys_core::time::utc_day_number;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::Row;

use crate::db::sql;
use crate::journal::ChangedRange;
use crate::versions::{SeriesLock, VersionWrite, VersionedRow, upsert_version};
use crate::{Change, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert};

/// The journal records of one transaction's spot-price changes, one per area.
pub(crate) fn price_changes(ranges: BTreeMap<PriceArea, ChangedRange>) -> Vec<Change> {
    ranges
        .into_iter()
        .map(|(area, range)| {
            let (first_day, last_day) = range.utc_dates();
            Change {
                domain: Domain::SpotPrices,
                key: area.code().to_owned(),
                op: range.op(),
                before: None,
                after: Some(json!({
                    "area": area.code(),
                    "first_day": first_day,
                    "last_day": last_day,
                    "prices_changed": range.values_changed,
                })),
                scope: ChangeScope {
                    price_area: Some(area.code().to_owned()),
                    first_utc_day: Some(range.first_utc_day),
                    last_utc_day: Some(range.last_utc_day),
                    ..ChangeScope::default()
                },
            }
        })
        .collect()
}

impl StoreTx {
    /// Note a changed spot price of `area` starting on `utc_day` for the journal (see commit).
    fn note_price_change(&mut self, area: PriceArea, utc_day: i64, new: bool) {
        match self.spot_price_ranges.entry(area) {
            Entry::Vacant(v) => {
                let mut range = ChangedRange::new(utc_day);
                range.include(utc_day, utc_day, 0, 1, new);
                v.insert(range);
            }
            Entry::Occupied(mut o) => o.get_mut().include(utc_day, utc_day, 0, 1, new),
        }
    }

    pub async fn upsert_spot_price(&mut self, price: &SpotPrice) -> Result<Upsert, StoreError> {
        let start_us = price.start.as_microsecond();
        self.journal
            .lock_series(&format!("spot_prices/{}", price.area.code()))
            .await?;
        let backend = self.journal.backend();
        let latest = sqlx::query(sql(
            backend,
            "SELECT version, end_us, price_per_mwh::text, currency, import_id FROM spot_prices
             WHERE area = $1 AND start_us = $2 ORDER BY version DESC LIMIT 1",
        ))
        .bind(price.area.code())
        .bind(start_us)
        .fetch_optional(self.journal.conn())
        .await?;
        let text = price.price_per_mwh.normalize().to_string();
        let version = match latest {
            None => 1,
            Some(row) => {
                let same = row.get::<i64, _>(1) == price.end.as_microsecond()
                    && row.get::<String, _>(2) == text
                    && row.get::<String, _>(3) == price.currency.code();
                if same {
                    return Ok(Upsert::Unchanged);
                }
                if row.get::<i64, _>(4) == self.import_id {
                    sqlx::query(sql(
                        backend,
                        "UPDATE spot_prices SET end_us = $1, price_per_mwh = $2::numeric, currency = $3 WHERE area = $4 AND start_us = $5 AND version = $6",
                    ))
                    .bind(price.end.as_microsecond())
                    .bind(&text)
                    .bind(price.currency.code())
                    .bind(price.area.code())
                    .bind(start_us)
                    .bind(row.get::<i64, _>(0))
                    .execute(self.journal.conn())
                    .await?;
                    let new = row.get::<i64, _>(0) == 1;
                    self.note_price_change(price.area, utc_day_number(price.start), new);
                    return Ok(Upsert::Updated);
                }
                row.get::<i64, _>(0) + 1
            }
        };
        sqlx::query(sql(
            backend,
            "INSERT INTO spot_prices (area, start_us, version, end_us, price_per_mwh, currency, recorded_at_us, import_id)
             VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8)",
        ))
        .bind(price.area.code())
        .bind(start_us)
        .bind(version)
        .bind(price.end.as_microsecond())
        .bind(&text)
        .bind(price.currency.code())
        .bind(self.journal.now_us())
        .bind(self.import_id)
        .execute(self.journal.conn())
        .await?;
        self.note_price_change(price.area, utc_day_number(price.start), version == 1);
        Ok(if version == 1 {
            Upsert::Inserted
        } else {
            Upsert::Updated
        })
    }

    /// Store a daily exchange rate: a different rate for the same date and pair is a new
    /// version (the earlier one is kept for `as_of` reads). Each change is journaled.
    pub async fn upsert_exchange_rate(
        &mut self,
        rate: &ExchangeRate,
    ) -> Result<Upsert, StoreError> {
        let date = rate.date.to_string();
        let text = rate.rate.normalize().to_string();
        let (base, quote) = (rate.base.code(), rate.quote.code());
        let written = upsert_version(
            &mut self.journal,
            VersionedRow {
                table: "exchange_rates",
                key_columns: &["date", "base", "quote"],
                key_values: &[&date, base, quote],
                value_column: "rate",
                value: &text,
                lock: SeriesLock::Advisory(format!("exchange_rates/{base}/{quote}")),
            },
        )
        .await?;
        let VersionWrite::Written { before } = written else {
            return Ok(Upsert::Unchanged);
        };
        let payload =
            |rate: &str| json!({"date": date, "base": base, "quote": quote, "rate": rate});
        let upsert = if before.is_some() {
            Upsert::Updated
        } else {
            Upsert::Inserted
        };
        let (first_utc_day, last_utc_day) = crate::usage::utc_days_of_nordic_date(rate.date);
        let change = Change::of_upsert(
            Domain::ExchangeRates,
            format!("{date}/{base}/{quote}"),
            before.as_deref().map(payload),
            payload(&text),
            ChangeScope {
                first_utc_day: Some(first_utc_day),
                last_utc_day: Some(last_utc_day),
                ..ChangeScope::default()
            },
        );
        self.journal.record(change).await?;
        Ok(upsert)
    }
}

impl Store {
    /// Latest spot prices of `area` starting in `[from, to)`, ordered by start.
    pub async fn spot_prices(
        &self,
        area: PriceArea,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SpotPrice>, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT start_us, end_us, price_per_mwh::text, currency FROM spot_prices p
             WHERE area = $1 AND start_us >= $2 AND start_us < $3
               AND version = (SELECT max(version) FROM spot_prices q WHERE q.area = p.area AND q.start_us = p.start_us)
             ORDER BY start_us",
        ))
        .bind(area.code())
        .bind(from.as_microsecond())
        .bind(to.as_microsecond())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let instant = |us: i64| {
                    Timestamp::from_microsecond(us)
                        .map_err(|_| crate::chunk::CorruptChunk("spot price instant out of range"))
                };
                let price: String = row.get(2);
                Ok(SpotPrice {
                    area,
                    start: instant(row.get(0))?,
                    end: instant(row.get(1))?,
                    price_per_mwh: price.parse::<Decimal>().map_err(|_| {
                        StoreError::CorruptValue(nordlys_core::ParseError::new(
                            "price_per_mwh",
                            price,
                            "stored price unreadable",
                        ))
                    })?,
                    currency: Currency::parse(row.get(3)).map_err(StoreError::CorruptValue)?,
                })
            })
            .collect()
    }

    /// Daily exchange rates `base → quote` for `[from, to)`, latest versions.
    pub async fn exchange_rates(
        &self,
        base: Currency,
        quote: Currency,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<Date, Decimal>, StoreError> {
        self.exchange_rates_as_of(base, quote, from, to, None).await
    }

    /// As [`Store::exchange_rates`], with the versions recorded at `as_of` (`None`: the latest).
    pub async fn exchange_rates_as_of(
        &self,
        base: Currency,
        quote: Currency,
        from: Date,
        to: Date,
        as_of: Option<Timestamp>,
    ) -> Result<BTreeMap<Date, Decimal>, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT date, rate::text FROM exchange_rates
             WHERE base = $1 AND quote = $2 AND date >= $3 AND date < $4 AND recorded_at_us <= $5
             ORDER BY date, version",
        ))
        .bind(base.code())
        .bind(quote.code())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(as_of.map_or(i64::MAX, |t| t.as_microsecond()))
        .fetch_all(&self.pool)
        .await?;
        let mut rates = BTreeMap::new();
        for row in rows {
            let unreadable = |field: &'static str, text: String| {
                StoreError::CorruptValue(nordlys_core::ParseError::new(
                    field,
                    text,
                    "stored value is unreadable",
                ))
            };
            let date: String = row.get(0);
            let rate: String = row.get(1);
            let date: Date = date.parse().map_err(|_| unreadable("date", date))?;
            let rate: Decimal = rate.parse().map_err(|_| unreadable("rate", rate))?;
            // Ordered by version: the last one of each date wins.
            rates.insert(date, rate);
        }
        Ok(rates)
    }
}

//! Market data: spot prices per area and interval (versioned like meter values, so a
//! corrected price is a new version) and daily exchange rates.

use jiff::Timestamp;
use nordlys_core::model::{ExchangeRate, PriceArea, SpotPrice};
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;
use sqlx::Row;

use crate::{Store, StoreError, StoreTx, Upsert};

impl StoreTx {
    pub async fn upsert_spot_price(&mut self, price: &SpotPrice) -> Result<Upsert, StoreError> {
        let start_us = price.start.as_microsecond();
        let latest = sqlx::query(
            "SELECT version, end_us, price_per_mwh, currency, import_id FROM spot_prices
             WHERE area = ? AND start_us = ? ORDER BY version DESC LIMIT 1",
        )
        .bind(price.area.code())
        .bind(start_us)
        .fetch_optional(&mut *self.tx)
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
                    sqlx::query(
                        "UPDATE spot_prices SET end_us = ?, price_per_mwh = ?, currency = ? WHERE area = ? AND start_us = ? AND version = ?",
                    )
                    .bind(price.end.as_microsecond())
                    .bind(&text)
                    .bind(price.currency.code())
                    .bind(price.area.code())
                    .bind(start_us)
                    .bind(row.get::<i64, _>(0))
                    .execute(&mut *self.tx)
                    .await?;
                    return Ok(Upsert::Updated);
                }
                row.get::<i64, _>(0) + 1
            }
        };
        sqlx::query(
            "INSERT INTO spot_prices (area, start_us, version, end_us, price_per_mwh, currency, recorded_at_us, import_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(price.area.code())
        .bind(start_us)
        .bind(version)
        .bind(price.end.as_microsecond())
        .bind(&text)
        .bind(price.currency.code())
        .bind(self.now_us)
        .bind(self.import_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(if version == 1 {
            Upsert::Inserted
        } else {
            Upsert::Updated
        })
    }

    pub async fn upsert_exchange_rate(
        &mut self,
        rate: &ExchangeRate,
    ) -> Result<Upsert, StoreError> {
        let date = rate.date.to_string();
        let text = rate.rate.normalize().to_string();
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT rate FROM exchange_rates WHERE date = ? AND base = ? AND quote = ?",
        )
        .bind(&date)
        .bind(rate.base.code())
        .bind(rate.quote.code())
        .fetch_optional(&mut *self.tx)
        .await?;
        let upsert = match existing {
            Some(stored) if stored == text => return Ok(Upsert::Unchanged),
            Some(_) => Upsert::Updated,
            None => Upsert::Inserted,
        };
        sqlx::query(
            "INSERT OR REPLACE INTO exchange_rates (date, base, quote, rate) VALUES (?, ?, ?, ?)",
        )
        .bind(&date)
        .bind(rate.base.code())
        .bind(rate.quote.code())
        .bind(&text)
        .execute(&mut *self.tx)
        .await?;
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
        let rows = sqlx::query(
            "SELECT start_us, end_us, price_per_mwh, currency FROM spot_prices p
             WHERE area = ? AND start_us >= ? AND start_us < ?
               AND version = (SELECT max(version) FROM spot_prices q WHERE q.area = p.area AND q.start_us = p.start_us)
             ORDER BY start_us",
        )
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
}

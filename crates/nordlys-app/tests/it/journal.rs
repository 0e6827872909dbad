//! The change journal: every kind of write appends exactly the expected records in its
//! transaction, a rolled-back import leaves none, every table an import sequence changes has
//! records of its domain, and the billing inputs that were overwritten in place (exchange rates,
//! usage) now keep their history.

use nordlys_app::import;
use nordlys_core::ids::Gsrn;
use nordlys_core::quantity::Currency;
use nordlys_store::{ChangeOp, ChangeRecord, Domain};
use rust_decimal::Decimal;
use serde_json::json;

use crate::fixtures::*;

/// Every record after `seq`, in order.
async fn records_after(db: &TestDb, seq: i64) -> Vec<ChangeRecord> {
    db.store.changes(seq, None, 10_000).await.unwrap()
}

/// `(domain, key, op)` of each record, for compact assertions.
fn summary(records: &[ChangeRecord]) -> Vec<(Domain, String, ChangeOp)> {
    records
        .iter()
        .map(|r| (r.domain, r.key.clone(), r.op))
        .collect()
}

fn after(record: &ChangeRecord) -> &serde_json::Value {
    record.after.as_ref().expect("a record with a state after")
}

const CONTRACTS: &str = "contract_id,account_id,metering_point_id,product_code,role,start,end
S1,A1,707057500000000018,no-spot,supplier,2025-01-01,
B1,A2,,fiber-bedrift-500,service_provider,2025-01-15,
";

fn hourly_day(point: &str, date: &str, kwh: &str) -> String {
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    let day: jiff::civil::Date = date.parse().unwrap();
    let tz = nordlys_core::time::zone("Europe/Oslo").unwrap();
    let start = nordlys_core::time::start_of_local_day(day, &tz);
    for h in 0..24 {
        let s = start + jiff::SignedDuration::from_hours(h);
        let e = s + jiff::SignedDuration::from_hours(1);
        csv.push_str(&format!(
            "{point},{},{},{kwh},measured\n",
            nordlys_core::time::format_local(s, &tz),
            nordlys_core::time::format_local(e, &tz)
        ));
    }
    csv
}

#[tokio::test]
async fn master_data_records_carry_the_whole_record_before_and_after() {
    let db = db_with_master_data().await;
    let records = records_after(&db, 0).await;
    let created = summary(&records);
    assert_eq!(
        created,
        [
            (Domain::Customer, "K1".into(), ChangeOp::Create),
            (Domain::Customer, "K2".into(), ChangeOp::Create),
            (Domain::Customer, "K3".into(), ChangeOp::Create),
            (Domain::Account, "A1".into(), ChangeOp::Create),
            (Domain::Account, "A2".into(), ChangeOp::Create),
            (Domain::Account, "A3".into(), ChangeOp::Create),
            (Domain::MeteringPoint, HOURLY_POINT.into(), ChangeOp::Create),
            (
                Domain::MeteringPoint,
                QUARTER_POINT.into(),
                ChangeOp::Create
            ),
            (Domain::MeteringPoint, DANISH_POINT.into(), ChangeOp::Create),
            (
                Domain::MeteringPoint,
                SECOND_HOURLY_POINT.into(),
                ChangeOp::Create
            ),
        ]
    );
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        db.store.journal_head().await.unwrap(),
        *seqs.last().unwrap()
    );
    let k1 = &records[0];
    assert_eq!(k1.before, None);
    assert_eq!(
        after(k1),
        &json!({"customer_id": "K1", "kind": "person", "country": "NO", "identity": "01010112377",
                "name": "Kari Nordmann", "email": "kari@example.org", "phone": "+4790000000",
                "street": "Storgata 1", "postcode": "0150", "city": "Oslo", "municipality": "0301",
                "county": "Oslo"})
    );
    assert_eq!(k1.schema_version, 1);
    assert_eq!(k1.changed_at.to_string(), "2025-01-01T00:00:00Z");
    let point = &records[6];
    assert_eq!(after(point)["metering_point_id"], HOURLY_POINT);
    assert_eq!(after(point)["resolution"], "PT60M");
    assert_eq!(after(point)["main_fuse_amperes"], serde_json::Value::Null);
    assert_eq!(point.scope.price_area.as_deref(), Some("NO1"));
    assert!(point.scope.metering_point.is_some());

    // The same files again change nothing and record nothing.
    let head = db.store.journal_head().await.unwrap();
    let c = clock("2025-01-02T00:00:00Z");
    import::import_customers(&db.store, "customers.csv", CUSTOMERS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_metering_points(&db.store, "mp.csv", metering_points().as_bytes(), &c)
        .await
        .unwrap();
    assert_eq!(db.store.journal_head().await.unwrap(), head);

    // One changed customer: one update with the whole record before and after.
    let renamed = CUSTOMERS.replace("Kari Nordmann", "Kari Nordmann-Berg");
    import::import_customers(&db.store, "customers.csv", renamed.as_bytes(), &c)
        .await
        .unwrap();
    let update = records_after(&db, head).await;
    assert_eq!(
        summary(&update),
        [(Domain::Customer, "K1".into(), ChangeOp::Update)]
    );
    assert_eq!(update[0].before.as_ref().unwrap()["name"], "Kari Nordmann");
    assert_eq!(after(&update[0])["name"], "Kari Nordmann-Berg");
    assert_eq!(after(&update[0])["email"], "kari@example.org");
}

#[tokio::test]
async fn contracts_are_named_by_gsrn_and_their_history_reads_in_order() {
    let db = db_with_master_data().await;
    let c = clock("2025-01-05T00:00:00Z");
    import::import_contracts(&db.store, "contracts.csv", CONTRACTS.as_bytes(), &c)
        .await
        .unwrap();
    // Moved to another metering point and account, then ended.
    let moved = CONTRACTS.replace(
        "S1,A1,707057500000000018,no-spot,supplier,2025-01-01,",
        &format!("S1,A3,{SECOND_HOURLY_POINT},no-spot,supplier,2025-01-01,"),
    );
    import::import_contracts(
        &db.store,
        "contracts.csv",
        moved.as_bytes(),
        &clock("2025-02-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let ended = moved.replace("supplier,2025-01-01,", "supplier,2025-01-01,2025-03-01");
    import::import_contracts(
        &db.store,
        "contracts.csv",
        ended.as_bytes(),
        &clock("2025-03-01T00:00:00Z"),
    )
    .await
    .unwrap();

    let history = db.store.contract_history("S1").await.unwrap();
    let ops: Vec<ChangeOp> = history.iter().map(|r| r.op).collect();
    assert_eq!(ops, [ChangeOp::Create, ChangeOp::Update, ChangeOp::Update]);
    assert_eq!(
        after(&history[0]),
        &json!({"contract_id": "S1", "account_id": "A1", "metering_point_id": HOURLY_POINT,
                "product_code": "no-spot", "role": "supplier", "start": "2025-01-01", "end": null})
    );
    let move_record = &history[1];
    let before = move_record.before.as_ref().unwrap();
    assert_eq!(
        (&before["metering_point_id"], &before["account_id"]),
        (&json!(HOURLY_POINT), &json!("A1"))
    );
    assert_eq!(
        (
            &after(move_record)["metering_point_id"],
            &after(move_record)["account_id"]
        ),
        (&json!(SECOND_HOURLY_POINT), &json!("A3"))
    );
    assert_eq!(move_record.scope.contract_id.as_deref(), Some("S1"));
    assert_eq!(move_record.scope.product_code.as_deref(), Some("no-spot"));
    assert_eq!(after(&history[2])["end"], "2025-03-01");
    assert_eq!(history[2].changed_at.to_string(), "2025-03-01T00:00:00Z");

    let broadband = db.store.contract_history("B1").await.unwrap();
    assert_eq!(
        after(&broadband[0])["metering_point_id"],
        serde_json::Value::Null
    );
    assert_eq!(broadband[0].scope.metering_point, None);
}

#[tokio::test]
async fn meter_values_get_one_record_per_import_and_metering_point() {
    let db = db_with_master_data().await;
    let head = db.store.journal_head().await.unwrap();
    let csv = format!(
        "{}{}{}",
        hourly_day(HOURLY_POINT, "2025-01-10", "1.000"),
        hourly_day(HOURLY_POINT, "2025-01-11", "1.000")
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
        hourly_day(SECOND_HOURLY_POINT, "2025-01-10", "2.000")
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    import_values(&db, &csv, "2025-01-12T06:00:00Z")
        .await
        .unwrap();
    let records = records_after(&db, head).await;
    assert_eq!(
        summary(&records),
        [
            (Domain::MeterValues, HOURLY_POINT.into(), ChangeOp::Create),
            (
                Domain::MeterValues,
                SECOND_HOURLY_POINT.into(),
                ChangeOp::Create
            ),
        ]
    );
    // Local days in Oslo (UTC+1) start at 23:00 UTC the day before.
    assert_eq!(
        after(&records[0]),
        &json!({"gsrn": HOURLY_POINT, "first_day": "2025-01-09", "last_day": "2025-01-11",
                "days_changed": 3, "readings_changed": 48})
    );
    let scope = &records[0].scope;
    assert!(scope.metering_point.is_some());
    assert_eq!(
        (scope.first_utc_day, scope.last_utc_day),
        (Some(20097), Some(20099))
    );
    assert_eq!(after(&records[1])["readings_changed"], 24);

    // The same file again: nothing recorded. One corrected reading: one update.
    let head = db.store.journal_head().await.unwrap();
    import_values(&db, &csv, "2025-01-13T06:00:00Z")
        .await
        .unwrap();
    assert_eq!(db.store.journal_head().await.unwrap(), head);
    let corrected = csv.replacen("1.000,measured", "1.500,measured", 1);
    import_values(&db, &corrected, "2025-01-14T06:00:00Z")
        .await
        .unwrap();
    let records = records_after(&db, head).await;
    assert_eq!(
        summary(&records),
        [(Domain::MeterValues, HOURLY_POINT.into(), ChangeOp::Update)]
    );
    assert_eq!(
        after(&records[0]),
        &json!({"gsrn": HOURLY_POINT, "first_day": "2025-01-09", "last_day": "2025-01-09",
                "days_changed": 1, "readings_changed": 1})
    );
}

#[tokio::test]
async fn market_data_products_and_usage_are_journaled() {
    let db = db_with_master_data().await;
    let c = clock("2025-01-05T00:00:00Z");
    import::import_contracts(&db.store, "contracts.csv", CONTRACTS.as_bytes(), &c)
        .await
        .unwrap();
    import_broadband_product(&db, &c).await;
    let head = db.store.journal_head().await.unwrap();
    let prices = "area,start,end,price,currency,unit
NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,MWh
NO1,2025-01-02T00:00:00+01:00,2025-01-02T01:00:00+01:00,80,EUR,MWh
DK1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,70,EUR,MWh
";
    import::import_spot_prices(&db.store, "prices.csv", prices.as_bytes(), &c)
        .await
        .unwrap();
    let fx = "date,base,quote,rate\n2025-01-02,EUR,NOK,11.795\n2025-01-02,EUR,DKK,7.4587\n";
    import::import_exchange_rates(&db.store, "fx.csv", fx.as_bytes(), &c)
        .await
        .unwrap();
    let usage = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\n";
    import::import_usage(&db.store, "usage.csv", usage.as_bytes(), &c)
        .await
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products/no-spot.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    nordlys_app::products::import_products(&db.store, &path, &text, "UTC", &c)
        .await
        .unwrap();

    let records = records_after(&db, head).await;
    assert_eq!(
        summary(&records),
        [
            (Domain::SpotPrices, "NO1".into(), ChangeOp::Create),
            (Domain::SpotPrices, "DK1".into(), ChangeOp::Create),
            (
                Domain::ExchangeRates,
                "2025-01-02/EUR/NOK".into(),
                ChangeOp::Create
            ),
            (
                Domain::ExchangeRates,
                "2025-01-02/EUR/DKK".into(),
                ChangeOp::Create
            ),
            (
                Domain::Usage,
                "B1/2025-01-20/konsulent".into(),
                ChangeOp::Create
            ),
            (Domain::Product, "no-spot".into(), ChangeOp::Create),
        ]
    );
    let no1 = &records[0];
    assert_eq!(
        after(no1),
        &json!({"area": "NO1", "first_day": "2024-12-31", "last_day": "2025-01-01", "prices_changed": 2})
    );
    assert_eq!(no1.scope.price_area.as_deref(), Some("NO1"));
    assert_eq!(
        after(&records[2]),
        &json!({"date": "2025-01-02", "base": "EUR", "quote": "NOK", "rate": "11.795"})
    );
    assert_eq!(
        after(&records[4]),
        &json!({"contract_id": "B1", "date": "2025-01-20", "component": "konsulent", "quantity": "2.5"})
    );
    assert_eq!(records[4].scope.contract_id.as_deref(), Some("B1"));
    let product = &records[5];
    assert_eq!(product.scope.product_code.as_deref(), Some("no-spot"));
    assert_eq!(
        (&after(product)["code"], &after(product)["version"]),
        (&json!("no-spot"), &json!(1))
    );

    // A changed product text is version 2, recorded with the version before.
    let head = db.store.journal_head().await.unwrap();
    let changed = format!("{text}\n# revised\n");
    nordlys_app::products::import_products(&db.store, &path, &changed, "UTC", &c)
        .await
        .unwrap();
    let records = records_after(&db, head).await;
    assert_eq!(
        summary(&records),
        [(Domain::Product, "no-spot".into(), ChangeOp::Update)]
    );
    assert_eq!(after(&records[0])["version"], 2);
    assert_eq!(records[0].before.as_ref().unwrap()["version"], 1);
}

#[tokio::test]
async fn a_rejected_import_leaves_no_record() {
    let db = db_with_master_data().await;
    let head = db.store.journal_head().await.unwrap();
    // Two good customers written inside the transaction, then a bad row: all rolled back.
    let bad =
        format!("{CUSTOMERS}K9,person,NO,123,Bad Id,,,,,,,\n").replace("Kari Nordmann", "Kari Ny");
    import::import_customers(
        &db.store,
        "customers.csv",
        bad.as_bytes(),
        &clock("2025-01-03T00:00:00Z"),
    )
    .await
    .unwrap_err();
    // Readings for a known point, then an unknown one.
    let values = format!(
        "{}707057500000000995,2025-01-10T00:00:00+01:00,2025-01-10T01:00:00+01:00,1.000,measured\n",
        hourly_day(HOURLY_POINT, "2025-01-10", "1.000")
    );
    import_values(&db, &values, "2025-01-12T06:00:00Z")
        .await
        .unwrap_err();
    assert_eq!(db.store.journal_head().await.unwrap(), head);
    assert!(records_after(&db, head).await.is_empty());
    // The rolled-back records' numbers are not reused; the sequence only goes up.
    import_values(
        &db,
        &hourly_day(HOURLY_POINT, "2025-01-10", "1.000"),
        "2025-01-12T06:00:00Z",
    )
    .await
    .unwrap();
    let records = records_after(&db, head).await;
    assert_eq!(records.len(), 1);
    assert!(records[0].seq > head);
}

#[tokio::test]
async fn every_table_an_import_sequence_changes_has_records_of_its_domain() {
    // Which domain journals each table's writes; bookkeeping tables are named as such. A new
    // table (a new write path) is not in this list and fails the test until it is journaled.
    let table_domain = |table: &str| -> Option<Option<Domain>> {
        Some(match table {
            "customers" => Some(Domain::Customer),
            "accounts" => Some(Domain::Account),
            "metering_points" => Some(Domain::MeteringPoint),
            "contracts" => Some(Domain::Contract),
            "meter_value_chunks" => Some(Domain::MeterValues),
            "spot_prices" => Some(Domain::SpotPrices),
            "exchange_rates" => Some(Domain::ExchangeRates),
            "products" => Some(Domain::Product),
            "usage_quantities" => Some(Domain::Usage),
            // The journal itself and the import/transaction bookkeeping.
            "changes" | "journal_head" | "store_transactions" | "imports" => None,
            _ => return None,
        })
    };
    let db = empty_db().await;
    let before = db.store.table_fingerprints().await.unwrap();
    let c = clock("2025-01-01T00:00:00Z");
    import::import_customers(&db.store, "customers.csv", CUSTOMERS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_accounts(&db.store, "accounts.csv", ACCOUNTS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_metering_points(&db.store, "mp.csv", metering_points().as_bytes(), &c)
        .await
        .unwrap();
    import::import_contracts(&db.store, "contracts.csv", CONTRACTS.as_bytes(), &c)
        .await
        .unwrap();
    import_values(
        &db,
        &hourly_day(HOURLY_POINT, "2025-01-10", "1.000"),
        "2025-01-12T06:00:00Z",
    )
    .await
    .unwrap();
    let prices = "area,start,end,price,currency,unit\nNO1,2025-01-10T00:00:00+01:00,2025-01-10T01:00:00+01:00,85.12,EUR,MWh\n";
    import::import_spot_prices(&db.store, "prices.csv", prices.as_bytes(), &c)
        .await
        .unwrap();
    let fx = "date,base,quote,rate\n2025-01-10,EUR,NOK,11.795\n";
    import::import_exchange_rates(&db.store, "fx.csv", fx.as_bytes(), &c)
        .await
        .unwrap();
    import_broadband_product(&db, &c).await;
    let usage = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\n";
    import::import_usage(&db.store, "usage.csv", usage.as_bytes(), &c)
        .await
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products/no-spot.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    nordlys_app::products::import_products(&db.store, &path, &text, "UTC", &c)
        .await
        .unwrap();
    // Second round: updates in place must be journaled too.
    let c2 = clock("2025-02-01T00:00:00Z");
    let moved_point = metering_points().replace("Storgata 1,0150", "Storgata 3,0150");
    import::import_metering_points(&db.store, "mp.csv", moved_point.as_bytes(), &c2)
        .await
        .unwrap();
    import::import_exchange_rates(
        &db.store,
        "fx.csv",
        fx.replace("11.795", "11.8").as_bytes(),
        &c2,
    )
    .await
    .unwrap();

    let after = db.store.table_fingerprints().await.unwrap();
    let records = records_after(&db, 0).await;
    let mut checked = Vec::new();
    for (table, now) in &after {
        if before.get(table) == Some(now) {
            continue;
        }
        let domain = table_domain(table).unwrap_or_else(|| {
            panic!("table {table} changed but this test knows no journal domain for it")
        });
        if let Some(domain) = domain {
            assert!(
                records.iter().any(|r| r.domain == domain),
                "table {table} changed but the journal has no {domain} record"
            );
            checked.push(table.as_str());
        }
    }
    checked.sort_unstable();
    assert_eq!(
        checked,
        [
            "accounts",
            "contracts",
            "customers",
            "exchange_rates",
            "meter_value_chunks",
            "metering_points",
            "products",
            "spot_prices",
            "usage_quantities"
        ]
    );
    // The metering point's move is one update of its history.
    let history = db
        .store
        .metering_point_history(&Gsrn::parse(HOURLY_POINT).unwrap())
        .await
        .unwrap();
    let ops: Vec<ChangeOp> = history.iter().map(|r| r.op).collect();
    assert_eq!(ops, [ChangeOp::Create, ChangeOp::Update]);
    assert_eq!(history[1].before.as_ref().unwrap()["street"], "Storgata 1");
    assert_eq!(history[1].after.as_ref().unwrap()["street"], "Storgata 3");
}

#[tokio::test]
async fn a_changed_exchange_rate_is_a_new_version_and_as_of_reads_the_earlier_one() {
    let db = empty_db().await;
    let fx = "date,base,quote,rate\n2025-01-02,EUR,NOK,11.795\n2025-01-03,EUR,NOK,11.80\n";
    import::import_exchange_rates(
        &db.store,
        "fx.csv",
        fx.as_bytes(),
        &clock("2025-01-03T12:00:00Z"),
    )
    .await
    .unwrap();
    let fixed = fx.replace("11.795", "11.7951");
    let report = import::import_exchange_rates(
        &db.store,
        "fx.csv",
        fixed.as_bytes(),
        &clock("2025-01-04T12:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((report.updated, report.unchanged), (1, 1));
    let (from, to) = ("2025-01-01".parse().unwrap(), "2025-01-31".parse().unwrap());
    let rate = |text: &str| text.parse::<Decimal>().unwrap();
    let latest = db
        .store
        .exchange_rates(Currency::Eur, Currency::Nok, from, to)
        .await
        .unwrap();
    assert_eq!(
        latest.values().copied().collect::<Vec<_>>(),
        [rate("11.7951"), rate("11.8")]
    );
    let earlier = db
        .store
        .exchange_rates_as_of(
            Currency::Eur,
            Currency::Nok,
            from,
            to,
            Some("2025-01-04T00:00:00Z".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        earlier.values().copied().collect::<Vec<_>>(),
        [rate("11.795"), rate("11.8")]
    );
    // The summary counts rates, not versions.
    assert_eq!(db.store.summary().await.unwrap().exchange_rates, 2);
    let history = db
        .store
        .history(Domain::ExchangeRates, "2025-01-02/EUR/NOK")
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].before.as_ref().unwrap()["rate"], "11.795");
    assert_eq!(history[1].after.as_ref().unwrap()["rate"], "11.7951");
}

#[tokio::test]
async fn a_changed_usage_quantity_is_a_new_version_and_reads_take_the_latest() {
    let db = db_with_master_data().await;
    import::import_contracts(
        &db.store,
        "contracts.csv",
        CONTRACTS.as_bytes(),
        &clock("2025-01-05T00:00:00Z"),
    )
    .await
    .unwrap();
    import_broadband_product(&db, &clock("2025-01-05T00:00:00Z")).await;
    let usage = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\nB1,2025-01-27,konsulent,1\n";
    import::import_usage(
        &db.store,
        "usage.csv",
        usage.as_bytes(),
        &clock("2025-01-28T00:00:00Z"),
    )
    .await
    .unwrap();
    let changed = usage.replace("2.5", "7.5");
    let report = import::import_usage(
        &db.store,
        "usage.csv",
        changed.as_bytes(),
        &clock("2025-02-03T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((report.updated, report.unchanged), (1, 1));
    let (from, to) = ("2025-01-01".parse().unwrap(), "2025-02-01".parse().unwrap());
    let latest = db.store.usage_quantities("B1", from, to).await.unwrap();
    assert_eq!(latest, [("konsulent".to_owned(), Decimal::new(85, 1))]);
    let invoiced = db
        .store
        .usage_quantities_as_of(
            "B1",
            from,
            to,
            Some("2025-02-01T00:00:00Z".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(invoiced, [("konsulent".to_owned(), Decimal::new(35, 1))]);
    let history = db
        .store
        .history(Domain::Usage, "B1/2025-01-20/konsulent")
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].before.as_ref().unwrap()["quantity"], "2.5");
    assert_eq!(history[1].after.as_ref().unwrap()["quantity"], "7.5");
}

#[tokio::test]
async fn a_new_resolution_for_a_metering_point_with_readings_is_refused() {
    let db = db_with_master_data().await;
    // Without readings a resolution may still be corrected.
    let quarter_second = metering_points().replace(
        &format!("{SECOND_HOURLY_POINT},NO,NO1,7080005046220,PT60M"),
        &format!("{SECOND_HOURLY_POINT},NO,NO1,7080005046220,PT15M"),
    );
    import::import_metering_points(
        &db.store,
        "mp.csv",
        quarter_second.as_bytes(),
        &clock("2025-01-02T00:00:00Z"),
    )
    .await
    .unwrap();
    import_values(
        &db,
        &hourly_day(HOURLY_POINT, "2025-01-10", "1.000"),
        "2025-01-12T06:00:00Z",
    )
    .await
    .unwrap();
    let head = db.store.journal_head().await.unwrap();
    let quarter = quarter_second.replace(
        &format!("{HOURLY_POINT},NO,NO1,7080005046220,PT60M"),
        &format!("{HOURLY_POINT},NO,NO1,7080005046220,PT15M"),
    );
    let error = import::import_metering_points(
        &db.store,
        "mp.csv",
        quarter.as_bytes(),
        &clock("2025-01-13T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [format!(
            "mp.csv:2: resolution: \"PT15M\": metering point {HOURLY_POINT} has readings at PT60M; a new resolution needs a new metering point or deleting its readings"
        )]
    );
    assert_eq!(db.store.journal_head().await.unwrap(), head);
    let point = db
        .store
        .metering_point(&Gsrn::parse(HOURLY_POINT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(point.resolution.code(), "PT60M");
}

#[tokio::test]
async fn changes_reads_after_a_sequence_by_domain_and_in_pages() {
    let db = db_with_master_data().await;
    let all = records_after(&db, 0).await;
    assert_eq!(all.len(), 10);
    let points = db
        .store
        .changes(0, Some(Domain::MeteringPoint), 100)
        .await
        .unwrap();
    assert_eq!(points.len(), 4);
    assert!(points.iter().all(|r| r.domain == Domain::MeteringPoint));
    // Exclusive: records after the given sequence.
    let page = db.store.changes(all[2].seq, None, 3).await.unwrap();
    let seqs: Vec<i64> = page.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [all[3].seq, all[4].seq, all[5].seq]);
    assert!(
        db.store
            .changes(all[9].seq, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_imports_both_commit_and_their_records_do_not_interleave() {
    // Each write transaction holds the single write lock from its start to its commit, so two
    // imports run at once both commit, one after the other, and their records do not interleave.
    let db = db_with_master_data().await;
    let head = db.store.journal_head().await.unwrap();
    for round in 0..5 {
        let renamed = CUSTOMERS.replace("Kari Nordmann", &format!("Kari {round}"));
        let moved =
            metering_points().replace("Storgata 1,0150", &format!("Storgata {round}0,0150"));
        let c = clock("2025-01-03T00:00:00Z");
        let (customers, points) = tokio::join!(
            import::import_customers(&db.store, "customers.csv", renamed.as_bytes(), &c),
            import::import_metering_points(&db.store, "mp.csv", moved.as_bytes(), &c),
        );
        customers.unwrap();
        points.unwrap();
    }
    let records = records_after(&db, head).await;
    assert_eq!(records.len(), 10);
    // Records of one transaction are contiguous in seq order.
    let mut seen_tx = Vec::new();
    for r in &records {
        if seen_tx.last() != Some(&r.tx_id) {
            assert!(
                !seen_tx.contains(&r.tx_id),
                "transaction {} interleaved",
                r.tx_id
            );
            seen_tx.push(r.tx_id);
        }
    }
    assert_eq!(seen_tx.len(), 10);
}

/// Usage is checked against the contract's product: import the broadband product first.
async fn import_broadband_product(db: &TestDb, c: &nordlys_app::FixedClock) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products/broadband-business.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    nordlys_app::products::import_products(&db.store, &path, &text, "UTC", c)
        .await
        .unwrap();
}

/// Concurrent writers, each in its own connection pool as another process would be, while a
/// reader follows the journal: the reader never sees a record before one with a lower number
/// (no record appears later below what it has seen), and at the end the sequence is gapless.
/// On PostgreSQL the writers really overlap; this is the outbox trap the journal is built to
/// avoid (see the store's journal.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_give_a_gapless_commit_ordered_journal() {
    const WRITERS: usize = 4;
    const IMPORTS: usize = 15;
    const CUSTOMERS_PER_IMPORT: usize = 20;
    let db = empty_db().await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (location, done) = (db.path(), std::sync::Arc::clone(&done));
        writers.push(tokio::spawn(async move {
            let store = nordlys_store::Store::open(&location).await.unwrap();
            let c = clock("2025-01-01T00:00:00Z");
            for i in 0..IMPORTS {
                let mut csv = String::from("customer_id,kind,country,identity,name,email\n");
                for k in 0..CUSTOMERS_PER_IMPORT {
                    csv.push_str(&format!(
                        "W{writer}-{i}-{k},person,NO,01010112377,Kunde {k},\n"
                    ));
                }
                import::import_customers(&store, "customers.csv", csv.as_bytes(), &c)
                    .await
                    .unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            store.close().await;
        }));
    }
    // The reader: what it has seen is a prefix 1..=seen of the final journal at every moment.
    let reader = nordlys_store::Store::open(&db.path()).await.unwrap();
    let mut seen = 0_i64;
    let mut reads = 0;
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
        let records = reader.changes(seen, None, 10_000).await.unwrap();
        reads += 1;
        for record in &records {
            assert_eq!(
                record.seq,
                seen + 1,
                "after seq {seen} the reader saw seq {}: a gap or a late lower number",
                record.seq
            );
            seen = record.seq;
        }
        if finished && records.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let total = (WRITERS * IMPORTS * CUSTOMERS_PER_IMPORT) as i64;
    assert_eq!(seen, total, "one record per customer, none lost");
    assert_eq!(reader.journal_head().await.unwrap(), total);
    assert!(
        reads > 1,
        "the reader followed the journal while it was written"
    );
}

//! Every import kind says no the same way (issue 7 §9): a key twice in one file, rows that
//! contradict what they refer to, years out of range, files without rows, control
//! characters, and errors that name the column as the file spells it.

use nordlys_app::import::{self, ImportError, ImportKind, ImportReport};

use crate::fixtures::*;

/// Import `csv` as `kind` from a file called `name`, on 2025-02-01.
async fn import_as(
    db: &TestDb,
    kind: ImportKind,
    name: &str,
    csv: &str,
) -> Result<ImportReport, ImportError> {
    let c = clock("2025-02-01T00:00:00Z");
    let store = &db.store;
    let input = csv.as_bytes();
    match kind {
        ImportKind::Customers => import::import_customers(store, name, input, &c).await,
        ImportKind::Accounts => import::import_accounts(store, name, input, &c).await,
        ImportKind::MeteringPoints => import::import_metering_points(store, name, input, &c).await,
        ImportKind::Contracts => import::import_contracts(store, name, input, &c).await,
        ImportKind::SpotPrices => import::import_spot_prices(store, name, input, &c).await,
        ImportKind::ExchangeRates => import::import_exchange_rates(store, name, input, &c).await,
        ImportKind::Usage => import::import_usage(store, name, input, &c).await,
        ImportKind::MeterValues => {
            import::import_meter_values(
                store,
                name,
                std::io::Cursor::new(csv.to_owned().into_bytes()),
                None,
                &c,
                std::sync::Arc::new(nordlys_app::NoProgress),
                import::MeterValueLimits::default(),
            )
            .await
        }
        ImportKind::Products => unreachable!("products are not CSV"),
    }
}

/// The one rejection line of importing `csv` as `kind`.
async fn rejected(db: &TestDb, kind: ImportKind, csv: &str) -> Vec<String> {
    let name = if kind == ImportKind::MeterValues {
        "values.csv".to_owned()
    } else {
        format!("{kind}.csv")
    };
    match import_as(db, kind, &name, csv).await {
        Ok(report) => panic!("{kind}: expected a rejection, got {report}"),
        Err(error) => rejection_lines(error),
    }
}

/// Master data, contracts (S1 on the hourly point, B1 a broadband service from 2025-01-15
/// to 2025-03-01) and the broadband product with its `konsulent` usage component.
async fn db_with_contracts() -> TestDb {
    let db = db_with_master_data().await;
    let c = clock("2025-01-01T00:00:00Z");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products/broadband-business.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    nordlys_app::products::import_products(&db.store, &path, &text, "UTC", &c)
        .await
        .unwrap();
    let contracts = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
         S1,A1,{HOURLY_POINT},NO-SPOT,supplier,2025-01-01,\n\
         B1,A2,,fiber-bedrift-500,service_provider,2025-01-15,2025-03-01\n\
         B2,A2,,not-imported,service_provider,2025-01-15,\n"
    );
    import::import_contracts(&db.store, "contracts.csv", contracts.as_bytes(), &c)
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn the_same_key_twice_in_one_file_is_an_error_naming_both_lines_for_every_kind() {
    let db = db_with_contracts().await;
    let before = db.store.summary().await.unwrap();
    let point = "707057500000000018,NO,NO1,7080005046220,PT60M,electricity,household";
    let cases: [(ImportKind, String, &str); 8] = [
        (
            ImportKind::Customers,
                            "customer_id,kind,country,identity,name\n\
                 K7,person,NO,01010112377,Kari\n\
                 K8,person,NO,01010112377,Ola\n\
                 K7,person,NO,01010112377,Kari Nordmann\n"
                .to_owned(),
            "customers.csv:4: customer_id: \"K7\": customer K7 is already given on line 2 of this file",
        ),
        (
            ImportKind::Accounts,
            "account_id,customer_id,invoice_channel,language\nA7,K1,paper,nb\nA7,K2,paper,nb\n"
                .to_owned(),
            "accounts.csv:3: account_id: \"A7\": account A7 is already given on line 2 of this file",
        ),
        (
            ImportKind::MeteringPoints,
            format!(
                "metering_point_id,market,price_area,grid_owner,resolution,utility,usage\n{point}\n{point}\n"
            ),
            "metering-points.csv:3: metering_point_id: \"707057500000000018\": metering point 707057500000000018 is already given on line 2 of this file",
        ),
        (
            ImportKind::Contracts,
            "contract_id,account_id,product_code,role,start,end\n\
             B7,A2,fiber-bedrift-500,service_provider,2025-01-01,2025-02-01\n\
             B7,A2,fiber-bedrift-500,service_provider,2025-01-01,2025-03-01\n"
                .to_owned(),
            "contracts.csv:3: contract_id: \"B7\": contract B7 is already given on line 2 of this file",
        ),
        (
            ImportKind::ExchangeRates,
            "date,base,quote,rate\n2025-01-02,EUR,NOK,11.795\n2025-01-02,EUR,DKK,7.4587\n2025-01-02,EUR,NOK,11.8\n"
                .to_owned(),
            "exchange-rates.csv:4: date: \"2025-01-02\": the EUR/NOK rate of 2025-01-02 is already given on line 2 of this file",
        ),
        (
            ImportKind::Usage,
            "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\nB1,2025-01-20,konsulent,7.5\n"
                .to_owned(),
            "usage.csv:3: component: \"konsulent\": the usage of konsulent on 2025-01-20 for contract B1 is already given on line 2 of this file",
        ),
        (
            ImportKind::SpotPrices,
            "area,start,end,price,currency,unit\n\
             NO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85.12,EUR,MWh\n\
             NO1,2024-12-31T23:00:00Z,2025-01-01T00:00:00Z,85.12,EUR,MWh\n"
                .to_owned(),
            "spot-prices.csv:3: start: \"2024-12-31T23:00:00Z\": the NO1 price from 2024-12-31T23:00:00Z is already given on line 2 of this file",
        ),
        (
            // Identical rows too: the same interval twice is an error, whatever its value.
            ImportKind::MeterValues,
            format!(
                "metering_point_id,start,end,quantity_kwh,quality\n\
                 {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1.000,measured\n\
                 {HOURLY_POINT},2025-01-01T01:00:00+01:00,2025-01-01T02:00:00+01:00,1.000,measured\n\
                 {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1.000,measured\n"
            ),
            "values.csv:4: start: \"2025-01-01T00:00:00+01:00\": this interval of metering point 707057500000000018 is already given on line 2",
        ),
    ];
    for (kind, csv, expected) in cases {
        assert_eq!(rejected(&db, kind, &csv).await, [expected], "{kind}");
    }
    assert_eq!(db.store.summary().await.unwrap(), before, "nothing stored");
    let usage = db
        .store
        .usage_quantities(
            "B1",
            "2025-01-01".parse().unwrap(),
            "2025-03-01".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(usage.is_empty(), "{usage:?}");
}

#[tokio::test]
async fn an_interval_given_again_after_its_day_was_written_out_is_an_error_too() {
    let db = db_with_master_data().await;
    // With one pending day, every new day hands the previous one on to the writer.
    let csv = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n\
         {HOURLY_POINT},2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,1.000,measured\n\
         {DANISH_POINT},2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,1.000,measured\n\
         {HOURLY_POINT},2025-01-01T01:00:00Z,2025-01-01T02:00:00Z,1.000,measured\n\
         {HOURLY_POINT},2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,2.000,measured\n"
    );
    let error = import_values_with(
        &db,
        &csv,
        "2025-02-01T00:00:00Z",
        import::MeterValueLimits { pending_days: 1 },
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "values.csv:5: start: \"2025-01-01T00:00:00Z\": this interval of metering point 707057500000000018 is already given earlier in the file (in the rows of that day from line 2)"
        ]
    );
    assert_eq!(db.store.summary().await.unwrap().meter_value_chunks, 0);
}

#[tokio::test]
async fn usage_must_fit_its_contract_and_product() {
    let db = db_with_contracts().await;
    let csv = "contract_id,date,component,quantity\n\
               B1,2025-01-20,konsulent,2.5\n\
               B1,2025-01-14,konsulent,1\n\
               B1,2025-03-01,konsulent,1\n\
               B1,2025-01-20,support,1\n\
               B1,2025-01-21,abonnement,1\n\
               B2,2025-01-20,konsulent,1\n\
               B9,2025-01-20,konsulent,1\n";
    assert_eq!(
        rejected(&db, ImportKind::Usage, csv).await,
        [
            "usage.csv:3: date: \"2025-01-14\": is before contract B1 starts (2025-01-15)",
            "usage.csv:4: date: \"2025-03-01\": is not before contract B1's end 2025-03-01 (the end is the first day not covered)",
            "usage.csv:5: component: \"support\": product fiber-bedrift-500 has no usage component of this code (it has: konsulent)",
            "usage.csv:6: component: \"abonnement\": product fiber-bedrift-500 has no usage component of this code (it has: konsulent)",
            "usage.csv:7: contract_id: \"B2\": the contract's product not-imported is not imported (import products first)",
            "usage.csv:8: contract_id: \"B9\": no contract has this id (import contracts first)",
        ]
    );
    let good = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\n";
    let report = import_as(&db, ImportKind::Usage, "usage.csv", good)
        .await
        .unwrap();
    assert_eq!(report.inserted, 1);
}

#[tokio::test]
async fn an_hour_and_a_quarter_hour_within_it_may_not_both_be_priced() {
    let db = empty_db().await;
    let header = "area,start,end,price,currency,unit\n";
    let csv = format!(
        "{header}NO1,2025-10-01T00:00:00+02:00,2025-10-01T01:00:00+02:00,85.12,EUR,MWh\n\
         NO1,2025-10-01T00:15:00+02:00,2025-10-01T00:30:00+02:00,80.00,EUR,MWh\n\
         NO2,2025-10-01T00:15:00+02:00,2025-10-01T00:30:00+02:00,80.00,EUR,MWh\n"
    );
    assert_eq!(
        rejected(&db, ImportKind::SpotPrices, &csv).await,
        [
            "spot-prices.csv:3: start: \"2025-10-01T00:15:00+02:00\": the NO1 price 2025-09-30T22:15:00Z..2025-09-30T22:30:00Z overlaps the 60-minute price 2025-09-30T22:00:00Z..2025-09-30T23:00:00Z on line 2 of this file; an area has one price per instant"
        ]
    );
    assert_eq!(db.store.summary().await.unwrap().spot_prices, 0);

    // Against what is stored: an hour stored, a quarter-hour inside it later.
    let hour =
        format!("{header}NO1,2025-10-01T00:00:00+02:00,2025-10-01T01:00:00+02:00,85.12,EUR,MWh\n");
    import_as(&db, ImportKind::SpotPrices, "hour.csv", &hour)
        .await
        .unwrap();
    let quarter =
        format!("{header}NO1,2025-10-01T00:45:00+02:00,2025-10-01T01:00:00+02:00,80.00,EUR,MWh\n");
    assert_eq!(
        rejected(&db, ImportKind::SpotPrices, &quarter).await,
        [
            "spot-prices.csv:2: start: \"2025-10-01T00:45:00+02:00\": the NO1 price 2025-09-30T22:45:00Z..2025-09-30T23:00:00Z overlaps the 60-minute price 2025-09-30T22:00:00Z..2025-09-30T23:00:00Z stored by an earlier import; an area has one price per instant"
        ]
    );
    // Re-pricing the stored hour as four quarter-hours replaces it: accepted.
    let mut quarters = header.to_owned();
    for q in 0..4 {
        quarters.push_str(&format!(
            "NO1,2025-10-01T00:{:02}:00+02:00,2025-10-01T{}+02:00,80.00,EUR,MWh\n",
            q * 15,
            if q == 3 {
                "01:00:00".to_owned()
            } else {
                format!("00:{:02}:00", q * 15 + 15)
            }
        ));
    }
    let report = import_as(&db, ImportKind::SpotPrices, "quarters.csv", &quarters)
        .await
        .unwrap();
    assert_eq!((report.inserted, report.updated), (3, 1));
}

#[tokio::test]
async fn years_outside_2000_to_2099_are_refused() {
    let db = db_with_master_data().await;
    let rule = "the year must be from 2000 to 2099";
    assert_eq!(
        rejected(
            &db,
            ImportKind::Contracts,
            "contract_id,account_id,product_code,role,start\nB7,A2,x,service_provider,0225-01-01\n"
        )
        .await,
        [format!("contracts.csv:2: start: \"0225-01-01\": {rule}")]
    );
    assert_eq!(
        rejected(
            &db,
            ImportKind::ExchangeRates,
            "date,base,quote,rate\n2100-01-02,EUR,NOK,11.795\n"
        )
        .await,
        [format!(
            "exchange-rates.csv:2: date: \"2100-01-02\": {rule}"
        )]
    );
    let values = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n\
         {HOURLY_POINT},1999-12-31T00:00:00Z,1999-12-31T01:00:00Z,1.000,measured\n"
    );
    assert_eq!(
        rejected(&db, ImportKind::MeterValues, &values).await,
        [format!(
            "values.csv:2: start: \"1999-12-31T00:00:00Z\": {rule} (in UTC)"
        )]
    );
}

#[tokio::test]
async fn a_file_without_rows_stores_nothing_and_says_so() {
    let db = db_with_contracts().await;
    let headers = [
        (
            ImportKind::Customers,
            "customer_id,kind,country,identity,name\n",
        ),
        (
            ImportKind::Accounts,
            "account_id,customer_id,invoice_channel,language\n",
        ),
        (
            ImportKind::MeteringPoints,
            "metering_point_id,market,price_area,grid_owner,resolution,utility,usage\n",
        ),
        (
            ImportKind::Contracts,
            "contract_id,account_id,product_code,role,start\n",
        ),
        (
            ImportKind::MeterValues,
            "metering_point_id,start,end,quantity_kwh,quality\n",
        ),
        (
            ImportKind::SpotPrices,
            "area,start,end,price,currency,unit\n",
        ),
        (ImportKind::ExchangeRates, "date,base,quote,rate\n"),
        (ImportKind::Usage, "contract_id,date,component,quantity\n"),
    ];
    let before = db.store.summary().await.unwrap();
    for (kind, header) in headers {
        let error = import_as(&db, kind, "file.csv", header).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "file.csv has a header but no rows; nothing was stored",
            "{kind}"
        );
        let error = import_as(&db, kind, "file.csv", "").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "file.csv is empty; nothing was stored",
            "{kind}"
        );
    }
    assert_eq!(
        db.store.summary().await.unwrap(),
        before,
        "not even an import is recorded"
    );
}

#[tokio::test]
async fn text_fields_refuse_control_characters_naming_the_column() {
    let db = empty_db().await;
    let csv = "customer_id,kind,country,identity,name,street,city\n\
               K1,person,NO,01010112377,Kari\tNordmann,Storgata 1,Oslo\n\
               K2,person,NO,01010112377,Ola,\"Storgata 1\n0150 Oslo\",Oslo\n\
               K3,person,NO,01010112377,Per,Storgata 1,Oslo\u{85}\n";
    assert_eq!(
        rejected(&db, ImportKind::Customers, csv).await,
        [
            "customers.csv:2: name: \"Kari\\tNordmann\": contains the control character U+0009; text may not hold tabs, line breaks or other control characters",
            "customers.csv:3: street: \"Storgata 1\\n0150 Oslo\": contains the control character U+000A; text may not hold tabs, line breaks or other control characters",
            "customers.csv:5: city: \"Oslo\\u{85}\": contains the control character U+0085; text may not hold tabs, line breaks or other control characters",
        ]
    );
    assert_eq!(db.store.summary().await.unwrap().customers, 0);
}

#[tokio::test]
async fn errors_name_the_column_as_the_file_spells_it_for_every_kind() {
    let db = db_with_contracts().await;
    let long = "x".repeat(101);
    let cases: Vec<(ImportKind, String, String)> = vec![
        (
            ImportKind::Customers,
            "customer_id,kind,country,identity,name\nK7,person,DK,12345,Mette\n".to_owned(),
            "customers.csv:2: identity: \"12345\": a Danish CPR number must be exactly 10 digits".to_owned(),
        ),
        (
            ImportKind::Accounts,
            "account_id,customer_id,invoice_channel,language,invoice_postcode\nA7,K1,paper,nb,15\n"
                .to_owned(),
            "accounts.csv:2: invoice_postcode: \"15\": a Norwegian or Danish postcode is 4 digits".to_owned(),
        ),
        (
            ImportKind::Accounts,
            format!("account_id,customer_id,invoice_channel,language,invoice_county\nA7,K1,paper,nb,{long}\n"),
            format!("accounts.csv:2: invoice_county: \"{}…\": longer than 100 characters", &long[..80]),
        ),
        (
            ImportKind::MeteringPoints,
            "metering_point_id,market,price_area,grid_owner,resolution,utility,usage\n\
             707057500000000018,NO,NO1,708000504622,PT60M,electricity,household\n"
                .to_owned(),
            "metering-points.csv:2: grid_owner: \"708000504622\": a GLN must be exactly 13 digits".to_owned(),
        ),
        (
            ImportKind::Contracts,
            "contract_id,account_id,metering_point_id,product_code,role,start\n\
             S7,A1,70705750000000001,NO-SPOT,supplier,2025-01-01\n"
                .to_owned(),
            "contracts.csv:2: metering_point_id: \"70705750000000001\": a GSRN must be exactly 18 digits".to_owned(),
        ),
        (
            ImportKind::MeterValues,
            format!(
                "metering_point_id,start,end,quantity_kwh,quality\n\
                 {HOURLY_POINT},2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,1,5\n"
            ),
            "values.csv:2: quality: \"5\": must be one of: measured, estimated, missing, corrected".to_owned(),
        ),
        (
            ImportKind::SpotPrices,
            "area,start,end,price,currency,unit\nNO1,2025-01-01T00:00:00+01:00,2025-01-01T01:00:00+01:00,85,EURO,MWh\n"
                .to_owned(),
            "spot-prices.csv:2: currency: \"EURO\": must be one of: NOK, DKK, EUR, SEK, USD".to_owned(),
        ),
        (
            ImportKind::ExchangeRates,
            "date,base,quote,rate\n2025-01-02,EURO,NOK,11.795\n".to_owned(),
            "exchange-rates.csv:2: base: \"EURO\": must be one of: NOK, DKK, EUR, SEK, USD".to_owned(),
        ),
        (
            ImportKind::Usage,
            "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2,5\n".to_owned(),
            "usage.csv:2: row: this row has 5 fields but the header has 4".to_owned(),
        ),
        (
            ImportKind::Usage,
            "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2h\n".to_owned(),
            "usage.csv:2: quantity: \"2h\": not a decimal number (use '.' as the decimal point, no thousands separators)".to_owned(),
        ),
    ];
    for (kind, csv, expected) in cases {
        assert_eq!(rejected(&db, kind, &csv).await, [expected], "{kind}");
    }
}

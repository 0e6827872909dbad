//! Customers, accounts, metering points and contracts: good files, each kind of bad row,
//! idempotent re-import.

use nordlys_app::import;

use crate::fixtures::*;

#[tokio::test]
async fn good_master_data_imports_and_reimport_changes_nothing() {
    let db = db_with_master_data().await;
    let summary = db.store.summary().await.unwrap();
    assert_eq!(
        (summary.customers, summary.accounts, summary.metering_points),
        (3, 3, 4)
    );

    let c = clock("2025-02-01T00:00:00Z");
    let again = import::import_customers(&db.store, "customers.csv", CUSTOMERS.as_bytes(), &c)
        .await
        .unwrap();
    assert_eq!(
        (again.rows, again.inserted, again.updated, again.unchanged),
        (3, 0, 0, 3)
    );
    let again =
        import::import_metering_points(&db.store, "mp.csv", metering_points().as_bytes(), &c)
            .await
            .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 4));

    let renamed = CUSTOMERS.replace("Kari Nordmann", "Kari Nordmann-Berg");
    let changed = import::import_customers(&db.store, "customers.csv", renamed.as_bytes(), &c)
        .await
        .unwrap();
    assert_eq!(
        (changed.inserted, changed.updated, changed.unchanged),
        (0, 1, 2)
    );
}

#[tokio::test]
async fn bad_customer_rows_are_all_listed_and_nothing_is_stored() {
    let db = empty_db().await;
    let csv = "\
customer_id,kind,country,identity,name,email
K1,person,NO,01010112377,Kari Nordmann,kari@example.org
K2,person,NO,01010112376,Ola Nordmann,
K3,company,NO,974760673,Firma AS,
K4,organisation,NO,974760674,Firma AS,
K5,person,DK,0101901234,,
K6,person,NO,01010112377,Per,not-an-address
";
    let error = import::import_customers(
        &db.store,
        "customers.csv",
        csv.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "customers.csv:3: identity: \"01010112376\": the two mod-11 check digits do not match",
            "customers.csv:4: kind: \"company\": must be one of: person, organisation",
            "customers.csv:5: identity: \"974760674\": the mod-11 check digit (weights 3,2,7,6,5,4,3,2) does not match",
            "customers.csv:6: name: \"\": is required",
            "customers.csv:7: email: \"not-an-address\": not an e-mail address (name@domain.tld)",
        ]
    );
    assert_eq!(
        db.store.summary().await.unwrap().customers,
        0,
        "the good first row must not be stored"
    );
}

#[tokio::test]
async fn header_problems_are_reported_on_line_one() {
    let db = empty_db().await;
    let csv = "customer_id,kind,land,identity,name\nK1,person,NO,01010112377,Kari\n";
    let error = import::import_customers(
        &db.store,
        "c.csv",
        csv.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    let lines = rejection_lines(error);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(
            "c.csv:1: header: unknown column \"land\"; the columns are: customer_id,kind,country"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "c.csv:1: header: missing column \"country\"");
}

#[tokio::test]
async fn accounts_need_known_customers() {
    let db = empty_db().await;
    let c = clock("2025-01-01T00:00:00Z");
    import::import_customers(&db.store, "customers.csv", CUSTOMERS.as_bytes(), &c)
        .await
        .unwrap();
    let csv = "account_id,customer_id,payer_customer_id,invoice_channel,language,email\n\
               A1,K1,,email,nb,kari@example.org\n\
               A2,K9,,paper,nb,\n\
               A3,K1,K8,paper,nb,\n\
               A4,K1,,email,nb,\n";
    let error = import::import_accounts(&db.store, "accounts.csv", csv.as_bytes(), &c)
        .await
        .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "accounts.csv:3: customer_id: \"K9\": no customer has this id (import customers first)",
            "accounts.csv:4: payer_customer_id: \"K8\": no customer has this id (import customers first)",
            "accounts.csv:5: email: \"\": is required when invoice_channel is email",
        ]
    );
    assert_eq!(db.store.summary().await.unwrap().accounts, 0);
}

#[tokio::test]
async fn metering_point_rules() {
    let db = empty_db().await;
    let header = "metering_point_id,market,price_area,grid_owner,resolution,utility,usage\n";
    let csv = format!(
        "{header}707057500000000015,NO,NO1,7080005046220,PT60M,electricity,household\n\
         707057500000000018,NO,DK1,7080005046220,PT60M,electricity,household\n\
         707057500000000018,NO,NO1,7080005046220,PT30M,electricity,household\n\
         707057500000000018,NO,NO1,7080005046221,PT60M,electricity,household\n\
         {DANISH_POINT},NO,NO1,7080005046220,PT60M,electricity,household\n"
    );
    let error = import::import_metering_points(
        &db.store,
        "mp.csv",
        csv.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "mp.csv:2: metering_point_id: \"707057500000000015\": a GSRN check digit is 5 but the GS1 mod-10 rule gives 8",
            "mp.csv:3: price_area: \"DK1\": is not a price area of market NO",
            "mp.csv:4: resolution: \"PT30M\": must be one of: PT15M, PT60M",
            "mp.csv:5: grid_owner: \"7080005046221\": a GLN check digit is 1 but the GS1 mod-10 rule gives 0",
            "mp.csv:6: metering_point_id: \"571313180000000005\": metering points in market NO have GSRNs starting with 707057500",
        ]
    );
}

#[tokio::test]
async fn main_fuse_and_norgespris_are_stored_changed_as_updates_and_checked() {
    let db = empty_db().await;
    let c = clock("2025-01-01T00:00:00Z");
    let header = "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,main_fuse_amperes\n";
    let point = "707057500000000018,NO,NO1,7080005046220,PT60M,electricity,household";
    let import = |csv: String| {
        let store = &db.store;
        let c = &c;
        async move { import::import_metering_points(store, "mp.csv", csv.as_bytes(), c).await }
    };
    let report = import(format!("{header}{point},63\n")).await.unwrap();
    assert_eq!(report.inserted, 1);
    let gsrn = nordlys_core::ids::Gsrn::parse("707057500000000018").unwrap();
    let stored = db.store.metering_point(&gsrn).await.unwrap().unwrap();
    assert_eq!(stored.main_fuse_amperes, Some(63));
    // The same again changes nothing; a new size is an update; an empty cell clears it.
    assert_eq!(
        import(format!("{header}{point},63\n"))
            .await
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(
        import(format!("{header}{point},80\n"))
            .await
            .unwrap()
            .updated,
        1
    );
    assert_eq!(
        import(format!("{header}{point},\n")).await.unwrap().updated,
        1
    );
    let stored = db.store.metering_point(&gsrn).await.unwrap().unwrap();
    assert_eq!(stored.main_fuse_amperes, None);
    let error = import(format!("{header}{point},25A\n")).await.unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "mp.csv:2: main_fuse_amperes: \"25A\": a main fuse size is a whole number of amperes from 1 to 10000 (e.g. 25, 63)"
        ]
    );

    // A Norgespris agreement is a date on the point.
    let header = header.replace('\n', ",norgespris_from\n");
    assert_eq!(
        import(format!("{header}{point},63,2025-11-16\n"))
            .await
            .unwrap()
            .updated,
        1
    );
    let stored = db.store.metering_point(&gsrn).await.unwrap().unwrap();
    assert_eq!(
        (stored.main_fuse_amperes, stored.norgespris_from),
        (Some(63), Some(jiff::civil::date(2025, 11, 16)))
    );
    let error = import(format!("{header}{point},63,16.11.2025\n"))
        .await
        .unwrap_err();
    let lines = rejection_lines(error);
    assert!(
        lines.len() == 1 && lines[0].starts_with("mp.csv:2: norgespris_from: \"16.11.2025\""),
        "{lines:?}"
    );
}

#[tokio::test]
async fn contracts_may_not_overlap_for_the_same_point_and_role() {
    let db = db_with_master_data().await;
    let c = clock("2025-01-01T00:00:00Z");
    let good = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
         S1,A1,{HOURLY_POINT},NO-SPOT,supplier,2024-01-01,2025-03-01\n\
         S2,A1,{HOURLY_POINT},NO-SPOT,supplier,2025-03-01,\n\
         G1,A1,{HOURLY_POINT},NO-GRID,grid_owner,2024-01-01,\n\
         B1,A2,,BROADBAND-500,service_provider,2025-01-15,\n"
    );
    let report = import::import_contracts(&db.store, "contracts.csv", good.as_bytes(), &c)
        .await
        .unwrap();
    assert_eq!(report.inserted, 4);

    let bad = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
         S3,A1,{HOURLY_POINT},OTHER,supplier,2025-02-15,2025-04-01\n\
         S4,A9,{HOURLY_POINT},NO-SPOT,supplier,2030-01-01,\n\
         S5,A1,707057500000000032,NO-SPOT,supplier,2030-01-01,\n\
         S6,A1,{HOURLY_POINT},NO-SPOT,supplier,2030-02-01,2030-01-01\n\
         S7,A1,,NO-SPOT,supplier,2030-01-01,\n"
    );
    let error = import::import_contracts(&db.store, "contracts.csv", bad.as_bytes(), &c)
        .await
        .unwrap_err();
    assert_eq!(
        rejection_lines(error),
        [
            "contracts.csv:2: start: \"2025-02-15\": S3 2025-02-15..2025-04-01 overlaps contract S1 (2024-01-01..2025-03-01) for the same metering point and role supplier",
            "contracts.csv:3: account_id: \"A9\": no account has this id (import accounts first)",
            "contracts.csv:4: metering_point_id: \"707057500000000032\": unknown metering point (import metering points first)",
            "contracts.csv:5: end: \"2030-01-01\": must be after start 2030-02-01",
            "contracts.csv:6: metering_point_id: \"\": a supplier contract needs a metering point; only service_provider contracts may have none",
        ]
    );
    let stored = db
        .store
        .contracts_of_point(&HOURLY_POINT.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|c| c.contract_id.as_str())
            .collect::<Vec<_>>(),
        ["G1", "S1", "S2"]
    );
}

#[tokio::test]
async fn overlap_within_one_file_is_caught() {
    let db = db_with_master_data().await;
    let csv = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
         S1,A1,{HOURLY_POINT},NO-SPOT,supplier,2025-01-01,\n\
         S2,A1,{HOURLY_POINT},NO-SPOT,supplier,2025-06-01,\n"
    );
    let error = import::import_contracts(
        &db.store,
        "c.csv",
        csv.as_bytes(),
        &clock("2025-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert!(
        rejection_lines(error)[0]
            .starts_with("c.csv:3: start: \"2025-06-01\": S2 2025-06-01.. overlaps contract S1")
    );
    assert_eq!(db.store.summary().await.unwrap().contracts, 0);
}

//! Shared fixtures: a fresh database per test and small CSV files written in the tests' own words.

use std::sync::Arc;

use jiff::Timestamp;
use nordlys_app::import::{self, ImportError, ImportReport, MeterValueLimits};
use nordlys_app::{FixedClock, NoProgress};
use nordlys_store::Store;
use tempfile::TempDir;

pub const HOURLY_POINT: &str = "707057500000000018";
pub const QUARTER_POINT: &str = "707057500000000025";
pub const DANISH_POINT: &str = "571313180000000005";
pub const SECOND_HOURLY_POINT: &str = "707057500000000094";

pub struct TestDb {
    pub store: Store,
    location: String,
    _dir: TempDir,
}

impl TestDb {
    /// The database (a SQLite file, or a PostgreSQL URL when the suite runs on PostgreSQL),
    /// for a second connection (another process's view).
    pub fn path(&self) -> String {
        self.location.clone()
    }
}

/// A fresh database of its own for one test, on the backend the suite runs on
/// (see `nordlys_store::testing`).
pub async fn empty_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let location = nordlys_store::testing::fresh_database(dir.path()).await;
    let store = Store::open(&location).await.unwrap();
    TestDb {
        store,
        location,
        _dir: dir,
    }
}

pub fn clock(at: &str) -> FixedClock {
    FixedClock(at.parse::<Timestamp>().unwrap())
}

pub const CUSTOMERS: &str = "\
customer_id,kind,country,identity,name,email,phone,street,postcode,city,municipality,county
K1,person,NO,01010112377,Kari Nordmann,kari@example.org,+4790000000,Storgata 1,0150,Oslo,0301,Oslo
K2,organisation,NO,974760673,Brønnøysund AS,post@example.org,,Havnegata 2,8900,Brønnøysund,1813,Nordland
K3,person,DK,010190-1234,Mette Hansen,mette@example.dk,,Strandvejen 3,2100,København,101,Hovedstaden
";

pub const ACCOUNTS: &str = "\
account_id,customer_id,payer_customer_id,invoice_channel,language,email
A1,K1,,email,nb,kari@example.org
A2,K2,,ehf,nb,
A3,K3,K1,paper,da,
";

pub fn metering_points() -> String {
    format!(
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,street,postcode,city,municipality,county\n\
         {HOURLY_POINT},NO,NO1,7080005046220,PT60M,electricity,household,Storgata 1,0150,Oslo,0301,Oslo\n\
         {QUARTER_POINT},NO,NO1,7080005046220,PT15M,electricity,business,Havnegata 2,8900,Brønnøysund,1813,Nordland\n\
         {DANISH_POINT},DK,DK2,5790000610099,PT60M,electricity,household,Strandvejen 3,2100,København,101,Hovedstaden\n\
         {SECOND_HOURLY_POINT},NO,NO1,7080005046220,PT60M,electricity,household,Kirkeveien 9,0368,Oslo,0301,Oslo\n"
    )
}

/// A database with customers, accounts and metering points.
pub async fn db_with_master_data() -> TestDb {
    let db = empty_db().await;
    let c = clock("2025-01-01T00:00:00Z");
    import::import_customers(&db.store, "customers.csv", CUSTOMERS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_accounts(&db.store, "accounts.csv", ACCOUNTS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_metering_points(
        &db.store,
        "metering-points.csv",
        metering_points().as_bytes(),
        &c,
    )
    .await
    .unwrap();
    db
}

pub async fn import_values(db: &TestDb, csv: &str, at: &str) -> Result<ImportReport, ImportError> {
    import_values_with(db, csv, at, MeterValueLimits::default()).await
}

pub async fn import_values_with(
    db: &TestDb,
    csv: &str,
    at: &str,
    limits: MeterValueLimits,
) -> Result<ImportReport, ImportError> {
    import::import_meter_values(
        &db.store,
        "values.csv",
        std::io::Cursor::new(csv.to_owned().into_bytes()),
        None,
        &clock(at),
        Arc::new(NoProgress),
        limits,
    )
    .await
}

/// The rejection message lines of an import error, for exact assertions.
pub fn rejection_lines(error: ImportError) -> Vec<String> {
    match error {
        ImportError::Rejected { .. } => error
            .to_string()
            .lines()
            .skip(1)
            .map(|l| l.trim().to_owned())
            .collect(),
        other => panic!("expected a rejection, got {other}"),
    }
}

//! On PostgreSQL a large import holds row locks, not one advisory lock per metering point: the
//! shared lock table (`max_locks_per_transaction` per connection) ran out at about 20,000
//! metering points in one import ("out of shared memory"), which row locks never do.

use nordlys_core::ids::{Gln, Gsrn};
use nordlys_core::model::{
    Address, DayReadings, Market, MeteringPoint, PriceArea, Quality, UsageKind, Utility,
};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::Resolution;
use nordlys_store::{ImportCounts, Store};
use sqlx::Connection;

#[tokio::test]
async fn an_import_of_readings_takes_no_lock_table_slot_per_metering_point() {
    let Some(server) = nordlys_store::testing::postgres_server() else {
        eprintln!(
            "skipped: PostgreSQL tests need NORDLYS_TEST_POSTGRES_URL (scripts/pg-cluster.sh)"
        );
        return;
    };
    let location = nordlys_store::testing::create_postgres_database(&server).await;
    let store = Store::open(&location).await.unwrap();
    let now = "2025-02-01T00:00:00Z".parse().unwrap();
    const POINTS: u64 = 50;
    let mut tx = store.begin_import("test", "locks", now).await.unwrap();
    for n in 0..POINTS {
        tx.upsert_metering_point(&MeteringPoint {
            metering_point_id: Gsrn::from_body(&format!("70705750{:09}", n + 1)).unwrap(),
            market: Market::No,
            price_area: PriceArea::No1,
            grid_owner: Gln::parse("7080005046220").unwrap(),
            resolution: Resolution::Pt60m,
            utility: Utility::Electricity,
            usage: UsageKind::Household,
            address: Address {
                street: "Storgata 1".into(),
                postcode: "0150".into(),
                city: "Oslo".into(),
                municipality: "0301".into(),
                county: "Oslo".into(),
            },
            main_fuse_amperes: None,
            norgespris_from: None,
        })
        .await
        .unwrap();
    }
    tx.commit(ImportCounts::default()).await.unwrap();

    let points = store.point_refs().await.unwrap();
    let mut tx = store.begin_import("test", "locks", now).await.unwrap();
    for point in points.values() {
        let mut day = DayReadings::new(20_089, Resolution::Pt60m);
        for slot in 0..24 {
            day.set(slot, EnergyWh(500), Quality::Measured);
        }
        tx.merge_day_chunks(point.id, point.gsrn.as_str(), vec![day])
            .await
            .unwrap();
    }
    // While the import is open, seen from another connection.
    let mut observer = sqlx::AnyConnection::connect(&location).await.unwrap();
    let advisory: i64 =
        // This test's own database only: tests of other databases run at the same time.
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
            .fetch_one(&mut observer)
            .await
            .unwrap();
    assert_eq!(
        advisory, 0,
        "{POINTS} metering points' readings took {advisory} advisory locks"
    );
    tx.commit(ImportCounts::default()).await.unwrap();
    assert_eq!(
        store.summary().await.unwrap().meter_value_chunks,
        POINTS as i64
    );
}

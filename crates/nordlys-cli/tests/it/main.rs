//! End-to-end tests of the real `nordlys` binary on temporary files, as a user runs it.

mod changes;
mod concurrency;
mod db;
mod documents;
mod imports;
mod rate;
mod workers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod invoices;
mod payments;
mod peppol;

/// The demo utility of 60 customers and January 2025 with seed 7, billed, not served: the
/// utility many tests read (F-1…F-59, a correction K-1 and F-60).
const BILLED_DEMO_60: [&str; 8] = [
    "demo",
    "--customers",
    "60",
    "--months",
    "1",
    "--seed",
    "7",
    "--no-serve",
];

struct Workdir {
    dir: tempfile::TempDir,
    /// The database `--db` names: a SQLite file in `dir`, or a PostgreSQL database of this
    /// test's own when the suite runs on PostgreSQL (`nordlys_store::testing`).
    db: String,
}

/// Run `future` to completion on a runtime of its own (the tests here are synchronous).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = block_on(nordlys_store::testing::fresh_database(dir.path()));
        Workdir { dir, db }
    }
    /// A work folder on SQLite whatever the suite's backend (a reference run).
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db").display().to_string();
        Workdir { dir, db }
    }
    /// A work folder on the database `db`.
    fn with_database(db: String) -> Self {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            db,
        }
    }
    /// A new work folder whose database is a copy of `base`'s (no process may be using it).
    fn copy_of(base: &Workdir) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = block_on(nordlys_store::testing::copy_database(&base.db, dir.path()));
        Workdir { dir, db }
    }
    fn db(&self) -> &str {
        &self.db
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
    /// Run `nordlys --db <the test database> ARGS` in the temporary folder.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nordlys"))
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env_remove("NORDLYS_DATABASE_URL")
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "nordlys {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(!out.status.success(), "nordlys {args:?} should fail");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

const CUSTOMERS: &str = "customer_id,kind,country,identity,name,email\nK1,person,NO,01010112377,Kari Nordmann,kari@example.org\n";
const ACCOUNTS: &str =
    "account_id,customer_id,invoice_channel,language,email\nA1,K1,email,nb,kari@example.org\n";
const POINTS: &str = "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,municipality\n\
                      707057500000000018,NO,NO1,7080005046220,PT15M,electricity,household,0301\n";
const CONTRACTS: &str = "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
                         S1,A1,707057500000000018,NO-SPOT,supplier,2025-01-01,\n";

fn quarter_hours(first_hour: u32, hours: u32, kwh: &str, quality: &str) -> String {
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for q in first_hour * 4..(first_hour + hours) * 4 {
        let (h, m) = (q / 4, q % 4 * 15);
        let (eh, em) = ((q + 1) / 4, (q + 1) % 4 * 15);
        csv.push_str(&format!(
            "707057500000000018,2025-01-15T{h:02}:{m:02}:00+01:00,2025-01-15T{eh:02}:{em:02}:00+01:00,{kwh},{quality}\n"
        ));
    }
    csv
}

fn with_master_data() -> Workdir {
    let w = Workdir::new();
    for (kind, file, csv) in [
        ("customers", "customers.csv", CUSTOMERS),
        ("accounts", "accounts.csv", ACCOUNTS),
        ("metering-points", "points.csv", POINTS),
        ("contracts", "contracts.csv", CONTRACTS),
    ] {
        let path = w.write(file, csv);
        let out = w.ok(&["import", kind, arg(&path)]);
        assert!(
            out.contains("1 rows imported") && out.contains("1 records new"),
            "{out}"
        );
    }
    w
}

#[test]
fn import_export_round_trip_and_corrections() {
    let w = with_master_data();
    let original = quarter_hours(0, 6, "0.250", "measured");
    let file = w.write("values.csv", &original);
    let out = w.ok(&["import", "meter-values", arg(&file)]);
    // 00:00–06:00 +01:00 spans two UTC days.
    assert!(
        out.contains("24 rows imported as meter-values: 2 days new"),
        "{out}"
    );

    let again = w.ok(&["import", "meter-values", arg(&file)]);
    assert!(
        again.contains("0 days new, 0 changed (new version or update), 2 unchanged"),
        "{again}"
    );

    let exported = w.ok(&[
        "export",
        "meter-values",
        "--metering-point",
        "707057500000000018",
    ]);
    assert_eq!(exported, original, "export must print what was imported");

    // A correction for two hours; the first version stays readable with --as-of.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let before_correction = jiff::Timestamp::now().to_string();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let fix = w.write("fix.csv", &quarter_hours(2, 2, "0.300", "corrected"));
    let out = w.ok(&["import", "meter-values", arg(&fix)]);
    assert!(
        out.contains("0 days new, 1 changed (new version or update), 0 unchanged"),
        "{out}"
    );
    let latest = w.ok(&[
        "export",
        "meter-values",
        "--metering-point",
        "707057500000000018",
        "--from",
        "2025-01-15",
        "--to",
        "2025-01-16",
    ]);
    assert_eq!(
        latest
            .lines()
            .filter(|l| l.ends_with("0.300,corrected"))
            .count(),
        8
    );
    let old = w.ok(&[
        "export",
        "meter-values",
        "--metering-point",
        "707057500000000018",
        "--as-of",
        &before_correction,
    ]);
    assert_eq!(old, original);
}

#[test]
fn a_bad_file_is_rejected_with_file_line_and_column() {
    let w = with_master_data();
    let mut csv = quarter_hours(0, 1, "0.250", "measured");
    csv.push_str(
        "707057500000000018,2025-01-15T01:00:00+01:00,2025-01-15T01:15:00+01:00,-1,measured\n",
    );
    let file = w.write("bad.csv", &csv);
    let (code, stderr) = w.fails(&["import", "meter-values", arg(&file)]);
    assert_eq!(code, 1);
    let name = file.display().to_string();
    assert!(
        stderr.contains(&format!("{name} was rejected; nothing of it was stored:")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:6: quantity_kwh: \"-1\": a consumption value cannot be negative"
        )),
        "{stderr}"
    );
    let status = w.ok(&["status"]);
    assert!(status.contains("meter-value days  0 "), "{status}");
}

#[test]
fn usage_errors_and_missing_files() {
    let w = Workdir::new();
    let (code, stderr) = w.fails(&["import", "planets", "x.csv"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value 'planets'"), "{stderr}");
    let (code, stderr) = w.fails(&["import", "customers", "does-not-exist.csv"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot open does-not-exist.csv"),
        "{stderr}"
    );
    let (_, stderr) = w.fails(&["export", "meter-values", "--metering-point", "123"]);
    assert!(
        stderr.contains("--metering-point \"123\": a GSRN must be exactly 18 digits"),
        "{stderr}"
    );
}

#[test]
fn demo_builds_a_utility_and_refuses_a_used_database() {
    let w = Workdir::new();
    let out = w.ok(&BILLED_DEMO_60);
    assert!(out.contains("60 customers, 60 metering points"), "{out}");
    assert!(out.contains("period 2025-01-01 .. 2025-02-01"), "{out}");
    let status = w.ok(&["status"]);
    assert!(status.contains("metering points   60"), "{status}");
    assert!(
        status.contains("spot prices       5208"),
        "7 areas × 744 hours: {status}"
    );
    let (code, stderr) = w.fails(&["demo"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already holds data"), "{stderr}");

    // The same seed builds and bills the same utility (timings aside).
    let other = Workdir::new();
    let again = other.ok(&BILLED_DEMO_60);
    let stable = |text: &str, db: &str| -> Vec<String> {
        text.replace(db, "")
            .lines()
            .filter(|l| !l.contains(" s"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(stable(&again, other.db()), stable(&out, w.db()));
    // Metering point 13 misses a day: its account waits; everyone else is invoiced.
    assert!(
        out.contains("invoices 59, credit notes 0 (numbers F 1–59)"),
        "{out}"
    );
    assert!(
        out.contains("2025-01 C000013-G 570000000000000145: readings incomplete: 24 absent"),
        "{out}"
    );
    // The corrected day arrives after settlement: a credit note and a new invoice.
    assert!(
        out.contains("invoices 1, credit notes 1 (numbers K 1–1, F 60–60)"),
        "{out}"
    );
}

#[test]
fn bench_import_reports_machine_size_and_figures() {
    let w = Workdir::new();
    let dir = w.path("bench");
    let out = w.ok(&[
        "bench",
        "import",
        "--rows",
        "20000",
        "--metering-points",
        "2",
        "--dir",
        arg(&dir),
    ]);
    assert!(out.contains("machine: "), "{out}");
    assert!(
        out.contains("input:   20000 rows = 2 metering points × 10000 quarter-hours"),
        "{out}"
    );
    assert!(out.contains("imported 20000 rows in"), "{out}");
    assert!(out.contains("KB per metering-point-year"), "{out}");
    assert!(
        !dir.join("meter-values.csv").exists(),
        "generated files are removed without --keep"
    );
}

fn documents_in(w: &Workdir) -> usize {
    let status = w.ok(&["status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("documents"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_killed_settlement_run_leaves_no_half_invoice_and_no_gap() {
    let w = Workdir::new();
    w.ok(&["demo", "--customers", "600", "--months", "1", "--no-bill"]);
    assert!(
        !w.path("test.db-wal").exists()
            || std::fs::metadata(w.path("test.db-wal")).unwrap().len() == 0
    );
    let clean = Workdir::copy_of(&w);

    let mut child = Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .arg("--db")
        .arg(w.db())
        .args(["bill", "--period", "2025-01", "--batch-size", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while documents_in(&w) == 0 && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let at_kill = documents_in(&w);
    assert!(
        at_kill > 0,
        "the run should have issued something before it was killed"
    );

    // The rerun completes the rest; the result equals an uninterrupted run, number for number.
    let rerun = w.ok(&["bill", "--period", "2025-01"]);
    assert!(
        rerun_settled(&rerun) >= at_kill,
        "every contract of a committed invoice counts as settled: {rerun}"
    );
    // The same batches as the killed run (batches are accounts by a hash of their id).
    clean.ok(&["bill", "--period", "2025-01", "--batch-size", "1"]);
    // Without the internal id, which a rolled-back insert may skip on PostgreSQL: the
    // documents, numbers and KIDs are the business record.
    let list = |d: &Workdir| -> String {
        d.ok(&["invoices", "list", "--limit", "100000"])
            .lines()
            .map(|l| {
                l.trim_start()
                    .split_once(' ')
                    .map_or("", |(_, rest)| rest)
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (resumed, uninterrupted) = (list(&w), list(&clean));
    assert_eq!(resumed, uninterrupted, "killed after {at_kill} documents");
    let numbers: Vec<i64> = resumed
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split_whitespace()
                .nth(2)?
                .strip_prefix("F-")?
                .parse()
                .ok()
        })
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (1..=numbers.len() as i64).collect::<Vec<_>>(),
        "gapless F series"
    );
}

/// The "already settled before N" figure of a settlement report.
fn rerun_settled(report: &str) -> usize {
    report
        .split("already settled before ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
fn bill_dry_run_stores_nothing_and_bill_needs_a_period() {
    let w = Workdir::new();
    w.ok(&["demo", "--customers", "30", "--months", "1", "--no-bill"]);
    let dry = w.ok(&["bill", "--period", "2025-01", "--dry-run"]);
    assert!(
        dry.contains("Settlement 2025-01 (dry run, nothing stored)"),
        "{dry}"
    );
    assert!(
        dry.contains("invoices 29"),
        "metering point 13 misses a day: {dry}"
    );
    assert_eq!(documents_in(&w), 0);
    let (code, stderr) = w.fails(&["bill"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("give --period YYYY-MM"), "{stderr}");
    let (_, stderr) = w.fails(&["bill", "--period", "2025-13"]);
    assert!(
        stderr.contains("--period \"2025-13\": a month is written YYYY-MM"),
        "{stderr}"
    );
}

fn example(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products")
        .join(path)
        .display()
        .to_string()
}

/// A day of hourly load: 1 kWh each hour, 4 kWh at 18:00.
fn one_day_load() -> String {
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for h in 0..24 {
        let kwh = if h == 18 { "4.000" } else { "1.000" };
        csv.push_str(&format!(
            "707057500000000018,2025-01-06T{h:02}:00:00+01:00,{},{kwh},measured\n",
            if h == 23 {
                "2025-01-07T00:00:00+01:00".to_owned()
            } else {
                format!("2025-01-06T{:02}:00:00+01:00", h + 1)
            }
        ));
    }
    csv
}

#[test]
fn rate_prints_lines_in_json_and_explains_them() {
    let w = Workdir::new();
    let load = w.write("load.csv", &one_day_load());
    let mut prices = String::from("area,start,end,price,currency,unit\n");
    for h in 0..24 {
        let start = format!("2025-01-06T{h:02}:00:00+01:00");
        let end = if h == 23 {
            "2025-01-07T00:00:00+01:00".to_owned()
        } else {
            format!("2025-01-06T{:02}:00:00+01:00", h + 1)
        };
        prices.push_str(&format!(
            "NO1,{start},{end},{},NOK,kWh\n",
            if h == 18 { "2.00" } else { "0.50" }
        ));
    }
    let prices = w.write("prices.csv", &prices);
    // Without prices, the household's strømstøtte cannot be computed: the message says so.
    let (_, stderr) = w.fails(&[
        "rate",
        "--tariff",
        &example("no-elvia-grid-2025.toml"),
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
    ]);
    assert!(stderr.contains("spot prices are needed"), "{stderr}");
    let out = w.ok(&[
        "rate",
        "--tariff",
        &example("no-elvia-grid-2025.toml"),
        "--load",
        arg(&load),
        "--prices",
        arg(&prices),
        "--area",
        "NO1",
        "--municipality",
        "0301",
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
        "--format",
        "json",
        "--explain",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["currency"], "NOK");
    let period = &json["periods"][0];
    assert_eq!(period["period"], "2025-01-06..2025-01-07");
    let lines = period["lines"].as_array().unwrap();
    let energy: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "energy").collect();
    // Monday: 16 day hours (06–22) hold 15 × 1 + 4 = 19 kWh; 8 night hours 8 kWh.
    let quantities: Vec<&str> = energy
        .iter()
        .map(|l| l["quantity"].as_str().unwrap())
        .collect();
    assert!(
        quantities.contains(&"19") && quantities.contains(&"8"),
        "{quantities:?}"
    );
    let capacity = lines.iter().find(|l| l["kind"] == "capacity").unwrap();
    assert!(
        capacity["explanation"][0]
            .as_str()
            .unwrap()
            .contains("2025-01-06 18:00-19:00 4.000 kWh"),
        "{capacity}"
    );
    // Strømstøtte only in the 18:00 hour: 4 kWh × 90 % × (2.00 − 0.75) = 4.50 credit.
    let subsidy = lines.iter().find(|l| l["kind"] == "subsidy").unwrap();
    assert_eq!(subsidy["net"], "-4.50", "{subsidy}");
    let tax = lines.iter().find(|l| l["kind"] == "tax").unwrap();
    assert_eq!(tax["vat_rate"], "25");
    let net: rust_decimal::Decimal = lines
        .iter()
        .map(|l| {
            l["net"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        net.to_string(),
        period["net"].as_str().unwrap(),
        "lines sum to the period's net"
    );
    assert_eq!(json["total"], period["total"]);
}

#[test]
fn rate_refuses_holes_and_bad_tariffs_with_where_and_what() {
    let w = Workdir::new();
    let holey: String = one_day_load()
        .lines()
        .filter(|l| !l.contains(",2025-01-06T05:00:00+01:00,2025-01-06T06"))
        .map(|l| format!("{l}\n"))
        .collect();
    let load = w.write("load.csv", &holey);
    let (code, stderr) = w.fails(&[
        "rate",
        "--tariff",
        &example("no-spot.toml"),
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
        "--prices",
        arg(&load),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("header: unknown column \"metering_point_id\""),
        "prices file is checked: {stderr}"
    );
    let (_, stderr) = w.fails(&[
        "rate",
        "--tariff",
        &example("no-elvia-grid-2025.toml"),
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
    ]);
    assert!(
        stderr.contains("the load has a hole: no value for 2025-01-06T05:00:00+01:00"),
        "{stderr}"
    );
    let bad = w.write(
        "bad.toml",
        &std::fs::read_to_string(example("no-spot.toml"))
            .unwrap()
            .replace(
                "averaging = \"interval\"",
                "averaging = \"interval\"\ncolour = \"blue\"",
            ),
    );
    let (_, stderr) = w.fails(&["products", "validate", arg(&bad)]);
    assert!(
        stderr.contains("colour"),
        "an unknown field is named: {stderr}"
    );
}

#[test]
fn every_fri_nettleie_file_imports_as_products() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/fri-nettleie/tariffer");
    if !data.is_dir() {
        eprintln!(
            "skipped: {} is absent (the shared data lies beside the repository)",
            data.display()
        );
        return;
    }
    let w = Workdir::new();
    let mut files: Vec<String> = Vec::new();
    for dir in [data.clone(), data.join("old")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yml") {
                files.push(path.display().to_string());
            }
        }
    }
    assert!(files.len() >= 70, "{} files", files.len());
    let mut args = vec!["import", "products"];
    args.extend(files.iter().map(String::as_str));
    let out = w.ok(&args);
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("rows imported as products"))
            .count(),
        files.len()
    );
    let status = w.ok(&["status"]);
    let products: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("products"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(
        products >= files.len(),
        "{products} products from {} files",
        files.len()
    );
}

#[test]
fn bench_rate_reports_throughput_as_json() {
    let w = Workdir::new();
    let out = w.ok(&[
        "bench",
        "rate",
        "--metering-points",
        "50",
        "--peer",
        "none",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["metering_points"], 50);
    assert_eq!(json["intervals_per_month"], 2976, "January at 15 minutes");
    assert_eq!(json["resolution"], "PT15M");
    for key in [
        "metering_point_months_per_second",
        "metering_point_months_per_second_one_thread",
        "readings_per_second",
    ] {
        assert!(json[key].as_f64().unwrap() > 0.0, "{key}: {json}");
    }
    assert!(json["machine"].as_str().unwrap().contains("cores"));
    let (_, stderr) = w.fails(&["bench", "rate", "--resolution", "PT5M"]);
    assert!(
        stderr.contains("--resolution \"PT5M\": must be one of: PT15M, PT60M"),
        "{stderr}"
    );
    let (_, stderr) = w.fails(&["bench", "rate", "--peer", "excel"]);
    assert!(
        stderr.contains("--peer \"excel\": must be one of: duckdb, sam, all, none"),
        "{stderr}"
    );
}

#[test]
fn urdb_rates_import_validate_and_rate() {
    let w = Workdir::new();
    let rate = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../nordlys-rating/tests/it/urdb/tou-residential.json")
        .display()
        .to_string();
    let out = w.ok(&["products", "validate", &rate]);
    assert!(
        out.contains(
            "urdb-test-tou-residential (Residential Time of Use (test), 3 components) is valid"
        ),
        "{out}"
    );
    let out = w.ok(&[
        "import",
        "products",
        &rate,
        "--timezone",
        "America/New_York",
    ]);
    assert!(
        out.contains("1 rows imported as products: 1 records new"),
        "{out}"
    );

    // Monday 2025-01-06 in New York, 1 kWh every hour.
    let mut load = String::from("start,end,quantity_kwh\n");
    for h in 0..24 {
        let end = if h == 23 {
            "2025-01-07T00:00:00-05:00".to_owned()
        } else {
            format!("2025-01-06T{:02}:00:00-05:00", h + 1)
        };
        load.push_str(&format!("2025-01-06T{h:02}:00:00-05:00,{end},1\n"));
    }
    let load = w.write("load.csv", &load);
    let out = w.ok(&[
        "rate",
        "--tariff",
        &rate,
        "--timezone",
        "America/New_York",
        "--no-statutory",
        "--load",
        arg(&load),
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["currency"], "USD");
    // On-peak 16–21: 5 kWh × 0.25 = 1.25; off-peak 19 kWh × 0.11 = 2.09; fixed 10 × 1/31 = 0.32.
    assert_eq!(json["total"], "3.66", "{out}");
    let (_, stderr) = w.fails(&[
        "rate",
        "--tariff",
        &rate,
        "--no-statutory",
        "--load",
        arg(&load),
        "--timezone",
        "Mars/Olympus",
    ]);
    assert!(stderr.contains("not a known IANA time zone"), "{stderr}");
}

#[test]
fn rate_prices_a_main_fuse_tariff_by_the_given_fuse() {
    let w = Workdir::new();
    let load = w.write("load.csv", &one_day_load());
    let tariff = example("no-grid-main-fuse.toml");
    let rate = |fuse: Option<&str>| {
        let mut args = rate_on_january_6(&tariff, arg(&load));
        args.push("--no-statutory");
        if let Some(fuse) = fuse {
            args.extend(["--main-fuse-amperes", fuse]);
        }
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let args = rate(Some("80"));
    let out = w.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // 6000 a year = 500 a month, one day of January's 31: 16.13.
    assert!(
        out.contains("Fastledd 63–125 A") && out.contains("16.13"),
        "{out}"
    );
    let args = rate(None);
    let (_, stderr) = w.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr.contains("--main-fuse-amperes for `nordlys rate`"),
        "{stderr}"
    );
    let args = rate(Some("25A"));
    let (_, stderr) = w.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr
            .contains("--main-fuse-amperes \"25A\": a main fuse size is a whole number of amperes"),
        "{stderr}"
    );
}

#[test]
fn rate_takes_a_norgespris_agreement_date() {
    let w = Workdir::new();
    let load = w.write("load.csv", &one_day_load());
    let tariff = example("no-elvia-grid-2025.toml");
    let run = |from: &str| {
        let mut args = rate_on_january_6(&tariff, arg(&load));
        args.extend(["--norgespris-from", from]);
        w.fails(&args).1
    };
    // An agreement dated before the scheme began says so.
    let stderr = run("2025-01-01");
    assert!(stderr.contains("Norgespris starts 2025-10-01"), "{stderr}");
    let stderr = run("16.11.2025");
    assert!(
        stderr.contains("--norgespris-from \"16.11.2025\""),
        "{stderr}"
    );
}

/// `nordlys rate` of one tariff over a load for 6 January 2025.
fn rate_on_january_6<'a>(tariff: &'a str, load: &'a str) -> Vec<&'a str> {
    vec![
        "rate",
        "--tariff",
        tariff,
        "--load",
        load,
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
    ]
}

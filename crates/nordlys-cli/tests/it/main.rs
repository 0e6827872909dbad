//! End-to-end tests of the real `nordlys` binary on temporary files, as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
    /// Run `nordlys --db <tmp>/test.db ARGS` in the temporary folder.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nordlys"))
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(self.path("test.db"))
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
    let out = w.ok(&["demo", "--customers", "60", "--months", "1", "--seed", "7"]);
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
    let again = other.ok(&["demo", "--customers", "60", "--months", "1", "--seed", "7"]);
    let stable = |text: &str, db: &Path| -> Vec<String> {
        text.replace(arg(db), "")
            .lines()
            .filter(|l| !l.contains(" s"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        stable(&again, &other.path("test.db")),
        stable(&out, &w.path("test.db"))
    );
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

//! Billing runs started together, as real processes: each correction is issued exactly once,
//! whether the second run is refused (naming the run in progress) or waits for the first.

use std::process::{Child, Command, Stdio};

use super::{Workdir, arg, example};

const ACCOUNTS_N: usize = 120;

/// A utility of `ACCOUNTS_N` households on a fixed-price product with hourly readings for
/// January 2025, settled once.
fn settled_utility() -> Workdir {
    let w = Workdir::new();
    let mut customers = String::from("customer_id,kind,country,identity,name,email\n");
    let mut accounts = String::from("account_id,customer_id,invoice_channel,language,email\n");
    let mut points = String::from(
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,municipality\n",
    );
    let mut contracts =
        String::from("contract_id,account_id,metering_point_id,product_code,role,start,end\n");
    for i in 0..ACCOUNTS_N {
        customers.push_str(&format!("K{i},organisation,NO,974760673,Kunde {i},\n"));
        accounts.push_str(&format!("A{i},K{i},paper,nb,\n"));
        let gsrn = gsrn(i);
        points.push_str(&format!(
            "{gsrn},NO,NO1,7080005046220,PT60M,electricity,household,0301\n"
        ));
        contracts.push_str(&format!(
            "S{i},A{i},{gsrn},no-fastpris-12,supplier,2025-01-01,\n"
        ));
    }
    w.ok(&["import", "products", &example("no-fixed-price.toml")]);
    for (kind, name, csv) in [
        ("customers", "customers.csv", customers),
        ("accounts", "accounts.csv", accounts),
        ("metering-points", "points.csv", points),
        ("contracts", "contracts.csv", contracts),
        ("meter-values", "values.csv", january("0.500")),
    ] {
        let path = w.write(name, &csv);
        w.ok(&["import", kind, arg(&path)]);
    }
    let report = w.ok(&["bill", "--period", "2025-01"]);
    assert!(
        report.contains(&format!("invoices {ACCOUNTS_N}, credit notes 0")),
        "{report}"
    );
    w
}

/// A GSRN with a valid GS1 check digit.
pub(super) fn gsrn(i: usize) -> String {
    let body = format!("70705750000{i:06}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(k, b)| u32::from(b - b'0') * if k % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Hourly readings of every point for January 2025 (the hours of the local month), `kwh` each.
fn january(kwh: &str) -> String {
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    let start = jiff::Timestamp::from_second(1_735_686_000).unwrap(); // 2025-01-01T00:00+01:00
    for i in 0..ACCOUNTS_N {
        let gsrn = gsrn(i);
        for h in 0..744 {
            let a = start + jiff::SignedDuration::from_hours(h);
            let b = a + jiff::SignedDuration::from_hours(1);
            csv.push_str(&format!("{gsrn},{a},{b},{kwh},measured\n"));
        }
    }
    csv
}

fn spawn_bill(w: &Workdir, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .arg("--db")
        .arg(w.db())
        .arg("bill")
        .args(args)
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Counts of (invoices, credit notes) in `invoices list`.
fn document_counts(w: &Workdir) -> (usize, usize) {
    let list = w.ok(&["invoices", "list", "--limit", "100000"]);
    let invoices = list.lines().filter(|l| l.contains(" invoice ")).count();
    let credit_notes = list.lines().filter(|l| l.contains(" credit_note ")).count();
    (invoices, credit_notes)
}

/// Start two `nordlys bill ARGS` together after a changed delivery, `trials` times.
fn race(args: &[&str], trials: usize) {
    let base = settled_utility();
    for trial in 0..trials {
        let w = Workdir::copy_of(&base);
        let changed = w.write("changed.csv", &january("0.750"));
        w.ok(&["import", "meter-values", arg(&changed)]);
        let (first, second) = (spawn_bill(&w, args), spawn_bill(&w, args));
        let outputs = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let succeeded = outputs.iter().filter(|o| o.status.success()).count();
        assert!(succeeded >= 1, "trial {trial}: neither run succeeded");
        for out in outputs.iter().filter(|o| !o.status.success()) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "trial {trial}: {stderr}");
            assert!(
                stderr.contains("another billing run is in progress: run ")
                    && stderr.contains("by process "),
                "trial {trial}: the refused run names the run in progress: {stderr}"
            );
        }
        assert_eq!(
            document_counts(&w),
            (2 * ACCOUNTS_N, ACCOUNTS_N),
            "trial {trial}: each original credited and reissued exactly once"
        );
        // Nothing is left to correct, and a later run issues nothing.
        let again = w.ok(&["bill", "corrections"]);
        assert_eq!(document_counts(&w), (2 * ACCOUNTS_N, ACCOUNTS_N), "{again}");
    }
}

#[test]
fn two_correction_runs_started_together_correct_once_and_the_second_names_the_first() {
    race(&["corrections"], 4);
}

#[test]
fn two_settlement_runs_started_together_correct_once() {
    // `bill --period` corrects what changed before it settles.
    race(&["--period", "2025-01"], 2);
}

#[test]
fn a_correction_run_that_waits_for_the_one_in_progress_finds_nothing_left() {
    race(&["--wait", "120", "corrections"], 2);
}

#[test]
fn killed_correction_workers_still_correct_every_account_once() {
    let base = settled_utility();
    let mut random = super::workers::Random::from_clock();
    eprintln!("killed correction workers: random seed {}", random.0);
    for trial in 0..2 {
        let w = Workdir::copy_of(&base);
        let changed = w.write("changed.csv", &january("0.750"));
        w.ok(&["import", "meter-values", arg(&changed)]);
        let planned = w.ok(&["bill", "corrections", "--plan-only", "--batch-size", "5"]);
        let run_id = planned.split_whitespace().nth(1).unwrap().to_owned();
        assert!(
            planned.contains(&format!("{ACCOUNTS_N} accounts")),
            "{planned}"
        );
        let (kills, elapsed) =
            super::workers::bill_with_killed_workers(&w, &run_id, 4, &mut random);
        eprintln!(
            "trial {trial}: {kills} correction workers killed; run finished in {:.1} s",
            elapsed.as_secs_f64()
        );
        let status = super::workers::run_status(&w, &run_id);
        assert_eq!(status["batches"]["failed"], 0, "{status}");
        assert_eq!(
            document_counts(&w),
            (2 * ACCOUNTS_N, ACCOUNTS_N),
            "trial {trial}: each original credited and reissued exactly once"
        );
        let list: serde_json::Value = serde_json::from_str(
            &w.ok(&["invoices", "list", "--limit", "100000", "--format", "json"]),
        )
        .unwrap();
        for series in ["F", "K"] {
            let mut numbers: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| {
                    d["number"]
                        .as_str()?
                        .strip_prefix(&format!("{series}-"))?
                        .parse()
                        .ok()
                })
                .collect();
            numbers.sort_unstable();
            assert_eq!(
                numbers,
                (1..=numbers.len() as i64).collect::<Vec<_>>(),
                "trial {trial}: gapless {series} numbers"
            );
        }
        let again = w.ok(&["bill", "corrections"]);
        assert!(again.contains("nothing to correct"), "{again}");
    }
}

#[test]
fn processes_opening_a_new_database_together_migrate_it_once() {
    for trial in 0..3 {
        let w = Workdir::new();
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_nordlys"))
                .arg("--db")
                .arg(w.db())
                .arg("status")
                .env_remove("NORDLYS_DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let starting: Vec<Child> = (0..3).map(|_| spawn()).collect();
        for child in starting {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let status = w.ok(&["status"]);
        assert!(status.contains("customers"), "{status}");
    }
}

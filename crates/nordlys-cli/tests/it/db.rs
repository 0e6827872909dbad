//! `nordlys db copy` and `nordlys db backup` as a user runs them: a utility moved from its
//! SQLite file into PostgreSQL (or another SQLite file) goes on where it was — invoice numbers,
//! KIDs, ids and the journal continue; a used target is refused and left as it was; a backup
//! taken while another process imports holds nothing of that import, and opens.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use nordlys_store::{Store, TableFingerprint};

use super::concurrency::gsrn;
use super::{Workdir, arg, block_on, with_master_data};

/// A work folder whose database is a SQLite file, whatever backend the suite runs on.
fn sqlite_workdir() -> Workdir {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("utility.db").display().to_string();
    Workdir { dir, db }
}

/// A work folder whose database is `db`.
fn workdir_on(db: String) -> Workdir {
    Workdir {
        dir: tempfile::tempdir().unwrap(),
        db,
    }
}

fn fingerprints(db: &str) -> BTreeMap<String, TableFingerprint> {
    block_on(async {
        let store = Store::open(db).await.unwrap();
        let fingerprints = store.table_fingerprints().await.unwrap();
        store.close().await;
        fingerprints
    })
}

/// The journal's last sequence, as `nordlys changes` prints it.
fn last_seq(w: &Workdir) -> i64 {
    w.ok(&["changes"])
        .lines()
        .last()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"].as_i64())
        .unwrap_or(Some(0))
        .unwrap()
}

/// (series, number, KID) of every document in `invoices list`.
fn documents(w: &Workdir) -> Vec<(String, i64, String)> {
    w.ok(&["invoices", "list", "--limit", "100000"])
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (series, number) = fields[2].split_once('-').unwrap();
            (
                series.to_owned(),
                number.parse().unwrap(),
                fields[3].to_owned(),
            )
        })
        .collect()
}

/// The numbers of `series`, sorted.
fn numbers(documents: &[(String, i64, String)], series: &str) -> Vec<i64> {
    let mut numbers: Vec<i64> = documents
        .iter()
        .filter(|(s, _, _)| s == series)
        .map(|(_, n, _)| *n)
        .collect();
    numbers.sort_unstable();
    numbers
}

/// A demo utility of two months in a SQLite file: January billed, then one day of readings
/// re-delivered with a changed value and the correction issued (a credit note and a new
/// invoice), so every kind of table has rows; February is left to bill.
fn utility_billed_for_january() -> Workdir {
    let w = sqlite_workdir();
    let demo = w.ok(&["demo", "--customers", "60", "--months", "2", "--no-bill"]);
    let january = w.ok(&["bill", "--period", "2025-01"]);
    assert!(january.contains("(numbers F 1–"), "{january}");
    // The demo names a metering point and a day to look at.
    let try_line = demo.lines().find(|l| l.starts_with("Try: ")).unwrap();
    let words: Vec<&str> = try_line.split_whitespace().collect();
    let at = |flag: &str| words[words.iter().position(|w| *w == flag).unwrap() + 1];
    let day = w.ok(&[
        "export",
        "meter-values",
        "--metering-point",
        at("--metering-point"),
        "--from",
        at("--from"),
        "--to",
        at("--to"),
    ]);
    let mut lines: Vec<String> = day.lines().map(str::to_owned).collect();
    let mut fields: Vec<&str> = lines[1].split(',').collect();
    fields[3] = "9.999";
    fields[4] = "corrected";
    lines[1] = fields.join(",");
    let changed = w.write("changed.csv", &(lines.join("\n") + "\n"));
    w.ok(&["import", "meter-values", arg(&changed)]);
    let corrections = w.ok(&["bill", "corrections"]);
    assert!(
        corrections.contains("credit notes 1 (numbers K 1–1"),
        "{corrections}"
    );
    w
}

/// Copy `source` into the empty database `target` with `nordlys db copy`, check the report,
/// and check that the copy holds what the source does and goes on from there.
fn copy_and_go_on(source: &Workdir, target: Workdir) {
    let before = documents(source);
    let head = last_seq(source);
    let report = source.ok(&["db", "copy", "--to", target.db()]);
    assert!(report.contains("verified"), "{report}");
    for table in ["customers", "meter_value_chunks", "documents", "changes"] {
        let line = report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("{table} is not in the report:\n{report}"));
        assert!(line.ends_with(" yes"), "{line}");
    }
    assert!(report.contains("every table verified"), "{report}");
    assert_eq!(fingerprints(source.db()), fingerprints(target.db()));

    // The same documents; nothing to correct; the journal where it was.
    assert_eq!(documents(&target), before);
    let corrections = target.ok(&["bill", "corrections"]);
    assert!(
        corrections.contains("nothing to correct"),
        "every settlement keeps the journal sequence it read: {corrections}"
    );
    assert_eq!(last_seq(&target), head);

    // February: new invoices continue the series without a gap or a number used twice, each
    // with a KID of its own; the journal continues after the copied head.
    let february = target.ok(&["bill", "--period", "2025-02"]);
    let last_invoice = *numbers(&before, "F").last().unwrap();
    assert!(
        february.contains(&format!("(numbers F {}–", last_invoice + 1)),
        "{february}"
    );
    let after = documents(&target);
    assert!(after.len() > before.len(), "{february}");
    let invoices = numbers(&after, "F");
    assert_eq!(invoices, (1..=invoices.len() as i64).collect::<Vec<_>>());
    assert_eq!(numbers(&after, "K"), [1]);
    let mut kids: Vec<&str> = after
        .iter()
        .map(|(_, _, kid)| kid.as_str())
        .filter(|k| *k != "-")
        .collect();
    let issued = kids.len();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), issued, "a KID given twice");
    let records = target.ok(&["changes", "--from", &(head + 1).to_string()]);
    let first: serde_json::Value =
        serde_json::from_str(records.lines().next().expect("records after the copy")).unwrap();
    assert_eq!(first["seq"].as_i64(), Some(head + 1), "{first}");
}

#[test]
fn a_copied_utility_goes_on_billing_and_journaling_in_another_sqlite_file() {
    let source = utility_billed_for_january();
    let target = sqlite_workdir();
    copy_and_go_on(&source, target);
}

#[test]
fn a_utility_moves_from_its_sqlite_file_to_postgres_and_goes_on_there() {
    let Some(server) = nordlys_store::testing::postgres_server() else {
        eprintln!("skipped: NORDLYS_TEST_POSTGRES_URL is not set (no PostgreSQL server)");
        return;
    };
    let source = utility_billed_for_january();
    let target = workdir_on(block_on(nordlys_store::testing::create_postgres_database(
        &server,
    )));
    let started = std::time::Instant::now();
    source.ok(&["db", "copy", "--to", target.db()]);
    eprintln!(
        "db copy of the demo utility to PostgreSQL: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // And back: from PostgreSQL into a new SQLite file, the same again.
    let back = sqlite_workdir();
    target.ok(&["db", "copy", "--to", back.db()]);
    assert_eq!(fingerprints(back.db()), fingerprints(source.db()));
    assert_eq!(documents(&back), documents(&source));

    // The whole check on a second PostgreSQL database (the first one is used now).
    let target = workdir_on(block_on(nordlys_store::testing::create_postgres_database(
        &server,
    )));
    copy_and_go_on(&source, target);
}

#[test]
fn a_target_that_holds_data_is_refused_and_left_as_it_was() {
    let source = sqlite_workdir();
    source.ok(&["demo", "--customers", "5", "--months", "1", "--no-bill"]);
    // A database of the suite's backend with one customer, account, metering point, contract.
    let target = with_master_data();
    let before = fingerprints(target.db());
    let (code, stderr) = source.fails(&["db", "copy", "--to", target.db()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the target database is not empty: it holds accounts (1 row), changes (4 rows), contracts (1 row), customers (1 row)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("journal_head.last_seq = 4 (a new database has 0)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("db copy writes only into a new, empty database"),
        "{stderr}"
    );
    assert_eq!(fingerprints(target.db()), before, "nothing was written");
}

#[test]
fn a_copy_names_what_is_wrong_with_its_source_or_target() {
    let w = sqlite_workdir();
    w.ok(&["demo", "--customers", "5", "--months", "1", "--no-bill"]);
    let (_, stderr) = w.fails(&["db", "copy", "--to", w.db()]);
    assert!(
        stderr.contains("--to names the database being copied"),
        "{stderr}"
    );
    let (_, stderr) = w.fails(&["db", "copy", "--to", "mysql://u:secret@host/db"]);
    assert!(
        stderr.contains("Nordlys does not know databases of the kind mysql://")
            && !stderr.contains("secret"),
        "{stderr}"
    );
    // Nothing listens on port 1: said at once, not after the pool's minute of retries.
    let started = std::time::Instant::now();
    let (code, stderr) = w.fails(&["db", "copy", "--to", "postgres://u:secret@127.0.0.1:1/db"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("opening the target database postgres://u@127.0.0.1:1/db")
            && stderr.contains("Connection refused")
            && !stderr.contains("secret"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let missing = workdir_on(w.path("missing.db").display().to_string());
    let (_, stderr) = missing.fails(&["db", "copy", "--to", arg(&w.path("new.db"))]);
    assert!(stderr.contains("there is no database at "), "{stderr}");
    assert!(
        !w.path("missing.db").exists(),
        "no database made up to copy"
    );
}

/// Hourly readings of February 2025 for `points` metering points, 0.5 kWh each.
fn february(points: usize) -> String {
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    let start = jiff::Timestamp::from_second(1_738_364_400).unwrap(); // 2025-02-01T00:00+01:00
    for i in 0..points {
        let gsrn = gsrn(i);
        for h in 0..28 * 24 {
            let a = start + jiff::SignedDuration::from_hours(h);
            let b = a + jiff::SignedDuration::from_hours(1);
            csv.push_str(&format!("{gsrn},{a},{b},0.500,measured\n"));
        }
    }
    csv
}

/// A utility of `points` hourly households with master data, in a SQLite file.
fn households(points: usize) -> Workdir {
    let w = sqlite_workdir();
    let mut customers = String::from("customer_id,kind,country,identity,name,email\n");
    let mut accounts = String::from("account_id,customer_id,invoice_channel,language,email\n");
    let mut metering_points = String::from(
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,municipality\n",
    );
    for i in 0..points {
        customers.push_str(&format!("K{i},organisation,NO,974760673,Kunde {i},\n"));
        accounts.push_str(&format!("A{i},K{i},paper,nb,\n"));
        metering_points.push_str(&format!(
            "{},NO,NO1,7080005046220,PT60M,electricity,household,0301\n",
            gsrn(i)
        ));
    }
    for (kind, name, csv) in [
        ("customers", "customers.csv", customers),
        ("accounts", "accounts.csv", accounts),
        ("metering-points", "points.csv", metering_points),
    ] {
        let path = w.write(name, &csv);
        w.ok(&["import", kind, arg(&path)]);
    }
    w
}

#[test]
fn a_backup_taken_while_another_process_imports_is_consistent_and_opens() {
    const POINTS: usize = 60;
    let w = households(POINTS);
    let before = fingerprints(w.db());
    let head_before = last_seq(&w);

    // The import reads its file from a pipe this test writes to: it is inside its write
    // transaction, with rows read and not committed, for as long as the test holds the pipe.
    let fifo = w.path("february.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let mut import = Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .arg("--db")
        .arg(w.db())
        .args(["import", "meter-values", arg(&fifo)])
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rows = february(POINTS);
    let cut = rows[..rows.len() * 2 / 3].rfind('\n').unwrap() + 1;
    let (first, rest) = rows.split_at(cut);
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    // More than a pipe holds: once written, the import has begun its transaction and is
    // reading rows.
    assert!(first.len() > 1 << 20);
    pipe.write_all(first.as_bytes()).unwrap();

    let backup = w.path("during.db");
    let out = w.ok(&["db", "backup", arg(&backup)]);
    assert!(
        out.contains("Verified: it opens, passes SQLite's integrity check, and every table equals the database as it was backed up."),
        "{out}"
    );
    assert!(
        import.try_wait().unwrap().is_none(),
        "the import must still be running while the backup is taken"
    );
    let beside: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("during.db") && name != "during.db")
        .collect();
    assert!(beside.is_empty(), "left beside the backup: {beside:?}");

    pipe.write_all(rest.as_bytes()).unwrap();
    drop(pipe);
    let imported = import.wait_with_output().unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let after = fingerprints(w.db());
    assert_ne!(after, before, "the import committed");

    // The backup holds the database as it was before the import, none of it; it opens.
    let backup_db = workdir_on(backup.display().to_string());
    assert_eq!(fingerprints(backup_db.db()), before);
    assert_eq!(last_seq(&backup_db), head_before);
    let status = backup_db.ok(&["status"]);
    assert!(status.contains("meter-value days  0 "), "{status}");

    // A backup now holds the import; restoring one is copying the file back.
    let now = w.path("after.db");
    w.ok(&["db", "backup", arg(&now)]);
    assert_eq!(fingerprints(arg(&now)), after);
    let restored = w.path("restored.db");
    std::fs::copy(&now, &restored).unwrap();
    let restored = workdir_on(restored.display().to_string());
    let without_name = |status: String| status.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(
        without_name(restored.ok(&["status"])),
        without_name(w.ok(&["status"]))
    );
}

#[test]
fn a_backup_is_never_written_over_a_file_and_postgres_is_pointed_to_pg_dump() {
    let w = sqlite_workdir();
    w.ok(&["demo", "--customers", "5", "--months", "1", "--no-bill"]);
    let existing = w.write("existing.db", "keep me");
    let (code, stderr) = w.fails(&["db", "backup", arg(&existing)]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    let (_, stderr) = w.fails(&["db", "backup", arg(&w.path("no/such/folder/b.db"))]);
    assert!(stderr.contains("the folder does not exist"), "{stderr}");

    let Some(server) = nordlys_store::testing::postgres_server() else {
        eprintln!("skipped the PostgreSQL part: NORDLYS_TEST_POSTGRES_URL is not set");
        return;
    };
    let on_postgres = workdir_on(block_on(nordlys_store::testing::create_postgres_database(
        &server,
    )));
    let (code, stderr) = on_postgres.fails(&["db", "backup", "b.dump"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("pg_dump --format=custom --file=b.dump") && stderr.contains("pg_restore"),
        "{stderr}"
    );
}

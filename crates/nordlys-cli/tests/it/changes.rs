//! `nordlys changes`: the journal as JSON lines, filtered, from a sequence, and followed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{POINTS, Workdir, arg, quarter_hours, with_master_data};

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn changes_prints_the_journal_as_json_lines_in_seq_order() {
    let w = with_master_data();
    let records = json_lines(&w.ok(&["changes"]));
    let kinds: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["domain"].as_str().unwrap(),
                r["key"].as_str().unwrap(),
                r["op"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("customer", "K1", "create"),
            ("account", "A1", "create"),
            ("metering_point", "707057500000000018", "create"),
            ("contract", "S1", "create"),
        ]
    );
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|s| s[0] < s[1]), "{seqs:?}");
    let contract = &records[3];
    assert_eq!(contract["after"]["metering_point_id"], "707057500000000018");
    assert_eq!(contract["before"], serde_json::Value::Null);
    assert_eq!(contract["schema_version"], 1);
    assert_eq!(contract["scope"]["contract_id"], "S1");
    assert!(contract["changed_at"].as_str().unwrap().ends_with('Z'));

    let values = w.write("values.csv", &quarter_hours(0, 2, "0.250", "measured"));
    w.ok(&["import", "meter-values", arg(&values)]);
    let only = json_lines(&w.ok(&["changes", "--domain", "meter_values", "--format", "json"]));
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["after"]["readings_changed"], 8);
    assert_eq!(only[0]["after"]["first_day"], "2025-01-14");

    // --from is inclusive.
    let from = json_lines(&w.ok(&["changes", "--from", &seqs[2].to_string()]));
    let from_seqs: Vec<i64> = from.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(from_seqs[..2], [seqs[2], seqs[3]]);
    assert_eq!(from.len(), 3);

    let (code, stderr) = w.fails(&["changes", "--domain", "invoices"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--domain \"invoices\": unknown domain; one of customer, account"),
        "{stderr}"
    );
}

#[test]
fn changes_follow_prints_records_committed_later() {
    let w = Workdir::new();
    let points = w.write("points.csv", POINTS);
    let mut follower = Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .current_dir(w.dir.path())
        .arg("--db")
        .arg(w.db())
        .args(["changes", "--follow"])
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Nothing yet: the follower waits. Then an import commits and its record appears.
    assert!(received.recv_timeout(Duration::from_millis(1500)).is_err());
    w.ok(&["import", "metering-points", arg(&points)]);
    let line = received.recv_timeout(Duration::from_secs(10));
    follower.kill().unwrap();
    follower.wait().unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&line.expect("a followed record")).unwrap();
    assert_eq!(record["domain"], "metering_point");
    assert_eq!(record["key"], "707057500000000018");
    assert_eq!(record["seq"], 1);
}

//! Settlement that scales out, with real processes: a run planned as batches, four `nordlys
//! worker` processes killed with SIGKILL at random moments and restarted, and the run still
//! bills every account exactly once, with gapless numbers and the amounts of a single-process
//! SQLite run on the same input. On PostgreSQL also the database going away mid-run.
//! The tests run on the suite's backend (SQLite, or PostgreSQL under `scripts/pg-cluster.sh`).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Workdir;

/// A small, seeded random generator (xorshift64*): the test prints its seed.
pub(super) struct Random(pub(super) u64);

impl Random {
    pub(super) fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Random(u64::from(nanos) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

const CUSTOMERS: &str = "120";

/// The demo utility of 120 customers and one month, not billed.
fn unbilled_demo(w: &Workdir) {
    w.ok(&[
        "demo",
        "--customers",
        CUSTOMERS,
        "--months",
        "1",
        "--no-bill",
    ]);
}

/// Per account: (invoice count, total) of period 2025-01, and every invoice number.
fn invoices(w: &Workdir) -> (BTreeMap<String, (u32, String)>, Vec<i64>) {
    let out = w.ok(&[
        "invoices", "list", "--period", "2025-01", "--limit", "100000", "--format", "json",
    ]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut per_account: BTreeMap<String, (u32, String)> = BTreeMap::new();
    let mut numbers = Vec::new();
    for doc in list.as_array().unwrap() {
        assert_eq!(doc["kind"], "invoice", "{doc}");
        let account = doc["account"].as_str().unwrap().to_owned();
        let entry = per_account.entry(account).or_insert((0, String::new()));
        entry.0 += 1;
        entry.1 = doc["total"].as_str().unwrap().to_owned();
        let number = doc["number"].as_str().unwrap();
        numbers.push(number.trim_start_matches("F-").parse::<i64>().unwrap());
    }
    numbers.sort_unstable();
    (per_account, numbers)
}

/// The reference: the same input billed by one process on SQLite.
fn single_process_reference() -> BTreeMap<String, (u32, String)> {
    let reference = Workdir::sqlite();
    unbilled_demo(&reference);
    reference.ok(&["bill", "--period", "2025-01"]);
    invoices(&reference).0
}

fn spawn_worker(w: &Workdir, run_id: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nordlys"))
        .arg("--db")
        .arg(w.db())
        .args(["worker", "--run", run_id, "--lease", "2"])
        .env_remove("NORDLYS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(super) fn run_status(w: &Workdir, run_id: &str) -> serde_json::Value {
    serde_json::from_str(&w.ok(&["runs", "show", run_id, "--format", "json"])).unwrap()
}

/// Plan a settlement of 2025-01 in batches of about `accounts` accounts; returns the run id.
fn plan(w: &Workdir, accounts: &str) -> String {
    let out = w.ok(&[
        "bill",
        "--period",
        "2025-01",
        "--plan-only",
        "--batch-size",
        accounts,
    ]);
    let run_id = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no run id in {out:?}"))
        .to_owned();
    assert!(out.contains("planned"), "{out}");
    run_id
}

/// Every account billed once, numbers 1..n without a gap, amounts as the reference's.
fn assert_billed_exactly_once(w: &Workdir, reference: &BTreeMap<String, (u32, String)>) {
    let (billed, numbers) = invoices(w);
    assert_eq!(
        numbers,
        (1..=numbers.len() as i64).collect::<Vec<_>>(),
        "gapless invoice numbers"
    );
    for (account, (count, _)) in &billed {
        assert_eq!(*count, 1, "account {account} billed {count} times");
    }
    assert_eq!(
        &billed, reference,
        "the same invoices as one process on SQLite"
    );
}

/// Bill run `run_id` with `count` worker processes, SIGKILLing a random one at random moments
/// (and starting another in its place) until the run is finished; returns the kills and the
/// time the run took.
pub(super) fn bill_with_killed_workers(
    w: &Workdir,
    run_id: &str,
    count: usize,
    random: &mut Random,
) -> (u32, Duration) {
    let mut workers: Vec<Child> = (0..count).map(|_| spawn_worker(w, run_id)).collect();
    let started = Instant::now();
    let mut kills = 0;
    loop {
        std::thread::sleep(Duration::from_millis(100 + random.below(400)));
        let status = run_status(w, run_id);
        if status["status"] == "finished" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the run did not finish: {status}"
        );
        let victim = random.below(workers.len() as u64) as usize;
        workers[victim].kill().unwrap();
        workers[victim].wait().unwrap();
        kills += 1;
        workers[victim] = spawn_worker(w, run_id);
    }
    for mut worker in workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    (kills, started.elapsed())
}

#[test]
fn killed_workers_still_bill_every_account_exactly_once() {
    let reference = single_process_reference();
    assert!(reference.len() > 100, "{}", reference.len());
    let base = Workdir::new();
    unbilled_demo(&base);
    let mut random = Random::from_clock();
    eprintln!("killed-workers test: random seed {}", random.0);
    for trial in 0..3 {
        let w = Workdir::copy_of(&base);
        let run_id = plan(&w, "5");
        let (kills, elapsed) = bill_with_killed_workers(&w, &run_id, 4, &mut random);
        let status = run_status(&w, &run_id);
        assert_eq!(status["batches"]["failed"], 0, "{status}");
        assert_eq!(status["batches"]["pending"], 0, "{status}");
        eprintln!(
            "trial {trial}: {kills} workers killed; run finished in {:.1} s",
            elapsed.as_secs_f64()
        );
        assert_billed_exactly_once(&w, &reference);
        // A second run finds nothing left to settle.
        let again = w.ok(&["bill", "--period", "2025-01", "--workers", "2"]);
        assert!(again.contains("invoices 0"), "{again}");
    }
}

#[test]
fn a_worker_for_an_unknown_run_says_so() {
    let w = Workdir::new();
    let (code, stderr) = w.fails(&["worker", "--run", "999"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--run 999: no run has this id"), "{stderr}");
}

#[test]
fn bill_with_workers_bills_like_one_process() {
    let reference = single_process_reference();
    let w = Workdir::new();
    unbilled_demo(&w);
    let out = w.ok(&[
        "bill",
        "--period",
        "2025-01",
        "--workers",
        "2",
        "--batch-size",
        "7",
    ]);
    assert!(out.contains("batches billed by"), "{out}");
    assert_billed_exactly_once(&w, &reference);
    let runs = w.ok(&["runs", "list", "--format", "json"]);
    let newest: serde_json::Value = serde_json::from_str(runs.lines().next().unwrap()).unwrap();
    assert_eq!(newest["mode"], "batched", "{newest}");
    assert_eq!(newest["status"], "finished", "{newest}");
    let shown = w.ok(&["runs", "show", &newest["id"].to_string()]);
    assert!(shown.contains("workers:"), "{shown}");
    assert!(shown.contains("not ready"), "{shown}");
}

/// A PostgreSQL cluster of this test's own (it is stopped mid-run), from scripts/pg-cluster.sh.
struct PrivateCluster {
    env: Vec<(String, String)>,
}

impl PrivateCluster {
    fn start() -> Option<PrivateCluster> {
        nordlys_store::testing::postgres_server()?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    v.trim_matches(|c| c == '\'' || c == '"').to_owned(),
                )
            })
            .collect();
        Some(PrivateCluster { env })
    }
    fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("pg-cluster.sh start printed no {name}"))
    }
    fn pg_ctl(&self, args: &[&str]) {
        let bin = format!("{}/pg_ctl", self.var("NORDLYS_TEST_PG_BIN"));
        let user = self.var("NORDLYS_TEST_PG_CTL_USER").to_owned();
        let mut command = if user.is_empty() {
            Command::new(bin)
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", &user, "--", &bin]);
            c
        };
        let status = command
            .args(["-D", self.var("NORDLYS_TEST_PG_DATA")])
            .args(["-l", self.var("NORDLYS_TEST_PG_LOG")])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?}");
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .status();
    }
}

#[test]
fn workers_ride_out_the_database_going_away() {
    let Some(cluster) = PrivateCluster::start() else {
        eprintln!(
            "skipped: PostgreSQL tests need NORDLYS_TEST_POSTGRES_URL (scripts/pg-cluster.sh)"
        );
        return;
    };
    let reference = single_process_reference();
    let db = super::block_on(nordlys_store::testing::create_postgres_database(
        cluster.var("NORDLYS_TEST_POSTGRES_URL"),
    ));
    let w = Workdir::with_database(db);
    unbilled_demo(&w);
    let run_id = plan(&w, "1");
    let workers: Vec<Child> = (0..2).map(|_| spawn_worker(&w, &run_id)).collect();
    // Mid-run: some batches done, not all.
    let waiting = Instant::now();
    while run_status(&w, &run_id)["batches"]["done"].as_i64() < Some(3) {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no batch was billed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Hold the workers still, so that the run is surely mid-way when the database goes away.
    let signal = |name: &str, workers: &[Child]| {
        for worker in workers {
            let status = Command::new("kill")
                .args([name, &worker.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill {name}");
        }
    };
    signal("-STOP", &workers);
    let mid = run_status(&w, &run_id);
    assert!(
        mid["batches"]["pending"].as_i64() > Some(0),
        "the run was not mid-way: {mid}"
    );
    // The database goes away for three seconds while the workers go on.
    cluster.pg_ctl(&["stop", "-m", "fast", "-w"]);
    signal("-CONT", &workers);
    std::thread::sleep(Duration::from_secs(3));
    cluster.pg_ctl(&["start", "-w"]);
    let mut retries = 0;
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "a worker gave up: {report}");
        // "… database retries N"
        retries += report
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no retry count in {report:?}"));
    }
    // A worker between statements waits in its pool for a connection (it rides out a short
    // outage unseen); one inside a statement gets the server's shutdown error and retries.
    eprintln!("database retries reported by the workers: {retries}");
    let status = run_status(&w, &run_id);
    assert_eq!(status["status"], "finished", "{status}");
    assert!(
        status["batches"]["done"].as_i64() > Some(10),
        "the run was not mid-way when the database went away: {status}"
    );
    assert_billed_exactly_once(&w, &reference);
}

//! Documents as sent, end to end on a billed demo: every EHF of a run passes the official
//! Peppol / EN 16931 rules, a document's bytes are kept as first rendered, and `invoices send`
//! delivers each document exactly once — e-mail to a real local SMTP server, EHF into the
//! outbox, paper into a print file — with failed attempts retried and two senders at once.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{Workdir, arg};

/// The demo of `invoices.rs`: January billed, with one correction (K-1, F-60).
fn billed_demo() -> Workdir {
    let w = Workdir::new();
    w.ok(&crate::BILLED_DEMO_60);
    w
}

fn validator() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/peppol/validate");
    path.exists().then_some(path)
}

/// Run the official rules on `files` (`only_cen`: EN 16931 alone); per file its status and
/// findings.
fn validate(validator: &Path, files: &[PathBuf], only_cen: bool) -> Vec<Value> {
    if files.is_empty() {
        return Vec::new();
    }
    let mut command = Command::new(validator);
    command.arg("--json");
    if only_cen {
        command.args(["--only", "cen"]);
    }
    let out = command.args(files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "the validator failed to run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_document_of_a_billed_run_passes_the_official_rules() {
    let Some(validator) = validator() else {
        eprintln!("skipped: ../shared/tools/peppol is absent");
        return;
    };
    let w = billed_demo();
    let out = w.path("ehf");
    let printed = w.ok(&[
        "invoices",
        "export",
        "--period",
        "2025-01",
        "--format",
        "xml",
        "--out",
        arg(&out),
    ]);
    assert!(printed.contains("61 documents written"), "{printed}");
    let mut peppol = Vec::new();
    let mut households = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let xml = std::fs::read_to_string(&path).unwrap();
        if xml.contains("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0") {
            peppol.push(path);
        } else {
            households.push(path);
        }
    }
    assert!(!peppol.is_empty(), "the demo's businesses receive EHF");
    assert!(!households.is_empty());
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    let mut fatal = Vec::new();
    for (files, only_cen) in [(&peppol, false), (&households, true)] {
        for result in validate(&validator, files, only_cen) {
            for finding in result["findings"].as_array().unwrap() {
                let id = finding["id"].as_str().unwrap_or("?").to_owned();
                if finding["flag"] == "fatal" {
                    fatal.push(format!("{}: {id} {}", result["file"], finding["text"]));
                } else {
                    *warnings.entry(id).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "{} Peppol and {} EN 16931 documents validated; warnings: {warnings:?}",
        peppol.len(),
        households.len()
    );
    assert!(fatal.is_empty(), "fatal findings:\n{}", fatal.join("\n"));
    let credit = std::fs::read_to_string(out.join("K-1.xml")).unwrap();
    assert!(
        credit.contains("<CreditNote") && credit.contains("<cbc:ID>F-"),
        "{credit}"
    );
}

#[test]
fn a_document_is_kept_byte_for_byte_as_first_rendered() {
    let w = billed_demo();
    let first = w.path("first.pdf");
    w.ok(&[
        "invoices",
        "show",
        "F-1",
        "--format",
        "pdf",
        "--out",
        arg(&first),
    ]);
    let xml = w.ok(&["invoices", "show", "F-1", "--format", "xml"]);
    // A new profile (another colour, another sender text) renders new documents differently,
    // never the ones already rendered.
    let profile = nordlys_app::demo::DEMO_ISSUER_PROFILE.replace("#0b4f6c", "#aa0000");
    let file = w.write("issuer.toml", &profile);
    let set = w.ok(&["issuer", "set", arg(&file)]);
    assert!(set.contains("changed: version 2"), "{set}");
    let again = w.path("again.pdf");
    w.ok(&[
        "invoices",
        "show",
        "F-1",
        "--format",
        "pdf",
        "--out",
        arg(&again),
    ]);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&again).unwrap()
    );
    assert_eq!(w.ok(&["invoices", "show", "F-1", "--format", "xml"]), xml);
    assert!(xml.contains("<cbc:ID>F-1</cbc:ID>"), "{xml}");

    // The PDF carries its EHF: the attachment is the XML, byte for byte.
    if Command::new("pdfdetach").arg("-v").output().is_ok() {
        let out = Command::new("pdfdetach")
            .args(["-saveall", "-o"])
            .arg(w.path(""))
            .arg(&first)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(w.path("F-1.xml")).unwrap(), xml);
        let text = Command::new("pdftotext")
            .arg(&first)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("F-1")
                && text.contains("923 609 016 MVA")
                && text.contains("Foretaksregisteret"),
            "{text}"
        );
    } else {
        eprintln!("skipped the PDF's content: poppler-utils (pdfdetach) is missing");
    }

    let (_, error) = w.fails(&["invoices", "show", "F-999", "--format", "xml"]);
    assert!(error.contains("no document has this number"), "{error}");
    let bad = w.write(
        "bad.toml",
        &profile.replace("1234.56.78903", "1234.56.78904"),
    );
    let (_, error) = w.fails(&["issuer", "set", arg(&bad)]);
    assert!(
        error.contains("MOD11") && error.contains("[seller.NO]"),
        "{error}"
    );
}

/// A local SMTP server (aiosmtpd) writing each message it accepts into `dir`.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    fn start(dir: PathBuf, fail_first: u32) -> Option<SmtpSink> {
        let python = std::env::var("NORDLYS_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let has_aiosmtpd = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_aiosmtpd {
            eprintln!(
                "skipped: {python} has no aiosmtpd (scripts/test-tools.sh installs it; NORDLYS_TEST_PYTHON names its python)"
            );
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(&dir)
            .args(["--fail-first", &fail_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the sink prints its port");
        Some(SmtpSink { child, port, dir })
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received: (recipient line, whole message).
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deliveries(w: &Workdir) -> Vec<Value> {
    serde_json::from_str(&w.ok(&["invoices", "deliveries", "--format", "json"])).unwrap()
}

fn send_args<'a>(w: &'a Workdir, sink: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "invoices",
        "send",
        "--smtp-url",
        sink,
        "--ehf-outbox",
        arg(&w.path("outbox")),
        "--print-dir",
        arg(&w.path("print")),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn send_delivers_every_document_once_by_its_channel() {
    let w = billed_demo();
    let Some(sink) = SmtpSink::start(w.path("mail"), 2) else {
        return;
    };
    let url = sink.url();
    let args = send_args(&w, &url, &["--retry-after", "0"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The relay refuses the first two messages: they are reported and retried by the next
    // send (not within the same one), not dropped.
    let first = w.run(&args);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert_eq!(stderr.matches("tried again from").count(), 2, "{stderr}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("planned 61"), "{stdout}");
    let second = w.ok(&args);
    assert!(
        second.contains("planned 0") && second.contains("e-mail 2"),
        "{second}"
    );
    let third = w.ok(&args);
    assert!(
        third.contains("planned 0; delivered: EHF 0, e-mail 0, print 0"),
        "{third}"
    );

    let states = deliveries(&w);
    assert_eq!(states.len(), 61);
    let by = |channel: &str| {
        states
            .iter()
            .filter(|d| d["channel"] == channel && d["status"] == "delivered")
            .count()
    };
    let messages = sink.messages();
    assert_eq!(
        by("email"),
        messages.len(),
        "one message per e-mail delivery"
    );
    let mut ids: Vec<&str> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), messages.len(), "no message twice");
    let one = &messages[0];
    assert!(
        one.contains("application/pdf") && one.contains("Faktura F-") || one.contains("Kreditnota"),
        "{one}"
    );
    let outbox: Vec<_> = std::fs::read_dir(w.path("outbox")).unwrap().collect();
    assert_eq!(outbox.len(), 2 * by("ehf"), "an XML and a manifest per EHF");
    assert!(by("ehf") > 0 && by("print") > 0, "{states:?}");
    assert_eq!(
        std::fs::read_dir(w.path("print")).unwrap().count(),
        1,
        "one print file"
    );
    assert!(
        states.iter().all(|d| d["status"] == "delivered"),
        "{:?}",
        states
            .iter()
            .filter(|d| d["status"] != "delivered")
            .collect::<Vec<_>>()
    );
}

#[test]
fn two_senders_at_once_deliver_each_document_once() {
    let w = billed_demo();
    let Some(sink) = SmtpSink::start(w.path("mail"), 0) else {
        return;
    };
    let url = sink.url();
    let args = send_args(&w, &url, &[]);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_nordlys"))
            .current_dir(w.path(""))
            .arg("--db")
            .arg(w.db())
            .args(&args)
            .env_remove("NORDLYS_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let states = deliveries(&w);
    assert!(
        states.iter().all(|d| d["status"] == "delivered"),
        "{states:?}"
    );
    let emails = states.iter().filter(|d| d["channel"] == "email").count();
    assert_eq!(sink.messages().len(), emails, "each e-mail sent once");
}

/// The buyer's party in an EHF: its registry number and country, if it is an organisation.
fn buyer_organisation(xml: &str) -> Option<(String, String)> {
    let buyer = xml.split("<cac:AccountingCustomerParty>").nth(1)?;
    let buyer = buyer.split("</cac:AccountingCustomerParty>").next()?;
    let company = buyer
        .split("<cac:PartyLegalEntity>")
        .nth(1)?
        .split("<cbc:CompanyID")
        .nth(1)?
        .split('>')
        .nth(1)?
        .split('<')
        .next()?
        .to_owned();
    let country = buyer
        .split("<cbc:IdentificationCode>")
        .nth(1)?
        .split('<')
        .next()?
        .to_owned();
    Some((company, country))
}

const INVOICE_TYPE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1";

#[test]
fn the_peppol_directory_decides_who_receives_ehf() {
    let w = billed_demo();
    // Who the demo's organisations are, learnt from a copy (rendering freezes a document).
    let probe = Workdir::copy_of(&w);
    let out = probe.path("xml");
    probe.ok(&[
        "invoices",
        "export",
        "--period",
        "2025-01",
        "--format",
        "xml",
        "--out",
        arg(&out),
    ]);
    let mut danish = None;
    let mut norwegian = None;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let number = path.file_stem().unwrap().to_string_lossy().into_owned();
        let xml = std::fs::read_to_string(&path).unwrap();
        match buyer_organisation(&xml) {
            Some((cvr, country)) if country == "DK" && danish.is_none() => {
                danish = Some((number, cvr))
            }
            Some((org, country))
                if country == "NO" && norwegian.is_none() && number.starts_with("F-") =>
            {
                norwegian = Some((number, org))
            }
            _ => {}
        }
    }
    let (danish_number, cvr) = danish.expect("the demo has a Danish business");
    let (norwegian_number, org) = norwegian.expect("the demo has a Norwegian business");
    // The Danish business (whose account asks for e-mail) publishes the BIS 3 invoice: EHF.
    // The Norwegian one (whose account asks for EHF) publishes only orders: it cannot receive.
    let directory = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<root xmlns="urn:peppol:schema:pd:businesscard-generic:2025:03" version="3">
  <businesscard>
    <participant scheme="iso6523-actorid-upis" value="0184:{cvr}"/>
    <entity countrycode="DK"><name name="Dansk kunde"/></entity>
    <doctypeid scheme="busdox-docid-qns" value="{INVOICE_TYPE}"/>
  </businesscard>
  <businesscard>
    <participant scheme="iso6523-actorid-upis" value="0192:{org}"/>
    <entity countrycode="NO"><name name="Norsk kunde"/></entity>
    <doctypeid scheme="busdox-docid-qns" value="urn:oasis:names:specification:ubl:schema:xsd:Order-2::Order##urn:fdc:peppol.eu:poacc:trns:order:3::2.1"/>
  </businesscard>
</root>"#
    );
    let file = w.write("directory.xml", &directory);
    w.ok(&["peppol", "import-directory", arg(&file)]);
    let sent = w.run(&[
        "invoices",
        "send",
        "--ehf-outbox",
        arg(&w.path("outbox")),
        "--period",
        "2025-01",
    ]);
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert!(
        stderr.contains(&format!("held {norwegian_number}: the account asks for EHF, but the buyer is not registered in Peppol")),
        "{stderr}"
    );
    // Without a relay or a print folder, those deliveries wait with their attempts unspent.
    assert!(
        stderr.contains("e-mail deliveries wait: this run has no --smtp-url"),
        "{stderr}"
    );
    let states = deliveries(&w);
    assert!(
        states
            .iter()
            .filter(|d| d["channel"] == "email")
            .all(|d| d["status"] == "pending" && d["attempts"] == 0),
        "{states:?}"
    );
    let state = |number: &str| {
        states
            .iter()
            .find(|d| d["number"] == number)
            .unwrap()
            .clone()
    };
    assert_eq!(state(&danish_number)["channel"], "ehf", "{states:?}");
    assert_eq!(state(&danish_number)["status"], "delivered");
    assert_eq!(state(&danish_number)["destination"], format!("0184:{cvr}"));
    assert_eq!(state(&norwegian_number)["status"], "held");
    let xml =
        std::fs::read_to_string(w.path("outbox").join(format!("{danish_number}.xml"))).unwrap();
    assert!(
        xml.contains("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"),
        "a Peppol document"
    );

    // Customer service moves the held account to e-mail: the next send plans it again.
    let shown = w.ok(&["invoices", "show", &norwegian_number, "--format", "json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let account = shown["account"].as_str().unwrap();
    let customer = account.replacen('A', "K", 1);
    let accounts = w.write(
        "accounts.csv",
        &format!(
            "account_id,customer_id,invoice_channel,language,email\n{account},{customer},email,nb,faktura@kunde.example.no\n"
        ),
    );
    w.ok(&["import", "accounts", arg(&accounts)]);
    let again = w.run(&["invoices", "send", "--period", "2025-01"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("planned 1;"), "{stdout}");
    let states = deliveries(&w);
    let state = states
        .iter()
        .find(|d| d["number"] == norwegian_number.as_str())
        .unwrap();
    assert_eq!(state["channel"], "email", "{state}");
    assert_eq!(state["destination"], "faktura@kunde.example.no");
    assert_ne!(state["status"], "held");
}

#[test]
fn a_sender_killed_midway_is_taken_over_and_nothing_is_lost() {
    let w = billed_demo();
    let Some(sink) = SmtpSink::start(w.path("mail"), 0) else {
        return;
    };
    let url = sink.url();
    let args = send_args(&w, &url, &["--lease", "1"]);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_nordlys"))
            .current_dir(w.path(""))
            .arg("--db")
            .arg(w.db())
            .args(&args)
            .env_remove("NORDLYS_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Killed (SIGKILL) once some messages have left: mid-batch, with claims standing.
    let mut first = spawn();
    let started = std::time::Instant::now();
    while sink.messages().len() < 3 && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = sink.messages().len();
    assert!(before >= 3, "the sender sent before it was killed");
    // Its claims run out after the lease; the next sender takes them over.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = w.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.contains("planned 0"),
        "the killed sender had planned everything: {out}"
    );
    let states = deliveries(&w);
    assert!(
        states.iter().all(|d| d["status"] == "delivered"),
        "{states:?}"
    );
    let emails = states.iter().filter(|d| d["channel"] == "email").count();
    let messages = sink.messages();
    let mut ids: Vec<&str> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), emails, "every e-mail document arrived");
    // At most the one message in flight when the sender died arrives twice, as the same message.
    assert!(
        messages.len() <= emails + 1,
        "{} messages for {emails} e-mails",
        messages.len()
    );
}

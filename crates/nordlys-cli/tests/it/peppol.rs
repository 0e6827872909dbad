//! `nordlys peppol`: a Directory export imported, a participant looked up against a real DNS
//! server (dnsmasq on 127.0.0.1 with NAPTR records) and a local SMP, the answer cached and
//! refreshed. The online test skips with a line saying so where dnsmasq cannot be had.

use nordlys_peppol::ParticipantId;
use nordlys_peppol::testing::{LocalDns, LocalSmp};

use super::{Workdir, arg};

const ZONE: &str = "sml.nordlys.test";

#[test]
fn import_directory_reports_its_counts_and_rejects_a_bad_file_by_line() {
    let w = Workdir::new();
    let cards = w.write(
        "businesscards.xml",
        nordlys_peppol::testing::fixtures::DIRECTORY_BUSINESS_CARDS,
    );
    let out = w.ok(&["peppol", "import-directory", arg(&cards)]);
    assert!(out.contains("3 participants read"), "{out}");
    assert!(out.contains("3 inserted"), "{out}");
    let again = w.ok(&["peppol", "import-directory", arg(&cards)]);
    assert!(again.contains("3 unchanged"), "{again}");

    let bad = w.write(
        "participants.csv",
        "\"Participant ID\"\n\"iso6523-actorid-upis::0192:923609016\"\n\"iso6523-actorid-upis::0192:92360901\"\n",
    );
    let (code, stderr) = w.fails(&["peppol", "import-directory", arg(&bad)]);
    assert_eq!(code, 1);
    assert!(stderr.contains("line 3: participant"), "{stderr}");
    assert!(stderr.contains("nothing was stored"), "{stderr}");
}

#[test]
fn lookup_caches_the_answer_and_refresh_looks_it_up_again() {
    let registered = ParticipantId::parse("0192:923609016").unwrap();
    let smp = LocalSmp::start();
    smp.serve_bis3(&registered);
    let dns = match LocalDns::start(ZONE, &[(registered.sml_host(ZONE), smp.base_url.clone())]) {
        Ok(dns) => dns,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let w = Workdir::new();
    let address = dns.address.to_string();
    let network = [
        "--sml-zone",
        ZONE,
        "--dns",
        &address,
        "--allow-insecure-http",
    ];
    let lookup = |participant: &str| {
        let mut args = vec!["peppol", "lookup", participant, "--format", "json"];
        args.extend(network);
        let out = w.ok(&args);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };

    let answer = lookup("0192:923609016");
    assert_eq!(
        answer["participant"],
        "iso6523-actorid-upis::0192:923609016"
    );
    assert_eq!(answer["registered"], true);
    assert_eq!(answer["can_receive_invoice"], true);
    assert_eq!(answer["can_receive_credit_note"], true);
    assert_eq!(
        answer["invoice_endpoint"]["transport_profile"],
        "peppol-transport-as4-v2_0"
    );
    assert_eq!(answer["source"], "sml");

    let unknown = lookup("iso6523-actorid-upis::0192:974760673");
    assert_eq!(unknown["registered"], false);
    assert_eq!(unknown["can_receive_invoice"], false);

    let mut args = vec!["peppol", "lookup", "0192:974760673"];
    args.extend(network);
    let text = w.ok(&args);
    assert!(
        text.contains("the participant is not registered in SML zone sml.nordlys.test"),
        "{text}"
    );

    // Everything is older than 0 days: both are looked up again, and printed as they go.
    let mut args = vec!["peppol", "refresh", "--max-age-days", "0"];
    args.extend(network);
    let out = w.ok(&args);
    assert!(
        out.contains("iso6523-actorid-upis::0192:923609016: invoice yes, credit note yes"),
        "{out}"
    );
    assert!(out.contains("refreshed 2 of 2 due"), "{out}");
    assert_eq!(
        smp.requests().len(),
        6,
        "two lookups of three requests each"
    );

    // Nothing is stale after a week's default: nothing to do.
    let mut args = vec!["peppol", "refresh"];
    args.extend(network);
    assert!(w.ok(&args).contains("refreshed 0 of 0 due"));

    let (code, stderr) = w.fails(&["peppol", "lookup", "0192:923609017"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("mod-11"), "{stderr}");
}

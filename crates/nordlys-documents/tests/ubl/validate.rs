//! Every fixture kind rendered, written to a temporary folder and validated with the official
//! Schematron rules (newest release) by `../shared/tools/peppol/validate --json`: households
//! (no Peppol endpoint) with `--only cen`, documents to an endpoint with both rule sets. The
//! test fails on any fatal finding and prints every warning with its rule id and text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nordlys_documents::fixtures::FixtureKind;
use nordlys_documents::{UblProfile, render_ubl};

/// The validator: `$NORDLYS_PEPPOL_VALIDATE`, else `shared/tools/peppol/validate` beside the
/// repository (`../shared` from its root).
fn validator() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NORDLYS_PEPPOL_VALIDATE") {
        return Some(PathBuf::from(path));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/peppol/validate");
    path.exists().then_some(path)
}

#[derive(Debug)]
struct Finding {
    flag: String,
    id: String,
    text: String,
    location: String,
}

/// Runs the validator on `files` and returns each file's findings.
fn validate(validator: &Path, files: &[PathBuf], only_cen: bool) -> BTreeMap<String, Vec<Finding>> {
    let mut command = Command::new(validator);
    command.arg("--json");
    if only_cen {
        command.args(["--only", "cen"]);
    }
    let output = command.args(files).output().expect("the validator runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the validator failed ({:?}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut by_file = BTreeMap::new();
    for line in stdout.lines().filter(|line| line.starts_with('{')) {
        let report: serde_json::Value = serde_json::from_str(line).expect("a JSON report line");
        let file = report["file"].as_str().unwrap_or_default();
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert_ne!(report["status"], "ERROR", "{name}: {line}");
        let findings = report["findings"]
            .as_array()
            .map(|findings| {
                findings
                    .iter()
                    .map(|f| Finding {
                        flag: f["flag"].as_str().unwrap_or_default().to_owned(),
                        id: f["id"].as_str().unwrap_or_default().to_owned(),
                        text: f["text"].as_str().unwrap_or_default().to_owned(),
                        location: f["location"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        by_file.insert(name, findings);
    }
    assert_eq!(by_file.len(), files.len(), "one report per file:\n{stdout}");
    by_file
}

#[test]
fn every_kind_passes_the_official_rules() {
    let Some(validator) = validator() else {
        eprintln!(
            "skipped: ../shared/tools/peppol/validate is absent (set NORDLYS_PEPPOL_VALIDATE)"
        );
        return;
    };
    let folder = tempfile::tempdir().expect("a temporary folder");
    let (mut cen_only, mut both) = (Vec::new(), Vec::new());
    for kind in FixtureKind::ALL {
        let document = kind.build();
        let profile = UblProfile::for_buyer(&document.buyer);
        let xml = render_ubl(&document, profile).unwrap_or_else(|problems| panic!("{problems}"));
        let path = folder.path().join(format!("{}.xml", kind.name()));
        std::fs::write(&path, xml).expect("the XML is written");
        match profile {
            UblProfile::En16931 => cen_only.push(path),
            UblProfile::Peppol => both.push(path),
        }
    }
    assert!(
        cen_only.len() >= 4 && both.len() >= 7,
        "{cen_only:?} {both:?}"
    );
    let mut reports = validate(&validator, &cen_only, true);
    reports.extend(validate(&validator, &both, false));
    let mut fatal = Vec::new();
    for (file, findings) in &reports {
        let rules = if cen_only.iter().any(|p| p.ends_with(file)) {
            "CEN"
        } else {
            "CEN + Peppol"
        };
        let warnings: Vec<_> = findings.iter().filter(|f| f.flag == "warning").collect();
        println!("{file} ({rules}): {} warnings", warnings.len());
        for warning in warnings {
            println!(
                "  warning {}: {} at {}",
                warning.id, warning.text, warning.location
            );
        }
        for finding in findings.iter().filter(|f| f.flag == "fatal") {
            fatal.push(format!(
                "{file}: {} {} at {}",
                finding.id, finding.text, finding.location
            ));
        }
    }
    assert!(fatal.is_empty(), "fatal findings:\n{}", fatal.join("\n"));
}

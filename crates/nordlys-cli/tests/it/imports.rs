//! `nordlys import` refuses files without rows with exit code 1 and stores nothing.

use super::{Workdir, arg};

#[test]
fn a_file_with_only_a_header_or_nothing_is_an_error_and_stores_nothing() {
    let w = Workdir::new();
    let header = w.write("customers.csv", "customer_id,kind,country,identity,name\n");
    let (code, stderr) = w.fails(&["import", "customers", arg(&header)]);
    assert_eq!(code, 1, "{stderr}");
    let name = header.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{name} has a header but no rows; nothing was stored"
        )),
        "{stderr}"
    );
    let empty = w.write("values.csv", "");
    let (code, stderr) = w.fails(&["import", "meter-values", arg(&empty)]);
    assert_eq!(code, 1, "{stderr}");
    let name = empty.display().to_string();
    assert!(
        stderr.contains(&format!("{name} is empty; nothing was stored")),
        "{stderr}"
    );
    let status = w.ok(&["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.trim_end() == "customers         0"),
        "{status}"
    );
}

//! Writes every fixture kind's EHF into a folder, to read or validate by hand:
//! `cargo run -p nordlys-documents --features fixtures --example dump_ubl -- DIR`.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    for kind in nordlys_documents::fixtures::FixtureKind::ALL {
        let document = kind.build();
        let profile = nordlys_documents::UblProfile::for_buyer(&document.buyer);
        match nordlys_documents::render_ubl(&document, profile) {
            Ok(xml) => {
                let path = format!("{dir}/{}.xml", kind.name());
                if let Err(error) = std::fs::write(&path, xml) {
                    eprintln!("{path}: {error}");
                }
            }
            Err(problems) => eprintln!("{problems}"),
        }
    }
}

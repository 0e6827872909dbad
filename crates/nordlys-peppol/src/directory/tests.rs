//! Directory exports in each format, with the errors a user sees for a bad entry or file.

use super::*;

const BUSINESS_CARDS_XML: &str = include_str!("../../tests/fixtures/directory-businesscards.xml");
const PARTICIPANTS_CSV: &str = include_str!("../../tests/fixtures/directory-participants.csv");

fn read_all(text: &str) -> (DirectoryFormat, Vec<Result<DirectoryEntry, DirectoryError>>) {
    let reader = read_directory(text.as_bytes()).unwrap();
    let format = reader.format();
    (format, reader.collect())
}

#[test]
fn business_cards_xml_gives_names_countries_and_bis_support() {
    let reader = read_directory(BUSINESS_CARDS_XML.as_bytes()).unwrap();
    assert_eq!(reader.format(), DirectoryFormat::BusinessCardsXml);
    assert_eq!(
        reader.created_at(),
        Some("2026-10-30T02:00:00Z".parse().unwrap())
    );
    let entries: Vec<DirectoryEntry> = reader.map(Result::unwrap).collect();
    assert_eq!(entries.len(), 3);
    let norwegian = &entries[0];
    assert_eq!(norwegian.participant.value(), "0192:923609016");
    assert_eq!(norwegian.name.as_deref(), Some("Nordlys Testkunde AS"));
    assert_eq!(norwegian.country.as_deref(), Some("NO"));
    assert_eq!(norwegian.receives(BisDocument::Invoice), Some(true));
    assert_eq!(norwegian.receives(BisDocument::CreditNote), Some(true));
    let danish = &entries[1];
    assert_eq!(danish.name.as_deref(), Some("Dansk Kunde & Søn ApS"));
    assert_eq!(danish.receives(BisDocument::Invoice), Some(true));
    assert_eq!(danish.receives(BisDocument::CreditNote), Some(false));
    assert_eq!(entries[2].receives(BisDocument::Invoice), Some(false));
    assert_eq!(entries[2].line, 24, "an entry names the line it starts on");
}

#[test]
fn participants_csv_names_the_line_of_a_bad_identifier_and_goes_on() {
    let (format, entries) = read_all(PARTICIPANTS_CSV);
    assert_eq!(format, DirectoryFormat::ParticipantsCsv);
    assert_eq!(entries.len(), 3);
    let first = entries[0].as_ref().unwrap();
    assert_eq!(
        first.participant.full(),
        "iso6523-actorid-upis::0192:923609016"
    );
    assert_eq!(
        first.receives(BisDocument::Invoice),
        None,
        "this export does not say"
    );
    let error = entries[1].as_ref().unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3: participant \"iso6523-actorid-upis::0192:923609017\": the mod-11 check digit (weights 3,2,7,6,5,4,3,2) does not match"
    );
    assert!(error.is_entry_error());
    assert_eq!(
        entries[2].as_ref().unwrap().participant.value(),
        "0184:12345678"
    );
}

#[test]
fn business_cards_csv_reads_the_first_name_and_the_document_types() {
    let invoice = BisDocument::Invoice.full_identifier();
    let text = format!(
        "\"Participant ID\";\"Names (per-row)\";\"Country code\";\"Geo info\";\"Identifier schemes\";\"Identifier values\";\"Websites\";\"Contact type\";\"Contact name\";\"Contact phone\";\"Contact email\";\"Additional info\";\"Registration date\";\"Document types\"\n\
         \"iso6523-actorid-upis::0192:923609016\";\"Nordlys Testkunde AS\nNordlys Test Customer Ltd\";\"NO\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"2019-04-02\";\"{invoice}\nbusdox-docid-qns::other\"\n"
    );
    let (format, entries) = read_all(&text);
    assert_eq!(format, DirectoryFormat::BusinessCardsCsv);
    let entry = entries[0].as_ref().unwrap();
    assert_eq!(entry.name.as_deref(), Some("Nordlys Testkunde AS"));
    assert_eq!(entry.country.as_deref(), Some("NO"));
    assert_eq!(entry.receives(BisDocument::Invoice), Some(true));
    assert_eq!(entry.receives(BisDocument::CreditNote), Some(false));
}

#[test]
fn files_that_are_no_export_are_refused_with_the_reason() {
    let error = read_directory("customer_id,name\nK1,Kari\n".as_bytes())
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("no \"Participant ID\" column"),
        "{error}"
    );
    let error = read_directory("  \n".as_bytes()).err().unwrap();
    assert!(error.to_string().contains("empty"), "{error}");
    let error = read_directory("<Invoice/>".as_bytes()).err().unwrap();
    assert!(
        error.to_string().contains("the root is <Invoice>"),
        "{error}"
    );

    // A broken XML file ends the stream with a file error naming the line.
    let broken = BUSINESS_CARDS_XML.replace("</businesscard>\n  <businesscard>\n    <participant scheme=\"iso6523-actorid-upis\" value=\"0184", "</businesscard>\n  <businesscard\n    <participant scheme=\"iso6523-actorid-upis\" value=\"0184");
    let entries: Vec<_> = read_directory(broken.as_bytes()).unwrap().collect();
    assert!(entries[0].is_ok());
    let last = entries.last().unwrap().as_ref().unwrap_err();
    assert!(!last.is_entry_error(), "{last}");
    assert!(last.to_string().starts_with("line "), "{last}");

    // An entry without a participant, or with a name too long, is an error of that entry.
    let no_participant = BUSINESS_CARDS_XML.replace(
        "<participant scheme=\"iso6523-actorid-upis\" value=\"0184:12345678\"/>",
        "",
    );
    let entries: Vec<_> = read_directory(no_participant.as_bytes()).unwrap().collect();
    assert_eq!(entries.len(), 3);
    let error = entries[1].as_ref().unwrap_err();
    assert!(
        error.to_string().contains("has no <participant>"),
        "{error}"
    );
    let long = BUSINESS_CARDS_XML.replace("Ordre Only A/S", &"x".repeat(MAX_NAME_CHARS + 1));
    let entries: Vec<_> = read_directory(long.as_bytes()).unwrap().collect();
    let error = entries[2].as_ref().unwrap_err();
    assert!(error.to_string().contains("longer than 500"), "{error}");
}

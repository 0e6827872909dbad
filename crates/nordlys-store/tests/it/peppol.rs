//! The Peppol participant cache on either backend: online answers are idempotent upserts that
//! a stale answer cannot overwrite; a Directory import is one transaction that leaves online
//! answers alone; what is due for a refresh is listed oldest first.

use jiff::Timestamp;
use nordlys_store::{ImportCounts, PeppolParticipant, PeppolSource, Store, Upsert};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn online(id: &str, invoice: bool, checked_at: &str) -> PeppolParticipant {
    PeppolParticipant {
        participant_id: format!("iso6523-actorid-upis::{id}"),
        source: PeppolSource::Sml,
        registered: true,
        can_receive_invoice: Some(invoice),
        can_receive_credit_note: Some(invoice),
        name: None,
        country: None,
        smp_url: Some("https://smp.example/".into()),
        invoice_endpoint_url: invoice.then(|| "https://ap.example/as4".into()),
        credit_note_endpoint_url: None,
        checked_at: at(checked_at),
    }
}

fn listed(id: &str, name: &str, invoice: Option<bool>, checked_at: &str) -> PeppolParticipant {
    PeppolParticipant {
        participant_id: format!("iso6523-actorid-upis::{id}"),
        source: PeppolSource::Directory,
        registered: true,
        can_receive_invoice: invoice,
        can_receive_credit_note: invoice,
        name: Some(name.into()),
        country: Some("NO".into()),
        smp_url: None,
        invoice_endpoint_url: None,
        credit_note_endpoint_url: None,
        checked_at: at(checked_at),
    }
}

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&nordlys_store::testing::fresh_database(dir.path()).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn online_answers_are_idempotent_and_a_stale_one_never_wins() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let first = online("0192:923609016", true, "2026-11-01T10:00:00Z");
    assert_eq!(
        store.upsert_peppol_lookup(&first).await.unwrap(),
        Upsert::Inserted
    );
    assert_eq!(
        store.upsert_peppol_lookup(&first).await.unwrap(),
        Upsert::Unchanged
    );
    let later = online("0192:923609016", false, "2026-11-02T10:00:00Z");
    assert_eq!(
        store.upsert_peppol_lookup(&later).await.unwrap(),
        Upsert::Updated
    );
    assert_eq!(
        store.upsert_peppol_lookup(&first).await.unwrap(),
        Upsert::Unchanged,
        "an older answer arriving late is dropped"
    );
    let stored = store
        .peppol_participant("iso6523-actorid-upis::0192:923609016")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, later);
    assert_eq!(
        store
            .peppol_participant("iso6523-actorid-upis::0192:974760673")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_directory_import_is_all_or_nothing_and_leaves_online_answers_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let looked_up = online("0192:923609016", false, "2026-10-01T00:00:00Z");
    store.upsert_peppol_lookup(&looked_up).await.unwrap();

    // Dropped without commit: nothing is stored.
    let mut import = store
        .begin_peppol_directory_import("businesscards.xml", at("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    import
        .write(&[listed(
            "0184:12345678",
            "Dansk ApS",
            Some(true),
            "2026-10-30T02:00:00Z",
        )])
        .await
        .unwrap();
    drop(import);
    assert_eq!(
        store
            .peppol_participant("iso6523-actorid-upis::0184:12345678")
            .await
            .unwrap(),
        None
    );

    // 1,200 entries in three statements, one of them already looked up online.
    let mut entries: Vec<PeppolParticipant> = (0..1_199)
        .map(|n| {
            listed(
                &format!("0088:{n:013}"),
                "Firma",
                Some(n % 2 == 0),
                "2026-10-30T02:00:00Z",
            )
        })
        .collect();
    entries.push(listed(
        "0192:923609016",
        "Nordlys Testkunde AS",
        Some(true),
        "2026-10-30T02:00:00Z",
    ));
    let mut import = store
        .begin_peppol_directory_import("businesscards.xml", at("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    import.write(&entries).await.unwrap();
    let counts = import.commit().await.unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            rows: 1_200,
            inserted: 1_199,
            updated: 0,
            unchanged: 1
        }
    );
    let kept = store
        .peppol_participant("iso6523-actorid-upis::0192:923609016")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, looked_up, "the online answer stands");
    let listed_one = store
        .peppol_participant("iso6523-actorid-upis::0088:0000000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed_one.source, PeppolSource::Directory);
    assert_eq!(listed_one.can_receive_invoice, Some(true));

    // The same export again changes nothing; a newer one replaces; an older one does not.
    let mut again = store
        .begin_peppol_directory_import("businesscards.xml", at("2026-11-02T00:00:00Z"))
        .await
        .unwrap();
    again.write(&entries[..10]).await.unwrap();
    assert_eq!(again.commit().await.unwrap().unchanged, 10);
    let mut newer = store
        .begin_peppol_directory_import("participants.csv", at("2026-11-03T00:00:00Z"))
        .await
        .unwrap();
    newer
        .write(&[
            listed("0088:0000000000002", "Firma", None, "2026-11-03T00:00:00Z"),
            listed("0088:0000000000004", "Firma", None, "2026-01-01T00:00:00Z"),
        ])
        .await
        .unwrap();
    let counts = newer.commit().await.unwrap();
    assert_eq!((counts.updated, counts.unchanged), (1, 1));
    let replaced = store
        .peppol_participant("iso6523-actorid-upis::0088:0000000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        replaced.can_receive_invoice, None,
        "a participants export does not say"
    );
}

#[tokio::test]
async fn entries_due_for_a_refresh_are_the_stale_ones_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    for (id, checked_at) in [
        ("0192:923609016", "2026-10-01T00:00:00Z"),
        ("0192:974760673", "2026-09-01T00:00:00Z"),
        ("0184:12345678", "2026-10-31T00:00:00Z"),
    ] {
        store
            .upsert_peppol_lookup(&online(id, true, checked_at))
            .await
            .unwrap();
    }
    let due = store
        .peppol_participants_due(PeppolSource::Sml, at("2026-10-15T00:00:00Z"), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = due.iter().map(|p| p.participant_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "iso6523-actorid-upis::0192:974760673",
            "iso6523-actorid-upis::0192:923609016"
        ]
    );
    let limited = store
        .peppol_participants_due(PeppolSource::Sml, at("2026-12-01T00:00:00Z"), 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert!(
        store
            .peppol_participants_due(PeppolSource::Directory, at("2026-12-01T00:00:00Z"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

//! camt laws: no input — random bytes, or a fixture cut short or with bytes changed — makes
//! the parser or the mapping panic; a cut document is rejected.

use nordlys_payments::parse_camt;
use proptest::prelude::*;

use crate::camt::{DANISH_054_V08, NORDIC, NORWEGIAN_054_V02};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_camt(&bytes, NORDIC);
    }

    #[test]
    fn truncated_or_garbled_documents_never_panic(
        danish in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let fixture = if danish { DANISH_054_V08 } else { NORWEGIAN_054_V02 }.as_bytes();
        let end = fixture.len() - "</Document>\n".len();
        let truncated = &fixture[..cut.index(end)];
        prop_assert!(parse_camt(truncated, NORDIC).is_err());
        let mut garbled = fixture.to_vec();
        for (at, byte) in &flips {
            let at = at.index(garbled.len());
            garbled[at] = *byte;
        }
        if let Ok(document) = parse_camt(&garbled, NORDIC) {
            let _ = document.incoming_payments();
        }
    }
}

//! Parses every ISRC in the real catalogue extract (`../shared/data/isrc/tracks_updated.csv`): each code must parse
//! or be rejected for a stated reason, and the tally is printed so the figures can be reported.

use omnisonic_domain::{Isrc, IsrcError};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn shared_data() -> PathBuf {
    std::env::var_os("OMNISONIC_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[test]
fn every_real_isrc_parses_or_is_rejected_for_a_reason() {
    let path = shared_data().join("isrc/tracks_updated.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut accepted = 0usize;
    let mut normalised = 0usize;
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut total = 0usize;
    for record in reader.records() {
        let record = record.expect("well-formed CSV row");
        let raw = record.get(0).expect("id column");
        total += 1;
        match Isrc::parse(raw) {
            Ok(isrc) => {
                accepted += 1;
                if isrc.as_str() != raw {
                    normalised += 1;
                }
                // Whatever was accepted is canonical and stable under a second parse.
                assert_eq!(Isrc::parse(isrc.as_str()).as_ref(), Ok(&isrc));
                assert_eq!(isrc.as_str().len(), 12);
            }
            Err(reason) => {
                let kind = match &reason {
                    IsrcError::Empty => "empty",
                    IsrcError::InvalidCharacter(_) => "invalid character",
                    IsrcError::WrongLength(_) => "wrong length",
                    IsrcError::BadCountry(_) => "bad country",
                    IsrcError::BadRegistrant(_) => "bad registrant",
                    IsrcError::BadYear(_) => "bad year",
                    IsrcError::BadDesignation(_) => "bad designation",
                };
                assert!(!reason.to_string().is_empty());
                rejected.entry(kind.to_owned()).or_default().push(raw.to_owned());
            }
        }
    }
    let rejected_total: usize = rejected.values().map(Vec::len).sum();
    println!(
        "ISRCs read: {total}; accepted: {accepted} (of which normalised: {normalised}); rejected: {rejected_total}"
    );
    for (kind, codes) in &rejected {
        println!("  rejected, {kind}: {} e.g. {:?}", codes.len(), codes.iter().take(3).collect::<Vec<_>>());
    }
    assert_eq!(total, 7_504, "the extract has 7,504 recordings");
    // Every code in the extract is well-formed once normalised; a parser that starts rejecting real codes fails here.
    assert_eq!(accepted, 7_504, "rejected: {rejected:?}");
    // SOURCES.md: three codes are lower case — they must be accepted and normalised, not rejected.
    assert!(normalised >= 3, "lower-case codes must be normalised, saw {normalised}");
}

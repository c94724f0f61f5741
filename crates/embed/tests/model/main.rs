//! The real all-MiniLM-L6-v2 model (at `OMNISONIC_TEST_MODEL_PATH`, fetched by `scripts/fetch-model.sh`):
//! vectors, batching and the similarities the tagger relies on.

use std::path::PathBuf;
use std::sync::OnceLock;

use omnisonic_embed::{MAX_TOKENS, SentenceEncoder, cosine};

fn encoder() -> Option<&'static SentenceEncoder> {
    static ENCODER: OnceLock<Option<SentenceEncoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            let path = match std::env::var("OMNISONIC_TEST_MODEL_PATH") {
                Ok(path) if !path.is_empty() => PathBuf::from(path),
                _ if std::env::var("OMNISONIC_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
                    panic!("OMNISONIC_TEST_MODEL_PATH is not set and OMNISONIC_REQUIRE_SERVICES=1")
                }
                _ => {
                    eprintln!("OMNISONIC_TEST_MODEL_PATH not set: model tests skipped");
                    return None;
                }
            };
            Some(SentenceEncoder::load(&path).expect("the model loads"))
        })
        .as_ref()
}

#[test]
fn vectors_are_unit_length_and_a_batch_matches_single_texts() {
    let Some(encoder) = encoder() else { return };
    assert_eq!(encoder.dimensions(), 384);
    let texts = ["Daft Punk", "the new single from Daft Punk is out now", "Björk und Sigur Rós in Köln"];
    let batch = encoder.encode(&texts).expect("batch");
    assert_eq!(batch.len(), 3);
    for (text, vector) in texts.iter().zip(&batch) {
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{text}: norm {norm}");
        // Padding to the longest text in the batch must not change a short text's vector.
        let single = encoder.encode(&[text]).expect("single");
        assert!(cosine(vector, &single[0]) > 0.9999, "{text}: batch and single differ");
    }
    assert!(encoder.encode(&[]).expect("nothing").is_empty());
}

#[test]
fn a_mention_is_closer_to_its_entity_than_to_the_same_words_used_as_words() {
    let Some(encoder) = encoder() else { return };
    let v = encoder
        .encode(&[
            "Get Lucky, a song by Daft Punk",
            "songs like get lucky by daft punk",
            "I got lucky at the casino yesterday",
            "Rise Against, music artist",
            "Artists like rise against",
            "prices rise against the dollar",
        ])
        .expect("encode");
    let song = cosine(&v[0], &v[1]);
    let casino = cosine(&v[0], &v[2]);
    assert!(song > 0.8 && casino < 0.6, "song {song}, casino {casino}");
    let band = cosine(&v[3], &v[4]);
    let prices = cosine(&v[3], &v[5]);
    assert!(band > 0.75 && band > prices + 0.2, "band {band}, prices {prices}");
}

#[test]
fn a_huge_text_is_cut_before_the_model_sees_it() {
    let Some(encoder) = encoder() else { return };
    let huge = "Daft Punk ".repeat(20_000);
    let cut: String = "Daft Punk ".repeat(MAX_TOKENS);
    let v = encoder.encode(&[&huge, &cut]).expect("encode");
    assert!(cosine(&v[0], &v[1]) > 0.999, "only the first {MAX_TOKENS} word pieces count");
}

//! The tagger's accuracy on real labelled data, as a regression guard: the same catalogue, queries and scoring
//! as `examples/eval accuracy` (whose modules this test shares), held to the targets. Needs the shared
//! test data (`OMNISONIC_SHARED_DATA`, or ../shared/data beside the checkout); with
//! `OMNISONIC_REQUIRE_SERVICES=1` (CI) missing data fails the test instead of skipping it.

#[path = "../../examples/eval/catalogue.rs"]
#[allow(dead_code)]
mod catalogue;
#[path = "../../examples/eval/deezer.rs"]
#[allow(dead_code)]
mod deezer;
#[path = "../../examples/eval/score.rs"]
#[allow(dead_code)]
mod score;

use omnisonic_tagging::{EntityKind, Stoplist, Tagger, TaggerConfig, name_forms};
use std::path::{Path, PathBuf};

fn shared_data() -> Option<PathBuf> {
    let path = std::env::var("OMNISONIC_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if path.join("tagging/deezer-music-ner/dataset1/queries.csv").is_file() {
        return Some(path);
    }
    assert!(std::env::var("OMNISONIC_REQUIRE_SERVICES").is_err(), "shared test data not found at {}", path.display());
    None
}

#[test]
fn fuzzy_tagging_meets_the_accuracy_targets_on_deezer_music_ner() {
    let Some(data) = shared_data() else { return };
    let eval = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let excluded: Vec<deezer::Excluded> = csv::Reader::from_path(eval.join("excluded-links.csv"))
        .expect("excluded links")
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("rows");
    let (queries, gold_names) = deezer::load(&data.join("tagging/deezer-music-ner"), &excluded).expect("queries");
    let mut catalogue = catalogue::Catalogue::default();
    catalogue::load_distractors(&data, &mut catalogue).expect("catalogue");
    for (is_title, name) in &gold_names {
        let kind = if *is_title { EntityKind::Work } else { EntityKind::Party };
        catalogue.add(&format!("wiki:{name}"), kind, name);
    }
    let tagger = Tagger::new(catalogue.builder.build(Stoplist::default()), TaggerConfig::default());
    let predicted: Vec<score::Predicted> = queries
        .iter()
        .map(|q| {
            tagger
                .tag(&q.text)
                .into_iter()
                .map(|t| {
                    let entity = tagger.dictionary().entity(t.entity);
                    (entity.kind.is_title(), name_forms(&entity.name))
                })
                .collect()
        })
        .collect();
    let (report, alarms, empty) = score::score_queries(&queries, &predicted);
    let overall = report.overall();
    let summary = format!(
        "artists F1 {:.3}, titles F1 {:.3}, overall F1 {:.3} (P {:.3} R {:.3}); {alarms} of {empty} empty queries tagged",
        report.artists.f1(),
        report.titles.f1(),
        overall.f1(),
        overall.precision(),
        overall.recall()
    );
    assert!(report.artists.f1() >= 0.90, "{summary}");
    assert!(report.titles.f1() >= 0.80, "{summary}");
    assert!(overall.f1() >= 0.90, "{summary}");
    assert!(alarms * 20 <= empty, "at most 5 % false alarms: {summary}");
}

//! Accuracy and speed of the tagger on real data, beside the spec's thefuzz method.
//!
//! ```text
//! cargo run --release -p omnisonic-tagging --example eval -- accuracy DATA [--baseline PYTHON] [--errors]
//! cargo run --release -p omnisonic-tagging --example eval -- accuracy DATA --explain "Songs like Blackout by Boris"
//! cargo run --release -p omnisonic-tagging --example eval -- speed DATA [--items 2000] [--baseline PYTHON]
//! … accuracy|speed DATA --embeddings MODEL_DIR      (also with the sentence model: scripts/fetch-model.sh)
//! ```
//!
//! `--errors` prints every query with its gold names and each tag marked TP, FP, ALARM (a tag on a query with
//! no mention) or IGN (about an unlinked or excluded mention), and each MISS; `--explain` shows why each
//! candidate in one text was kept or dropped, against the evaluation catalogue.
//!
//! `DATA` is the shared data folder (`../shared/data`). `--baseline` names a Python with thefuzz installed
//! (`bash scripts/thefuzz-venv.sh` prints one); the baseline runs `scripts/thefuzz-baseline.py` on the same
//! catalogue and texts, and both are scored the same way. `scripts/bench-tagging.sh` runs both commands.
//!
//! Accuracy: the `original` texts of deezer-music-ner's three sets, gold = their linked mentions (Artist → a
//! party, WoA → a work; a recording with the same name counts for a WoA), scored on (class, normalised name).
//! Unlinked mentions and the links listed in `eval/excluded-links.csv` (judged wrong) are not scored either
//! way: a prediction whose name is that mention's is ignored. The catalogue is the linked names plus all 1,929
//! artists and 7,504 recordings of the shared data as distractors. Also scored: the queries with no mention at
//! all (false alarms) and `eval/common-words.csv` (names that are common words, used as words and as names).

mod catalogue;
mod deezer;
mod score;
mod semantic;
mod speed;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use omnisonic_tagging::{EntityKind, Stoplist, Tagger, TaggerConfig, name_forms};

use crate::catalogue::Catalogue;
use crate::score::{Counts, Report};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(data)) = (args.first(), args.get(1)) else {
        bail!("usage: eval accuracy|speed DATA [--baseline PYTHON] [--items N] [--embeddings MODEL_DIR]");
    };
    let data = PathBuf::from(data);
    let baseline = flag(&args, "--baseline").map(PathBuf::from);
    match command.as_str() {
        "accuracy" => accuracy(&data, baseline.as_deref()),
        "speed" => {
            let items = flag(&args, "--items").map(|n| n.parse()).transpose()?.unwrap_or(2_000);
            speed::run(&data, items, baseline.as_deref(), flag(&args, "--embeddings").map(Path::new))
        }
        other => bail!("unknown command {other}"),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn flag_present(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn eval_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval").join(name)
}

use crate::score::Predicted;

fn accuracy(data: &Path, baseline: Option<&Path>) -> Result<()> {
    let excluded: Vec<deezer::Excluded> =
        csv::Reader::from_path(eval_file("excluded-links.csv"))?.deserialize().collect::<Result<_, _>>()?;
    let (queries, gold_names) = deezer::load(&data.join("tagging/deezer-music-ner"), &excluded)?;
    let excluded_titles = excluded.iter().filter(|e| e.kind == "WoA").count();
    println!(
        "excluded links (eval/excluded-links.csv, judged wrong, with reasons): {} artists, {} works; e.g. {:?}: {}",
        excluded.len() - excluded_titles,
        excluded_titles,
        excluded.first().map(|e| format!("{} -> {}", e.mention, e.wiki_name)).unwrap_or_default(),
        excluded.first().map(|e| e.reason.as_str()).unwrap_or_default(),
    );
    let mut catalogue = Catalogue::default();
    catalogue::load_distractors(data, &mut catalogue)?;
    for (is_title, name) in &gold_names {
        let kind = if *is_title { EntityKind::Work } else { EntityKind::Party };
        catalogue.add(&format!("wiki:{name}"), kind, name);
    }
    let common: Vec<CommonWords> =
        csv::Reader::from_path(eval_file("common-words.csv"))?.deserialize().collect::<Result<_, _>>()?;
    let catalogue_entities = catalogue.entities.clone();
    let tagger = Tagger::new(catalogue.builder.build(Stoplist::default()), TaggerConfig::default());
    println!(
        "catalogue: {} entities ({} linked names), {} queries ({} with no mention), {} excluded links, {} common-word sentences",
        tagger.dictionary().entities().len(),
        gold_names.len(),
        queries.len(),
        queries.iter().filter(|q| !q.has_mentions).count(),
        excluded.len(),
        common.len(),
    );

    if flag_present("--errors") {
        for query in queries.iter() {
            let tags = tagger.tag(&query.text);
            println!("Q{} {}\n   gold {:?} ignored {:?}", query.dataset, query.text, query.gold, query.ignored);
            for (is_title, name) in &query.gold {
                let found = tags.iter().any(|tag| {
                    let entity = tagger.dictionary().entity(tag.entity);
                    entity.kind.is_title() == *is_title && name_forms(&entity.name).contains(name)
                });
                if !found {
                    println!("   MISS {} {name}", if *is_title { "title" } else { "party" });
                }
            }
            for tag in tags {
                let entity = tagger.dictionary().entity(tag.entity);
                let forms = name_forms(&entity.name);
                let verdict = if query.gold.iter().any(|(t, n)| *t == entity.kind.is_title() && forms.contains(n)) {
                    "TP"
                } else if forms.iter().any(|f| query.ignored.iter().any(|m| score::similar(f, m))) {
                    "IGN"
                } else if !query.has_mentions {
                    "ALARM"
                } else {
                    "FP"
                };
                println!(
                    "   {verdict} {} {:?} [{}] conf {} sim {}",
                    entity.kind.as_str(),
                    entity.name,
                    tag.matched,
                    tag.confidence,
                    tag.similarity
                );
            }
        }
        for item in &common {
            println!("C {}\n   expected {}", item.text, item.expected);
            for tag in tagger.tag(&item.text) {
                let entity = tagger.dictionary().entity(tag.entity);
                println!(
                    "   -> {} {:?} [{}] conf {} sim {}",
                    entity.kind.as_str(),
                    entity.name,
                    tag.matched,
                    tag.confidence,
                    tag.similarity
                );
            }
        }
    }
    if let Some(text) = flag(&std::env::args().collect::<Vec<_>>(), "--explain") {
        let (_, lines) = tagger.explain(text);
        for line in lines {
            println!("{line}");
        }
        return Ok(());
    }
    let ours: Vec<Predicted> = queries.iter().map(|q| predict(&tagger, &q.text)).collect();
    let ours_common: Vec<Predicted> = common.iter().map(|c| predict(&tagger, &c.text)).collect();
    report("omnisonic tagger (fuzzy only, threshold 70)", &queries, &ours, &common, &ours_common);

    if let Some(model) = flag(&std::env::args().collect::<Vec<_>>(), "--embeddings") {
        let mut semantic = semantic::Semantic::load(Path::new(model))?;
        let started = std::time::Instant::now();
        let mut verdicts: Vec<(&'static str, u8, f32)> = Vec::new();
        let mut with: Vec<Predicted> = Vec::with_capacity(queries.len());
        for query in &queries {
            let weighed = semantic.weigh(&tagger, &query.text)?;
            for (c, s) in &weighed {
                let entity = tagger.dictionary().entity(c.tag.entity);
                let forms = name_forms(&entity.name);
                let verdict = if query.gold.iter().any(|(t, n)| *t == entity.kind.is_title() && forms.contains(n)) {
                    "TP"
                } else if forms.iter().any(|f| query.ignored.iter().any(|m| score::similar(f, m))) {
                    "IGN"
                } else {
                    "FP"
                };
                verdicts.push((verdict, c.tag.confidence, *s));
                if flag_present("--errors") {
                    println!("   {verdict} conf {} cos {s:.3} {:?} in {:?}", c.tag.confidence, entity.name, c.window);
                }
            }
            let threshold = tagger.config().fuzzy_threshold;
            with.push(
                weighed
                    .iter()
                    .filter_map(|(c, s)| omnisonic_tagging::hybrid::combine(c, *s, threshold, Default::default()))
                    .map(|tag| {
                        let entity = tagger.dictionary().entity(tag.entity);
                        (entity.kind.is_title(), name_forms(&entity.name))
                    })
                    .collect(),
            );
        }
        let with_common: Vec<Predicted> = common
            .iter()
            .map(|c| {
                semantic.tag(&tagger, &c.text).map(|tags| {
                    tags.into_iter()
                        .map(|tag| {
                            let entity = tagger.dictionary().entity(tag.entity);
                            (entity.kind.is_title(), name_forms(&entity.name))
                        })
                        .collect()
                })
            })
            .collect::<Result<_>>()?;
        let elapsed = started.elapsed();
        report("omnisonic tagger (fuzzy + embeddings, threshold 0.7)", &queries, &with, &common, &with_common);
        println!(
            "  embeddings          {} entities embedded, {:.1} s for {} texts",
            semantic.entities_embedded(),
            elapsed.as_secs_f64(),
            queries.len() + common.len()
        );
        for (label, above) in [("fuzzy-kept", true), ("below threshold", false)] {
            for verdict in ["TP", "FP"] {
                let cosines: Vec<f32> = verdicts
                    .iter()
                    .filter(|(v, c, _)| *v == verdict && (*c >= tagger.config().fuzzy_threshold) == above)
                    .map(|(_, _, s)| *s)
                    .collect();
                let agree = cosines.iter().filter(|s| **s >= 0.7).count();
                let mean = cosines.iter().sum::<f32>() / cosines.len().max(1) as f32;
                println!(
                    "  {label:>16} {verdict}: {} candidates, mean cosine {mean:.3}, {agree} at or above 0.7",
                    cosines.len()
                );
            }
        }
    }

    if let Some(python) = baseline {
        let mut texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
        texts.extend(common.iter().map(|c| c.text.as_str()));
        let result = run_baseline(python, &catalogue_entities, &texts)?;
        let predicted: Vec<Predicted> = result
            .tags
            .iter()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| catalogue_entities.get(*id))
                    .map(|(_, kind, name)| (kind.is_title(), name_forms(name)))
                    .collect()
            })
            .collect();
        let (q, c) = predicted.split_at(queries.len());
        report("thefuzz extractBests(token_set_ratio, cutoff 70, limit 5)", &queries, q, &common, c);
    }
    Ok(())
}

fn predict(tagger: &Tagger, text: &str) -> Predicted {
    tagger
        .tag(text)
        .into_iter()
        .map(|tag| {
            let entity = tagger.dictionary().entity(tag.entity);
            (entity.kind.is_title(), name_forms(&entity.name))
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct CommonWords {
    text: String,
    expected: String,
}

fn report(
    label: &str,
    queries: &[deezer::Query],
    predicted: &[Predicted],
    common: &[CommonWords],
    common_predicted: &[Predicted],
) {
    let (labelled, alarms, empty) = score::score_queries(queries, predicted);
    labelled.print(&format!("{label} — deezer-music-ner, {} labelled queries", queries.len() - empty));
    println!("  false alarms        {alarms} of {empty} queries with no mention got a tag");

    let mut words = Report::default();
    let mut word_alarms = 0;
    let mut word_empty = 0;
    for (item, predicted) in common.iter().zip(common_predicted) {
        let gold: Vec<(bool, String)> = item
            .expected
            .split(';')
            .filter(|e| !e.trim().is_empty())
            .filter_map(|e| e.split_once(':'))
            .map(|(kind, name)| {
                (EntityKind::parse(kind.trim()).is_some_and(EntityKind::is_title), deezer::full_form(name))
            })
            .collect();
        if gold.is_empty() {
            word_empty += 1;
            word_alarms += usize::from(!predicted.is_empty());
        }
        words.add(&gold, predicted);
    }
    let overall: Counts = words.overall();
    println!("  common words        {overall}");
    println!("                      {word_alarms} of {word_empty} sentences with no entity got a tag");
}

struct BaselineResult {
    tags: Vec<Vec<usize>>,
    items_per_second: f64,
    max_rss_kib: u64,
}

/// Runs `scripts/thefuzz-baseline.py` over the same catalogue and texts; tags come back as entity indexes.
fn run_baseline(python: &Path, entities: &[(String, EntityKind, String)], texts: &[&str]) -> Result<BaselineResult> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.json");
    let output = dir.path().join("out.json");
    let doc = serde_json::json!({
        "entities": entities.iter().enumerate().map(|(i, (_, kind, name))| serde_json::json!({
            "id": i.to_string(), "type": kind.as_str(), "name": name,
        })).collect::<Vec<_>>(),
        "items": texts.iter().enumerate().map(|(i, text)| serde_json::json!({"id": i.to_string(), "text": text})).collect::<Vec<_>>(),
    });
    std::fs::write(&input, serde_json::to_vec(&doc)?)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/thefuzz-baseline.py");
    let status = Command::new(python).arg(&script).arg(&input).arg(&output).status().context("running the baseline")?;
    if !status.success() {
        bail!("thefuzz baseline failed: {status}");
    }
    let out: serde_json::Value = serde_json::from_slice(&std::fs::read(&output)?)?;
    let mut tags = vec![Vec::new(); texts.len()];
    if let Some(map) = out["tags"].as_object() {
        for (item, found) in map {
            let Ok(item) = item.parse::<usize>() else { continue };
            for hit in found.as_array().into_iter().flatten() {
                if let Some(Ok(id)) = hit["id"].as_str().map(str::parse::<usize>)
                    && let Some(slot) = tags.get_mut(item)
                {
                    slot.push(id);
                }
            }
        }
    }
    Ok(BaselineResult {
        tags,
        items_per_second: out["items_per_second"].as_f64().unwrap_or_default(),
        max_rss_kib: out["max_rss_kib"].as_u64().unwrap_or_default(),
    })
}

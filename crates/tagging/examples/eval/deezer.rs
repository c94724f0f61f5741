//! The labelled queries of `tagging/deezer-music-ner` (Deezer, MIT): original text, and the linked mentions.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};
use omnisonic_tagging::normalize;

/// One labelled query.
pub struct Query {
    pub dataset: u8,
    pub text: String,
    /// (is a title, canonical normalised name) of linked, trusted mentions.
    pub gold: Vec<(bool, String)>,
    /// Normalised mention texts not scored either way: unlinked mentions and excluded (wrong) links.
    pub ignored: Vec<String>,
    /// Whether the query had any mention at all (linked or not).
    pub has_mentions: bool,
}

/// A link judged wrong (`eval/excluded-links.csv`).
#[derive(Debug, serde::Deserialize)]
pub struct Excluded {
    pub dataset: u8,
    pub mention: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub wiki_name: String,
    pub reason: String,
}

/// A name's full normalised form, as the tagger stores it (`The Beatles` → `beatles`).
pub fn full_form(name: &str) -> String {
    omnisonic_tagging::name_forms(name).pop().unwrap_or_else(|| normalize::normalize(name))
}

/// `Kid_A` → `Kid A`; `Blackout_(Boris_album)` → `Blackout`; `%22Heroes%22_(David_Bowie_album)` → `"Heroes"`.
pub fn canonical_name(wiki_name: &str) -> String {
    let decoded = percent_decode(&wiki_name.replace('_', " "));
    match decoded.rfind(" (") {
        Some(cut) if decoded.ends_with(')') && cut > 0 => decoded[..cut].to_owned(),
        _ => decoded,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Loads dataset1..3; returns the queries and the canonical names the links use ((is title, name) pairs).
/// (is a title, normalised name).
pub type Name = (bool, String);

pub fn load(dir: &Path, excluded: &[Excluded]) -> Result<(Vec<Query>, Vec<Name>)> {
    let mut queries = Vec::new();
    let mut names: Vec<(bool, String)> = Vec::new();
    let mut seen: HashSet<(bool, String)> = HashSet::new();
    for dataset in 1u8..=3 {
        let base = dir.join(format!("dataset{dataset}"));
        let mut links: Vec<(String, String, String, String)> = Vec::new();
        let mut reader =
            csv::Reader::from_path(base.join("ground-truth_linked.csv")).context("ground-truth_linked.csv")?;
        for row in reader.records() {
            let row = row?;
            links.push((row[0].to_owned(), row[1].to_owned(), row[2].to_owned(), row[5].to_owned()));
        }
        let mut reader = csv::Reader::from_path(base.join("queries.csv")).context("queries.csv")?;
        for row in reader.records() {
            let row = row?;
            let (preprocessed, original) = (&row[0], &row[1]);
            let mut query = Query {
                dataset,
                text: original.to_owned(),
                gold: Vec::new(),
                ignored: Vec::new(),
                has_mentions: false,
            };
            for (mention, kind, _, wiki_name) in links.iter().filter(|l| l.2 == preprocessed) {
                query.has_mentions = true;
                let is_excluded = excluded
                    .iter()
                    .any(|e| e.dataset == dataset && e.mention.trim() == mention.trim() && e.wiki_name == *wiki_name);
                if wiki_name.is_empty() || is_excluded {
                    query.ignored.push(full_form(mention));
                    continue;
                }
                let name = canonical_name(wiki_name);
                let key = (kind == "WoA", full_form(&name));
                if seen.insert(key.clone()) {
                    names.push((kind == "WoA", name));
                }
                if !query.gold.contains(&key) {
                    query.gold.push(key);
                }
            }
            queries.push(query);
        }
    }
    Ok((queries, names))
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_names_lose_underscores_codes_and_disambiguators() {
        assert_eq!(super::canonical_name("Kid_A"), "Kid A");
        assert_eq!(super::canonical_name("Travelin%27_Band"), "Travelin' Band");
        assert_eq!(super::canonical_name("%22Heroes%22_(David_Bowie_album)"), "\"Heroes\"");
    }
}

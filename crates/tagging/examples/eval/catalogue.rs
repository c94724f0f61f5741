//! The evaluation catalogue: the shared data's artists and recordings (distractors, with which artist made which
//! recording) plus the canonical names the labelled queries link to.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use omnisonic_tagging::{DictionaryBuilder, EntityId, EntityKind, normalize};

/// A catalogue being built, deduplicated by (kind, normalised name).
#[derive(Default)]
pub struct Catalogue {
    pub builder: DictionaryBuilder,
    pub entities: Vec<(String, EntityKind, String)>,
    by_name: HashMap<(EntityKind, String), EntityId>,
}

impl Catalogue {
    /// Adds an entity unless one of the same kind has the same normalised name.
    pub fn add(&mut self, key: &str, kind: EntityKind, name: &str) -> EntityId {
        let normalised = normalize::normalize(name);
        if let Some(&id) = self.by_name.get(&(kind, normalised.clone())) {
            return id;
        }
        let id = self.builder.add(key, kind, name);
        self.entities.push((key.to_owned(), kind, name.to_owned()));
        self.by_name.insert((kind, normalised), id);
        id
    }
}

/// Artists (`catalog/artists.csv`), recordings (`isrc/tracks_updated.csv`) and who made what
/// (`catalog/artist_tracks.csv`).
pub fn load_distractors(data: &Path, catalogue: &mut Catalogue) -> Result<()> {
    let mut artists: HashMap<String, EntityId> = HashMap::new();
    let mut reader = csv::Reader::from_path(data.join("catalog/artists.csv")).context("catalog/artists.csv")?;
    let headers = reader.headers()?.clone();
    let (id_col, name_col) = (column(&headers, "id")?, column(&headers, "name")?);
    for row in reader.records() {
        let row = row?;
        let id = catalogue.add(&format!("artist:{}", &row[id_col]), EntityKind::Party, &row[name_col]);
        artists.insert(row[id_col].to_owned(), id);
    }
    let mut recordings: HashMap<String, EntityId> = HashMap::new();
    let mut reader = csv::Reader::from_path(data.join("isrc/tracks_updated.csv")).context("isrc/tracks_updated.csv")?;
    let headers = reader.headers()?.clone();
    let (id_col, name_col) = (column(&headers, "id")?, column(&headers, "name")?);
    for row in reader.records() {
        let row = row?;
        let isrc = row[id_col].to_ascii_uppercase();
        // Recordings keep their own identity even when titles repeat: namesakes are part of the difficulty.
        let id = catalogue.builder.add(format!("recording:{isrc}"), EntityKind::Recording, &row[name_col]);
        catalogue.entities.push((format!("recording:{isrc}"), EntityKind::Recording, row[name_col].to_owned()));
        recordings.insert(isrc, id);
    }
    let mut reader =
        csv::Reader::from_path(data.join("catalog/artist_tracks.csv")).context("catalog/artist_tracks.csv")?;
    for row in reader.records() {
        let row = row?;
        if let (Some(&artist), Some(&recording)) = (artists.get(&row[0]), recordings.get(&row[1].to_ascii_uppercase()))
        {
            catalogue.builder.relate(artist, recording);
        }
    }
    Ok(())
}

fn column(headers: &csv::StringRecord, name: &str) -> Result<usize> {
    headers.iter().position(|h| h == name).with_context(|| format!("no column {name}"))
}

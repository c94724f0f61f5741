//! `omnisonic seed`: a small built-in demo catalogue, real data from CSV files, or synthetic data for benchmarks.
//!
//! Seeding is idempotent: recordings whose ISRC is already stored are skipped, and parties are reused by name.

use anyhow::Context;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use omnisonic_domain::catalogue::{PartyKind, RecordingInput, Role};
use omnisonic_domain::iswc::check_digit;
use omnisonic_store::DatabaseConnection;
use omnisonic_store::catalogue::{self, CatalogueBatch};
use omnisonic_store::entities::{contribution, party, recording, work};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use uuid::Uuid;

fn new_party(name: &str, kind: PartyKind) -> party::Model {
    party::Model {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        ipi: None,
        isni: None,
        created_at: Utc::now(),
    }
}

fn new_contribution(
    party: Uuid,
    work: Option<Uuid>,
    recording: Option<Uuid>,
    role: Role,
    share_bps: i32,
) -> contribution::Model {
    contribution::Model {
        id: Uuid::now_v7(),
        party_id: party,
        work_id: work,
        recording_id: recording,
        role: role.as_str().to_owned(),
        share_bps,
        created_at: Utc::now(),
    }
}

fn recording_row(input: &RecordingInput, work_id: Option<Uuid>) -> Result<recording::Model, String> {
    let valid = input.validate().map_err(|e| e.to_string())?;
    let now = Utc::now();
    Ok(recording::Model {
        id: Uuid::now_v7(),
        isrc: valid.isrc.as_str().to_owned(),
        title_folded: recording::fold(&valid.title),
        artist_folded: recording::fold(&valid.artist),
        title: valid.title,
        artist: valid.artist,
        duration_seconds: valid.duration_seconds.map(|d| d as i32),
        released_at: valid.released_at,
        genre_folded: valid.genre.as_deref().map(recording::fold),
        genre: valid.genre,
        work_id,
        created_at: now,
        updated_at: now,
    })
}

/// An ISWC with a correct check digit for nine digits.
fn iswc(digits: [u8; 9]) -> String {
    let d: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    format!("T-{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..], check_digit(&digits))
}

/// Loads a small demo catalogue: writers, a publisher, artists, three works and their recordings.
pub async fn demo(db: &DatabaseConnection) -> anyhow::Result<String> {
    let isrcs = ["USRC11301176", "USCM51400222", "GBUM71029604", "QZES81900001", "QMDA61500002"];
    let present = catalogue::existing_isrcs(db, &isrcs.map(String::from)).await?;
    if !present.is_empty() {
        return Ok("demo catalogue already present; nothing to do".to_owned());
    }
    let now = Utc::now();
    let writer_a = new_party("Ada Lovelace", PartyKind::Writer);
    let writer_b = new_party("Hedy Lamarr", PartyKind::Writer);
    let publisher = new_party("Omnisonic Publishing", PartyKind::Publisher);
    let label = new_party("Omnisonic Records", PartyKind::Label);
    let artists: Vec<party::Model> = ["Tinashe", "Drake", "The Easton Ellises", "Nova Quartet"]
        .iter()
        .map(|n| new_party(n, PartyKind::Artist))
        .collect();
    let works: Vec<work::Model> = [
        ("2 On", iswc([0, 3, 4, 5, 2, 4, 6, 8, 0]), "r&b"),
        ("0 To 100", iswc([1, 2, 3, 4, 5, 6, 7, 8, 9]), "rap"),
        ("Falcon 69", iswc([9, 8, 7, 6, 5, 4, 3, 2, 1]), "electronic"),
    ]
    .into_iter()
    .map(|(title, iswc, genre)| work::Model {
        id: Uuid::now_v7(),
        title: title.to_owned(),
        iswc: Some(iswc),
        genres: serde_json::json!([genre]),
        created_at: now,
        updated_at: now,
    })
    .collect();
    // (ISRC, title, artist index, work index, release date, genre)
    type Spec<'a> = (&'a str, &'a str, usize, Option<usize>, &'a str, &'a str);
    let specs: [Spec; 5] = [
        ("USRC11301176", "2 On", 0, Some(0), "2014-01-21", "r&b"),
        ("USCM51400222", "0 To 100 / The Catch Up", 1, Some(1), "2014-07-15", "rap"),
        ("GBUM71029604", "Falcon 69", 2, Some(2), "2010-05-03", "electronic"),
        ("QZES81900001", "Falcon 69 (Live)", 2, Some(2), "2019-02-01", "electronic"),
        ("QMDA61500002", "Quartet in Blue", 3, None, "2015", "jazz"),
    ];
    let mut batch = CatalogueBatch::default();
    for (isrc, title, artist, work, released, genre) in specs {
        let input = RecordingInput {
            isrc: isrc.to_owned(),
            title: title.to_owned(),
            artist: artists[artist].name.clone(),
            duration_seconds: Some(180 + title.len() as i64),
            released_at: Some(released.to_owned()),
            genre: Some(genre.to_owned()),
        };
        let rec = recording_row(&input, work.map(|w| works[w].id)).map_err(anyhow::Error::msg)?;
        batch.contributions.push(new_contribution(artists[artist].id, None, Some(rec.id), Role::Performer, 10_000));
        batch.contributions.push(new_contribution(label.id, None, Some(rec.id), Role::Label, 10_000));
        batch.recordings.push(rec);
    }
    for w in &works {
        // Writers split the composition 60/40; the publisher holds all publishing.
        batch.contributions.push(new_contribution(writer_a.id, Some(w.id), None, Role::Composer, 6_000));
        batch.contributions.push(new_contribution(writer_b.id, Some(w.id), None, Role::Composer, 4_000));
        batch.contributions.push(new_contribution(publisher.id, Some(w.id), None, Role::Publisher, 10_000));
    }
    batch.parties = [writer_a, writer_b, publisher, label].into_iter().chain(artists).collect();
    batch.works = works;
    let summary = format!(
        "demo catalogue loaded: {} parties, {} works, {} recordings, {} contributions",
        batch.parties.len(),
        batch.works.len(),
        batch.recordings.len(),
        batch.contributions.len()
    );
    catalogue::insert_batch(db, batch).await?;
    Ok(summary)
}

/// Parses the Python-list-like genre column of `artists.csv` (`['rap', 'pop rap']`).
fn parse_genres(raw: &str) -> Vec<String> {
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|g| g.trim().trim_matches(|c| c == '\'' || c == '"').trim().to_owned())
        .filter(|g| !g.is_empty())
        .collect()
}

struct Artist {
    name: String,
    genres: Vec<String>,
}

/// Loads real recordings from the CSV layout of `../shared/data`: one recording per valid ISRC, its artists as
/// performer parties (shares split evenly), the first artist's first genre as the genre.
pub async fn from_dir(db: &DatabaseConnection, dir: &Path) -> anyhow::Result<String> {
    let open = |rel: &str| {
        let path = dir.join(rel);
        csv::Reader::from_path(&path).with_context(|| format!("open {}", path.display()))
    };
    let mut artists: HashMap<String, Artist> = HashMap::new();
    for row in open("catalog/artists.csv")?.records() {
        let row = row.context("read catalog/artists.csv")?;
        let (Some(id), Some(name)) = (row.get(0), row.get(1)) else { continue };
        artists.insert(
            id.to_owned(),
            Artist { name: name.trim().to_owned(), genres: parse_genres(row.get(2).unwrap_or("")) },
        );
    }
    let mut artists_of: HashMap<String, Vec<String>> = HashMap::new();
    for row in open("catalog/artist_tracks.csv")?.records() {
        let row = row.context("read catalog/artist_tracks.csv")?;
        if let (Some(artist), Some(isrc)) = (row.get(0), row.get(1)) {
            let key = omnisonic_domain::Isrc::parse(isrc).map(|i| i.to_string()).unwrap_or_else(|_| isrc.to_owned());
            let list = artists_of.entry(key).or_default();
            if !list.iter().any(|a| a == artist) && artists.contains_key(artist) {
                list.push(artist.to_owned());
            }
        }
    }

    let spinner = ProgressBar::new_spinner().with_message("reading isrc/tracks_updated.csv");
    let mut rows: Vec<(recording::Model, Vec<String>)> = Vec::new();
    let mut seen = HashSet::new();
    let mut invalid: BTreeMap<String, usize> = BTreeMap::new();
    let mut duplicates = 0usize;
    for row in open("isrc/tracks_updated.csv")?.records() {
        let row = row.context("read isrc/tracks_updated.csv")?;
        let raw_isrc = row.get(0).unwrap_or_default();
        let normalised = omnisonic_domain::Isrc::parse(raw_isrc).map(|i| i.to_string()).unwrap_or_default();
        let credited = artists_of.get(&normalised).cloned().unwrap_or_default();
        let first = credited.first().and_then(|id| artists.get(id));
        let input = RecordingInput {
            isrc: raw_isrc.to_owned(),
            title: row.get(2).unwrap_or_default().to_owned(),
            artist: if credited.is_empty() {
                "Unknown artist".to_owned()
            } else {
                credited.iter().filter_map(|id| artists.get(id)).map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
            },
            duration_seconds: None,
            released_at: row.get(4).map(str::to_owned),
            genre: first.and_then(|a| a.genres.first().cloned()),
        };
        match recording_row(&input, None) {
            Ok(rec) if seen.insert(rec.isrc.clone()) => rows.push((rec, credited)),
            Ok(_) => duplicates += 1,
            Err(reason) => *invalid.entry(reason).or_default() += 1,
        }
        spinner.tick();
    }
    spinner.finish_and_clear();

    let all_isrcs: Vec<String> = rows.iter().map(|(r, _)| r.isrc.clone()).collect();
    let present = catalogue::existing_isrcs(db, &all_isrcs).await?;
    rows.retain(|(r, _)| !present.contains(&r.isrc));

    let needed: HashSet<&String> = rows.iter().flat_map(|(_, a)| a.iter()).collect();
    let names: Vec<String> = needed.iter().filter_map(|id| artists.get(*id)).map(|a| a.name.clone()).collect();
    let mut party_by_name: HashMap<String, Uuid> =
        catalogue::parties_by_names(db, PartyKind::Artist, &names).await?.into_iter().map(|p| (p.name, p.id)).collect();
    let mut batch = CatalogueBatch::default();
    for name in names {
        party_by_name.entry(name.clone()).or_insert_with(|| {
            let p = new_party(&name, PartyKind::Artist);
            let id = p.id;
            batch.parties.push(p);
            id
        });
    }
    for (rec, credited) in rows {
        let n = credited.len() as i32;
        for (i, artist_id) in credited.iter().enumerate() {
            let Some(party) = artists.get(artist_id).and_then(|a| party_by_name.get(&a.name)) else { continue };
            // Even split; the first artist takes the remainder so the shares sum to exactly 10,000.
            let share = 10_000 / n + if i == 0 { 10_000 % n } else { 0 };
            batch.contributions.push(new_contribution(*party, None, Some(rec.id), Role::Performer, share));
        }
        batch.recordings.push(rec);
    }
    let (recordings, parties, contributions) = (batch.recordings.len(), batch.parties.len(), batch.contributions.len());
    let bar = ProgressBar::new_spinner().with_message(format!("inserting {recordings} recordings"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    catalogue::insert_batch(db, batch).await?;
    bar.finish_and_clear();
    let invalid_total: usize = invalid.values().sum();
    let mut summary = format!(
        "seeded from {}: {recordings} recordings, {parties} new parties, {contributions} contributions; skipped {} already present, {duplicates} duplicate ISRCs, {invalid_total} invalid rows",
        dir.display(),
        present.len()
    );
    for (reason, count) in invalid {
        summary.push_str(&format!("\n  invalid ({count}): {reason}"));
    }
    Ok(summary)
}

/// Generates `n` synthetic recordings (two contributions each) for load tests, in transactions of 5,000.
pub async fn synthetic(db: &DatabaseConnection, n: u64) -> anyhow::Result<String> {
    const CHUNK: u64 = 5_000;
    const GENRES: [&str; 6] = ["rap", "pop", "rock", "jazz", "electronic", "r&b"];
    let start = catalogue::count_recordings(db).await?;
    let artist_count = (n / 5).clamp(1, 10_000);
    // Parties are reused by name, so running the generator twice adds recordings, not a second set of artists.
    let mut names: Vec<String> = (0..artist_count).map(|i| format!("Synthetic Artist {i}")).collect();
    names.push("Synthetic Producer".to_owned());
    let mut by_name: HashMap<String, Uuid> =
        catalogue::parties_by_names(db, PartyKind::Artist, &names).await?.into_iter().map(|p| (p.name, p.id)).collect();
    let missing: Vec<party::Model> =
        names.iter().filter(|n| !by_name.contains_key(*n)).map(|n| new_party(n, PartyKind::Artist)).collect();
    by_name.extend(missing.iter().map(|p| (p.name.clone(), p.id)));
    catalogue::insert_batch(db, CatalogueBatch { parties: missing, ..Default::default() }).await?;
    let producer_id = by_name["Synthetic Producer"];
    let artist_ids: Vec<(Uuid, String)> = names[..names.len() - 1].iter().map(|n| (by_name[n], n.clone())).collect();
    let bar = ProgressBar::new(n).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} recordings ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut done = 0;
    while done < n {
        let mut batch = CatalogueBatch::default();
        for i in done..(done + CHUNK).min(n) {
            let k = start + i;
            let (artist_id, artist_name) = &artist_ids[(k % artist_count) as usize];
            let input = RecordingInput {
                isrc: format!("QZSYN{:02}{:05}", (k / 100_000) % 100, k % 100_000),
                title: format!("Synthetic Track {k}"),
                artist: artist_name.clone(),
                duration_seconds: Some(120 + (k % 240) as i64),
                released_at: Some(format!("20{:02}-01-01", k % 25)),
                genre: Some(GENRES[(k % GENRES.len() as u64) as usize].to_owned()),
            };
            let rec = recording_row(&input, None).map_err(anyhow::Error::msg)?;
            batch.contributions.push(new_contribution(*artist_id, None, Some(rec.id), Role::Performer, 10_000));
            batch.contributions.push(new_contribution(producer_id, None, Some(rec.id), Role::Producer, 10_000));
            batch.recordings.push(rec);
        }
        let added = batch.recordings.len() as u64;
        catalogue::insert_batch(db, batch).await?;
        done += added;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    Ok(format!("generated {n} synthetic recordings with {} contributions", n * 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genres_from_python_lists() {
        assert_eq!(parse_genres("['rap', 'pop rap']"), vec!["rap", "pop rap"]);
        assert_eq!(parse_genres("[]"), Vec::<String>::new());
        assert_eq!(parse_genres("[\"r&b\"]"), vec!["r&b"]);
    }

    #[test]
    fn demo_iswcs_are_valid() {
        let code = iswc([0, 3, 4, 5, 2, 4, 6, 8, 0]);
        assert_eq!(code, "T-034.524.680-1");
        assert!(omnisonic_domain::Iswc::parse(&code).is_ok());
    }
}

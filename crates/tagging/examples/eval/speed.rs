//! Speed: news-like items built from the shared catalogue, tagged against all of it.
//!
//! Items are made deterministically (a fixed seed) from real artist names and their recordings' titles, with
//! what real feeds have: non-ASCII names and text, misspelt names, duplicates, and items about no catalogue entity.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use omnisonic_tagging::{EntityKind, Stoplist, Tagger, TaggerConfig};

use crate::catalogue::{self, Catalogue};

const HEADLINES: &[&str] = &[
    "{artist} announces world tour behind new album",
    "{artist} releases surprise single \"{title}\"",
    "Review: {artist}'s {title} is the record of the year",
    "{artist} and {other} team up for a remix of {title}",
    "Streaming numbers: {title} by {artist} passes one billion plays",
    "Interview: {artist} on fame, grief and the making of \"{title}\"",
    "{artist} cancels shows after illness; fans react",
    "Festival line-up: {artist}, {other} and more confirmed for Roskilde",
];
const SUMMARIES: &[&str] = &[
    "The singer said the songs were written on the road last winter, and that the band recorded most of them live in a single week.",
    "Critics praised the production, though some fans said the new direction was a step away from the sound that made them famous.",
    "Tickets go on sale on Friday; the tour opens in Lisbon and ends in Montréal after forty-two dates across Europe and North America.",
    "Die Band spielt im Sommer in Köln, München und Zürich; Karten gibt es ab nächster Woche.",
    "Le chanteur a présenté l'album à Paris devant un public conquis, avant une tournée en Belgique et au Québec.",
    "Labels reported higher vinyl sales this quarter while streaming growth slowed in most markets.",
    "A spokesperson declined to comment on the lawsuit over royalties, which was filed in March.",
];
const UNRELATED: &[&str] = &[
    "Central bank holds rates steady as inflation cools",
    "Storm warnings issued for the north coast this weekend",
    "City council approves budget for new public library",
    "Local team wins the derby after a late penalty",
];

/// A small deterministic generator (SplitMix64), so every run tags the same items.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Drops one character from a name: the typos feeds have.
fn misspell(name: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 6 {
        return name.to_owned();
    }
    let skip = 1 + (rng.next() as usize % (chars.len() - 2));
    chars.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, c)| *c).collect()
}

pub fn items(
    catalogue: &[(String, EntityKind, String)],
    related: &dyn Fn(usize) -> Vec<usize>,
    count: usize,
) -> Vec<String> {
    let artists: Vec<usize> = (0..catalogue.len()).filter(|&i| catalogue[i].1 == EntityKind::Party).collect();
    let mut rng = Rng(0x5EED);
    let mut out: Vec<String> = Vec::with_capacity(count);
    while out.len() < count {
        let roll = rng.next() % 100;
        if roll < 15 {
            let text = format!("{}. {}", rng.pick(UNRELATED), rng.pick(SUMMARIES));
            out.push(text);
            continue;
        }
        if roll < 20 && !out.is_empty() {
            // A duplicate, as two feeds carry the same story.
            let earlier = out[(rng.next() as usize) % out.len()].clone();
            out.push(earlier);
            continue;
        }
        let artist = *rng.pick(&artists);
        let other = *rng.pick(&artists);
        let titles = related(artist);
        let title = titles.first().map_or("Untitled", |&t| catalogue[t].2.as_str());
        let mut name = catalogue[artist].2.clone();
        if roll < 30 {
            name = misspell(&name, &mut rng);
        }
        let headline = rng
            .pick(HEADLINES)
            .replace("{artist}", &name)
            .replace("{other}", &catalogue[other].2)
            .replace("{title}", title);
        out.push(format!("{headline}. {} {}", rng.pick(SUMMARIES), rng.pick(SUMMARIES)));
    }
    out
}

pub fn run(data: &Path, count: usize, baseline: Option<&Path>, embeddings: Option<&Path>) -> Result<()> {
    let mut catalogue = Catalogue::default();
    catalogue::load_distractors(data, &mut catalogue)?;
    let entities = catalogue.entities.clone();
    let started = Instant::now();
    let tagger = Tagger::new(catalogue.builder.build(Stoplist::default()), TaggerConfig::default());
    let build = started.elapsed();
    let dictionary = tagger.dictionary();
    let related =
        |i: usize| -> Vec<usize> { dictionary.entities()[i].related.iter().map(|id| id.0 as usize).collect() };
    let texts = items(&entities, &related, count);
    let started = Instant::now();
    let mut tags = 0usize;
    for text in &texts {
        tags += tagger.tag(text).len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ours = texts.len() as f64 / elapsed;
    println!(
        "catalogue: {} entities ({} parties, {} recordings), {} words; dictionary built in {:.0} ms",
        entities.len(),
        entities.iter().filter(|e| e.1 == EntityKind::Party).count(),
        entities.iter().filter(|e| e.1 == EntityKind::Recording).count(),
        dictionary.vocabulary_len(),
        build.as_secs_f64() * 1e3
    );
    println!(
        "omnisonic tagger: {} items in {:.3} s = {:.0} items/s, {} tags; peak RSS {} MiB",
        texts.len(),
        elapsed,
        ours,
        tags,
        peak_rss_kib() / 1024
    );
    if let Some(python) = baseline {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let result = crate::run_baseline(python, &entities, &refs)?;
        println!(
            "thefuzz baseline: {:.1} items/s, peak RSS {} MiB; omnisonic is {:.0}x as fast",
            result.items_per_second,
            result.max_rss_kib / 1024,
            ours / result.items_per_second
        );
    }
    // Last: the model's memory must not show in the fuzzy-only peak RSS, nor in the baseline's (a child started
    // after a fork inherits the parent's peak in its own ru_maxrss).
    if let Some(model) = embeddings {
        let started = Instant::now();
        let mut semantic = crate::semantic::Semantic::load(model)?;
        let load = started.elapsed();
        for pass in ["cold entity vectors", "warm entity vectors"] {
            let started = Instant::now();
            let mut tags = 0usize;
            for text in &texts {
                tags += semantic.tag(&tagger, text)?.len();
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!(
                "omnisonic tagger + embeddings ({pass}): {} items in {:.1} s = {:.1} items/s, {} tags; model loaded in {:.0} ms, {} entities and {} windows embedded; peak RSS {} MiB",
                texts.len(),
                elapsed,
                texts.len() as f64 / elapsed,
                tags,
                load.as_secs_f64() * 1e3,
                semantic.entities_embedded(),
                semantic.windows_embedded(),
                peak_rss_kib() / 1024
            );
        }
    }
    Ok(())
}

/// Peak resident set of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

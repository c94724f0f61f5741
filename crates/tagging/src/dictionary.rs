//! The dictionary: the catalogue's names, compiled for matching.
//!
//! Every name and alias becomes one or more *variants* (normalised token sequences): the full name without a
//! leading "The"; the title without its parenthesised or dashed suffix (`Song (feat. X) - Remastered 2011` →
//! `song`); the credit before "feat."/"ft."/"featuring"; and, for names of one- or two-letter parts, the parts
//! run together (`Jay-Z` → `jayz`). Variants go into a token trie, so one pass over a text finds every name
//! that starts at every token. Words of at least [`NEAR_MIN_CHARS`] characters are also indexed by their
//! deletions (SymSpell), so a misspelt word finds its dictionary words in a few hash lookups.

use rustc_hash::FxHashMap as HashMap;

use crate::normalize;
use crate::stoplist::Stoplist;

/// Words shorter than this are matched exactly only: a one-letter slip in a short word is another word.
pub const NEAR_MIN_CHARS: usize = 5;
/// Words of this length or more may be two edits away; shorter ones one edit.
const TWO_EDITS_MIN_CHARS: usize = 9;
/// Names longer than this many tokens are matched on their first tokens only.
pub(crate) const MAX_NAME_TOKENS: usize = 12;

/// What kind of catalogue entity a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// An artist, writer, label: a party.
    Party,
    /// A musical work (a composition; albums and songs in the evaluation data).
    Work,
    /// A recording.
    Recording,
}

impl EntityKind {
    /// The stored name: `party`, `work` or `recording`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Party => "party",
            Self::Work => "work",
            Self::Recording => "recording",
        }
    }

    /// Parses [`EntityKind::as_str`]'s output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "party" => Some(Self::Party),
            "work" => Some(Self::Work),
            "recording" => Some(Self::Recording),
            _ => None,
        }
    }

    /// Works and recordings are titles; their names are more often ordinary phrases.
    pub fn is_title(self) -> bool {
        !matches!(self, Self::Party)
    }
}

/// Index of an entity in its [`Dictionary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub u32);

/// One catalogue entity.
#[derive(Debug, Clone)]
pub struct Entity {
    /// The caller's key (a database id).
    pub key: String,
    /// Party, work or recording.
    pub kind: EntityKind,
    /// The display name.
    pub name: String,
    /// Entities this one goes with: a recording's artists, an artist's recordings.
    pub related: Vec<EntityId>,
}

/// A variant ending at a trie node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern {
    pub entity: EntityId,
    /// Characters of the normalised variant, spaces included.
    pub chars: u32,
    /// Made only of common words, numbers or one short word: needs evidence in the text.
    pub weak: bool,
}

/// Collects names, aliases and relations, then [`DictionaryBuilder::build`]s a [`Dictionary`].
#[derive(Debug, Default)]
pub struct DictionaryBuilder {
    entities: Vec<Entity>,
    names: Vec<(EntityId, String)>,
}

impl DictionaryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entity under its display name; returns its id.
    pub fn add(&mut self, key: impl Into<String>, kind: EntityKind, name: &str) -> EntityId {
        let id = EntityId(u32::try_from(self.entities.len()).unwrap_or(u32::MAX));
        self.entities.push(Entity { key: key.into(), kind, name: name.to_owned(), related: Vec::new() });
        self.names.push((id, name.to_owned()));
        id
    }

    /// Another name the entity goes by.
    pub fn alias(&mut self, id: EntityId, alias: &str) {
        self.names.push((id, alias.to_owned()));
    }

    /// Records that two entities go together (a recording and its artist), both ways.
    pub fn relate(&mut self, a: EntityId, b: EntityId) {
        if a == b {
            return;
        }
        for (from, to) in [(a, b), (b, a)] {
            if let Some(entity) = self.entities.get_mut(from.0 as usize)
                && !entity.related.contains(&to)
            {
                entity.related.push(to);
            }
        }
    }

    /// How many entities were added.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether no entity was added.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Compiles the names; `stoplist` decides which names are weak.
    pub fn build(self, stoplist: Stoplist) -> Dictionary {
        let mut dictionary = Dictionary {
            entities: self.entities,
            vocab: HashMap::default(),
            words: Vec::new(),
            edges: HashMap::default(),
            outputs: vec![Vec::new()],
            deletions: HashMap::default(),
            stoplist,
        };
        for (id, name) in &self.names {
            let variants = variants(name);
            // A shortened or run-together form is as weak as the full name ("I Am" → "iam" is still "I am").
            let full_is_weak = variants.last().is_some_and(|full| is_weak(full, &dictionary.stoplist));
            for variant in &variants {
                dictionary.insert(*id, variant, full_is_weak);
            }
        }
        dictionary.index_deletions();
        dictionary
    }
}

/// The compiled catalogue names.
#[derive(Debug)]
pub struct Dictionary {
    entities: Vec<Entity>,
    vocab: HashMap<String, u32>,
    /// Words by id.
    words: Vec<String>,
    /// Trie edges: (node, word) → node. Node 0 is the root.
    edges: HashMap<(u32, u32), u32>,
    /// Patterns ending at each node.
    outputs: Vec<Vec<Pattern>>,
    /// Deletion variants → words (SymSpell), for words of at least [`NEAR_MIN_CHARS`] characters.
    deletions: HashMap<String, Vec<u32>>,
    stoplist: Stoplist,
}

impl Dictionary {
    /// The entity behind an id.
    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.0 as usize]
    }

    /// Every entity, in the order added.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// How many distinct words the names use.
    pub fn vocabulary_len(&self) -> usize {
        self.vocab.len()
    }

    pub(crate) fn stoplist(&self) -> &Stoplist {
        &self.stoplist
    }

    pub(crate) fn word(&self, folded: &str) -> Option<u32> {
        self.vocab.get(folded).copied()
    }

    pub(crate) fn child(&self, node: u32, word: u32) -> Option<u32> {
        self.edges.get(&(node, word)).copied()
    }

    pub(crate) fn patterns(&self, node: u32) -> &[Pattern] {
        &self.outputs[node as usize]
    }

    /// Dictionary words within edit distance of a folded word that is not itself a dictionary word, with their
    /// distance (optimal string alignment: a swap of neighbours is one edit).
    pub(crate) fn near_words(&self, folded: &str, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let len = folded.chars().count();
        if len < NEAR_MIN_CHARS {
            return;
        }
        let max = max_edits(len);
        let mut seen: Vec<u32> = Vec::new();
        for key in deletions(folded, max) {
            let Some(words) = self.deletions.get(&key) else { continue };
            for &word in words {
                if seen.contains(&word) {
                    continue;
                }
                seen.push(word);
                let text = self.word_text(word);
                let distance = strsim::osa_distance(folded, text);
                if distance > 0 && distance <= max.min(max_edits(text.chars().count())) {
                    out.push((word, distance as u32));
                }
            }
        }
    }

    fn word_text(&self, word: u32) -> &str {
        &self.words[word as usize]
    }

    fn insert(&mut self, entity: EntityId, variant: &[String], full_is_weak: bool) {
        let mut node = 0u32;
        for word in variant.iter().take(MAX_NAME_TOKENS) {
            let word = match self.vocab.get(word) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
                    self.vocab.insert(word.clone(), id);
                    self.words.push(word.clone());
                    id
                }
            };
            node = match self.edges.get(&(node, word)) {
                Some(&child) => child,
                None => {
                    let child = u32::try_from(self.outputs.len()).unwrap_or(u32::MAX);
                    self.outputs.push(Vec::new());
                    self.edges.insert((node, word), child);
                    child
                }
            };
        }
        let outputs = &mut self.outputs[node as usize];
        if outputs.iter().any(|p| p.entity == entity) {
            return;
        }
        let chars = variant.iter().map(|w| w.chars().count()).sum::<usize>() + variant.len().saturating_sub(1);
        let weak = full_is_weak || is_weak(variant, &self.stoplist);
        outputs.push(Pattern { entity, chars: u32::try_from(chars).unwrap_or(u32::MAX), weak });
    }

    fn index_deletions(&mut self) {
        let mut index: HashMap<String, Vec<u32>> = HashMap::default();
        for (word, &id) in &self.vocab {
            let len = word.chars().count();
            if len < NEAR_MIN_CHARS || self.stoplist.contains(word) {
                continue;
            }
            for key in deletions(word, max_edits(len)) {
                index.entry(key).or_default().push(id);
            }
        }
        self.deletions = index;
    }
}

fn max_edits(chars: usize) -> usize {
    if chars >= TWO_EDITS_MIN_CHARS { 2 } else { 1 }
}

/// The word itself and every string made by deleting up to `max` characters from it.
fn deletions(word: &str, max: usize) -> Vec<String> {
    let mut out = vec![word.to_owned()];
    let mut frontier = vec![word.to_owned()];
    for _ in 0..max {
        let mut next = Vec::new();
        for item in &frontier {
            let chars: Vec<char> = item.chars().collect();
            for skip in 0..chars.len() {
                let shorter: String = chars.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, c)| *c).collect();
                if !out.contains(&shorter) {
                    out.push(shorter.clone());
                    next.push(shorter);
                }
            }
        }
        frontier = next;
    }
    out
}

/// A name made only of common words, numbers and words of at most two letters (`Yes`, `1999`, `Pt. 2`, `XO`).
fn is_weak(variant: &[String], stoplist: &Stoplist) -> bool {
    variant.iter().all(|w| stoplist.contains(w) || w.chars().all(char::is_numeric) || w.chars().count() <= 2)
}

/// The normalised forms a name is matched by (`The Beatles` → `beatles`; `Song (Live)` → `song`, `song live`).
pub fn name_forms(name: &str) -> Vec<String> {
    variants(name).into_iter().map(|v| v.join(" ")).collect()
}

/// The token sequences a name is matched by.
pub(crate) fn variants(name: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut push = |tokens: Vec<String>| {
        let tokens = drop_leading_article(tokens);
        // "T.H.E" folds to "the": an article alone names nothing.
        let bare_article = tokens.len() == 1 && matches!(tokens[0].as_str(), "the" | "a" | "an");
        if !tokens.is_empty() && !bare_article && !out.contains(&tokens) {
            out.push(tokens);
        }
    };
    let full: Vec<String> = normalize::tokens(name).into_iter().map(|t| t.text).collect();
    // The credit before a featured artist: "Song feat. X" is also "Song".
    if let Some(cut) = full.iter().position(|w| matches!(w.as_str(), "feat" | "ft" | "featuring")) {
        push(full[..cut].to_vec());
    }
    // The title before a parenthesised or dashed suffix: "Song (Live) - Remastered" is also "Song".
    if let Some(cut) = [" (", " [", " - ", " – ", " — "].iter().filter_map(|sep| name.find(sep)).min() {
        push(normalize::tokens(&name[..cut]).into_iter().map(|t| t.text).collect());
    }
    // Names with a part of one or two letters run together: "Jay-Z" is also "jayz", "AC/DC" "acdc".
    if full.len() >= 2
        && full.iter().any(|w| w.chars().count() <= 2)
        && full.iter().map(|w| w.chars().count()).sum::<usize>() <= 10
    {
        push(vec![full.concat()]);
    }
    push(full);
    out
}

fn drop_leading_article(mut tokens: Vec<String>) -> Vec<String> {
    if tokens.len() > 1 && tokens[0] == "the" {
        tokens.remove(0);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(variants: Vec<Vec<String>>) -> Vec<String> {
        variants.into_iter().map(|v| v.join(" ")).collect()
    }

    #[test]
    fn variants_drop_the_suffixes_and_features() {
        assert_eq!(strings(variants("The Beatles")), ["beatles"]);
        assert!(variants("The The").is_empty() && variants("T.H.E").is_empty());
        assert_eq!(
            strings(variants("Hold On (feat. Drake) - Remastered 2011")),
            ["hold on", "hold on feat drake remastered 2011"]
        );
        assert_eq!(strings(variants("Jay-Z")), ["jayz", "jay z"]);
        assert_eq!(strings(variants("Beyoncé")), ["beyonce"]);
    }

    #[test]
    fn weak_names_are_common_words_numbers_or_tiny() {
        let stoplist = Stoplist::default();
        let weak = |name: &str| variants(name).last().is_some_and(|full| is_weak(full, &stoplist));
        assert!(weak("Yes") && weak("Home") && weak("1999") && weak("Kid A") && weak("XO") && weak("Pt. 2"));
        assert!(!weak("Radiohead") && !weak("I Fight Dragons") && !weak("U2x"));
    }

    #[test]
    fn near_words_find_misspellings_within_their_budget() {
        let mut builder = DictionaryBuilder::new();
        builder.add("1", EntityKind::Party, "Radiohead");
        builder.add("2", EntityKind::Party, "Metallica");
        let dictionary = builder.build(Stoplist::default());
        let mut out = Vec::new();
        dictionary.near_words("radioheads", &mut out);
        assert_eq!(out.len(), 1);
        dictionary.near_words("metalicca", &mut out);
        assert_eq!(out.len(), 1, "a swap and a deletion are two edits");
        dictionary.near_words("radio", &mut out);
        assert!(out.is_empty());
    }
}

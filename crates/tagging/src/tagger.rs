//! The tagger: finds dictionary names in a text and scores them.
//!
//! # Candidates
//!
//! One pass over the text's tokens: from every token, the dictionary trie is walked as far as the following
//! tokens allow. A token steps along the trie by itself when it is a dictionary word, by a dictionary word within
//! one or two edits when it is not (and is at least five letters long and not a common word), or together with the
//! next token when the two run together form a dictionary word (`radio head` → `radiohead`).
//!
//! # Scores
//!
//! *Similarity* (0–100, the spec's fuzzy score) is 100 for an exact match of a normalised name and
//! `100 × (1 − edits ÷ longer length)` for a near miss. *Confidence* starts from the similarity and is then
//! weighed by context:
//!
//! * **Evidence** that words are a name: quoted; capitalised in the middle of a sentence (when the text is not in
//!   title case throughout); a cue word next to them (`by`, `band`, `song`, `album`, …, or for a party a music
//!   word within three words); a related entity found in the same text (the song's artist).
//! * **Weak names** (only common words, only numbers, or one word of at most two letters: the band Yes, the song
//!   Home) are dropped without evidence other than capitals, which prove little for common words.
//! * **Titles** (works and recordings): a one-word title is dropped without evidence, and when it was only a
//!   near miss; otherwise +10 when a related entity (the artist) is in the text, −15 with no evidence.
//! * **Ambiguity**: when several entities of one kind share the matched name and the text does not tell them apart
//!   through a related entity, each loses `5 × log2(n)` (at most 20).
//! * **Overlaps**: the longest match wins (`Aphex Twin` over `Twin`); on the same words a party wins over a title
//!   unless the words are quoted or follow a title cue (`the album Weezer`).
//!
//! Tags at or above [`TaggerConfig::fuzzy_threshold`] are returned, one per entity (its best).

use crate::dictionary::{Dictionary, EntityId, EntityKind, MAX_NAME_TOKENS};
use crate::normalize::{self, Token};

/// How a tag was found (the spec's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// An exact match of a normalised name or alias.
    Heuristic,
    /// A near match (typos, run-together words).
    Fuzzy,
    /// Found by embedding similarity alone.
    Embedding,
    /// A fuzzy candidate confirmed by embeddings.
    Hybrid,
}

impl Method {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Heuristic => "heuristic",
            Self::Fuzzy => "fuzzy",
            Self::Embedding => "embedding",
            Self::Hybrid => "hybrid",
        }
    }
}

/// Tagger settings.
#[derive(Debug, Clone, Copy)]
pub struct TaggerConfig {
    /// Minimum confidence (0–100) of a returned tag; `TAGGING_FUZZY_THRESHOLD`, 70 by default.
    pub fuzzy_threshold: u8,
    /// Texts are tagged on at most this many tokens (a news item's title and summary fit easily).
    pub max_tokens: usize,
}

impl Default for TaggerConfig {
    fn default() -> Self {
        Self { fuzzy_threshold: 70, max_tokens: 4_000 }
    }
}

/// One entity found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// The entity, in the tagger's dictionary.
    pub entity: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// Confidence 0–100 after context rules.
    pub confidence: u8,
    /// Name similarity 0–100 before context rules.
    pub similarity: u8,
    /// How it was found.
    pub method: Method,
    /// Byte range of the matched words in the text.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// The matched words as written.
    pub matched: String,
}

/// A tag as weighed, before the threshold, with the words around the mention.
#[derive(Debug, Clone, PartialEq)]
pub struct Considered {
    /// The tag; its confidence may be below the threshold.
    pub tag: Tag,
    /// Dropped by the context rules only for want of evidence (see [`Tagger::consider`]).
    pub doubtful: bool,
    /// The mention with up to [`WINDOW_TOKENS`] words either side, within its sentence, as written.
    pub window: String,
}

/// Words either side of a mention in [`Considered::window`]: enough to tell "Get Lucky by Daft Punk" from "got
/// lucky at the casino"; a whole headline dilutes the mention (its cosine to a correct entity is about 0.65).
pub const WINDOW_TOKENS: usize = 5;

/// The confidence a doubtful name carries into [`Tagger::consider`]: six tenths of its similarity (60 for an
/// exact name), below the default threshold and above the default embedding floor.
pub fn doubtful_confidence(similarity: u8) -> u8 {
    // At most 60: fits a u8.
    (u16::from(similarity) * 6 / 10) as u8
}

/// What the context rules made of a candidate.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// A name, with its confidence and whether the text marks it as a title.
    Kept { confidence: u8, title_cue: bool },
    /// Dropped for want of evidence that the words are a name; a second opinion may still find it.
    Doubtful,
    /// Dropped: the words are not this name.
    Dropped,
}

/// Finds a dictionary's names in texts. Cheap to share between threads.
#[derive(Debug)]
pub struct Tagger {
    dictionary: Dictionary,
    config: TaggerConfig,
}

/// One way a token (or two) steps along the trie.
#[derive(Debug, Clone, Copy)]
struct Step {
    word: u32,
    tokens: usize,
    edits: u32,
}

/// A name found at a token span, before context rules.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    entity: EntityId,
    kind: EntityKind,
    first: usize,
    last: usize,
    similarity: u8,
    edits: u32,
    weak: bool,
    /// Entities of the same kind sharing this name.
    namesakes: usize,
}

/// The lowest similarity of a near miss on a one-word name.
const ONE_WORD_NEAR_MIN: usize = 85;

const ARTIST_CUES_BEFORE: &[&str] = &[
    "by",
    "from",
    "feat",
    "ft",
    "featuring",
    "band",
    "singer",
    "rapper",
    "artist",
    "dj",
    "producer",
    "duo",
    "group",
    "and",
    "or",
    "with",
    "vs",
    "x",
    "like",
];
const TITLE_CUES_BEFORE: &[&str] = &[
    "song", "track", "single", "album", "record", "ep", "lp", "hit", "tune", "anthem", "ballad", "cover", "remix",
    "titled", "called",
];
const MUSIC_WORDS_NEAR: &[&str] = &[
    "album",
    "albums",
    "tour",
    "concert",
    "concerts",
    "band",
    "single",
    "singles",
    "song",
    "songs",
    "record",
    "ep",
    "music",
    "gig",
    "fans",
    "tracks",
    "track",
    "discography",
    "release",
    "released",
    "releases",
    "video",
    "live",
    "remix",
    "cover",
    "lyrics",
    "stream",
    "streams",
    "chart",
    "charts",
    "festival",
    "headline",
    "headlines",
];
/// Small words that stay lower case in titles ("Dancing in the Dark", "Everything in its Right Place").
const TITLE_SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "the", "of", "in", "on", "to", "for", "at", "by", "or", "de", "la", "le", "el", "da", "n", "is",
    "its", "it", "my", "your", "me", "you", "with", "from", "into", "up",
];
/// Small words that can sit inside a longer capitalised name ("Time to Move", "Kiss from a Rose" is matched whole);
/// not `by`, `and`, `or`, which separate names.
const RUN_CONNECTORS: &[&str] =
    &["a", "an", "the", "of", "in", "on", "to", "for", "at", "is", "its", "it", "my", "your", "me", "you", "n"];

impl Tagger {
    /// A tagger over `dictionary`.
    pub fn new(dictionary: Dictionary, config: TaggerConfig) -> Self {
        Self { dictionary, config }
    }

    /// The dictionary it matches against.
    pub fn dictionary(&self) -> &Dictionary {
        &self.dictionary
    }

    /// The settings.
    pub fn config(&self) -> TaggerConfig {
        self.config
    }

    /// Tags a text: the entities it mentions, in the text's order.
    pub fn tag(&self, text: &str) -> Vec<Tag> {
        self.weigh(text, self.config.fuzzy_threshold, false, None).into_iter().map(|c| c.tag).collect()
    }

    /// Every entity the tagger weighed in `text` with a confidence of at least `floor` (which may be below the
    /// threshold), each with the words around it: what a second opinion (embeddings) looks at. Also the
    /// *doubtful* names, dropped only for want of evidence that the words are a name (a common word, a one-word
    /// title, a lower-case name), on words no kept name covers; they carry [`doubtful_confidence`].
    pub fn consider(&self, text: &str, floor: u8) -> Vec<Considered> {
        self.weigh(text, floor, true, None)
    }

    /// Tags a text and describes every candidate considered (name, words, evidence, decision): for editors asking
    /// why a name was or was not tagged.
    pub fn explain(&self, text: &str) -> (Vec<Tag>, Vec<String>) {
        let mut lines = Vec::new();
        let considered = self.weigh(text, self.config.fuzzy_threshold, false, Some(&mut |line| lines.push(line)));
        (considered.into_iter().map(|c| c.tag).collect(), lines)
    }

    fn weigh(
        &self,
        text: &str,
        floor: u8,
        with_doubtful: bool,
        mut explain: Option<&mut dyn FnMut(String)>,
    ) -> Vec<Considered> {
        let mut tokens = normalize::tokens(text);
        tokens.truncate(self.config.max_tokens);
        let candidates = self.candidates(&tokens);
        let casing = Casing::of(&tokens);
        let bounds = PartyBounds::of(&candidates, self.config.fuzzy_threshold);
        let mut scored: Vec<(Candidate, u8, bool)> = Vec::new();
        let mut doubtful: Vec<(Candidate, u8, bool)> = Vec::new();
        for candidate in &candidates {
            match self.score(candidate, &candidates, &tokens, casing, &bounds, &mut explain) {
                Verdict::Kept { confidence, title_cue } => scored.push((*candidate, confidence, title_cue)),
                Verdict::Doubtful if with_doubtful => {
                    doubtful.push((*candidate, doubtful_confidence(candidate.similarity), false));
                }
                Verdict::Doubtful | Verdict::Dropped => {}
            }
        }
        let kept = resolve_overlaps(scored);
        // Doubtful names only fill words no kept name covers, so a second opinion never changes what the fuzzy
        // tagger alone decided about other words.
        let doubtful: Vec<(Candidate, u8)> = resolve_overlaps(doubtful)
            .into_iter()
            .filter(|(d, _)| !kept.iter().any(|(k, _)| d.first <= k.last && k.first <= d.last))
            .collect();
        let mut found: Vec<Considered> = Vec::new();
        let all = kept.into_iter().map(|k| (k, false)).chain(doubtful.into_iter().map(|d| (d, true)));
        for ((candidate, confidence), is_doubtful) in all {
            if confidence < floor {
                continue;
            }
            let considered = self.considered(&candidate, confidence, is_doubtful, &tokens, text);
            match found.iter_mut().find(|c| c.tag.entity == candidate.entity) {
                Some(existing) if existing.doubtful && !is_doubtful => *existing = considered,
                Some(existing) if existing.doubtful == is_doubtful && confidence > existing.tag.confidence => {
                    *existing = considered;
                }
                Some(_) => {}
                None => found.push(considered),
            }
        }
        found.sort_by_key(|c| (c.tag.start, std::cmp::Reverse(c.tag.confidence)));
        found
    }

    fn considered(
        &self,
        candidate: &Candidate,
        confidence: u8,
        doubtful: bool,
        tokens: &[Token],
        text: &str,
    ) -> Considered {
        // The window: up to WINDOW_TOKENS words either side, within the mention's sentence.
        let mut first = candidate.first;
        while first > 0 && candidate.first - first < WINDOW_TOKENS && !tokens[first].sentence_start {
            first -= 1;
        }
        let mut last = candidate.last;
        while last + 1 < tokens.len() && last - candidate.last < WINDOW_TOKENS && !tokens[last + 1].sentence_start {
            last += 1;
        }
        Considered {
            tag: self.tag_of(candidate, confidence, tokens, text),
            doubtful,
            window: text[tokens[first].start..tokens[last].end].to_owned(),
        }
    }

    fn tag_of(&self, candidate: &Candidate, confidence: u8, tokens: &[Token], text: &str) -> Tag {
        let start = tokens[candidate.first].start;
        let end = tokens[candidate.last].end;
        Tag {
            entity: candidate.entity,
            kind: candidate.kind,
            confidence,
            similarity: candidate.similarity,
            method: if candidate.edits == 0 { Method::Heuristic } else { Method::Fuzzy },
            start,
            end,
            matched: text[start..end].to_owned(),
        }
    }

    /// Every name that starts at every token.
    fn candidates(&self, tokens: &[Token]) -> Vec<Candidate> {
        let dictionary = &self.dictionary;
        let stoplist = dictionary.stoplist();
        let mut steps: Vec<Vec<Step>> = Vec::with_capacity(tokens.len());
        let mut near = Vec::new();
        let mut joined = String::new();
        for (i, token) in tokens.iter().enumerate() {
            let mut here = Vec::new();
            match dictionary.word(&token.text) {
                Some(word) => here.push(Step { word, tokens: 1, edits: 0 }),
                None if !stoplist.contains(&token.text) && !token.text.chars().any(char::is_numeric) => {
                    dictionary.near_words(&token.text, &mut near);
                    here.extend(near.iter().map(|&(word, edits)| Step { word, tokens: 1, edits }));
                }
                None => {}
            }
            if let Some(next) = tokens.get(i + 1) {
                joined.clear();
                joined.push_str(&token.text);
                joined.push_str(&next.text);
                if let Some(word) = dictionary.word(&joined) {
                    here.push(Step { word, tokens: 2, edits: 0 });
                }
            }
            steps.push(here);
        }

        let mut out = Vec::new();
        let mut stack: Vec<(u32, usize, u32, usize)> = Vec::new();
        for first in 0..tokens.len() {
            stack.clear();
            stack.push((0, first, 0, 0));
            while let Some((node, position, edits, depth)) = stack.pop() {
                if position >= tokens.len() || depth >= MAX_NAME_TOKENS {
                    continue;
                }
                for step in &steps[position] {
                    let Some(child) = dictionary.child(node, step.word) else { continue };
                    let next = position + step.tokens;
                    let edits = edits + step.edits;
                    self.emit(child, first, next - 1, edits, tokens, &mut out);
                    stack.push((child, next, edits, depth + 1));
                }
            }
        }
        out
    }

    fn emit(&self, node: u32, first: usize, last: usize, edits: u32, tokens: &[Token], out: &mut Vec<Candidate>) {
        let patterns = self.dictionary.patterns(node);
        if patterns.is_empty() {
            return;
        }
        let span_chars: usize =
            tokens[first..=last].iter().map(|t| t.text.chars().count()).sum::<usize>() + (last - first);
        for pattern in patterns {
            let similarity = if edits == 0 {
                100
            } else {
                let longer = span_chars.max(pattern.chars as usize).max(1);
                100usize.saturating_sub(100 * edits as usize / longer)
            };
            let kind = self.dictionary.entity(pattern.entity).kind;
            let namesakes = patterns.iter().filter(|p| self.dictionary.entity(p.entity).kind == kind).count();
            // One misspelt word must be a close miss: "radioheads" (90) yes, "Haley" for "Halsey" (83) no.
            if edits > 0 && first == last && similarity < ONE_WORD_NEAR_MIN {
                continue;
            }
            // Two common words run together ("all day" → "Allday") are as weak as the words.
            let stoplist = self.dictionary.stoplist();
            let common_words = tokens[first..=last].iter().all(|t| stoplist.contains(&t.text));
            out.push(Candidate {
                entity: pattern.entity,
                kind,
                first,
                last,
                similarity: u8::try_from(similarity).unwrap_or(100),
                edits,
                weak: pattern.weak || common_words,
                namesakes,
            });
        }
    }

    /// The candidate's verdict after the context rules.
    fn score(
        &self,
        candidate: &Candidate,
        all: &[Candidate],
        tokens: &[Token],
        casing: Casing,
        bounds: &PartyBounds,
        explain: &mut Option<&mut dyn FnMut(String)>,
    ) -> Verdict {
        let result = self.score_quietly(candidate, all, tokens, casing, bounds);
        // Explanations are built only when asked for: tagging itself never formats a string per candidate.
        let Some(explain) = explain.as_mut() else { return result.0 };
        let entity = self.dictionary.entity(candidate.entity);
        let words = tokens[candidate.first..=candidate.last].iter().map(|t| t.text.as_str()).collect::<Vec<_>>();
        explain(format!(
            "{} {:?} on {:?}: similarity {}, weak {}, namesakes {}, {:?} -> {}",
            candidate.kind.as_str(),
            entity.name,
            words.join(" "),
            candidate.similarity,
            candidate.weak,
            candidate.namesakes,
            result.1,
            match result.0 {
                Verdict::Kept { confidence, .. } => format!("confidence {confidence}"),
                Verdict::Doubtful => "doubtful (no evidence it is a name; embeddings may decide)".to_owned(),
                Verdict::Dropped => "dropped".to_owned(),
            },
        ));
        result.0
    }

    fn score_quietly(
        &self,
        candidate: &Candidate,
        all: &[Candidate],
        tokens: &[Token],
        casing: Casing,
        bounds: &PartyBounds,
    ) -> (Verdict, Evidence) {
        let entity = self.dictionary.entity(candidate.entity);
        let evidence = Evidence::read(
            candidate,
            tokens,
            casing,
            bounds,
            |other| {
                all.iter().any(|c| {
                    c.entity == other && !c.weak && c.similarity >= self.config.fuzzy_threshold && c.edits == 0
                })
            },
            &entity.related,
        );
        let title = candidate.kind.is_title();
        let one_word = candidate.first == candidate.last;
        // The words are part of a longer quoted or capitalised phrase ("Don't Stay", "Drunk Walk Home"): that
        // phrase is the name, and a common word or a one-word title inside it is not one.
        if evidence.inside_longer_name && (candidate.weak || (title && one_word)) && !evidence.related {
            return (Verdict::Dropped, evidence);
        }
        // Capitals and music words nearby prove little for a common word (sentence starts, "I", headlines): a
        // weak name needs quotes, its relative, or capitals together with a cue or music words.
        if candidate.weak
            && !(evidence.quoted
                || evidence.related
                || (evidence.written && (evidence.cue || evidence.music_near))
                || (!title && evidence.capitalised_anywhere && (evidence.cue || evidence.music_near)))
        {
            // One common word's context is about the word ("a huge final climax"): no model can tell it from the
            // song, so it is not even doubtful.
            return (if one_word { Verdict::Dropped } else { Verdict::Doubtful }, evidence);
        }
        // A one-word title, unmarked, is most often just that word; near misses of one-word titles even more so.
        if title && one_word && (candidate.edits > 0 || !(evidence.quoted || evidence.cue || evidence.related)) {
            return (if candidate.edits > 0 { Verdict::Dropped } else { Verdict::Doubtful }, evidence);
        }
        // In a properly cased text, a name written in lower case is words, unless the context says otherwise, or
        // it is several words none of which is common ("dua lipa", "stabbing westward").
        let context = evidence.cue || evidence.related || evidence.quoted;
        let stoplist = self.dictionary.stoplist();
        let has_common_word = tokens[candidate.first..=candidate.last]
            .iter()
            .any(|t| !TITLE_SMALL_WORDS.contains(&t.text.as_str()) && stoplist.contains(&t.text));
        if casing.cased && !evidence.capitalised_anywhere && !context && (one_word || has_common_word) {
            return (Verdict::Doubtful, evidence);
        }
        // A capitalised word close to a name is more often another proper noun ("Brixton" is not "Rixton").
        if candidate.edits > 0 && evidence.capitalised_anywhere && !(context || evidence.music_near) {
            return (Verdict::Dropped, evidence);
        }
        let mut confidence = i32::from(candidate.similarity);
        if title {
            if evidence.related {
                confidence += 10;
            } else if !evidence.any(title) {
                confidence -= 15;
            }
        }
        if candidate.namesakes > 1 && !evidence.related {
            let penalty = 5.0 * (candidate.namesakes as f64).log2();
            confidence -= penalty.min(20.0).round() as i32;
        }
        let confidence = u8::try_from(confidence.clamp(0, 100)).unwrap_or(0);
        (Verdict::Kept { confidence, title_cue: evidence.quoted || (title && evidence.cue) }, evidence)
    }
}

/// What the text says around a candidate.
#[derive(Debug, Clone, Copy)]
struct Evidence {
    /// Every word of the match is quoted together.
    quoted: bool,
    /// Its words are capitalised (small words aside) beyond what a sentence start explains.
    written: bool,
    /// One of its words (longer than a letter) is capitalised, sentence start or not.
    capitalised_anywhere: bool,
    /// Written like a name: its words capitalised (small words aside), one of them mid-sentence and longer than a
    /// letter, in a text that is not title case throughout.
    capitals: bool,
    /// A cue word right next to it: for a party `by`, `band`, `feat.`…; for a title `song`, `album`, … or a
    /// capitalised possessive before, or `by` after.
    cue: bool,
    /// A music word within three words.
    music_near: bool,
    /// A related entity (the artist of a recording) is named in the text.
    related: bool,
    /// The match sits inside a longer quoted or capitalised phrase.
    inside_longer_name: bool,
}

impl Evidence {
    fn read(
        candidate: &Candidate,
        tokens: &[Token],
        casing: Casing,
        bounds: &PartyBounds,
        found: impl Fn(EntityId) -> bool,
        related: &[EntityId],
    ) -> Self {
        let span = &tokens[candidate.first..=candidate.last];
        let quoted = span[0].after_quote && span[span.len() - 1].before_quote;
        let partly_quoted = span[0].after_quote != span[span.len() - 1].before_quote;
        // Capitalised beyond what a sentence start explains: every word (small words aside), and either a word
        // mid-sentence or two capitalised words.
        let capitalised_words = span.iter().filter(|t| t.capitalised && t.text.chars().count() > 1).count();
        // Writers often capitalise only part of a name ("Kate bush", "hobo Johnson").
        let capitalised_anywhere = capitalised_words > 0;
        let written_capitalised = capitalised_anywhere
            && (capitalised_words >= 2
                || span.iter().any(|t| t.capitalised && !t.sentence_start && t.text.chars().count() > 1));
        let capitals = !casing.title_case
            && written_capitalised
            && span.iter().any(|t| t.capitalised && !t.sentence_start && t.text.chars().count() > 1);
        // A leading "The" belongs to the name ("like the Weeknd"): the cue is the word before it.
        let before_index = match candidate.first.checked_sub(1) {
            Some(i) if tokens[i].text == "the" => i.checked_sub(1),
            other => other,
        };
        let before = before_index.map(|i| tokens[i].text.as_str());
        let after = tokens.get(candidate.last + 1).map(|t| t.text.as_str());
        // "Radiohead's Kid A": a title after someone's possessive.
        let after_possessive =
            candidate.first > 0 && tokens[candidate.first - 1].possessive && tokens[candidate.first - 1].capitalised;
        // "Taylor Swift Reputation", "Muse - Plug In Baby": a title right after a named artist.
        let after_artist =
            candidate.kind.is_title() && candidate.first > 0 && bounds.party_ends_at(candidate.first - 1);
        // "similar to X", "compared to X".
        let after_similar_to = before == Some("to")
            && before_index.and_then(|i| i.checked_sub(1)).is_some_and(|i| {
                matches!(tokens[i].text.as_str(), "similar" | "compared" | "comparable" | "close" | "akin")
            });
        let cue = if candidate.kind.is_title() {
            before.is_some_and(|w| TITLE_CUES_BEFORE.contains(&w))
                || after == Some("by")
                || after_possessive
                || after_artist
        } else {
            before.is_some_and(|w| ARTIST_CUES_BEFORE.contains(&w)) || after_similar_to
        };
        let window_start = candidate.first.saturating_sub(3);
        let window_end = (candidate.last + 4).min(tokens.len());
        let music_near = (window_start..window_end)
            .any(|i| !(candidate.first..=candidate.last).contains(&i) && is_music_word(&tokens[i].text));
        Self {
            quoted,
            written: written_capitalised,
            capitalised_anywhere,
            capitals,
            cue,
            music_near,
            related: related.iter().any(|&r| found(r)),
            inside_longer_name: partly_quoted
                || (written_capitalised
                    && inside_longer_capitalised_run(tokens, candidate.first, candidate.last, bounds)),
        }
    }

    /// Anything at all that says "a name": for a title, music words nearby do not count (songs are about love).
    fn any(&self, title: bool) -> bool {
        self.quoted
            || self.capitals
            || self.cue
            || self.related
            || (!title && !self.inside_longer_name && self.music_near)
    }
}

/// How a text uses capitals.
#[derive(Debug, Clone, Copy)]
struct Casing {
    /// Most longer words capitalised: a headline in title case, where capitals say nothing about names.
    title_case: bool,
    /// The text opens with a capital or has one mid-sentence: the writer uses capitals, so lower-case words are
    /// likely no name.
    cased: bool,
}

impl Casing {
    fn of(tokens: &[Token]) -> Self {
        let words: Vec<&Token> = tokens
            .iter()
            .filter(|t| !t.sentence_start && t.text.chars().count() >= 4 && !t.text.chars().any(char::is_numeric))
            .collect();
        let capitalised = words.iter().filter(|t| t.capitalised).count();
        let cased = capitalised > 0 || tokens.first().is_some_and(|t| t.capitalised);
        Self { title_case: words.len() >= 4 && capitalised * 10 >= words.len() * 9, cased }
    }
}

/// Where strong party names (not weak, exact) start and end, in tokens: the edges of names already read.
struct PartyBounds {
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl PartyBounds {
    fn of(candidates: &[Candidate], threshold: u8) -> Self {
        let strong = candidates
            .iter()
            .filter(|c| c.kind == EntityKind::Party && !c.weak && c.edits == 0 && c.similarity >= threshold);
        let (starts, ends) = strong.map(|c| (c.first, c.last)).unzip();
        Self { starts, ends }
    }

    fn party_ends_at(&self, token: usize) -> bool {
        self.ends.contains(&token)
    }

    fn party_starts_at(&self, token: usize) -> bool {
        self.starts.contains(&token)
    }
}

/// Whether the capitalised words around `first..=last` (joined by spaces only, across at most one or two small
/// words) extend beyond it. A leading "The" does not count (names are stored without it), nor does a party name
/// that ends or starts right there ("Taylor Swift Reputation").
fn inside_longer_capitalised_run(tokens: &[Token], first: usize, last: usize, bounds: &PartyBounds) -> bool {
    let mut i = first;
    let mut small = 0;
    while i > 0 && tokens[i].joined && !bounds.party_ends_at(i - 1) {
        let before = &tokens[i - 1];
        if before.capitalised && before.text != "the" {
            return true;
        }
        if before.text == "the" || !RUN_CONNECTORS.contains(&before.text.as_str()) || small == 1 {
            break;
        }
        small += 1;
        i -= 1;
    }
    let mut j = last + 1;
    let mut small = 0;
    while let Some(next) = tokens.get(j) {
        if !next.joined || bounds.party_starts_at(j) {
            break;
        }
        if next.capitalised {
            return true;
        }
        if !RUN_CONNECTORS.contains(&next.text.as_str()) || small == 2 {
            break;
        }
        small += 1;
        j += 1;
    }
    false
}

fn is_music_word(word: &str) -> bool {
    MUSIC_WORDS_NEAR.contains(&word)
}

/// Keeps the longest match over any words; on the same words, the best kind, then every entity tied at the best
/// confidence.
fn resolve_overlaps(mut scored: Vec<(Candidate, u8, bool)>) -> Vec<(Candidate, u8)> {
    scored.sort_by_key(|(c, confidence, _)| {
        (std::cmp::Reverse(c.last - c.first), std::cmp::Reverse(*confidence), c.first)
    });
    let mut kept: Vec<(Candidate, u8)> = Vec::new();
    for (candidate, confidence, title_cue) in scored {
        let mut blocked = false;
        for (other, other_confidence) in &kept {
            let overlaps = candidate.first <= other.last && other.first <= candidate.last;
            if !overlaps {
                continue;
            }
            let same_span = candidate.first == other.first && candidate.last == other.last;
            if !same_span {
                blocked = true;
                break;
            }
            // Same words: a party beats a title unless the text marks a title; otherwise ties stay.
            let prefer_other_kind = match (other.kind.is_title(), candidate.kind.is_title()) {
                (false, true) => !title_cue,
                (true, false) => title_cue,
                _ => false,
            };
            if prefer_other_kind || confidence < *other_confidence {
                blocked = true;
                break;
            }
        }
        if !blocked {
            kept.push((candidate, confidence));
        }
    }
    // A party kept before a title that the text marks as a title: drop the party on those words.
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DictionaryBuilder, Stoplist};

    fn tagger(entries: &[(EntityKind, &str)]) -> Tagger {
        let mut builder = DictionaryBuilder::new();
        for (i, (kind, name)) in entries.iter().enumerate() {
            builder.add(i.to_string(), *kind, name);
        }
        Tagger::new(builder.build(Stoplist::default()), TaggerConfig::default())
    }

    fn names(tagger: &Tagger, text: &str) -> Vec<String> {
        tagger.tag(text).into_iter().map(|t| tagger.dictionary().entity(t.entity).name.clone()).collect()
    }

    #[test]
    fn finds_exact_names_through_normalisation() {
        let t = tagger(&[
            (EntityKind::Party, "Radiohead"),
            (EntityKind::Party, "Aphex Twin"),
            (EntityKind::Party, "Beyoncé"),
            (EntityKind::Party, "The Beatles"),
            (EntityKind::Work, "Kid A"),
        ]);
        assert_eq!(
            names(&t, "I love Radiohead's Kid A. Something similar? Kinda like Aphex Twin maybe."),
            ["Radiohead", "Kid A", "Aphex Twin"]
        );
        assert_eq!(names(&t, "BEYONCES new album and the beatles"), ["Beyoncé", "The Beatles"]);
        let tags = t.tag("Beyonce’s tour");
        assert_eq!(tags[0].matched, "Beyonce");
        assert_eq!(tags[0].method, Method::Heuristic);
        assert_eq!(tags[0].confidence, 100);
    }

    #[test]
    fn near_misses_are_fuzzy_and_scored_below_exact() {
        let t = tagger(&[(EntityKind::Party, "Radiohead"), (EntityKind::Party, "Metallica")]);
        let tags = t.tag("anything like radioheads or metalica");
        assert_eq!(tags.len(), 2);
        assert!(tags.iter().all(|t| t.method == Method::Fuzzy && t.confidence >= 70 && t.confidence < 100));
        assert!(t.tag("a radio set").is_empty());
    }

    #[test]
    fn common_word_names_need_evidence() {
        let t = tagger(&[(EntityKind::Party, "Yes"), (EntityKind::Party, "Train"), (EntityKind::Recording, "Home")]);
        assert!(names(&t, "yes, we took the train home").is_empty());
        assert!(names(&t, "Yes, we took the train home.").is_empty());
        assert_eq!(names(&t, "Tickets for the band Yes go on sale"), ["Yes"]);
        assert_eq!(names(&t, "A new album from Train arrives"), ["Train"]);
        assert_eq!(names(&t, "Their song \"Home\" charted"), ["Home"]);
    }

    #[test]
    fn related_artist_lifts_a_title_and_picks_among_namesakes() {
        let mut builder = DictionaryBuilder::new();
        let boris = builder.add("boris", EntityKind::Party, "Boris");
        let blackout = builder.add("b1", EntityKind::Recording, "Blackout");
        builder.add("b2", EntityKind::Recording, "Blackout");
        builder.relate(blackout, boris);
        let t = Tagger::new(builder.build(Stoplist::default()), TaggerConfig::default());
        let keys: Vec<&str> = t
            .tag("songs like blackout by boris")
            .iter()
            .map(|tag| t.dictionary().entity(tag.entity).key.as_str())
            .collect();
        assert_eq!(keys, ["b1", "boris"]);
        // Without the artist, two namesakes of a common title, lower case, fall below the threshold.
        assert!(t.tag("a blackout hit the city").iter().all(|tag| tag.kind == EntityKind::Party));
    }

    #[test]
    fn the_longest_match_wins() {
        let t = tagger(&[
            (EntityKind::Party, "Aphex Twin"),
            (EntityKind::Party, "Twin Peaks"),
            (EntityKind::Party, "Twin"),
        ]);
        assert_eq!(names(&t, "Aphex Twin live"), ["Aphex Twin"]);
    }

    #[test]
    fn consider_adds_doubted_names_with_their_windows_and_keeps_what_tag_keeps() {
        let t = tagger(&[(EntityKind::Party, "Rise Against"), (EntityKind::Party, "Radiohead")]);
        let text = "Artists like rise against. Radiohead played a long set in the rain last night";
        assert_eq!(names(&t, text), ["Radiohead"]);
        let considered = t.consider(text, 50);
        let doubted: Vec<&Considered> = considered.iter().filter(|c| c.doubtful).collect();
        assert_eq!(doubted.len(), 1);
        assert_eq!((doubted[0].tag.matched.as_str(), doubted[0].tag.confidence), ("rise against", 60));
        // The window stops at the sentence's end; five words either side at most.
        assert_eq!(doubted[0].window, "Artists like rise against");
        let radiohead = considered.iter().find(|c| !c.doubtful).expect("kept");
        assert_eq!(radiohead.window, "Radiohead played a long set in");
    }

    proptest::proptest! {
        #[test]
        fn consider_agrees_with_tag(words in proptest::collection::vec(
            proptest::sample::select(vec![
                "rise", "against", "Rise", "Against", "radiohead", "Radiohead", "kid", "A", "the", "song", "by",
                "\"", ".", "yes", "Yes", "band", "home", "Home", "live", "Aphex", "twin",
            ]),
            0..24,
        )) {
            let t = tagger(&[
                (EntityKind::Party, "Rise Against"),
                (EntityKind::Party, "Radiohead"),
                (EntityKind::Party, "Yes"),
                (EntityKind::Work, "Kid A"),
                (EntityKind::Recording, "Home"),
                (EntityKind::Party, "Aphex Twin"),
            ]);
            let text = words.join(" ");
            let considered = t.consider(&text, 50);
            for c in &considered {
                proptest::prop_assert!(c.window.contains(&c.tag.matched));
            }
            let kept: Vec<Tag> =
                considered.into_iter().filter(|c| !c.doubtful && c.tag.confidence >= 70).map(|c| c.tag).collect();
            proptest::prop_assert_eq!(kept, t.tag(&text));
        }
    }
}

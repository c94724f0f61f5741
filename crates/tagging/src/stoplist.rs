//! The stoplist: words that are too common to be a name by themselves.
//!
//! A catalogue name made only of stoplisted words (the band "Yes", the song "Home") is *weak*: the tagger
//! accepts it only with evidence in the text (see [`crate::Tagger`]). The default list (`stopwords.txt` beside this
//! file) holds English function words, frequent English words, music words and function words of a few other
//! languages; deployments extend it with their own words.

use std::collections::HashSet;

use crate::normalize;

const DEFAULT_WORDS: &str = include_str!("stopwords.txt");

/// A set of folded common words.
#[derive(Debug, Clone)]
pub struct Stoplist {
    words: HashSet<String>,
}

impl Default for Stoplist {
    fn default() -> Self {
        let mut list = Self { words: HashSet::new() };
        list.extend_from_text(DEFAULT_WORDS);
        list
    }
}

impl Stoplist {
    /// An empty stoplist (every name is a strong name).
    pub fn empty() -> Self {
        Self { words: HashSet::new() }
    }

    /// Adds the words of `text`: whitespace- or comma-separated, `#` starts a comment line. Words are normalised
    /// as text is, so `Beyoncé's` adds `beyonce`.
    pub fn extend_from_text(&mut self, text: &str) {
        for line in text.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for token in normalize::tokens(line) {
                self.words.insert(token.text);
            }
        }
    }

    /// Whether a folded word is on the list.
    pub fn contains(&self, folded: &str) -> bool {
        self.words.contains(folded)
    }

    /// How many words the list holds.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the list holds no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_holds_common_words_not_names() {
        let list = Stoplist::default();
        assert!(list.len() > 800);
        for word in ["the", "yes", "home", "love", "similar", "und"] {
            assert!(list.contains(word), "{word}");
        }
        for word in ["radiohead", "beyonce", "coldplay"] {
            assert!(!list.contains(word), "{word}");
        }
    }

    #[test]
    fn extends_with_folded_words_and_skips_comments() {
        let mut list = Stoplist::empty();
        list.extend_from_text("# not a word\nBeyoncé's, Ärzte\n");
        assert!(list.contains("beyonce") && list.contains("arzte"));
        assert!(!list.contains("not"));
    }
}

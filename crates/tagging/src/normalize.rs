//! Normalisation: turns text (a headline, a name) into comparable tokens.
//!
//! The same function runs over news text and over catalogue names, so whatever it folds away
//! cannot make the two sides differ:
//!
//! * case and compatibility forms (NFKD), diacritics dropped (`Beyoncé` → `beyonce`), and the Latin letters
//!   that do not decompose spelled out (`ß` → `ss`, `ø` → `o`, `æ` → `ae`, `ł` → `l`);
//! * punctuation separates tokens (`Jay-Z` → `jay z`, `AC/DC` → `ac dc`), except apostrophes inside a word,
//!   which vanish (`Guns N' Roses` → `guns n roses`, `don't` → `dont`), and the possessive `'s`, which is dropped
//!   (`Beyoncé's` → `beyonce`);
//! * dotted initials join (`R.E.M.` → `rem`);
//! * `&` and `+` are the word `and`.
//!
//! Each token keeps its byte range in the original text, whether it was capitalised there and whether it opens a
//! sentence, so the tagger can report what matched and weigh capitalisation.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One word of a text after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The folded form (`beyonce`).
    pub text: String,
    /// Byte offset of the token's first character in the original text.
    pub start: usize,
    /// Byte offset just past the token in the original text (a dropped possessive is not included).
    pub end: usize,
    /// The original starts with an upper-case letter (`Radiohead`).
    pub capitalised: bool,
    /// The token opens the text or a sentence (after `.`, `!`, `?`, `:`, `|` or a line break), where
    /// capitalisation says nothing.
    pub sentence_start: bool,
    /// The token directly follows an opening quote (`"`, `“`, `‘`, `«`).
    pub after_quote: bool,
    /// A closing quote directly follows the token.
    pub before_quote: bool,
    /// Only whitespace separates this token from the previous one, which had no possessive: the two can belong
    /// to one name.
    pub joined: bool,
    /// The token lost a possessive `'s`.
    pub possessive: bool,
}

/// Splits `text` into normalised tokens.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    // What separated the previous token from the next one.
    let mut sentence_start = true;
    let mut after_quote = false;
    // Only whitespace since the previous token.
    let mut spaced = false;
    let mut chars = text.char_indices().peekable();
    while let Some((index, ch)) = chars.next() {
        if ch.is_alphanumeric() {
            let token = current.get_or_insert_with(|| Token {
                text: String::new(),
                start: index,
                end: index,
                capitalised: ch.is_uppercase(),
                sentence_start,
                after_quote,
                before_quote: false,
                joined: spaced && out.last().is_some_and(|last: &Token| !last.possessive),
                possessive: false,
            });
            fold_char(ch, &mut token.text);
            token.end = index + ch.len_utf8();
            // The gap before the next token starts afresh.
            sentence_start = false;
            after_quote = false;
            spaced = true;
            continue;
        }
        if let Some(token) = current.as_mut() {
            let next = chars.peek().map(|&(_, c)| c);
            if is_apostrophe(ch) && next.is_some_and(char::is_alphanumeric) {
                // `'s` closing a word is a possessive: drop it and end the token.
                let mut lookahead = chars.clone();
                lookahead.next();
                let after = lookahead.peek().map(|&(_, c)| c);
                if matches!(next, Some('s' | 'S')) && !after.is_some_and(char::is_alphanumeric) {
                    chars.next();
                    token.possessive = true;
                    finish(&mut current, &mut out);
                    continue;
                }
                // An apostrophe inside a word joins its halves.
                continue;
            }
            // Dotted initials: a one-letter token, a dot, and another letter (`R.E.M.`).
            if ch == '.' && next.is_some_and(char::is_alphabetic) && is_initials(&token.text) {
                let mut lookahead = chars.clone();
                lookahead.next();
                let after = lookahead.peek().map(|&(_, c)| c);
                if !after.is_some_and(char::is_alphanumeric) {
                    continue;
                }
            }
            finish(&mut current, &mut out);
            if let Some(last) = out.last_mut() {
                last.before_quote = is_closing_quote(ch);
            }
            if is_closing_quote(ch) {
                // A quote right after a word closes it; it opens nothing.
                spaced = false;
                continue;
            }
        }
        // A hyphen or slash between two words keeps them together ("Trip-Hop", "Pop/Punk"); other punctuation,
        // or a hyphen with spaces ("Muse - Plug In Baby"), separates.
        let tight_joiner = matches!(ch, '-' | '/' | '‐')
            && current_gap_is_empty(text, index)
            && chars.peek().is_some_and(|&(_, c)| c.is_alphanumeric());
        if !ch.is_whitespace() && !tight_joiner {
            spaced = false;
        }
        match ch {
            '&' | '+' => {
                out.push(Token {
                    text: "and".to_owned(),
                    start: index,
                    end: index + ch.len_utf8(),
                    capitalised: false,
                    sentence_start,
                    after_quote: false,
                    before_quote: false,
                    joined: false,
                    possessive: false,
                });
                sentence_start = false;
                after_quote = false;
            }
            '.' | '!' | '?' | ':' | '|' | '\n' | '\r' | '•' | '…' => {
                sentence_start = true;
                after_quote = false;
            }
            _ => after_quote = is_opening_quote(ch) || (after_quote && ch.is_whitespace()),
        }
    }
    finish(&mut current, &mut out);
    out
}

/// The normalised form of a whole string: its tokens joined by single spaces.
pub fn normalize(text: &str) -> String {
    join(&tokens(text))
}

/// Joins tokens' folded forms with single spaces.
pub fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for token in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&token.text);
    }
    out
}

/// Whether the character before `index` is part of a word (no space between it and a joiner at `index`).
fn current_gap_is_empty(text: &str, index: usize) -> bool {
    text[..index].chars().next_back().is_some_and(char::is_alphanumeric)
}

fn finish(current: &mut Option<Token>, out: &mut Vec<Token>) {
    // A character can fold to nothing (a lone mark that counts as a letter); such tokens carry no word.
    if let Some(token) = current.take().filter(|t| !t.text.is_empty()) {
        out.push(token);
    }
}

/// A token built of single letters joined by dots so far (`r`, `re`, `rem` from `R.E.M`).
fn is_initials(folded: &str) -> bool {
    folded.chars().count() <= 4 && folded.chars().all(char::is_alphabetic)
}

fn is_apostrophe(ch: char) -> bool {
    matches!(ch, '\'' | '’' | 'ʼ' | '`' | '´')
}

fn is_opening_quote(ch: char) -> bool {
    matches!(ch, '"' | '“' | '‘' | '«' | '„' | '‚')
}

fn is_closing_quote(ch: char) -> bool {
    matches!(ch, '"' | '”' | '’' | '»' | '\'')
}

/// Appends the folded form of one character: lower case, compatibility-decomposed, without combining marks,
/// with the Latin letters that do not decompose spelled out.
fn fold_char(ch: char, out: &mut String) {
    if ch.is_ascii() {
        out.push(ch.to_ascii_lowercase());
        return;
    }
    for lower in ch.to_lowercase() {
        for decomposed in std::iter::once(lower).nfkd() {
            if is_combining_mark(decomposed) || !decomposed.is_alphanumeric() {
                continue;
            }
            for letter in decomposed.to_lowercase() {
                match letter {
                    'ß' => out.push_str("ss"),
                    'æ' => out.push_str("ae"),
                    'œ' => out.push_str("oe"),
                    'ø' => out.push('o'),
                    'ł' => out.push('l'),
                    'đ' | 'ð' => out.push('d'),
                    'þ' => out.push_str("th"),
                    'ı' => out.push('i'),
                    other => out.push(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn folds_case_diacritics_and_special_letters() {
        assert_eq!(normalize("Beyoncé"), "beyonce");
        assert_eq!(normalize("Motörhead"), "motorhead");
        assert_eq!(normalize("Sigur Rós"), "sigur ros");
        assert_eq!(normalize("Die Ärzte – Straße"), "die arzte strasse");
        assert_eq!(normalize("Mø"), "mo");
        assert_eq!(normalize("ＡＢＣ"), "abc");
        assert_eq!(normalize("Кино"), "кино");
    }

    #[test]
    fn drops_possessives_and_joins_apostrophes() {
        assert_eq!(folded("Beyoncé's new album"), ["beyonce", "new", "album"]);
        assert_eq!(folded("CCR’s Travelin' Band"), ["ccr", "travelin", "band"]);
        assert_eq!(folded("Guns N' Roses"), ["guns", "n", "roses"]);
        assert_eq!(folded("don't stop"), ["dont", "stop"]);
        assert_eq!(folded("it's"), ["it"]);
    }

    #[test]
    fn punctuation_splits_and_ampersand_is_and() {
        assert_eq!(folded("Jay-Z"), ["jay", "z"]);
        assert_eq!(folded("AC/DC"), ["ac", "dc"]);
        assert_eq!(folded("Simon & Garfunkel"), ["simon", "and", "garfunkel"]);
        assert_eq!(folded("R.E.M. live"), ["rem", "live"]);
        assert_eq!(folded("Mr. Brightside"), ["mr", "brightside"]);
    }

    #[test]
    fn keeps_offsets_capitalisation_and_sentence_starts() {
        let text = "I love Radiohead's Kid A. Something similar?";
        let toks = tokens(text);
        let radiohead = &toks[2];
        assert_eq!(&text[radiohead.start..radiohead.end], "Radiohead");
        assert!(radiohead.capitalised && !radiohead.sentence_start);
        assert!(toks[0].sentence_start);
        let something = toks.iter().find(|t| t.text == "something").expect("token");
        assert!(something.sentence_start && something.capitalised);
        assert_eq!(&text[toks[3].start..toks[4].end], "Kid A");
    }

    #[test]
    fn notes_quotes_around_tokens() {
        let toks = tokens("the song \"Blackout\" by Boris");
        let blackout = &toks[2];
        assert!(blackout.after_quote && blackout.before_quote);
        assert!(!toks[3].after_quote);
    }

    #[test]
    fn notes_which_tokens_can_belong_to_one_name() {
        let toks = tokens("Lou Reed's Perfect Day, Drunk Walk - Trip-Hop");
        let joined: Vec<bool> = toks.iter().map(|t| t.joined).collect();
        assert_eq!(joined, [false, true, false, true, false, true, false, true]);
        assert!(toks[1].possessive);
    }

    proptest::proptest! {
        #[test]
        fn offsets_are_char_boundaries_in_order(text in "\\PC{0,60}") {
            let toks = tokens(&text);
            let mut last = 0;
            for token in &toks {
                proptest::prop_assert!(token.start >= last && token.start < token.end && token.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(token.start) && text.is_char_boundary(token.end));
                proptest::prop_assert!(!token.text.is_empty());
                last = token.end;
            }
            // Normalising is idempotent.
            let once = normalize(&text);
            proptest::prop_assert_eq!(normalize(&once), once);
        }
    }
}

//! The entity tagger on any text: normalisation, the trie walk with near misses, context rules; every tag's
//! byte range must lie on character boundaries of the text and hold the matched words; `consider` (what the
//! embedding check sees) agrees with `tag`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use omnisonic_tagging::{DictionaryBuilder, EntityKind, Stoplist, Tagger, TaggerConfig};

fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| {
        let mut builder = DictionaryBuilder::new();
        let radiohead = builder.add("1", EntityKind::Party, "Radiohead");
        let kid_a = builder.add("2", EntityKind::Work, "Kid A");
        builder.relate(radiohead, kid_a);
        builder.add("3", EntityKind::Party, "Beyoncé");
        builder.add("4", EntityKind::Party, "AC/DC");
        builder.add("5", EntityKind::Party, "Yes");
        builder.add("6", EntityKind::Recording, "Everything in Its Right Place (Live) - Remastered");
        builder.add("7", EntityKind::Party, "Sigur Rós");
        builder.add("8", EntityKind::Party, "Кино");
        Tagger::new(builder.build(Stoplist::default()), TaggerConfig::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for tag in tagger().tag(text) {
        assert!(text.is_char_boundary(tag.start) && text.is_char_boundary(tag.end) && tag.start < tag.end);
        assert_eq!(&text[tag.start..tag.end], tag.matched);
        assert!(tag.confidence <= 100);
    }
    // What the embedding check sees: every window holds its mention, and fuzzy-kept tags are exactly `tag`'s.
    let considered = tagger().consider(text, 50);
    for c in &considered {
        assert!(c.window.contains(&c.tag.matched) && c.tag.confidence >= 50);
    }
    let kept: Vec<_> = considered.into_iter().filter(|c| !c.doubtful && c.tag.confidence >= 70).map(|c| c.tag).collect();
    assert_eq!(kept, tagger().tag(text));
});

//! Feed bodies as the poller reads them: charset detection and decoding, feed parsing, then each entry's text,
//! HTML, link and duplicate keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use omnisonic_news::{content, parse};

fuzz_target!(|data: &[u8]| {
    let (text, _) = parse::decode(data, Some("application/rss+xml; charset=iso-8859-1"));
    let _ = parse::decode(data, None);
    if let Ok(feed) = parse::parse_feed(&text) {
        for item in feed.items {
            let title = content::html_to_text(&item.title);
            let summary = content::html_to_text(&item.summary);
            let _ = content::sanitize_html(&item.summary);
            let link = item.url.as_deref().and_then(content::canonical_url);
            let _ = content::dedup_key(&title, &summary, link.as_deref().or(item.guid.as_deref()));
            let _ = content::content_hash(&title, &summary);
        }
    }
});

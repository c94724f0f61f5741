//! What an item's text becomes before it is stored: plain text and sanitised HTML from a feed's HTML, the
//! canonical form of its link, and the keys that find duplicates.

use sha2::{Digest, Sha256};
use url::Url;

/// Query parameters that only track where a reader came from; they are dropped from canonical URLs.
const TRACKING_PARAMETERS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ref",
    "ref_src",
    "ref_url",
    "cmpid",
    "ocid",
    "smid",
    "soc_src",
    "soc_trk",
    "feature",
    "share",
    "si",
    "s_cid",
    "ito",
    "guccounter",
];

/// The link without tracking parameters (`utm_*` and the known ones), fragment, default port and `www.`, with
/// a lower-case host; `None` for anything that is not an absolute http(s) URL.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| {
            let key = key.to_ascii_lowercase();
            !key.starts_with("utm_") && !TRACKING_PARAMETERS.contains(&key.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    // http and https of one article are one article.
    let _ = url.set_scheme("https");
    let _ = url.set_port(None);
    if let Some(host) = url.host_str().map(str::to_owned)
        && let Some(bare) = host.strip_prefix("www.")
    {
        let _ = url.set_host(Some(bare));
    }
    // "/story/" and "/story" are one page on every site that matters.
    let path = url.path().to_owned();
    if path.len() > 1 && path.ends_with('/') {
        url.set_path(path.trim_end_matches('/'));
    }
    Some(url.to_string())
}

/// Sanitised HTML for display: only formatting and links (with `rel="noopener noreferrer nofollow"`), no
/// scripts, styles, frames, forms or event handlers; images only over https.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// The text of an HTML fragment: tags removed, entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    // ammonia with no allowed tags keeps only text (scripts and styles dropped with their content), escaped.
    let escaped = ammonia::Builder::empty().clean(html).to_string();
    let unescaped = escaped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    collapse_whitespace(&unescaped)
}

/// Single spaces between words, no leading or trailing space.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hex SHA-256 of the normalised title and summary: the same article however it is cased or punctuated.
pub fn content_hash(title: &str, summary: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(omnisonic_tagging::normalize::normalize(title).as_bytes());
    hasher.update(b"\n");
    hasher.update(omnisonic_tagging::normalize::normalize(summary).as_bytes());
    hex(&hasher.finalize())
}

/// Summaries shorter than this (normalised) say too little to tell articles apart by.
const MIN_SUMMARY_FOR_DEDUP: usize = 40;
/// Near-identical: the same title and the same first this many characters of summary (normalised), so a
/// summary cut at another length or with a "Read more" tail is the same article.
const SUMMARY_PREFIX: usize = 160;

/// The near-duplicate key: the normalised title and summary start; for items with little or no summary, the
/// title and the canonical link (or GUID), so two different short items with one headline stay apart.
pub fn dedup_key(title: &str, summary: &str, link_or_guid: Option<&str>) -> String {
    let title = omnisonic_tagging::normalize::normalize(title);
    let summary = omnisonic_tagging::normalize::normalize(summary);
    let mut hasher = Sha256::new();
    hasher.update(title.as_bytes());
    hasher.update(b"\n");
    if summary.len() >= MIN_SUMMARY_FOR_DEDUP {
        let cut = summary.char_indices().nth(SUMMARY_PREFIX).map_or(summary.len(), |(i, _)| i);
        hasher.update(&summary.as_bytes()[..cut]);
    } else {
        hasher.update(b"link:");
        hasher.update(link_or_guid.unwrap_or_default().as_bytes());
        hasher.update(b"\n");
        hasher.update(summary.as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls_drop_tracking_fragments_and_trivia() {
        assert_eq!(
            canonical_url("http://WWW.Example.com:80/news/story/?utm_source=rss&id=7&fbclid=x#comments").as_deref(),
            Some("https://example.com/news/story?id=7")
        );
        assert_eq!(
            canonical_url("https://example.com/a?utm_medium=feed").as_deref(),
            canonical_url("https://example.com/a").as_deref()
        );
        assert_eq!(canonical_url("https://example.com/").as_deref(), Some("https://example.com/"));
        assert_eq!(canonical_url("javascript:alert(1)"), None);
        assert_eq!(canonical_url("/relative/path"), None);
    }

    #[test]
    fn html_becomes_text_and_safe_html() {
        let html = r#"<p>Beyonc&eacute;'s <b>new</b> album &amp; tour<script>alert(1)</script></p><img src=x onerror=alert(2)>"#;
        assert_eq!(html_to_text(html), "Beyoncé's new album & tour");
        let safe = sanitize_html(html);
        assert!(!safe.contains("script") && !safe.contains("onerror"), "{safe}");
        assert!(safe.contains("<b>new</b>"));
    }

    #[test]
    fn near_identical_articles_share_a_dedup_key() {
        let summary = "The band announced a world tour on Monday, with forty dates across Europe and North America, \
                       starting in Lisbon in March and ending in Montréal in October, with support acts to be named.";
        let a = dedup_key("Radiohead Announce Tour", summary, Some("https://a.example/1"));
        let b = dedup_key("RADIOHEAD announce tour!", &format!("{summary} Read more…"), Some("https://b.example/9"));
        assert_eq!(a, b);
        // Short items with one headline stay apart by their links.
        assert_ne!(
            dedup_key("Weekly playlist", "", Some("https://a.example/1")),
            dedup_key("Weekly playlist", "", Some("https://a.example/2"))
        );
        assert_ne!(content_hash("A", "b"), content_hash("A", "c"));
    }
}

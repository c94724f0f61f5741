//! From a fetched body to items: the character set is found and the text decoded to UTF-8, then feed-rs parses
//! RSS 0.9x/1.0/2.0, Atom or JSON Feed.
//!
//! Character set, first match wins: a byte-order mark; the XML declaration's `encoding`; the HTTP
//! `Content-Type` charset; UTF-8 when the bytes are valid UTF-8; otherwise a guess from the bytes (chardetng,
//! Firefox's detector) — real feeds are served as ISO-8859-1 or Windows-1251 with and without declarations.

use chrono::{DateTime, Utc};
use encoding_rs::{Encoding, UTF_8};

use crate::IncomingItem;

/// A parsed feed.
#[derive(Debug)]
pub struct ParsedFeed {
    /// The feed's title.
    pub title: Option<String>,
    /// Its entries, as items to ingest.
    pub items: Vec<IncomingItem>,
}

/// Decodes a feed body to UTF-8 (see the module docs for the order of evidence); returns the text and the
/// encoding used.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    if let Some((encoding, bom_length)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_length..]);
        return (text.into_owned(), encoding);
    }
    let declared = xml_declared_encoding(bytes).or_else(|| content_type.and_then(http_charset));
    let encoding = match declared.and_then(|label| Encoding::for_label(label.as_bytes())) {
        // A declaration of UTF-16 on bytes without a BOM is wrong (we are reading it as ASCII already).
        Some(encoding) if encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE => encoding,
        _ if std::str::from_utf8(bytes).is_ok() => UTF_8,
        _ => {
            let mut detector = chardetng::EncodingDetector::new();
            detector.feed(bytes, true);
            detector.guess(None, true)
        }
    };
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding)
}

/// The `encoding` of an `<?xml … ?>` declaration at the start of the body.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head);
    let declaration = head.trim_start().strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_owned())
}

/// The `charset` parameter of a `Content-Type` value.
fn http_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The decoded text with its XML declaration's encoding rewritten to UTF-8 (the text is UTF-8 now; a parser
/// believing the old declaration would decode it twice).
fn as_utf8_document(text: &str) -> String {
    let trimmed = text.trim_start_matches('\u{feff}');
    if let Some(rest) = trimmed.trim_start().strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
    {
        return format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}", &rest[end + 2..]);
    }
    trimmed.to_owned()
}

/// Parses a decoded feed; entries without a title or a link and text are skipped by the caller's validation.
pub fn parse_feed(text: &str) -> Result<ParsedFeed, String> {
    let document = as_utf8_document(text);
    let feed = feed_rs::parser::parse(document.as_bytes()).map_err(|e| format!("not a feed: {e}"))?;
    let feed_language = feed.language.clone();
    let items = feed
        .entries
        .into_iter()
        .map(|entry| {
            let link = entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
                .or_else(|| entry.links.first())
                .map(|l| l.href.clone());
            let summary_html = entry
                .summary
                .as_ref()
                .map(|t| t.content.clone())
                .filter(|s| !s.trim().is_empty())
                .or_else(|| entry.content.as_ref().and_then(|c| c.body.clone()));
            let published: Option<DateTime<Utc>> = entry.published.or(entry.updated);
            IncomingItem {
                guid: Some(entry.id).filter(|id| !id.trim().is_empty()),
                url: link,
                title: entry.title.map(|t| t.content).unwrap_or_default(),
                summary: summary_html.unwrap_or_default(),
                author: entry.authors.first().map(|p| p.name.clone()).filter(|n| !n.trim().is_empty()),
                published_at: published,
                language: entry.language.or_else(|| feed_language.clone()),
            }
        })
        .collect();
    Ok(ParsedFeed { title: feed.title.map(|t| t.content).filter(|t| !t.trim().is_empty()), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_and_undeclared_legacy_charsets_decode() {
        let latin1 =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><title>Caf\xe9</title></channel></rss>";
        let (text, encoding) = decode(latin1, None);
        assert!(text.contains("Café"), "{text} via {}", encoding.name());
        let cyrillic =
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><channel><title>Кино</title></channel></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(cyrillic);
        assert!(decode(&bytes, None).0.contains("Кино"));
        // No declaration, not UTF-8: guessed.
        let (text, _) =
            decode(b"<rss><channel><title>Der M\xfcller singt f\xfcr die Stra\xdfe</title></channel></rss>", None);
        assert!(text.contains("Müller") && text.contains("Straße"), "{text}");
        // The HTTP charset counts when the document does not declare one.
        let (text, _) = decode(b"<rss><title>Caf\xe9</title></rss>", Some("application/rss+xml; charset=iso-8859-1"));
        assert!(text.contains("Café"));
    }

    #[test]
    fn parses_rss_with_its_declaration_rewritten() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss version=\"2.0\"><channel><title>Caf\xe9 news</title>\
            <item><title>Beyonc\xe9 tour</title><link>https://example.com/a</link><guid>a-1</guid>\
            <description>&lt;p&gt;New &lt;b&gt;dates&lt;/b&gt;&lt;/p&gt;</description></item></channel></rss>";
        let (text, _) = decode(latin1, None);
        let feed = parse_feed(&text).expect("feed");
        assert_eq!(feed.title.as_deref(), Some("Café news"));
        assert_eq!(feed.items.len(), 1);
        assert_eq!(feed.items[0].title, "Beyoncé tour");
        assert_eq!(feed.items[0].guid.as_deref(), Some("a-1"));
        assert!(feed.items[0].summary.contains("<b>dates</b>"));
        assert!(parse_feed("<html><body>not a feed</body></html>").is_err());
    }
}

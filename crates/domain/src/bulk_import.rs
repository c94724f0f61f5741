//! Bulk ISRC import (spec 2.3): the file formats, the columns, and turning one CSV record or JSON line into a
//! validated recording or the reasons it was rejected.
//!
//! Splitting a byte stream into records is [`crate::records`]; the pipeline that batches and writes them lives in
//! the binary crate. Everything here is a plain function over bytes.

use crate::Isrc;
use crate::catalogue::{NewRecording, RecordingInput};

/// The largest batch the import writes in one statement.
pub const MAX_BATCH_SIZE: usize = 1000;
/// At most this many characters of a rejected value are kept for the error report.
pub const MAX_VALUE_CHARS: usize = 200;

string_enum!(
    /// The file's format.
    Format {
        /// Comma-separated values with a header row.
        Csv => "csv",
        /// JSON Lines: one JSON object per line.
        Jsonl => "jsonl",
    }
);

impl Format {
    /// The format a media type names (`text/csv`, `application/jsonl`, `application/x-ndjson`, …), if any.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(Self::Csv),
            "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines"
            | "application/x-ndjson"
            | "application/ndjson"
            | "text/jsonl" => Some(Self::Jsonl),
            _ => None,
        }
    }

    /// The format a file name's extension names (`.csv`, `.jsonl`, `.ndjson`), if any.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            _ => None,
        }
    }
}

string_enum!(
    /// A column the import understands.
    Column {
        /// Required: the ISRC.
        Isrc => "isrc",
        /// Required: the title.
        Title => "title",
        /// Required: the main artist.
        Artist => "artist",
        /// Optional: length, in seconds or `m:ss`.
        Duration => "duration",
        /// Optional: release date.
        ReleasedAt => "released_at",
        /// Optional: genre.
        Genre => "genre",
    }
);

/// The columns every file must have.
pub const REQUIRED_COLUMNS: [Column; 3] = [Column::Isrc, Column::Title, Column::Artist];

/// How bad a finding about a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The row was rejected: nothing of it was written.
    Error,
    /// The row was written, but something about it deserves a look (a later duplicate of an earlier ISRC).
    Warning,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One finding about one row of a file, as the error report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The physical line the record starts on (the header is line 1 of a CSV file).
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// The offending value (shortened), or empty.
    pub value: String,
    /// Why, in words a user can act on.
    pub reason: String,
    /// Rejected, or written with a warning.
    pub severity: Severity,
}

impl Issue {
    /// A rejection of the row at `line`.
    pub fn error(line: u64, column: Option<&str>, value: &[u8], reason: impl Into<String>) -> Self {
        Self {
            line,
            column: column.map(str::to_owned),
            value: excerpt(value),
            reason: reason.into(),
            severity: Severity::Error,
        }
    }
}

/// At most [`MAX_VALUE_CHARS`] characters of `value`, invalid UTF-8 shown as U+FFFD.
pub fn excerpt(value: &[u8]) -> String {
    // NUL cannot be stored in PostgreSQL text: shown as U+FFFD like other unreadable bytes.
    let text = String::from_utf8_lossy(value).replace('\0', "\u{FFFD}");
    let text = text.trim_end_matches(['\r', '\n']);
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Where each understood column sits in a CSV file's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Field index of each [`Column`], in `Column::ALL` order.
    positions: [Option<usize>; 6],
    /// How many fields the header has (every record must have as many).
    width: usize,
}

/// Why a header cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Required columns are missing.
    #[error("the header lacks the required column(s) {}; it has {}", .missing.join(", "), if .found.is_empty() { "none".to_owned() } else { .found.join(", ") })]
    Missing {
        /// The required columns not found.
        missing: Vec<&'static str>,
        /// The header's column names as given.
        found: Vec<String>,
    },
    /// A column appears twice.
    #[error("the column {0:?} appears more than once in the header")]
    Duplicate(String),
    /// The header is not UTF-8 text.
    #[error("the header is not UTF-8 text; save the file as UTF-8")]
    NotUtf8,
    /// The file is empty.
    #[error("the file is empty: a header line (isrc,title,artist,…) is required")]
    Empty,
}

impl Columns {
    /// Reads a header record: names are matched ignoring case, surrounding spaces and a UTF-8 byte order mark;
    /// unknown columns are allowed (and ignored).
    pub fn from_header<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, HeaderError> {
        let mut positions = [None; 6];
        let mut found = Vec::new();
        for (index, raw) in fields.into_iter().enumerate() {
            let raw = raw.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(raw);
            let name = std::str::from_utf8(raw).map_err(|_| HeaderError::NotUtf8)?.trim();
            found.push(name.to_owned());
            let folded = name.to_ascii_lowercase().replace([' ', '-'], "_");
            if let Some(column) = Column::parse(&folded) {
                let slot = &mut positions[column_slot(column)];
                if slot.is_some() {
                    return Err(HeaderError::Duplicate(name.to_owned()));
                }
                *slot = Some(index);
            }
        }
        if found.iter().all(String::is_empty) {
            return Err(HeaderError::Empty);
        }
        let missing: Vec<&'static str> =
            REQUIRED_COLUMNS.iter().filter(|c| positions[column_slot(**c)].is_none()).map(|c| c.as_str()).collect();
        if !missing.is_empty() {
            return Err(HeaderError::Missing { missing, found });
        }
        Ok(Self { positions, width: found.len() })
    }

    /// How many fields each record must have.
    pub fn width(&self) -> usize {
        self.width
    }

    fn position(&self, column: Column) -> Option<usize> {
        self.positions[column_slot(column)]
    }

    /// Validates one CSV record (`fields` in header order) that starts on `line`.
    pub fn record(&self, line: u64, fields: &[&[u8]]) -> Result<NewRecording, Vec<Issue>> {
        if fields.len() != self.width {
            let whole = fields.join(&b","[..]);
            return Err(vec![Issue::error(
                line,
                None,
                &whole,
                format!("the record has {} field(s) but the header has {}", fields.len(), self.width),
            )]);
        }
        let mut issues = Vec::new();
        let mut text = |column: Column| -> Option<&str> {
            let raw = fields[self.position(column)?];
            match std::str::from_utf8(raw) {
                Ok(text) => Some(text),
                Err(err) => {
                    issues.push(Issue::error(
                        line,
                        Some(column.as_str()),
                        raw,
                        format!(
                            "is not UTF-8 text (byte 0x{:02X} at offset {}); save the file as UTF-8",
                            raw[err.valid_up_to()],
                            err.valid_up_to()
                        ),
                    ));
                    None
                }
            }
        };
        let isrc = text(Column::Isrc);
        let title = text(Column::Title);
        let artist = text(Column::Artist);
        let duration = text(Column::Duration);
        let released_at = text(Column::ReleasedAt);
        let genre = text(Column::Genre);
        if !issues.is_empty() {
            return Err(issues);
        }
        let fields = RowFields {
            isrc: isrc.unwrap_or(""),
            title: title.unwrap_or(""),
            artist: artist.unwrap_or(""),
            duration: duration.map(DurationValue::Text),
            released_at,
            genre,
        };
        fields.validate(line)
    }
}

fn column_slot(column: Column) -> usize {
    Column::ALL.iter().position(|c| *c == column).unwrap_or(0)
}

/// A duration as it came: text from CSV, or a JSON number.
#[derive(Debug, Clone, Copy)]
enum DurationValue<'a> {
    Text(&'a str),
    Number(f64),
    /// A JSON number written with a fraction or an exponent (`0.5`, `1e-400`, which reads as 0.0).
    NotWhole(f64),
}

/// One row's fields as text, before validation.
#[derive(Debug, Clone, Copy)]
struct RowFields<'a> {
    isrc: &'a str,
    title: &'a str,
    artist: &'a str,
    duration: Option<DurationValue<'a>>,
    released_at: Option<&'a str>,
    genre: Option<&'a str>,
}

impl RowFields<'_> {
    fn validate(self, line: u64) -> Result<NewRecording, Vec<Issue>> {
        let mut issues = Vec::new();
        let duration_seconds = match self.duration {
            None => None,
            Some(DurationValue::Text(t)) if t.trim().is_empty() => None,
            Some(value) => match parse_duration(value) {
                Ok(seconds) => Some(seconds),
                Err(reason) => {
                    let shown = match value {
                        DurationValue::Text(t) => t.to_owned(),
                        DurationValue::Number(n) | DurationValue::NotWhole(n) => n.to_string(),
                    };
                    issues.push(Issue::error(line, Some("duration"), shown.as_bytes(), reason));
                    None
                }
            },
        };
        let input = RecordingInput {
            isrc: self.isrc.to_owned(),
            title: self.title.to_owned(),
            artist: self.artist.to_owned(),
            duration_seconds,
            released_at: self.released_at.map(str::to_owned),
            genre: self.genre.map(str::to_owned),
        };
        match input.validate() {
            Ok(valid) if issues.is_empty() => Ok(valid),
            Ok(_) => Err(issues),
            Err(errors) => {
                for e in errors.0 {
                    let (column, value) = match e.field.as_str() {
                        "isrc" => ("isrc", self.isrc),
                        "title" => ("title", self.title),
                        "artist" => ("artist", self.artist),
                        "released_at" => ("released_at", self.released_at.unwrap_or("")),
                        "genre" => ("genre", self.genre.unwrap_or("")),
                        "duration_seconds" => ("duration", ""),
                        other => (other, ""),
                    };
                    let reason = match column {
                        "isrc" if e.reason == "is empty" || value.trim().is_empty() => "is required".to_owned(),
                        "isrc" => format!("is not an ISRC: {}", e.reason),
                        _ => e.reason,
                    };
                    issues.push(Issue::error(line, Some(column), value.as_bytes(), reason));
                }
                Err(issues)
            }
        }
    }
}

/// A length in whole seconds from `215`, `3:35` or `1:02:03` (minutes and seconds below 60 after the first
/// part), or a JSON number that is a whole number. Fractions are refused rather than rounded: the documented
/// formats have none, and `1e-400` silently becoming 0 s hides a broken export.
fn parse_duration(value: DurationValue<'_>) -> Result<i64, String> {
    let max = crate::catalogue::MAX_DURATION_SECONDS;
    let out_of_range = || format!("must be between 0 and {max} seconds");
    let not_a_duration = |shown: &str| format!("{shown:?} is not a duration (whole seconds, m:ss or h:mm:ss)");
    let seconds: i64 = match value {
        DurationValue::NotWhole(n) => return Err(not_a_duration(&n.to_string())),
        DurationValue::Number(n) => {
            if !n.is_finite() || n.fract() != 0.0 {
                return Err(not_a_duration(&n.to_string()));
            }
            if n < 0.0 || n > max as f64 {
                return Err(out_of_range());
            }
            n as i64
        }
        DurationValue::Text(text) => {
            let text = text.trim();
            let parts: Vec<&str> = text.split(':').collect();
            let digits = |p: &&str| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
            if parts.len() > 3 || !parts.iter().all(digits) {
                return Err(not_a_duration(text));
            }
            let mut total: i64 = 0;
            for (i, part) in parts.iter().enumerate() {
                let value: i64 = part.parse().map_err(|_| out_of_range())?;
                if i > 0 && (value >= 60 || part.len() != 2) {
                    return Err(not_a_duration(text));
                }
                total = total.saturating_mul(60).saturating_add(value);
            }
            total
        }
    };
    if !(0..=max).contains(&seconds) {
        return Err(out_of_range());
    }
    Ok(seconds)
}

/// Validates one JSON Lines record that is on `line`: an object whose keys are matched ignoring case;
/// `duration` may be a number or text.
pub fn json_record(line: u64, bytes: &[u8]) -> Result<NewRecording, Vec<Issue>> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(err) => {
            let reason = if std::str::from_utf8(bytes).is_err() {
                "is not UTF-8 text; save the file as UTF-8".to_owned()
            } else {
                format!("is not valid JSON: {err}")
            };
            return Err(vec![Issue::error(line, None, bytes, reason)]);
        }
    };
    let serde_json::Value::Object(map) = value else {
        return Err(vec![Issue::error(line, None, bytes, "is not a JSON object")]);
    };
    let mut found: [Option<&serde_json::Value>; 6] = [None; 6];
    for (key, value) in &map {
        let folded = key.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        if let Some(column) = Column::parse(&folded) {
            found[column_slot(column)] = Some(value);
        }
    }
    let mut issues = Vec::new();
    let mut text = |column: Column| -> Option<String> {
        match found[column_slot(column)] {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) if column != Column::Title && column != Column::Artist => {
                Some(n.to_string())
            }
            Some(other) => {
                issues.push(Issue::error(
                    line,
                    Some(column.as_str()),
                    other.to_string().as_bytes(),
                    "must be a string",
                ));
                None
            }
        }
    };
    let isrc = text(Column::Isrc);
    let title = text(Column::Title);
    let artist = text(Column::Artist);
    let released_at = text(Column::ReleasedAt);
    let genre = text(Column::Genre);
    let duration_text = match found[column_slot(Column::Duration)] {
        Some(serde_json::Value::Number(_)) => None,
        _ => text(Column::Duration),
    };
    if !issues.is_empty() {
        return Err(issues);
    }
    let duration = match found[column_slot(Column::Duration)] {
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(whole) => Some(DurationValue::Number(whole as f64)),
            None => n.as_f64().map(DurationValue::NotWhole),
        },
        _ => duration_text.as_deref().map(DurationValue::Text),
    };
    RowFields {
        isrc: isrc.as_deref().unwrap_or(""),
        title: title.as_deref().unwrap_or(""),
        artist: artist.as_deref().unwrap_or(""),
        duration,
        released_at: released_at.as_deref(),
        genre: genre.as_deref(),
    }
    .validate(line)
}

/// A compact key for a valid ISRC: its twelve characters read as a base-36 number (36¹² < 2⁶³), so a set of a
/// million seen ISRCs costs eight bytes each.
pub fn isrc_key(isrc: &Isrc) -> u64 {
    isrc.as_str().bytes().fold(0u64, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            _ => 0,
        };
        acc * 36 + u64::from(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Result<Columns, HeaderError> {
        Columns::from_header(names.iter().map(|n| n.as_bytes()))
    }

    #[test]
    fn headers_match_ignoring_case_spaces_and_bom() {
        let columns = header(&["\u{FEFF}ISRC", " Title ", "ARTIST", "Released At", "extra"]).expect("valid");
        assert_eq!(columns.width(), 5);
        assert_eq!(columns.position(Column::ReleasedAt), Some(3));
        assert_eq!(columns.position(Column::Genre), None);
    }

    #[test]
    fn a_header_without_required_columns_names_them() {
        let err = header(&["isrc", "name", "album"]).expect_err("missing");
        assert_eq!(err.to_string(), "the header lacks the required column(s) title, artist; it has isrc, name, album");
        assert_eq!(header(&["isrc", "ISRC", "title", "artist"]), Err(HeaderError::Duplicate("ISRC".into())));
        assert_eq!(header(&[""]), Err(HeaderError::Empty));
    }

    #[test]
    fn a_record_validates_every_field() {
        let columns = header(&["isrc", "title", "artist", "duration", "released_at", "genre"]).expect("valid");
        let ok = columns
            .record(2, &[b"us-rc1-13-01176", b"2 On", b"Tinashe", b"3:55", b"2014-01-21", b"r&b"])
            .expect("valid");
        assert_eq!(ok.isrc.as_str(), "USRC11301176");
        assert_eq!(ok.duration_seconds, Some(235));
        let issues = columns.record(7, &[b"XX", b"", b"A", b"-3", b"2014-13-01", b""]).expect_err("invalid");
        let columns_at_fault: Vec<_> = issues.iter().map(|i| i.column.as_deref().unwrap_or("")).collect();
        assert_eq!(columns_at_fault, ["duration", "isrc", "title", "released_at"]);
        assert!(issues.iter().all(|i| i.line == 7 && i.severity == Severity::Error));
        let short = columns.record(3, &[b"USRC11301176", b"t"]).expect_err("short");
        assert_eq!(short[0].reason, "the record has 2 field(s) but the header has 6");
        let latin1 = columns.record(4, &[b"USRC11301176", b"Beyonc\xe9", b"x", b"", b"", b""]).expect_err("latin1");
        assert_eq!(latin1[0].reason, "is not UTF-8 text (byte 0xE9 at offset 6); save the file as UTF-8");
        assert_eq!(latin1[0].value, "Beyonc\u{FFFD}");
    }

    #[test]
    fn durations_in_every_spelling() {
        for (text, seconds) in [("215", 215), (" 3:35 ", 215), ("1:02:03", 3723), ("0", 0), ("0:00", 0)] {
            assert_eq!(parse_duration(DurationValue::Text(text)), Ok(seconds), "{text}");
        }
        for bad in ["-1", "abc", "1:", "86401", "1:2:3:4", "1.5", "215.4", "3:75", "1:5", "1e3", "+5"] {
            assert!(parse_duration(DurationValue::Text(bad)).is_err(), "{bad}");
        }
        for (number, seconds) in [(235.0, Ok(235)), (0.0, Ok(0))] {
            assert_eq!(parse_duration(DurationValue::Number(number)), seconds);
        }
        for bad in [0.5, 235.2, 1e-300, -1.0, f64::INFINITY, 1e20] {
            assert!(parse_duration(DurationValue::Number(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_lines_take_any_key_case_and_numeric_durations() {
        let ok = json_record(1, br#"{"ISRC":"USRC11301176","Title":"2 On","artist":"Tinashe","duration":235}"#)
            .expect("valid");
        assert_eq!(ok.duration_seconds, Some(235));
        for number in ["0.5", "235.0", "1e-400", "2e2"] {
            let fraction =
                format!(r#"{{"isrc":"USRC11301176","title":"2 On","artist":"Tinashe","duration":{number}}}"#);
            let refused = json_record(1, fraction.as_bytes()).expect_err("not whole seconds");
            assert_eq!(refused[0].column.as_deref(), Some("duration"), "{number}");
        }
        let missing = json_record(2, br#"{"isrc":"USRC11301176","title":"2 On"}"#).expect_err("no artist");
        assert_eq!(missing[0].column.as_deref(), Some("artist"));
        let broken = json_record(3, br#"{"isrc":"USRC1130"#).expect_err("broken");
        assert!(broken[0].reason.starts_with("is not valid JSON"), "{}", broken[0].reason);
        let array = json_record(4, b"[1,2]").expect_err("array");
        assert_eq!(array[0].reason, "is not a JSON object");
    }

    #[test]
    fn isrc_keys_are_distinct_and_stable() {
        let a = Isrc::parse("USRC11301176").expect("valid");
        let b = Isrc::parse("USRC11301177").expect("valid");
        assert_ne!(isrc_key(&a), isrc_key(&b));
        assert_eq!(isrc_key(&Isrc::parse("us-rc1-13-01176").expect("valid")), isrc_key(&a));
        assert!(isrc_key(&Isrc::parse("ZZZZZ9999999").expect("valid")) < u64::MAX / 2);
    }

    #[test]
    fn formats_from_media_types_and_names() {
        assert_eq!(Format::from_media_type("text/csv; charset=utf-8"), Some(Format::Csv));
        assert_eq!(Format::from_media_type("application/x-ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::from_media_type("application/octet-stream"), None);
        assert_eq!(Format::from_file_name("catalogue.JSONL"), Some(Format::Jsonl));
        assert_eq!(Format::from_file_name("noext"), None);
    }
}

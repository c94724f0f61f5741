//! Splitting an import file into records, with bounded memory and recovery from broken quoting.
//!
//! A CSV parser that meets a quote which is never closed reads the rest of the file as one field, so one typo
//! would reject every row after it. [`CsvRecords`] lets a quoted field span lines (that is legal CSV) only while
//! the record it belongs to still has the header's number of fields: when a record that spans lines comes out
//! wrong, only its first line is rejected, and parsing starts again on the next line. A record may span at most
//! [`MAX_RECORD_LINES`] lines and a line may be at most [`MAX_LINE_BYTES`] long, so a hostile file cannot make
//! the reader buffer more than that.

use std::collections::VecDeque;
use std::io::BufRead;

/// The longest line kept; longer lines are rejected (and skipped without being buffered).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// The most lines one record (a quoted field with line breaks) may span.
pub const MAX_RECORD_LINES: usize = 32;

/// One item of a file: a record's fields, or a line that could not be read as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawRecord {
    /// A CSV record: its fields' bytes concatenated, and where each field ends.
    Fields {
        /// The line the record starts on.
        line: u64,
        /// The fields' bytes, back to back.
        data: Vec<u8>,
        /// The end offset of each field in `data`.
        ends: Vec<u32>,
    },
    /// One JSON Lines record.
    Json {
        /// Its line.
        line: u64,
        /// The line's bytes, without the line break.
        bytes: Vec<u8>,
    },
    /// A line that is not a record.
    Broken {
        /// Its line.
        line: u64,
        /// The start of the line's text.
        excerpt: Vec<u8>,
        /// Why.
        reason: String,
    },
}

impl RawRecord {
    /// The line the item starts on.
    pub fn line(&self) -> u64 {
        match self {
            Self::Fields { line, .. } | Self::Json { line, .. } | Self::Broken { line, .. } => *line,
        }
    }

    /// A CSV record's fields as slices.
    pub fn fields(&self) -> Vec<&[u8]> {
        match self {
            Self::Fields { data, ends, .. } => {
                let mut start = 0usize;
                ends.iter()
                    .map(|&end| {
                        let field = &data[start..end as usize];
                        start = end as usize;
                        field
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A file read record by record.
pub trait RecordSource {
    /// The next record, `None` at the end.
    fn next_record(&mut self) -> std::io::Result<Option<RawRecord>>;
    /// Bytes read from the input so far.
    fn consumed(&self) -> u64;
}

impl<R: BufRead> RecordSource for CsvRecords<R> {
    fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        CsvRecords::next_record(self)
    }

    fn consumed(&self) -> u64 {
        CsvRecords::consumed(self)
    }
}

impl<R: BufRead> RecordSource for JsonRecords<R> {
    fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        JsonRecords::next_record(self)
    }

    fn consumed(&self) -> u64 {
        JsonRecords::consumed(self)
    }
}

/// Reads lines of at most [`MAX_LINE_BYTES`] from `input`, counting them.
#[derive(Debug)]
pub struct Lines<R> {
    input: R,
    line: u64,
    /// Bytes consumed so far (for progress).
    consumed: u64,
}

/// One physical line.
#[derive(Debug)]
enum Line {
    /// The line's bytes, with its line break if it had one.
    Text(u64, Vec<u8>),
    /// A line over the limit, skipped.
    TooLong(u64, Vec<u8>),
}

impl<R: BufRead> Lines<R> {
    /// Lines of `input`, numbered from `first_line`.
    pub fn new(input: R, first_line: u64) -> Self {
        Self { input, line: first_line.saturating_sub(1), consumed: 0 }
    }

    /// Bytes read from the input so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut buf = Vec::new();
        let mut too_long = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                break;
            }
            let (take, done) = match memchr(b'\n', available) {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(buf.len());
            if take > room {
                too_long = true;
                buf.extend_from_slice(&available[..room]);
            } else if !too_long {
                buf.extend_from_slice(&available[..take]);
            }
            self.input.consume(take);
            self.consumed += take as u64;
            if done {
                break;
            }
        }
        if buf.is_empty() && !too_long {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some(if too_long { Line::TooLong(self.line, buf) } else { Line::Text(self.line, buf) }))
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
}

fn too_long(line: u64, bytes: Vec<u8>) -> RawRecord {
    RawRecord::Broken {
        line,
        excerpt: bytes,
        reason: format!("the line is longer than {} KiB; it was skipped", MAX_LINE_BYTES / 1024),
    }
}

/// JSON Lines: one record per non-blank line.
#[derive(Debug)]
pub struct JsonRecords<R> {
    lines: Lines<R>,
}

impl<R: BufRead> JsonRecords<R> {
    /// Records of `input`.
    pub fn new(input: R) -> Self {
        Self { lines: Lines::new(input, 1) }
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.lines.consumed()
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        loop {
            match self.lines.next_line()? {
                None => return Ok(None),
                Some(Line::TooLong(line, bytes)) => return Ok(Some(too_long(line, bytes))),
                Some(Line::Text(_, bytes)) if is_blank(&bytes) => continue,
                Some(Line::Text(line, mut bytes)) => {
                    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                        bytes.pop();
                    }
                    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).map(<[u8]>::to_vec).unwrap_or(bytes);
                    return Ok(Some(RawRecord::Json { line, bytes }));
                }
            }
        }
    }
}

/// CSV records (RFC 4180: `,` separated, `"` quoted, `""` escaped), recovering from broken quoting.
#[derive(Debug)]
pub struct CsvRecords<R> {
    lines: Lines<R>,
    /// Lines to parse again after a broken record gave them back.
    pending: VecDeque<Line>,
    /// How many fields a record must have; `None` until the header is read.
    width: Option<usize>,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: BufRead> CsvRecords<R> {
    /// Records of `input`; the first one returned is the header.
    pub fn new(input: R) -> Self {
        Self {
            lines: Lines::new(input, 1),
            pending: VecDeque::new(),
            width: None,
            core: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 16],
        }
    }

    /// Sets the number of fields a record must have (the header's), which decides when a multi-line record is
    /// broken.
    pub fn set_width(&mut self, width: usize) {
        self.width = Some(width);
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.lines.consumed()
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        if let Some(line) = self.pending.pop_front() {
            return Ok(Some(line));
        }
        self.lines.next_line()
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        'record: loop {
            let (first_line, first) = match self.next_line()? {
                None => return Ok(None),
                Some(Line::TooLong(line, bytes)) => return Ok(Some(too_long(line, bytes))),
                Some(Line::Text(_, bytes)) if is_blank(&bytes) => continue,
                Some(Line::Text(line, bytes)) => (line, bytes),
            };
            self.core.reset();
            let (mut nout, mut nends) = (0usize, 0usize);
            let mut lines: Vec<(u64, Vec<u8>)> = vec![(first_line, first)];
            let mut at = 0usize;
            let mut eof = false;
            loop {
                let (line_no, bytes) = &lines[lines.len() - 1];
                let line_no = *line_no;
                let input = if eof { &[][..] } else { &bytes[at..] };
                let (result, nin, o, e) = self.core.read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
                at += nin;
                nout += o;
                nends += e;
                match result {
                    csv_core::ReadRecordResult::OutputFull => {
                        let len = self.out.len();
                        self.out.resize(len * 2, 0);
                    }
                    csv_core::ReadRecordResult::OutputEndsFull => {
                        let len = self.ends.len();
                        self.ends.resize(len * 2, 0);
                    }
                    csv_core::ReadRecordResult::InputEmpty if !eof => {
                        // The line is used up and the record goes on: inside quotes, or at the file's last line.
                        let ended_with_break = bytes.ends_with(b"\n");
                        if !ended_with_break {
                            let quotes: usize = lines.iter().map(|(_, l)| quote_count(l)).sum();
                            if quotes % 2 == 1 {
                                if lines.len() > 1 {
                                    return Ok(Some(self.broken(lines, "a quoted field is never closed")));
                                }
                                let (line, bytes) = lines.pop().unwrap_or_default();
                                return Ok(Some(RawRecord::Broken {
                                    line,
                                    excerpt: bytes,
                                    reason: "the file ends inside a quoted field (is the last line cut off?)"
                                        .to_owned(),
                                }));
                            }
                            eof = true;
                            continue;
                        }
                        if lines.len() >= MAX_RECORD_LINES {
                            return Ok(Some(self.broken(lines, "a quoted field is never closed")));
                        }
                        match self.next_line()? {
                            Some(Line::Text(line, next)) => {
                                lines.push((line, next));
                                at = 0;
                            }
                            Some(Line::TooLong(line, next)) => {
                                // Give the long line back so it is reported on its own.
                                self.pending.push_front(Line::TooLong(line, next));
                                return Ok(Some(self.broken(lines, "a quoted field is never closed")));
                            }
                            None => {
                                if lines.len() > 1 || quote_count(&lines[0].1) % 2 == 1 {
                                    if lines.len() == 1 {
                                        let (line, bytes) = lines.pop().unwrap_or_default();
                                        return Ok(Some(RawRecord::Broken {
                                            line,
                                            excerpt: bytes,
                                            reason: "the file ends inside a quoted field (is the last line cut off?)"
                                                .to_owned(),
                                        }));
                                    }
                                    return Ok(Some(self.broken(lines, "a quoted field is never closed")));
                                }
                                eof = true;
                            }
                        }
                    }
                    csv_core::ReadRecordResult::InputEmpty
                    | csv_core::ReadRecordResult::Record
                    | csv_core::ReadRecordResult::End => {
                        if !matches!(result, csv_core::ReadRecordResult::Record) && nends == 0 {
                            continue 'record;
                        }
                        if lines.len() > 1 && (self.width.is_some_and(|w| w != nends) || !quotes_well_formed(&lines)) {
                            // Its lines go back whole (the part after a lone `\r` included).
                            return Ok(Some(self.broken(lines, "a quoted field is never closed")));
                        }
                        // A record may end before its line does (a lone `\r` terminator): parse the rest later.
                        let rest = if eof { &[][..] } else { &lines[lines.len() - 1].1[at..] };
                        if !is_blank(rest) {
                            self.pending.push_front(Line::Text(line_no, rest.to_vec()));
                        }
                        let data = self.out[..nout].to_vec();
                        let ends = self.ends[..nends].iter().map(|e| *e as u32).collect();
                        return Ok(Some(RawRecord::Fields { line: first_line, data, ends }));
                    }
                }
            }
        }
    }

    /// Rejects the first of `lines` and gives the others back to be parsed again.
    fn broken(&mut self, mut lines: Vec<(u64, Vec<u8>)>, reason: &str) -> RawRecord {
        let rest = lines.split_off(1);
        for (line, bytes) in rest.into_iter().rev() {
            self.pending.push_front(Line::Text(line, bytes));
        }
        let (line, excerpt) = lines.pop().unwrap_or_default();
        RawRecord::Broken {
            line,
            excerpt,
            reason: format!("{reason}: this line was rejected and reading went on with the next one"),
        }
    }
}

/// Whether every quoted field of a record that spans `lines` closes properly: a closing quote is followed by a
/// separator or the end of the record, as RFC 4180 says. A lenient parser reads `"x"9` as `x9`; across lines,
/// that leniency is what lets a stray quote swallow the rows after it, so multi-line records must be strict.
fn quotes_well_formed(lines: &[(u64, Vec<u8>)]) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut just_closed = false;
    let mut bytes = lines.iter().flat_map(|(_, l)| l.iter().copied()).peekable();
    while let Some(b) = bytes.next() {
        if in_quotes {
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                } else {
                    in_quotes = false;
                    just_closed = true;
                }
            }
            continue;
        }
        if just_closed && !matches!(b, b',' | b'\r' | b'\n') {
            return false;
        }
        just_closed = false;
        if b == b'"' && field_start {
            in_quotes = true;
        }
        field_start = matches!(b, b',' | b'\r' | b'\n');
    }
    !in_quotes
}

fn quote_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'"').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &[u8]) -> Vec<RawRecord> {
        let mut records = CsvRecords::new(text);
        let mut out = Vec::new();
        while let Some(record) = records.next_record().expect("read") {
            if out.is_empty()
                && let RawRecord::Fields { ends, .. } = &record
            {
                records.set_width(ends.len());
            }
            out.push(record);
        }
        out
    }

    fn fields(record: &RawRecord) -> Vec<String> {
        record.fields().iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
    }

    #[test]
    fn plain_and_quoted_records_with_their_lines() {
        let records = csv(b"isrc,title,artist\r\nA,\"x, \"\"y\"\"\",B\n\nC,\"multi\nline\",D\nE,F,G");
        assert_eq!(records.len(), 4);
        assert_eq!(fields(&records[1]), ["A", "x, \"y\"", "B"]);
        assert_eq!(records[2].line(), 4);
        assert_eq!(fields(&records[2]), ["C", "multi\nline", "D"]);
        assert_eq!(records[3].line(), 6);
        assert_eq!(fields(&records[3]), ["E", "F", "G"]);
    }

    #[test]
    fn an_unclosed_quote_costs_one_line() {
        let records = csv(b"a,b,c\n1,\"broken,3\n4,5,6\n7,\"x\",9\n");
        assert_eq!(records.len(), 4, "{records:?}");
        assert!(matches!(&records[1], RawRecord::Broken { line: 2, .. }), "{:?}", records[1]);
        assert_eq!(fields(&records[2]), ["4", "5", "6"]);
        assert_eq!(records[2].line(), 3);
        assert_eq!(fields(&records[3]), ["7", "x", "9"]);
    }

    #[test]
    fn a_broken_record_ending_at_a_lone_cr_is_not_read_twice() {
        let records = csv(b"a,b,c\n1,\"x\ny\"\r4,5,6\n7,8,9\n");
        let rows: Vec<Vec<String>> = records.iter().skip(1).map(fields).collect();
        assert_eq!(rows.iter().filter(|r| *r == &["4", "5", "6"]).count(), 1, "{records:?}");
        assert!(rows.contains(&vec!["7".to_owned(), "8".to_owned(), "9".to_owned()]));
    }

    #[test]
    fn a_cut_off_last_line_is_reported() {
        let records = csv(b"a,b,c\n1,2,3\n4,\"cut");
        assert_eq!(records.len(), 3);
        match &records[2] {
            RawRecord::Broken { line, reason, .. } => {
                assert_eq!(*line, 3);
                assert!(reason.contains("ends inside a quoted field"), "{reason}");
            }
            other => panic!("expected a broken record, got {other:?}"),
        }
        let unquoted = csv(b"a,b,c\n1,2,3\n4,5");
        assert_eq!(fields(&unquoted[2]), ["4", "5"]);
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut text = b"a,b,c\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES * 3));
        text.extend_from_slice(b"\n1,2,3\n");
        let records = csv(&text);
        assert_eq!(records.len(), 3);
        match &records[1] {
            RawRecord::Broken { line, excerpt, .. } => {
                assert_eq!(*line, 2);
                assert!(excerpt.len() <= MAX_LINE_BYTES);
            }
            other => panic!("expected a broken record, got {other:?}"),
        }
        assert_eq!(fields(&records[2]), ["1", "2", "3"]);
        assert_eq!(records[2].line(), 3);
    }

    #[test]
    fn json_lines_skip_blank_lines_and_count_lines() {
        let mut records = JsonRecords::new(&b"{\"a\":1}\r\n\n  \n{\"b\":2}"[..]);
        let first = records.next_record().expect("read").expect("one");
        assert_eq!(first, RawRecord::Json { line: 1, bytes: b"{\"a\":1}".to_vec() });
        let second = records.next_record().expect("read").expect("two");
        assert_eq!(second.line(), 4);
        assert!(records.next_record().expect("read").is_none());
        assert_eq!(records.consumed(), 20);
    }
}

//! A bulk import's findings as CSV (line, column, value, reason, severity), streamed a page at a time: the
//! `errors.csv` download and `omnisonic import --errors FILE` write the same bytes.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use omnisonic_store::bulk_imports::{self as store, StoredIssue};
use uuid::Uuid;

/// The report's CSV, a page of findings at a time.
pub fn report_stream(
    db: omnisonic_store::DatabaseConnection,
    job_id: Uuid,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    const PAGE: u64 = 1000;
    let header = futures::stream::once(async { Ok(Bytes::from_static(b"line,column,value,reason,severity\n")) });
    let pages = futures::stream::unfold(Some((0i64, 0i64)), move |after| {
        let db = db.clone();
        async move {
            let after = after?;
            match store::issues_after(&db, job_id, after, PAGE).await {
                Err(err) => Some((Err(std::io::Error::other(err.to_string())), None)),
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = (page.len() as u64 == PAGE).then(|| page[page.len() - 1].0);
                    let mut out = Vec::with_capacity(page.len() * 80);
                    for (_, issue) in page {
                        write_csv_row(&mut out, &issue);
                    }
                    Some((Ok(Bytes::from(out)), next))
                }
            }
        }
    });
    // Fused: a body may be polled again after its end (the compression layer does), which `unfold` forbids.
    header.chain(pages).fuse()
}

fn write_csv_row(out: &mut Vec<u8>, issue: &StoredIssue) {
    let fields = [
        issue.line.to_string(),
        issue.column.clone().unwrap_or_default(),
        issue.value.clone(),
        issue.reason.clone(),
        issue.severity.clone(),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Spreadsheet apps run a cell that starts with = + - @ as a formula: quote-prefix those (OWASP CSV
        // injection), and quote every field that needs it. They skip leading spaces (NBSP included) before
        // deciding, and read the full-width forms alike, so those count too.
        let first = field.trim_start_matches(|c: char| c.is_whitespace() && c != '\t' && c != '\r').chars().next();
        let formula = matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠'));
        let guarded = if i > 0 && formula { format!("'{field}") } else { field.clone() };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(guarded.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(guarded.as_bytes());
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::write_csv_row;
    use omnisonic_store::bulk_imports::StoredIssue;

    fn row(value: &str) -> String {
        let issue = StoredIssue {
            line: 2,
            column: Some("title".to_owned()),
            value: value.to_owned(),
            reason: "too long".to_owned(),
            severity: "error".to_owned(),
        };
        let mut out = Vec::new();
        write_csv_row(&mut out, &issue);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn formula_cells_are_prefixed_even_behind_spaces() {
        assert_eq!(row("=1+1"), "2,title,'=1+1,too long,error\n");
        assert_eq!(row(" =1+1"), "2,title,' =1+1,too long,error\n");
        assert_eq!(row("\u{a0}@SUM(A1)"), "2,title,'\u{a0}@SUM(A1),too long,error\n");
        assert_eq!(row("＝1+1"), "2,title,'＝1+1,too long,error\n");
        assert_eq!(row("plain = text"), "2,title,plain = text,too long,error\n");
    }
}

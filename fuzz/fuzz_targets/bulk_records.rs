//! Bulk import files (CSV and JSON Lines) as the import pipeline reads them: split into records with bounded
//! lines, the header mapped, each record validated into a recording or its findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use omnisonic_domain::bulk_import::{Columns, json_record};
use omnisonic_domain::records::{CsvRecords, JsonRecords, RawRecord};

fuzz_target!(|data: &[u8]| {
    let mut csv = CsvRecords::new(data);
    let mut columns: Option<Columns> = None;
    for _ in 0..10_000 {
        match csv.next_record() {
            Ok(Some(record @ RawRecord::Fields { .. })) => match &columns {
                None => match Columns::from_header(record.fields()) {
                    Ok(found) => {
                        csv.set_width(found.width());
                        columns = Some(found);
                    }
                    Err(_) => break,
                },
                Some(columns) => {
                    let _ = columns.record(record.line(), &record.fields());
                }
            },
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let mut json = JsonRecords::new(data);
    for _ in 0..10_000 {
        match json.next_record() {
            Ok(Some(RawRecord::Json { line, bytes })) => {
                let _ = json_record(line, &bytes);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});

//! The catalogue's vocabulary (parties, roles) and the validation of incoming recordings and works.

use crate::validation::{optional_text, required_text};
use crate::{Isrc, Iswc, ValidationErrors};
use chrono::NaiveDate;
use serde::Deserialize;

/// Longest title or name we store, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest genre label, in characters.
pub const MAX_GENRE_CHARS: usize = 100;
/// Longest recording we accept, in seconds (24 hours; longer is a data error).
pub const MAX_DURATION_SECONDS: i64 = 86_400;

string_enum!(
    /// What kind of party this is.
    PartyKind {
        /// A performing artist or group.
        Artist => "artist",
        /// A composer or lyricist.
        Writer => "writer",
        /// A music publisher.
        Publisher => "publisher",
        /// A record label.
        Label => "label",
    }
);

string_enum!(
    /// The part a party played in a work or recording; shares are counted per role.
    Role {
        /// Wrote the music.
        Composer => "composer",
        /// Wrote the words.
        Lyricist => "lyricist",
        /// Publishes the work.
        Publisher => "publisher",
        /// Performs on the recording.
        Performer => "performer",
        /// Produced the recording.
        Producer => "producer",
        /// Owns the master.
        Label => "label",
    }
);

/// A recording as received from a client, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordingInput {
    /// The ISRC in any accepted spelling.
    pub isrc: String,
    /// The recording's title.
    pub title: String,
    /// The main artist, as credited.
    pub artist: String,
    /// Length in whole seconds.
    pub duration_seconds: Option<i64>,
    /// Release date, `YYYY-MM-DD`.
    pub released_at: Option<String>,
    /// A genre label.
    pub genre: Option<String>,
}

/// A validated recording, ready to be upserted by its ISRC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecording {
    /// The normalised ISRC.
    pub isrc: Isrc,
    /// The trimmed title.
    pub title: String,
    /// The trimmed artist credit.
    pub artist: String,
    /// Length in whole seconds.
    pub duration_seconds: Option<i64>,
    /// Release date.
    pub released_at: Option<NaiveDate>,
    /// Genre label.
    pub genre: Option<String>,
}

impl RecordingInput {
    /// Validates every field and reports all that are wrong at once.
    pub fn validate(&self) -> Result<NewRecording, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let isrc = Isrc::parse(&self.isrc).map_err(|e| errors.add("isrc", e.to_string())).ok();
        let title = required_text(&mut errors, "title", &self.title, MAX_TITLE_CHARS);
        let artist = required_text(&mut errors, "artist", &self.artist, MAX_TITLE_CHARS);
        if let Some(d) = self.duration_seconds
            && !(0..=MAX_DURATION_SECONDS).contains(&d)
        {
            errors.add("duration_seconds", format!("must be between 0 and {MAX_DURATION_SECONDS} seconds"));
        }
        let released_at = match self.released_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => parse_release_date(s).map_err(|reason| errors.add("released_at", reason)).ok(),
        };
        let genre = optional_text(&mut errors, "genre", self.genre.as_deref(), MAX_GENRE_CHARS);
        match isrc {
            Some(isrc) if errors.is_empty() => {
                Ok(NewRecording { isrc, title, artist, duration_seconds: self.duration_seconds, released_at, genre })
            }
            _ => Err(errors),
        }
    }
}

/// The earliest release year accepted (sound recording began in the 1860s).
pub const MIN_RELEASE_YEAR: i32 = 1860;
/// The latest release year accepted.
pub const MAX_RELEASE_YEAR: i32 = 2100;

/// Parses a release date: a full `YYYY-MM-DD`, or a bare year (`2014`) or month (`2014-07`) as catalogues often
/// carry, which mean the first day of that period. Exactly these shapes, with four-digit years from
/// [`MIN_RELEASE_YEAR`] to [`MAX_RELEASE_YEAR`]: chrono alone also reads `-0001-01-01`, `0000` and `+2014-01-01`.
pub fn parse_release_date(s: &str) -> Result<NaiveDate, String> {
    let shape_ok = matches!(s.len(), 4 | 7 | 10)
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let full = match s.len() {
        4 => format!("{s}-01-01"),
        7 => format!("{s}-01"),
        _ => s.to_owned(),
    };
    let date = NaiveDate::parse_from_str(&full, "%Y-%m-%d")
        .ok()
        .filter(|_| shape_ok)
        .ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)"))?;
    let year = chrono::Datelike::year(&date);
    if !(MIN_RELEASE_YEAR..=MAX_RELEASE_YEAR).contains(&year) {
        return Err(format!("{s:?} is outside the years {MIN_RELEASE_YEAR}–{MAX_RELEASE_YEAR}"));
    }
    Ok(date)
}

/// A work as received from a client, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkInput {
    /// The work's title.
    pub title: String,
    /// The ISWC in any accepted spelling, if known.
    pub iswc: Option<String>,
    /// Genre labels.
    #[serde(default)]
    pub genres: Vec<String>,
}

/// A validated work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWork {
    /// The trimmed title.
    pub title: String,
    /// The normalised ISWC.
    pub iswc: Option<Iswc>,
    /// Trimmed, non-empty, de-duplicated genre labels.
    pub genres: Vec<String>,
}

impl WorkInput {
    /// Validates every field and reports all that are wrong at once.
    pub fn validate(&self) -> Result<NewWork, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = required_text(&mut errors, "title", &self.title, MAX_TITLE_CHARS);
        let iswc = match self.iswc.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Iswc::parse(s).map_err(|e| errors.add("iswc", e.to_string())).ok(),
        };
        let mut genres: Vec<String> = Vec::new();
        for g in &self.genres {
            if let Some(g) = optional_text(&mut errors, "genres", Some(g), MAX_GENRE_CHARS)
                && !genres.contains(&g)
            {
                genres.push(g);
            }
        }
        errors.into_result(NewWork { title, iswc, genres })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_reports_every_bad_field() {
        let input = RecordingInput {
            isrc: "nope".into(),
            title: " ".into(),
            artist: "Drake".into(),
            duration_seconds: Some(-1),
            released_at: Some("2014-13-01".into()),
            genre: None,
        };
        let errors = input.validate().expect_err("invalid");
        for field in ["isrc", "title", "duration_seconds", "released_at"] {
            assert!(errors.reason_for(field).is_some(), "{field} missing from {errors}");
        }
        assert!(errors.reason_for("artist").is_none());
    }

    #[test]
    fn recording_normalises() {
        let input = RecordingInput {
            isrc: "us-rc1-13-01176".into(),
            title: " 2 On ".into(),
            artist: "Tinashe".into(),
            released_at: Some("2014".into()),
            ..Default::default()
        };
        let rec = input.validate().expect("valid");
        assert_eq!(rec.isrc.as_str(), "USRC11301176");
        assert_eq!(rec.title, "2 On");
        assert_eq!(rec.released_at, NaiveDate::from_ymd_opt(2014, 1, 1));
    }

    #[test]
    fn release_dates_are_refused_outside_their_shapes_and_years() {
        for (text, ymd) in [
            ("2014", (2014, 1, 1)),
            ("2014-07", (2014, 7, 1)),
            ("1860-01-01", (1860, 1, 1)),
            ("2100-12-31", (2100, 12, 31)),
        ] {
            assert_eq!(
                parse_release_date(text),
                Ok(NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2).expect("date")),
                "{text}"
            );
        }
        for bad in
            ["-0001-01-01", "0000", "+2014-01-01", "1859-12-31", "2101", "14-01-01", "2014-1-1", "2014/01/01", " 2014"]
        {
            assert!(parse_release_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn title_limit_edge() {
        let ok = "a".repeat(MAX_TITLE_CHARS);
        let too_long = "a".repeat(MAX_TITLE_CHARS + 1);
        let work = |t: &str| WorkInput { title: t.into(), ..Default::default() }.validate();
        assert!(work(&ok).is_ok());
        assert!(work(&too_long).is_err());
    }
}

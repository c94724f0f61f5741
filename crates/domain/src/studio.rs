//! Studio sessions and tracks: the limits a session's settings must respect.

use crate::ValidationErrors;
use crate::validation::{optional_text, required_text};

/// Longest session or track title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest session description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// Sample rates a session may run at.
pub const SAMPLE_RATES: &[i32] = &[44_100, 48_000, 88_200, 96_000];
/// Tempo range, in beats per minute.
pub const BPM_RANGE: std::ops::RangeInclusive<i32> = 20..=400;
/// Track gain range, in decibels.
pub const GAIN_DB_RANGE: std::ops::RangeInclusive<f64> = -96.0..=12.0;
/// Pan range: -1 is hard left, +1 hard right.
pub const PAN_RANGE: std::ops::RangeInclusive<f64> = -1.0..=1.0;

/// A studio session's editable fields as submitted (form or API), before validation.
#[derive(Debug, Clone, Default)]
pub struct StudioSessionInput {
    /// Title.
    pub title: String,
    /// Free-text notes.
    pub description: Option<String>,
    /// Tempo, if set.
    pub bpm: Option<i32>,
    /// Sample rate in Hz.
    pub sample_rate: i32,
}

/// Validated studio session fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StudioSessionFields {
    /// Trimmed title.
    pub title: String,
    /// Trimmed description, `None` when blank.
    pub description: Option<String>,
    /// Tempo.
    pub bpm: Option<i32>,
    /// One of [`SAMPLE_RATES`].
    pub sample_rate: i32,
}

impl StudioSessionInput {
    /// Validates every field and reports all that are wrong at once.
    pub fn validate(&self) -> Result<StudioSessionFields, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = required_text(&mut errors, "title", &self.title, MAX_NAME_CHARS);
        let description = optional_text(&mut errors, "description", self.description.as_deref(), MAX_DESCRIPTION_CHARS);
        if let Some(bpm) = self.bpm
            && !BPM_RANGE.contains(&bpm)
        {
            errors.add("bpm", format!("must be between {} and {}", BPM_RANGE.start(), BPM_RANGE.end()));
        }
        if !SAMPLE_RATES.contains(&self.sample_rate) {
            errors.add("sample_rate", "must be 44100, 48000, 88200 or 96000 Hz");
        }
        errors.into_result(StudioSessionFields { title, description, bpm: self.bpm, sample_rate: self.sample_rate })
    }
}

/// A track's fields as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct TrackInput {
    /// Track name.
    pub name: String,
    /// Gain in dB.
    pub gain_db: f64,
    /// Pan, -1..=1.
    pub pan: f64,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Where the track starts in the mix, in samples at the session rate.
    pub start_offset_samples: i64,
}

impl TrackInput {
    /// Validates every field and reports all that are wrong at once.
    pub fn validate(&self) -> Result<TrackInput, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = required_text(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        if !GAIN_DB_RANGE.contains(&self.gain_db) {
            errors.add("gain_db", "must be between -96 and +12 dB");
        }
        if !PAN_RANGE.contains(&self.pan) {
            errors.add("pan", "must be between -1 (left) and 1 (right)");
        }
        if self.start_offset_samples < 0 {
            errors.add("start_offset_samples", "must not be negative");
        }
        errors.into_result(TrackInput { name, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_limits_at_their_edges() {
        let base = StudioSessionInput { title: "Mix".into(), sample_rate: 48_000, ..Default::default() };
        assert!(base.validate().is_ok());
        for (bpm, ok) in [(20, true), (400, true), (19, false), (401, false)] {
            let r = StudioSessionInput { bpm: Some(bpm), ..base.clone() }.validate();
            assert_eq!(r.is_ok(), ok, "bpm {bpm}");
        }
        assert!(StudioSessionInput { sample_rate: 22_050, ..base.clone() }.validate().is_err());
        assert!(StudioSessionInput { title: "x".repeat(200), ..base.clone() }.validate().is_ok());
        assert!(StudioSessionInput { title: "x".repeat(201), ..base }.validate().is_err());
    }

    #[test]
    fn track_limits() {
        let t = TrackInput { name: "Drums".into(), ..Default::default() };
        assert!(t.validate().is_ok());
        for (gain_db, ok) in [(-96.0, true), (12.0, true), (-96.1, false), (12.1, false)] {
            assert_eq!(TrackInput { gain_db, ..t.clone() }.validate().is_ok(), ok, "gain {gain_db}");
        }
        for (pan, ok) in [(-1.0, true), (1.0, true), (-1.01, false), (1.01, false)] {
            assert_eq!(TrackInput { pan, ..t.clone() }.validate().is_ok(), ok, "pan {pan}");
        }
        assert!(TrackInput { start_offset_samples: 0, ..t.clone() }.validate().is_ok());
        assert!(TrackInput { start_offset_samples: -1, ..t }.validate().is_err());
    }
}

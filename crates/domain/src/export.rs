//! Mixdown exports: the formats a session can be exported to, and which tracks sound in a mix (mute and solo).
//!
//! One definition for every layer: the REST endpoint and the session page parse a request into an
//! [`ExportFormat`], the store keeps its columns ([`ExportFormat::columns`]), the worker reads it back
//! ([`ExportFormat::from_columns`]) and the engine and the duration check pick tracks with [`sounding`].

use crate::validation::ValidationErrors;

/// What an export is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// PCM WAV, 16 or 24 bits per sample.
    Wav {
        /// 16 or 24.
        bits: u8,
    },
    /// FLAC, 16-bit (dithered; the FLAC encoder cannot compress loud 24-bit mixes well).
    Flac,
    /// MP3 at a constant bit rate.
    Mp3 {
        /// 192 or 320 kbit/s.
        kbps: u16,
    },
}

impl ExportFormat {
    /// The default when a request names none: 16-bit WAV.
    pub const DEFAULT: Self = Self::Wav { bits: 16 };

    /// Checks a request: `format` (`wav` when empty, any case) with an optional `bit_depth` (WAV: 16 or 24, FLAC:
    /// 16) or `bitrate` (MP3: 192 or 320). Each wrong field is named with the reason.
    pub fn parse(format: Option<&str>, bit_depth: Option<i32>, bitrate: Option<i32>) -> Result<Self, ValidationErrors> {
        let format = format.map(str::trim).filter(|f| !f.is_empty()).unwrap_or("wav").to_ascii_lowercase();
        let refuse = |field: &str, reason: &str| {
            let mut errors = ValidationErrors::default();
            errors.add(field, reason);
            Err(errors)
        };
        match format.as_str() {
            "wav" | "flac" if bitrate.is_some() => refuse("bitrate", "applies to mp3 only"),
            "wav" => match bit_depth.unwrap_or(16) {
                16 => Ok(Self::Wav { bits: 16 }),
                24 => Ok(Self::Wav { bits: 24 }),
                _ => refuse("bitDepth", "must be 16 or 24"),
            },
            "flac" => match bit_depth.unwrap_or(16) {
                16 => Ok(Self::Flac),
                _ => refuse("bitDepth", "FLAC exports are 16-bit"),
            },
            "mp3" if bit_depth.is_some() => refuse("bitDepth", "applies to wav and flac only"),
            "mp3" => match bitrate.unwrap_or(320) {
                192 => Ok(Self::Mp3 { kbps: 192 }),
                320 => Ok(Self::Mp3 { kbps: 320 }),
                _ => refuse("bitrate", "must be 192 or 320"),
            },
            _ => refuse("format", "must be wav, flac or mp3"),
        }
    }

    /// The session page's choice (`wav16`, `wav24`, `flac`, `mp3-320`, `mp3-192`); anything else is the default.
    pub fn from_choice(choice: &str) -> Self {
        match choice {
            "wav24" => Self::Wav { bits: 24 },
            "flac" => Self::Flac,
            "mp3-320" => Self::Mp3 { kbps: 320 },
            "mp3-192" => Self::Mp3 { kbps: 192 },
            _ => Self::DEFAULT,
        }
    }

    /// The stored form: format name (also the file extension), bit depth, bit rate.
    pub fn columns(self) -> (&'static str, Option<i32>, Option<i32>) {
        match self {
            Self::Wav { bits } => ("wav", Some(i32::from(bits)), None),
            Self::Flac => ("flac", Some(16), None),
            Self::Mp3 { kbps } => ("mp3", None, Some(i32::from(kbps))),
        }
    }

    /// Reads the stored form back; `None` for a format this version does not know. Missing depths and rates take
    /// the defaults rows had before they were recorded (WAV 16-bit, MP3 320 kbit/s).
    pub fn from_columns(format: &str, bit_depth: Option<i32>, bitrate: Option<i32>) -> Option<Self> {
        match (format, bit_depth, bitrate) {
            ("wav", Some(24), _) => Some(Self::Wav { bits: 24 }),
            ("wav", _, _) => Some(Self::Wav { bits: 16 }),
            ("flac", _, _) => Some(Self::Flac),
            ("mp3", _, Some(192)) => Some(Self::Mp3 { kbps: 192 }),
            ("mp3", _, _) => Some(Self::Mp3 { kbps: 320 }),
            _ => None,
        }
    }

    /// The file extension (and stored format name).
    pub fn extension(self) -> &'static str {
        self.columns().0
    }

    /// How people read it: `WAV 24-bit`, `FLAC 16-bit`, `MP3 320 kbps`.
    pub fn label(self) -> String {
        match self {
            Self::Wav { bits } => format!("WAV {bits}-bit"),
            Self::Flac => "FLAC 16-bit".to_owned(),
            Self::Mp3 { kbps } => format!("MP3 {kbps} kbps"),
        }
    }
}

/// A track as the mute/solo rule sees it.
pub trait MixChannel {
    /// Whether it has audio at all (a track without an upload is silent whatever its switches say).
    fn has_audio(&self) -> bool {
        true
    }
    /// Its mute switch.
    fn muted(&self) -> bool;
    /// Its solo switch.
    fn soloed(&self) -> bool;
}

/// The tracks that sound in a mix: tracks with audio that are not muted and, when any track with audio is
/// soloed, soloed too. A soloed track that is also muted still silences the tracks that are not soloed (what
/// mixing desks do: solo decides who may sound, mute then silences).
pub fn sounding<T: MixChannel>(tracks: &[T]) -> impl Iterator<Item = &T> {
    let any_solo = tracks.iter().any(|t| t.has_audio() && t.soloed());
    tracks.iter().filter(move |t| t.has_audio() && !t.muted() && (!any_solo || t.soloed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_defaults_and_each_wrong_field_is_named() {
        assert_eq!(ExportFormat::parse(None, None, None), Ok(ExportFormat::Wav { bits: 16 }));
        assert_eq!(ExportFormat::parse(Some(" WAV "), Some(24), None), Ok(ExportFormat::Wav { bits: 24 }));
        assert_eq!(ExportFormat::parse(Some("flac"), None, None), Ok(ExportFormat::Flac));
        assert_eq!(ExportFormat::parse(Some("mp3"), None, Some(192)), Ok(ExportFormat::Mp3 { kbps: 192 }));
        let field = |result: Result<ExportFormat, ValidationErrors>| {
            let errors = result.expect_err("refused");
            (errors.0[0].field.clone(), errors.0[0].reason.clone())
        };
        assert_eq!(field(ExportFormat::parse(Some("ogg"), None, None)).0, "format");
        assert_eq!(field(ExportFormat::parse(Some("wav"), Some(32), None)).0, "bitDepth");
        assert_eq!(field(ExportFormat::parse(Some("wav"), None, Some(320))).0, "bitrate");
        assert_eq!(field(ExportFormat::parse(Some("flac"), Some(24), None)).1, "FLAC exports are 16-bit");
        assert_eq!(field(ExportFormat::parse(Some("mp3"), Some(16), None)).0, "bitDepth");
        assert_eq!(field(ExportFormat::parse(Some("mp3"), None, Some(256))).1, "must be 192 or 320");
    }

    #[test]
    fn every_format_survives_its_stored_form_and_the_page_choices_map_to_it() {
        for format in [
            ExportFormat::Wav { bits: 16 },
            ExportFormat::Wav { bits: 24 },
            ExportFormat::Flac,
            ExportFormat::Mp3 { kbps: 192 },
            ExportFormat::Mp3 { kbps: 320 },
        ] {
            let (name, bits, rate) = format.columns();
            assert_eq!(ExportFormat::from_columns(name, bits, rate), Some(format));
            assert_eq!(ExportFormat::parse(Some(name), bits, rate), Ok(format));
        }
        assert_eq!(ExportFormat::from_columns("ogg", None, None), None);
        assert_eq!(ExportFormat::from_choice("mp3-192"), ExportFormat::Mp3 { kbps: 192 });
        assert_eq!(ExportFormat::from_choice("anything"), ExportFormat::DEFAULT);
        assert_eq!(ExportFormat::Mp3 { kbps: 320 }.label(), "MP3 320 kbps");
    }

    struct Track(bool, bool, bool);

    impl MixChannel for Track {
        fn has_audio(&self) -> bool {
            self.0
        }
        fn muted(&self) -> bool {
            self.1
        }
        fn soloed(&self) -> bool {
            self.2
        }
    }

    fn sounding_of(tracks: &[Track]) -> Vec<usize> {
        sounding(tracks).map(|t| tracks.iter().position(|u| std::ptr::eq(u, t)).expect("member")).collect()
    }

    #[test]
    fn solo_decides_who_may_sound_and_mute_silences() {
        // (audio, mute, solo)
        assert_eq!(sounding_of(&[Track(true, false, false), Track(true, true, false)]), [0]);
        assert_eq!(sounding_of(&[Track(true, false, false), Track(true, false, true)]), [1]);
        assert_eq!(sounding_of(&[Track(true, false, false), Track(true, true, true)]), Vec::<usize>::new());
        // A soloed track without audio changes nothing.
        assert_eq!(sounding_of(&[Track(true, false, false), Track(false, false, true)]), [0]);
    }
}

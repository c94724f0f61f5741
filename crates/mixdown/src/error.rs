//! The one error type of the mixdown, [`MixError`], and how to tell input errors from transient ones.

use std::io;

/// Everything that can go wrong while probing, decoding, mixing or encoding.
///
/// Messages are meant for users: they name the track (its [`TrackInput::name`](crate::TrackInput::name)) and say
/// what is wrong with it, e.g. `track "Drums": unsupported codec: opus`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MixError {
    /// The track's file could not be opened or read.
    #[error("track \"{track}\": cannot open the file: {source}")]
    Open {
        /// The track's name.
        track: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not in a container or codec the mixdown can decode (e.g. Opus, WMA, a text file).
    #[error("track \"{track}\": unsupported {reason}")]
    Unsupported {
        /// The track's name.
        track: String,
        /// What is unsupported, e.g. `codec: opus`.
        reason: String,
    },
    /// The file is recognised but its data is damaged.
    #[error("track \"{track}\": corrupt audio: {reason}")]
    Corrupt {
        /// The track's name.
        track: String,
        /// What the decoder found.
        reason: String,
    },
    /// The container has no audio stream at all.
    #[error("track \"{track}\": the file has no audio stream")]
    NoAudioStream {
        /// The track's name.
        track: String,
    },
    /// [`TrackInput::stream`](crate::TrackInput::stream) names an audio stream the file does not have.
    #[error("track \"{track}\": audio stream {stream} does not exist (the file has {available})")]
    StreamOutOfRange {
        /// The track's name.
        track: String,
        /// The requested stream (0-based among audio streams).
        stream: usize,
        /// How many audio streams the file has.
        available: usize,
    },
    /// A setting or track parameter is out of range (sample rate 0, pan outside -1..=1, a NaN gain, …).
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// No tracks were given.
    #[error("there are no tracks to mix")]
    NoTracks,
    /// The mix is longer than [`MixSettings::max_frames`](crate::MixSettings::max_frames).
    #[error("the mix would be {frames} frames long, more than the limit of {limit}")]
    TooLong {
        /// The mix length in frames (at least this many, when the mix was stopped on the way).
        frames: u64,
        /// The limit.
        limit: u64,
    },
    /// The progress callback asked to stop.
    #[error("the mixdown was cancelled")]
    Cancelled,
    /// The encoder failed.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// Writing the output failed.
    #[error("writing the mix failed: {0}")]
    Io(#[from] io::Error),
}

impl MixError {
    /// True for errors that retrying cannot fix: bad or unsupported input, invalid settings, a mix that is too
    /// long, a cancelled job. False for I/O and encoder failures, which may be transient (disk full, …).
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::Open { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidData | io::ErrorKind::IsADirectory
            ),
            Self::Unsupported { .. }
            | Self::Corrupt { .. }
            | Self::NoAudioStream { .. }
            | Self::StreamOutOfRange { .. }
            | Self::InvalidSetting(_)
            | Self::NoTracks
            | Self::TooLong { .. }
            | Self::Cancelled => true,
            Self::Encode(_) | Self::Io(_) => false,
        }
    }

    pub(crate) fn unsupported(track: &str, reason: impl Into<String>) -> Self {
        Self::Unsupported { track: track.to_owned(), reason: reason.into() }
    }

    pub(crate) fn corrupt(track: &str, reason: impl Into<String>) -> Self {
        Self::Corrupt { track: track.to_owned(), reason: reason.into() }
    }
}

//! Omnisonic's audio engine: mixes a studio session's tracks down to one stereo file.
//!
//! A pure library — no async, no network, no database; it reads local files and writes to any
//! `Write + Seek`. Entry points: [`probe`] (what streams a file has), [`mix_length_frames`] (how long a mix will
//! be, to refuse too-long jobs before starting) and [`mix`].
//!
//! # Pipeline
//!
//! For every sounding track: symphonia demuxes and decodes the chosen audio stream (WAV, AIFF, FLAC, MP3,
//! AAC/M4A including multi-stream MP4 stem files, Ogg Vorbis; Opus, WMA and everything else are rejected with
//! [`MixError::Unsupported`]) to `f32`; rubato's FFT resampler converts it to the session's rate when the rates
//! differ; the track's gain and pan are applied and it is summed, in `f32`, at its sample-accurate start offset.
//! The sum goes through clip protection and then to the encoder.
//!
//! # Channels and pan law
//!
//! The output is always stereo at [`MixSettings::sample_rate`]. A mono input is panned with the constant-power law
//! `θ = (pan + 1) · π/4`, `L = g · cos θ`, `R = g · sin θ` (−3 dB on each side at centre). A stereo input uses the
//! matching constant-power *balance*: `L = g · min(1, √2 · cos θ)`, `R = g · min(1, √2 · sin θ)` applied to its own
//! left and right channel — centre leaves it unchanged, hard left keeps its left channel at unity and silences its
//! right one. Inputs with more than two channels contribute only their first two channels, which symphonia orders
//! front-left, front-right; the others (centre, LFE, surrounds) are dropped, not down-mixed.
//!
//! # Clip protection
//!
//! [`ClipProtection::Limiter`] (the default) is a streaming look-ahead peak limiter with a ceiling of
//! [`CEILING`] (−0.1 dBFS): 1.5 ms look-ahead with a linear attack, 50 ms release, in one pass; a mix that never exceeds
//! the ceiling passes through bit-identical. [`ClipProtection::PeakNormalize`] mixes twice: the first pass measures
//! the peak, the second scales the whole mix by `CEILING / peak` (up or down). [`ClipProtection::Off`] leaves the
//! sum alone; samples beyond full scale are clamped when converted to integers.
//!
//! # Formats, bit depths and dither
//!
//! * WAV 16-bit: TPDF dither (±1 LSB triangular noise) before rounding. WAV 24-bit: rounded, no dither.
//! * FLAC: 16-bit with the same TPDF dither (bit-identical to the 16-bit WAV of the mix), 4096-sample frames,
//!   fixed predictors only (flacenc's LPC search tripled the time for < 1 % smaller files), written frame by frame
//!   with the header patched at the end. Not 24-bit: flacenc caps
//!   the Rice parameter at 14, which made loud 24-bit mixes larger than PCM.
//! * MP3: LAME, CBR 192 or 320 kbps, joint stereo, quality 3, with a LAME/Info tag carrying the encoder delay and
//!   padding (so gapless-aware decoders return the exact length). LAME takes the float mix directly.
//!
//! # Threading and memory
//!
//! [`mix`] runs decoding, resampling, mixing and clip protection on the calling thread and encoding on one scoped
//! helper thread, connected by a bounded channel of a few blocks (on two cores the encoder, not the mixing, is
//! usually the bottleneck). FLAC frames are independent, so the FLAC encoder additionally spreads frame encoding
//! over two worker threads (at most 8 frames in flight) and writes the results in order. Everything is streamed in blocks of
//! [`MixSettings::block_frames`]: per track one decoded packet plus one block is buffered, so memory does not grow
//! with the length of the mix. The output writer must be `Seek` because WAV and FLAC headers (and the MP3 LAME tag)
//! are patched at the end.
//!
//! # Lengths and errors
//!
//! The mix is as long as the longest sounding track's `start_offset_frames` + its length at the session's rate
//! (`ceil(frames × out_rate / in_rate)`). A truncated file decodes what is there; a packet that fails to decode is
//! [`MixError::Corrupt`]. Errors name the track; [`MixError::is_input_error`] tells errors that retrying cannot fix.

mod decode;
mod dither;
mod encode;
mod engine;
mod error;
mod fifo;
mod limiter;
mod pan;
mod probe;
mod resample;
mod source;

use std::path::PathBuf;

pub use engine::{mix, mix_length_frames};
pub use error::MixError;
pub use limiter::CEILING;
pub use probe::{
    MAX_BITS_PER_SAMPLE, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, ProbeInfo, StreamInfo, check_audio_params,
    probe,
};

/// One track of a session to mix.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInput {
    /// The track's name, used in error messages.
    pub name: String,
    /// A local audio file (the caller downloads uploads first).
    pub path: PathBuf,
    /// Which audio stream of a multi-stream container to use, 0-based among the *audio* streams (see [`probe`]);
    /// `None` = the first audio stream.
    pub stream: Option<usize>,
    /// Gain in dB (0 = unchanged, +6.02 = double amplitude). Must be finite.
    pub gain_db: f64,
    /// Pan, −1.0 (hard left) ..= 1.0 (hard right); see the crate docs for the law.
    pub pan: f64,
    /// A muted track is not decoded and does not sound.
    pub mute: bool,
    /// If any track is soloed, only the soloed tracks that are not muted sound.
    pub solo: bool,
    /// Where the track starts in the mix, in frames at the *output* sample rate.
    pub start_offset_frames: u64,
}

impl TrackInput {
    /// A track at unity gain, centred, starting at frame 0, using the file's first audio stream.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            stream: None,
            gain_db: 0.0,
            pan: 0.0,
            mute: false,
            solo: false,
            start_offset_frames: 0,
        }
    }
}

/// Bits per sample of WAV output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavBits {
    /// 16-bit, TPDF-dithered.
    Sixteen,
    /// 24-bit, rounded.
    TwentyFour,
}

/// Constant bit rate of MP3 output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mp3Bitrate {
    /// 192 kbit/s.
    Kbps192,
    /// 320 kbit/s.
    Kbps320,
}

/// The file format of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// PCM WAV.
    Wav {
        /// Bits per sample.
        bits: WavBits,
    },
    /// FLAC, 16-bit, TPDF-dithered.
    Flac,
    /// MP3 (LAME, CBR).
    Mp3 {
        /// Bit rate.
        bitrate: Mp3Bitrate,
    },
}

/// How the mix is kept from clipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClipProtection {
    /// A streaming look-ahead peak limiter with its ceiling at [`CEILING`] (−0.1 dBFS). One pass.
    #[default]
    Limiter,
    /// Scale the whole mix so its peak is [`CEILING`]. Two passes (the inputs are decoded twice).
    PeakNormalize,
    /// No protection; samples beyond full scale are clamped at integer conversion.
    Off,
}

/// Session-wide settings of a mix.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSettings {
    /// Output sample rate in Hz (1 ..= 768 000); inputs at other rates are resampled.
    pub sample_rate: u32,
    /// Clip protection.
    pub clip: ClipProtection,
    /// Refuse (or stop with [`MixError::TooLong`]) when the mix would be longer than this many frames.
    pub max_frames: Option<u64>,
    /// Frames mixed per block (≥ 1). Larger blocks cost memory, smaller ones per-block overhead.
    pub block_frames: usize,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self { sample_rate: 44_100, clip: ClipProtection::Limiter, max_frames: None, block_frames: 4096 }
    }
}

/// How far a mix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Frames processed so far. With [`ClipProtection::PeakNormalize`] both passes count.
    pub frames_done: u64,
    /// Frames to process in all (an estimate until the end, where it equals `frames_done`).
    pub frames_total: u64,
}

impl Progress {
    /// Percentage done, 0 ..= 100.
    pub fn percent(&self) -> u8 {
        if self.frames_total == 0 {
            return 100;
        }
        (u128::from(self.frames_done.min(self.frames_total)) * 100 / u128::from(self.frames_total)) as u8
    }
}

/// What a finished mix looked like.
#[derive(Debug, Clone, PartialEq)]
pub struct MixReport {
    /// Length of the mix in frames at the output rate.
    pub frames: u64,
    /// Sample rate of the mix.
    pub sample_rate: u32,
    /// Highest absolute sample value of the sum before clip protection (1.0 = full scale).
    pub peak: f32,
    /// The gain clip protection applied to the whole mix: `CEILING / peak` for
    /// [`ClipProtection::PeakNormalize`], 1.0 otherwise (the limiter's gain varies and is not reported).
    pub normalize_gain: f32,
    /// How many tracks sounded (not muted, and soloed if any track is soloed).
    pub tracks_mixed: usize,
}

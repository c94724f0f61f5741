//! Probing a file: which audio streams it has, their codec, rate, channels and length — without decoding.

use std::path::Path;

use crate::MixError;
use crate::decode::{audio_params, audio_tracks, codec_name, open};

/// What [`probe`] found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeInfo {
    /// The audio streams, in container order; [`TrackInput::stream`](crate::TrackInput::stream) indexes this list.
    pub streams: Vec<StreamInfo>,
}

/// One audio stream of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// 0-based index among the file's audio streams (what [`TrackInput::stream`](crate::TrackInput::stream) takes).
    pub index: usize,
    /// Short codec name, e.g. `pcm_s16le`, `flac`, `mp3`, `aac`, `vorbis`, `opus`.
    pub codec: String,
    /// Whether this build can decode the codec (false e.g. for Opus or WMA).
    pub decodable: bool,
    /// Sample rate in Hz, when the container states it.
    pub sample_rate: Option<u32>,
    /// Number of channels, when the container states it.
    pub channels: Option<usize>,
    /// Length in frames at the stream's own rate, when the container states it.
    pub frames: Option<u64>,
    /// Bits per sample, when the container states it.
    pub bits_per_sample: Option<u32>,
    /// The stream's language tag, when the container has one. (Symphonia exposes no per-stream title.)
    pub language: Option<String>,
}

/// The lowest sample rate a stream may state (telephone audio).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// The highest sample rate a stream may state (16 × 48 kHz, DXD and beyond). The resampler's memory grows with
/// the rate (its blocks are `rate / gcd(rate, output rate)` frames), so a file claiming 4 GHz must never reach it.
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// The most channels a stream may state.
pub const MAX_CHANNELS: usize = 64;
/// The widest sample a stream may state, in bits.
pub const MAX_BITS_PER_SAMPLE: u32 = 64;

/// Why audio with these parameters cannot be mixed, or `None` when they are within range. Containers state
/// these numbers and nothing checks them for us: a WAV header may claim any rate, channel count or width.
pub fn check_audio_params(sample_rate: Option<u32>, channels: Option<usize>, bits: Option<u32>) -> Option<String> {
    match sample_rate {
        None | Some(0) => return Some("it states no sample rate".to_owned()),
        Some(rate) if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) => {
            return Some(format!("its sample rate of {rate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz"));
        }
        Some(_) => {}
    }
    if let Some(count) = channels
        && !(1..=MAX_CHANNELS).contains(&count)
    {
        return Some(format!("it states {count} channels; 1–{MAX_CHANNELS} can be mixed"));
    }
    if let Some(bits) = bits
        && !(1..=MAX_BITS_PER_SAMPLE).contains(&bits)
    {
        return Some(format!("it states {bits} bits per sample; 1–{MAX_BITS_PER_SAMPLE} can be mixed"));
    }
    None
}

impl StreamInfo {
    /// Why this stream cannot be mixed although its codec decodes (its parameters are out of range), if so.
    pub fn unplayable(&self) -> Option<String> {
        check_audio_params(self.sample_rate, self.channels, self.bits_per_sample)
    }
}

/// Lists the audio streams of the file at `path`. Errors name the file (its file name) as the track.
pub fn probe(path: &Path) -> Result<ProbeInfo, MixError> {
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let opened = open(path, &name)?;
    let streams = audio_tracks(opened.reader.as_ref())
        .into_iter()
        .enumerate()
        .filter_map(|(index, track)| {
            let params = audio_params(track)?;
            Some(StreamInfo {
                index,
                codec: codec_name(params.codec),
                decodable: symphonia::default::get_codecs().get_audio_decoder(params.codec).is_some(),
                sample_rate: params.sample_rate,
                channels: params.channels.as_ref().map(|c| c.count()),
                frames: track.num_frames,
                bits_per_sample: params.bits_per_sample,
                language: track.language.clone(),
            })
        })
        .collect();
    Ok(ProbeInfo { streams })
}

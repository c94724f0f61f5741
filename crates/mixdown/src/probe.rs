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
    /// The stream's language tag, when the container has one. (Symphonia exposes no per-stream title.)
    pub language: Option<String>,
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
                language: track.language.clone(),
            })
        })
        .collect();
    Ok(ProbeInfo { streams })
}

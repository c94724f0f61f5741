//! Opening a file with symphonia, choosing its audio stream, and decoding it packet by packet to planar `f32`.
//!
//! Only the containers and codecs enabled in Cargo.toml are known (WAV, AIFF, FLAC, MP3, AAC/M4A/MP4, Ogg Vorbis);
//! everything else, including Opus and WMA, is reported as [`MixError::Unsupported`].

use std::fs::File;
use std::io;
use std::path::Path;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_AAC, CODEC_ID_AC3, CODEC_ID_ALAC, CODEC_ID_EAC3, CODEC_ID_FLAC, CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3,
    CODEC_ID_OPUS, CODEC_ID_PCM_F32LE, CODEC_ID_PCM_S16LE, CODEC_ID_PCM_S24LE, CODEC_ID_SPEEX, CODEC_ID_VORBIS,
    CODEC_ID_WAVPACK, CODEC_ID_WMA,
};
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Duration;

use crate::MixError;

/// Decoded audio: the left (or mono) channel and, for stereo and more, the right one.
pub(crate) type Chunk<'a> = (&'a [f32], Option<&'a [f32]>);

/// An opened, probed file.
pub(crate) struct OpenedFile {
    pub(crate) reader: Box<dyn FormatReader>,
}

/// Opens `path` and probes its container. `track` names the track in errors.
pub(crate) fn open(path: &Path, track: &str) -> Result<OpenedFile, MixError> {
    let file = File::open(path).map_err(|source| MixError::Open { track: track.to_owned(), source })?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let reader = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            SymError::IoError(e) if e.kind() != io::ErrorKind::UnexpectedEof => {
                MixError::Open { track: track.to_owned(), source: e }
            }
            SymError::IoError(_) | SymError::Unsupported(_) => {
                MixError::unsupported(track, "file format (not WAV, AIFF, FLAC, MP3, AAC/M4A/MP4 or Ogg Vorbis)")
            }
            other => MixError::corrupt(track, other.to_string()),
        })?;
    Ok(OpenedFile { reader })
}

/// The audio codec parameters of a track, if it is an audio track.
pub(crate) fn audio_params(track: &Track) -> Option<&AudioCodecParameters> {
    match track.codec_params.as_ref()? {
        CodecParameters::Audio(params) => Some(params),
        _ => None,
    }
}

/// The audio tracks of a reader, in container order.
pub(crate) fn audio_tracks(reader: &dyn FormatReader) -> Vec<&Track> {
    reader.tracks().iter().filter(|t| audio_params(t).is_some()).collect()
}

/// A short, lower-case name for a codec: the registered decoder's name, or a well-known name for codecs without a
/// decoder here (so that errors can say "unsupported codec: opus").
pub(crate) fn codec_name(id: AudioCodecId) -> String {
    if let Some(registered) = symphonia::default::get_codecs().get_audio_decoder(id) {
        return registered.codec.info.short_name.to_owned();
    }
    let known = [
        (CODEC_ID_OPUS, "opus"),
        (CODEC_ID_WMA, "wma"),
        (CODEC_ID_ALAC, "alac"),
        (CODEC_ID_AC3, "ac3"),
        (CODEC_ID_EAC3, "eac3"),
        (CODEC_ID_SPEEX, "speex"),
        (CODEC_ID_WAVPACK, "wavpack"),
        (CODEC_ID_MP1, "mp1"),
        (CODEC_ID_MP2, "mp2"),
        (CODEC_ID_MP3, "mp3"),
        (CODEC_ID_AAC, "aac"),
        (CODEC_ID_FLAC, "flac"),
        (CODEC_ID_VORBIS, "vorbis"),
    ];
    known
        .iter()
        .find(|(known_id, _)| *known_id == id)
        .map_or_else(|| format!("unknown ({id})"), |(_, name)| (*name).to_owned())
}

/// A decoder for one audio stream of a file, producing the first two channels as planar `f32`.
pub(crate) struct StreamDecoder {
    track: String,
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// The stream's sample rate.
    pub(crate) sample_rate: u32,
    /// The number of frames the container announces, if it does.
    pub(crate) frames_hint: Option<u64>,
    planes: Vec<Vec<f32>>,
    finished: bool,
    mono: bool,
    pcm: Option<PcmLayout>,
}

/// Interleaved little-endian PCM that [`StreamDecoder`] converts itself (see [`PcmLayout::convert`]).
#[derive(Debug, Clone, Copy)]
struct PcmLayout {
    kind: PcmKind,
    channels: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PcmKind {
    S16,
    S24,
    F32,
}

impl PcmLayout {
    fn for_params(params: &AudioCodecParameters) -> Option<Self> {
        let kind = match params.codec {
            CODEC_ID_PCM_S16LE => PcmKind::S16,
            CODEC_ID_PCM_S24LE => PcmKind::S24,
            CODEC_ID_PCM_F32LE => PcmKind::F32,
            _ => return None,
        };
        let channels = params.channels.as_ref()?.count();
        (channels > 0).then_some(Self { kind, channels })
    }

    fn bytes_per_sample(self) -> usize {
        match self.kind {
            PcmKind::S16 => 2,
            PcmKind::S24 => 3,
            PcmKind::F32 => 4,
        }
    }

    /// Converts a packet of interleaved samples to planar `f32`, keeping the first two channels. The result is the
    /// same as symphonia's PCM decoder followed by its sample conversion (`i16 / 32768`, `i24 / 8388608`), without
    /// its generic per-sample rendering, which dominated the profile of WAV mixes. `None` if the packet is not a
    /// whole number of frames (symphonia's decoder then handles it).
    fn convert(self, data: &[u8], planes: &mut Vec<Vec<f32>>) -> Option<()> {
        let frame_bytes = self.bytes_per_sample() * self.channels;
        if !data.len().is_multiple_of(frame_bytes) {
            return None;
        }
        let frames = data.len() / frame_bytes;
        let keep = self.channels.min(2);
        planes.resize_with(keep, Vec::new);
        if self.kind == PcmKind::S16 && self.channels == 2 {
            // The common case (16-bit stereo WAV) in one pass with fixed-size chunks, which the compiler unrolls.
            let (left, right) = planes.split_at_mut(1);
            let (left, right) = (&mut left[0], &mut right[0]);
            left.resize(frames, 0.0);
            right.resize(frames, 0.0);
            for ((l, r), frame) in left.iter_mut().zip(right.iter_mut()).zip(data.chunks_exact(4)) {
                *l = f32::from(i16::from_le_bytes([frame[0], frame[1]])) * (1.0 / 32_768.0);
                *r = f32::from(i16::from_le_bytes([frame[2], frame[3]])) * (1.0 / 32_768.0);
            }
            return Some(());
        }
        for (ch, plane) in planes.iter_mut().enumerate() {
            plane.clear();
            plane.reserve(frames);
            let offset = ch * self.bytes_per_sample();
            let frames_iter = data.chunks_exact(frame_bytes).map(|frame| &frame[offset..]);
            match self.kind {
                PcmKind::S16 => {
                    plane.extend(frames_iter.map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32_768.0)))
                }
                PcmKind::S24 => plane.extend(
                    frames_iter.map(|b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * (1.0 / 8_388_608.0)),
                ),
                PcmKind::F32 => plane.extend(frames_iter.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            }
        }
        Some(())
    }
}

impl StreamDecoder {
    /// Opens audio stream `stream` (0-based among audio streams; `None` = the first) of `path`.
    pub(crate) fn open(path: &Path, stream: Option<usize>, track: &str) -> Result<Self, MixError> {
        let OpenedFile { reader } = open(path, track)?;
        let audio = audio_tracks(reader.as_ref());
        if audio.is_empty() {
            return Err(MixError::NoAudioStream { track: track.to_owned() });
        }
        let index = stream.unwrap_or(0);
        let Some(chosen) = audio.get(index) else {
            return Err(MixError::StreamOutOfRange { track: track.to_owned(), stream: index, available: audio.len() });
        };
        let Some(params) = audio_params(chosen) else {
            return Err(MixError::NoAudioStream { track: track.to_owned() });
        };
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => {
                    MixError::unsupported(track, format!("codec: {}", codec_name(params.codec)))
                }
                other => MixError::corrupt(track, other.to_string()),
            })?;
        // Checked before anything is sized by these numbers (the resampler's blocks grow with the rate).
        let channels = params.channels.as_ref().map(|c| c.count());
        if let Some(problem) = crate::probe::check_audio_params(params.sample_rate, channels, params.bits_per_sample) {
            return Err(MixError::unsupported(track, problem));
        }
        let Some(sample_rate) = params.sample_rate.filter(|r| *r > 0) else {
            return Err(MixError::corrupt(track, "the stream has no sample rate"));
        };
        let frames_hint = chosen.num_frames;
        let mono = params.channels.as_ref().is_some_and(|c| c.count() == 1);
        let pcm = PcmLayout::for_params(params);
        let track_id = chosen.id;
        Ok(Self {
            track: track.to_owned(),
            reader,
            decoder,
            track_id,
            sample_rate,
            frames_hint,
            planes: Vec::new(),
            finished: false,
            mono,
            pcm,
        })
    }

    /// Whether the stream is mono (as far as the container says; a stream with unknown channels counts as stereo).
    pub(crate) fn is_mono(&self) -> bool {
        self.mono
    }

    /// Decodes the next packet of the stream. Returns `Ok(None)` at the end of the stream, otherwise the first
    /// one or two channels of the decoded audio (`(left, Some(right))`, or `(mono, None)`), which may be empty.
    ///
    /// A file that ends early (truncated) ends the stream: what was there is kept. A packet that does not decode
    /// is a [`MixError::Corrupt`].
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Chunk<'_>>, MixError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let packet = match self.reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => {
                    self.finished = true;
                    return Ok(None);
                }
                // A truncated file: keep what was decoded so far.
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::IoError(e)) => {
                    return Err(MixError::Open { track: self.track.clone(), source: e });
                }
                // A chained Ogg stream changing its track list: treat the end of the first as the end.
                Err(SymError::ResetRequired) => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::Unsupported(what)) => return Err(MixError::unsupported(&self.track, what)),
                Err(other) => return Err(MixError::corrupt(&self.track, other.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            if let Some(pcm) = self.pcm
                && packet.trim_start == Duration::ZERO
                && packet.trim_end == Duration::ZERO
                && pcm.convert(&packet.data, &mut self.planes).is_some()
            {
                return Ok(Some(self.planes_as_chunk()));
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::Unsupported(what)) => return Err(MixError::unsupported(&self.track, what)),
                Err(other) => return Err(MixError::corrupt(&self.track, other.to_string())),
            };
            if decoded.num_planes() == 0 {
                return Err(MixError::corrupt(&self.track, "a packet decoded to no channels"));
            }
            decoded.copy_to_vecs_planar::<f32>(&mut self.planes);
            return Ok(Some(self.planes_as_chunk()));
        }
    }

    fn planes_as_chunk(&self) -> Chunk<'_> {
        match self.planes.as_slice() {
            [mono] => (mono.as_slice(), None),
            [left, right, ..] => (left.as_slice(), Some(right.as_slice())),
            [] => (&[][..], None),
        }
    }
}

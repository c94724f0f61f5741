//! Signal generators, WAV writers and decoders shared by the tests.

use std::f64::consts::PI;
use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use omnisonic_mixdown::{MixError, MixReport, MixSettings, OutputFormat, Progress, TrackInput, mix};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Planar audio: one vector per channel.
pub type Planar = Vec<Vec<f64>>;

/// A sine of `freq` Hz, `amp` amplitude, `frames` long at `rate`.
pub fn sine(freq: f64, amp: f64, rate: u32, frames: usize) -> Vec<f64> {
    (0..frames).map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()).collect()
}

/// Deterministic white-ish noise in [-amp, amp].
pub fn noise(amp: f64, frames: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..frames)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            amp * (((state >> 33) as f64 / f64::from(1u32 << 31)) * 2.0 - 1.0)
        })
        .collect()
}

/// Writes `channels` (planar) as a 32-bit float WAV (exactly representable input for null tests).
pub fn write_wav_f32(path: &Path, rate: u32, channels: &[Vec<f64>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..channels[0].len() {
        for ch in channels {
            w.write_sample(ch[i] as f32).expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

/// Writes `channels` (planar) as a 16-bit integer WAV.
pub fn write_wav_i16(path: &Path, rate: u32, channels: &[Vec<f64>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..channels[0].len() {
        for ch in channels {
            w.write_sample((ch[i] * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16).expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

/// A temporary directory with helpers to place files in it.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes a float WAV and returns a track for it.
    pub fn track(&self, name: &str, rate: u32, channels: &[Vec<f64>]) -> TrackInput {
        let path = self.path(&format!("{name}.wav"));
        write_wav_f32(&path, rate, channels);
        TrackInput::new(name, path)
    }
}

/// Settings at `rate` with clip protection off.
pub fn settings_off(rate: u32) -> MixSettings {
    MixSettings { sample_rate: rate, clip: omnisonic_mixdown::ClipProtection::Off, ..MixSettings::default() }
}

/// Runs a mix into memory, collecting the progress reports.
pub fn run(
    settings: &MixSettings,
    tracks: &[TrackInput],
    format: OutputFormat,
) -> Result<(MixReport, Vec<u8>, Vec<Progress>), MixError> {
    let mut out = Cursor::new(Vec::new());
    let mut reports = Vec::new();
    let report = mix(settings, tracks, format, &mut out, &mut |p| {
        reports.push(p);
        ControlFlow::Continue(())
    })?;
    Ok((report, out.into_inner(), reports))
}

/// Decoded audio.
pub struct Decoded {
    pub rate: u32,
    /// Planar samples, -1..1.
    pub channels: Planar,
    /// The container's bits per sample, when it states it.
    pub bits: Option<u32>,
}

impl Decoded {
    pub fn frames(&self) -> usize {
        self.channels[0].len()
    }
}

/// Decodes any supported file (bytes) with symphonia, independently of the library's decoding code.
pub fn decode(bytes: Vec<u8>, extension: &str) -> Decoded {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let mut reader = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .expect("probe output");
    let track = reader.default_track(TrackType::Audio).expect("audio track");
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).expect("audio params").clone();
    let track_id = track.id;
    let mut decoder =
        symphonia::default::get_codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).expect("decoder");
    let mut channels: Planar = Vec::new();
    let mut planes: Vec<Vec<f64>> = Vec::new();
    while let Some(packet) = reader.next_packet().expect("packet") {
        if packet.track_id != track_id {
            continue;
        }
        let buf = decoder.decode(&packet).expect("decode");
        buf.copy_to_vecs_planar::<f64>(&mut planes);
        if channels.is_empty() {
            channels = vec![Vec::new(); planes.len()];
        }
        for (all, plane) in channels.iter_mut().zip(&planes) {
            all.extend_from_slice(plane);
        }
    }
    Decoded { rate: params.sample_rate.expect("rate"), channels, bits: params.bits_per_sample }
}

/// Reads a WAV produced by the library as integers, scaled to -1..1, with hound.
pub fn read_wav(bytes: &[u8]) -> (hound::WavSpec, Planar) {
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).expect("wav");
    let spec = reader.spec();
    let scale = f64::from(1u32 << (spec.bits_per_sample - 1));
    let samples: Vec<i32> = reader.samples::<i32>().map(|s| s.expect("sample")).collect();
    let n = spec.channels as usize;
    let planar = (0..n).map(|c| samples.iter().skip(c).step_by(n).map(|&s| f64::from(s) / scale).collect()).collect();
    (spec, planar)
}

/// The largest absolute value.
pub fn peak(samples: &[f64]) -> f64 {
    samples.iter().fold(0.0, |m, s| m.max(s.abs()))
}

/// Root mean square.
pub fn rms(samples: &[f64]) -> f64 {
    (samples.iter().map(|s| s * s).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

/// Amplitude ratio in dB.
pub fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// The fraction of the signal's energy at `freq` Hz (1.0 for a pure sine of that frequency), by a single-bin DFT
/// over a whole number of periods.
pub fn tone_energy_fraction(samples: &[f64], rate: u32, freq: f64) -> f64 {
    let period = f64::from(rate) / freq;
    let n = ((samples.len() as f64 / period).floor() * period) as usize;
    let window = &samples[..n];
    let (mut re, mut im) = (0.0, 0.0);
    for (i, s) in window.iter().enumerate() {
        let phase = 2.0 * PI * freq * i as f64 / f64::from(rate);
        re += s * phase.cos();
        im += s * phase.sin();
    }
    let tone = 2.0 * (re * re + im * im) / n as f64;
    let total: f64 = window.iter().map(|s| s * s).sum();
    tone / total
}

/// Frequency estimated from zero crossings (for clean sines): crossings / 2 per second.
pub fn zero_crossing_frequency(samples: &[f64], rate: u32) -> f64 {
    let crossings = samples.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate))
}

//! The mixdown itself: validates the session, opens the sounding tracks, mixes block by block on the calling
//! thread and encodes on a helper thread.

use std::io::{Seek, Write};
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::decode::StreamDecoder;
use crate::encode::encoder_for;
use crate::limiter::{CEILING, Limiter};
use crate::pan::{ChannelGains, channel_gains};
use crate::resample::StreamResampler;
use crate::source::TrackSource;
use crate::{ClipProtection, MixError, MixReport, MixSettings, OutputFormat, Progress, TrackInput};

/// Blocks in flight between the mixing and the encoding thread.
const CHANNEL_BLOCKS: usize = 4;

/// How long the mix of `tracks` will be, in frames at `settings.sample_rate`: the maximum over the sounding
/// tracks of `start_offset_frames` + the track's length after resampling. Tracks whose container does not state
/// their length are decoded once to count their frames. 0 when no track sounds.
pub fn mix_length_frames(settings: &MixSettings, tracks: &[TrackInput]) -> Result<u64, MixError> {
    validate(settings, tracks)?;
    let mut length = 0;
    for track in sounding(tracks) {
        let mut decoder = StreamDecoder::open(&track.path, track.stream, &track.name)?;
        let frames = match decoder.frames_hint {
            Some(frames) => frames,
            None => {
                let mut frames = 0u64;
                while let Some((left, _)) = decoder.next_chunk()? {
                    frames += left.len() as u64;
                }
                frames
            }
        };
        let resampled = StreamResampler::output_len(decoder.sample_rate, settings.sample_rate, frames);
        length = length.max(track.start_offset_frames.saturating_add(resampled));
    }
    Ok(length)
}

/// Mixes `tracks` to stereo at `settings.sample_rate` and writes them to `out` in `format`.
///
/// `progress` is called after every block (at most [`MixSettings::block_frames`] frames, and at most half a second
/// of audio) and once at the end with
/// `frames_done == frames_total`; returning [`ControlFlow::Break`] stops the mix with [`MixError::Cancelled`] (the
/// output is then incomplete). Fails with [`MixError::TooLong`] before starting when the lengths the containers
/// state exceed [`MixSettings::max_frames`], and on the way when the decoded audio does.
pub fn mix(
    settings: &MixSettings,
    tracks: &[TrackInput],
    format: OutputFormat,
    out: &mut (impl Write + Seek + Send),
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<MixReport, MixError> {
    validate(settings, tracks)?;
    let sounding: Vec<&TrackInput> = sounding(tracks).collect();
    let mut voices = open_voices(settings, &sounding)?;
    let estimate = voices.iter().map(|v| v.length_hint).max().unwrap_or(0);
    if let Some(limit) = settings.max_frames
        && estimate > limit
    {
        return Err(MixError::TooLong { frames: estimate, limit });
    }
    let mut meter = Meter { progress, done: 0, total: estimate };

    let (peak, normalize_gain) = if settings.clip == ClipProtection::PeakNormalize {
        meter.total = estimate.saturating_mul(2);
        let measured = run_pass(settings, &mut voices, &mut meter, &mut |_, _| Ok(()), None, 1.0)?;
        voices = open_voices(settings, &sounding)?;
        meter.total = meter.done.saturating_add(measured.frames);
        let gain = if measured.peak > 0.0 { CEILING / measured.peak } else { 1.0 };
        (measured.peak, gain)
    } else {
        (0.0, 1.0)
    };

    let rate = settings.sample_rate;
    let block = settings.block_frames;
    let stats = std::thread::scope(|scope| -> Result<PassStats, MixError> {
        let (block_tx, block_rx) = sync_channel::<Message>(CHANNEL_BLOCKS);
        let (free_tx, free_rx) = sync_channel::<Block>(CHANNEL_BLOCKS + 2);
        let encoder = scope.spawn(move || encode_blocks(format, rate, out, block_rx, free_tx));

        let mut limiter = (settings.clip == ClipProtection::Limiter).then(|| Limiter::new(rate));
        let mut send = |left: &[f32], right: &[f32]| -> Result<(), MixError> {
            let mut buf = free_rx.try_recv().unwrap_or_else(|_| Block::with_capacity(block));
            buf.left.clear();
            buf.right.clear();
            buf.left.extend_from_slice(left);
            buf.right.extend_from_slice(right);
            // A closed channel means the encoder failed; its error comes from `join` below.
            block_tx.send(Message::Block(buf)).map_err(|_| encoder_stopped())
        };
        let result = run_pass(settings, &mut voices, &mut meter, &mut send, limiter.as_mut(), normalize_gain).and_then(
            |stats| {
                if let Some(limiter) = &mut limiter {
                    let (mut left, mut right) = (Vec::new(), Vec::new());
                    limiter.flush(&mut left, &mut right);
                    send(&left, &right)?;
                }
                block_tx.send(Message::Finish).map_err(|_| encoder_stopped())?;
                Ok(stats)
            },
        );
        drop(block_tx);
        let encoded = encoder.join().unwrap_or_else(|_| Err(MixError::Encode("the encoder panicked".into())));
        match (result, encoded) {
            (Ok(stats), Ok(())) => Ok(stats),
            // When the encoder failed, its error is the cause; otherwise the mix's own error (e.g. Cancelled).
            (Err(_), Err(e)) | (Ok(_), Err(e)) | (Err(e), Ok(())) => Err(e),
        }
    })?;
    let _ = (meter.progress)(Progress { frames_done: meter.done, frames_total: meter.done });
    Ok(MixReport {
        frames: stats.frames,
        sample_rate: rate,
        peak: if settings.clip == ClipProtection::PeakNormalize { peak } else { stats.peak },
        normalize_gain,
        tracks_mixed: sounding.len(),
    })
}

fn encoder_stopped() -> MixError {
    MixError::Encode("the encoder stopped".into())
}

/// A block of planar stereo frames on its way to the encoder.
struct Block {
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Block {
    fn with_capacity(frames: usize) -> Self {
        Self { left: Vec::with_capacity(frames), right: Vec::with_capacity(frames) }
    }
}

/// What the mixing thread tells the encoder thread.
enum Message {
    /// Encode these frames.
    Block(Block),
    /// The mix is complete: finalise the file. (A channel closed without this means the mix was abandoned.)
    Finish,
}

/// The encoder thread: encodes blocks until `Finish`, handing the buffers back for reuse.
fn encode_blocks<W: Write + Seek + Send>(
    format: OutputFormat,
    rate: u32,
    out: &mut W,
    blocks: Receiver<Message>,
    free: SyncSender<Block>,
) -> Result<(), MixError> {
    let mut encoder = encoder_for(format, rate, out)?;
    for message in blocks {
        match message {
            Message::Block(block) => {
                encoder.encode(&block.left, &block.right)?;
                let _ = free.try_send(block);
            }
            Message::Finish => return encoder.finish(),
        }
    }
    Ok(())
}

/// Progress reporting state shared by the passes.
struct Meter<'p> {
    progress: &'p mut dyn FnMut(Progress) -> ControlFlow<()>,
    done: u64,
    total: u64,
}

impl Meter<'_> {
    fn advance(&mut self, frames: u64) -> Result<(), MixError> {
        self.done += frames;
        self.total = self.total.max(self.done);
        match (self.progress)(Progress { frames_done: self.done, frames_total: self.total }) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(MixError::Cancelled),
        }
    }
}

/// One sounding track during a pass.
struct Voice {
    source: TrackSource,
    gains: ChannelGains,
    offset: u64,
    /// Its end in the mix as far as the container tells (offset + resampled length), or just its offset.
    length_hint: u64,
    done: bool,
}

fn open_voices(settings: &MixSettings, tracks: &[&TrackInput]) -> Result<Vec<Voice>, MixError> {
    tracks
        .iter()
        .map(|track| {
            let decoder = StreamDecoder::open(&track.path, track.stream, &track.name)?;
            let length = decoder
                .frames_hint
                .map_or(0, |f| StreamResampler::output_len(decoder.sample_rate, settings.sample_rate, f));
            let gains = channel_gains(track.gain_db, track.pan, decoder.is_mono());
            Ok(Voice {
                source: TrackSource::new(decoder, settings.sample_rate, &track.name)?,
                gains,
                offset: track.start_offset_frames,
                length_hint: track.start_offset_frames.saturating_add(length),
                done: false,
            })
        })
        .collect()
}

/// Where a pass hands its finished blocks (planar left, right).
type BlockSink<'a> = dyn FnMut(&[f32], &[f32]) -> Result<(), MixError> + 'a;

/// What a pass produced.
#[derive(Debug, Clone, Copy)]
struct PassStats {
    frames: u64,
    peak: f32,
}

/// Mixes all voices from the start to the end, block by block, handing each block (after `gain` and the limiter)
/// to `sink`.
fn run_pass(
    settings: &MixSettings,
    voices: &mut [Voice],
    meter: &mut Meter<'_>,
    sink: &mut BlockSink<'_>,
    mut limiter: Option<&mut Limiter>,
    gain: f32,
) -> Result<PassStats, MixError> {
    // Progress is reported once per block: keep blocks at most half a second long.
    let block = settings.block_frames.min((settings.sample_rate as usize / 2).max(1));
    let mut mix_l = vec![0.0f32; block];
    let mut mix_r = vec![0.0f32; block];
    let (mut limited_l, mut limited_r) = (Vec::new(), Vec::new());
    let mut pos = 0u64;
    let mut peak = 0.0f32;
    loop {
        mix_l.fill(0.0);
        mix_r.fill(0.0);
        let mut reach = 0usize;
        let mut all_done = true;
        for voice in voices.iter_mut() {
            if voice.done {
                continue;
            }
            if voice.offset >= pos + block as u64 {
                all_done = false;
                continue;
            }
            let start = voice.offset.saturating_sub(pos) as usize;
            let want = block - start;
            let (left, right) = voice.source.fill(want)?;
            let n = want.min(left.len());
            add_scaled(&mut mix_l[start..start + n], &left[..n], voice.gains.left);
            add_scaled(&mut mix_r[start..start + n], &right[..n], voice.gains.right);
            voice.source.consume(n);
            reach = reach.max(start + n);
            if voice.source.is_exhausted() {
                voice.done = true;
            } else {
                all_done = false;
            }
        }
        let len = if all_done { reach } else { block };
        if len == 0 && all_done {
            break;
        }
        if let Some(limit) = settings.max_frames
            && pos + len as u64 > limit
        {
            return Err(MixError::TooLong { frames: pos + len as u64, limit });
        }
        let (l, r) = (&mut mix_l[..len], &mut mix_r[..len]);
        peak = peak.max(peak_of(l)).max(peak_of(r));
        if gain != 1.0 {
            l.iter_mut().chain(r.iter_mut()).for_each(|s| *s *= gain);
        }
        match limiter.as_deref_mut() {
            Some(limiter) => {
                limited_l.clear();
                limited_r.clear();
                limiter.process(l, r, &mut limited_l, &mut limited_r);
                sink(&limited_l, &limited_r)?;
            }
            None => sink(l, r)?,
        }
        pos += len as u64;
        meter.advance(len as u64)?;
        if all_done {
            break;
        }
    }
    Ok(PassStats { frames: pos, peak })
}

#[inline]
fn add_scaled(dst: &mut [f32], src: &[f32], gain: f32) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += gain * s;
    }
}

fn peak_of(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

/// The tracks that sound: the one mute/solo rule, `omnisonic_domain::export::sounding`.
fn sounding(tracks: &[TrackInput]) -> impl Iterator<Item = &TrackInput> {
    omnisonic_domain::export::sounding(tracks)
}

impl omnisonic_domain::export::MixChannel for TrackInput {
    fn muted(&self) -> bool {
        self.mute
    }
    fn soloed(&self) -> bool {
        self.solo
    }
}

fn validate(settings: &MixSettings, tracks: &[TrackInput]) -> Result<(), MixError> {
    if tracks.is_empty() {
        return Err(MixError::NoTracks);
    }
    if !(1..=768_000).contains(&settings.sample_rate) {
        return Err(MixError::InvalidSetting(format!("sample rate {} Hz is out of range", settings.sample_rate)));
    }
    if settings.block_frames == 0 || settings.block_frames > 1 << 20 {
        return Err(MixError::InvalidSetting(format!("block size {} is out of range", settings.block_frames)));
    }
    for track in tracks {
        if !track.gain_db.is_finite() || track.gain_db > 60.0 {
            return Err(MixError::InvalidSetting(format!("track \"{}\": gain {} dB", track.name, track.gain_db)));
        }
        if !(-1.0..=1.0).contains(&track.pan) {
            return Err(MixError::InvalidSetting(format!(
                "track \"{}\": pan {} is outside -1..=1",
                track.name, track.pan
            )));
        }
    }
    Ok(())
}

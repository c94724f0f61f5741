//! One track as a stream of stereo frames at the session's sample rate: decoder → (resampler) → FIFO.

use crate::MixError;
use crate::decode::StreamDecoder;
use crate::fifo::StereoFifo;
use crate::resample::StreamResampler;

/// A decoded, resampled track that hands out frames on demand.
pub(crate) struct TrackSource {
    decoder: StreamDecoder,
    resampler: Option<StreamResampler>,
    fifo: StereoFifo,
    ended: bool,
}

impl TrackSource {
    /// Wraps a decoder, resampling to `out_rate` when the stream's rate differs.
    pub(crate) fn new(decoder: StreamDecoder, out_rate: u32, track: &str) -> Result<Self, MixError> {
        let resampler = if decoder.sample_rate == out_rate {
            None
        } else {
            Some(StreamResampler::new(decoder.sample_rate, out_rate, track)?)
        };
        Ok(Self { decoder, resampler, fifo: StereoFifo::default(), ended: false })
    }

    /// Decodes until at least `frames` frames are buffered or the track has ended; returns the buffered frames
    /// (possibly fewer than `frames` at the end). Call [`consume`](Self::consume) with what was used.
    pub(crate) fn fill(&mut self, frames: usize) -> Result<(&[f32], &[f32]), MixError> {
        while self.fifo.len() < frames && !self.ended {
            match self.decoder.next_chunk()? {
                Some((left, right)) => match &mut self.resampler {
                    Some(resampler) => resampler.push(left, right, &mut self.fifo)?,
                    None => self.fifo.push(left, right),
                },
                None => {
                    if let Some(resampler) = &mut self.resampler {
                        resampler.finish(&mut self.fifo)?;
                    }
                    self.ended = true;
                }
            }
        }
        Ok(self.fifo.as_slices())
    }

    /// Drops `frames` frames that were mixed.
    pub(crate) fn consume(&mut self, frames: usize) {
        self.fifo.consume(frames);
    }

    /// True when the track has no more frames.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.ended && self.fifo.len() == 0
    }
}

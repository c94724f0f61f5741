//! Streaming sample-rate conversion of one track with rubato's synchronous FFT resampler.
//!
//! The resampler's start-up delay is trimmed and its tail flushed, so `n` input frames become exactly
//! `ceil(n × out_rate / in_rate)` output frames, aligned with the input (an event at input time `t` s comes out at
//! output time `t` s).

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::MixError;
use crate::fifo::StereoFifo;

/// Input chunk of the FFT resampler, in frames.
const CHUNK: usize = 1024;

/// Resamples a stereo stream pushed in arbitrary pieces.
pub(crate) struct StreamResampler {
    resampler: Fft<f32>,
    input: [Vec<f32>; 2],
    output: Vec<Vec<f32>>,
    in_rate: u64,
    out_rate: u64,
    frames_in: u64,
    frames_out: u64,
    delay_left: usize,
}

impl StreamResampler {
    /// A resampler from `in_rate` to `out_rate` Hz.
    pub(crate) fn new(in_rate: u32, out_rate: u32, track: &str) -> Result<Self, MixError> {
        // The FFT blocks are `rate / gcd` frames long: only bounded rates keep the memory bounded.
        let bounded = crate::MIN_SAMPLE_RATE..=crate::MAX_SAMPLE_RATE;
        if !bounded.contains(&in_rate) || !(1..=crate::MAX_SAMPLE_RATE).contains(&out_rate) {
            return Err(MixError::unsupported(track, format!("sample rate conversion {in_rate} → {out_rate} Hz")));
        }
        let resampler =
            Fft::<f32>::new(in_rate as usize, out_rate as usize, CHUNK, 2, FixedSync::Input).map_err(|e| {
                MixError::unsupported(track, format!("sample rate conversion {in_rate} → {out_rate} Hz: {e}"))
            })?;
        let out_max = resampler.output_frames_max();
        let delay_left = resampler.output_delay();
        Ok(Self {
            resampler,
            input: [Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK)],
            output: vec![vec![0.0; out_max]; 2],
            in_rate: u64::from(in_rate),
            out_rate: u64::from(out_rate),
            frames_in: 0,
            frames_out: 0,
            delay_left,
        })
    }

    /// The number of output frames for `frames` input frames.
    pub(crate) fn output_len(in_rate: u32, out_rate: u32, frames: u64) -> u64 {
        (u128::from(frames) * u128::from(out_rate)).div_ceil(u128::from(in_rate)).try_into().unwrap_or(u64::MAX)
    }

    /// Resamples `left`/`right` (`right == None`: mono) and appends what is ready to `out`.
    pub(crate) fn push(&mut self, left: &[f32], right: Option<&[f32]>, out: &mut StereoFifo) -> Result<(), MixError> {
        let right = right.unwrap_or(left);
        let mut pos = 0;
        while pos < left.len() {
            let need = self.resampler.input_frames_next() - self.input[0].len();
            let take = need.min(left.len() - pos);
            self.input[0].extend_from_slice(&left[pos..pos + take]);
            self.input[1].extend_from_slice(&right[pos..pos + take]);
            self.frames_in += take as u64;
            pos += take;
            if self.input[0].len() == self.resampler.input_frames_next() {
                self.process(None, out)?;
            }
        }
        Ok(())
    }

    /// Flushes the tail at the end of the stream.
    pub(crate) fn finish(&mut self, out: &mut StereoFifo) -> Result<(), MixError> {
        let expected = Self::output_len(self.in_rate as u32, self.out_rate as u32, self.frames_in);
        let partial = self.input[0].len();
        if partial > 0 || self.frames_out < expected {
            self.process(Some(partial), out)?;
        }
        while self.frames_out < expected {
            self.process(Some(0), out)?;
        }
        Ok(())
    }

    fn process(&mut self, partial: Option<usize>, out: &mut StereoFifo) -> Result<(), MixError> {
        let need = self.resampler.input_frames_next();
        for side in &mut self.input {
            side.resize(need, 0.0);
        }
        let encode_err = |e: &dyn std::fmt::Display| MixError::Encode(format!("resampler: {e}"));
        let input = SequentialSliceOfVecs::new(&self.input, 2, need).map_err(|e| encode_err(&e))?;
        let out_max = self.output[0].len();
        let mut output = SequentialSliceOfVecs::new_mut(&mut self.output, 2, out_max).map_err(|e| encode_err(&e))?;
        let indexing = partial.map(|n| Indexing { partial_len: Some(n), ..Indexing::default() });
        let (_, produced) =
            self.resampler.process_into_buffer(&input, &mut output, indexing.as_ref()).map_err(|e| encode_err(&e))?;
        for side in &mut self.input {
            side.clear();
        }
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        let expected = Self::output_len(self.in_rate as u32, self.out_rate as u32, self.frames_in);
        let room = expected.saturating_sub(self.frames_out);
        // Only the frames that belong to the input are kept; the flushed tail beyond it is dropped.
        let keep = ((produced - skip) as u64).min(if partial.is_some() { room } else { u64::MAX }) as usize;
        out.push(&self.output[0][skip..skip + keep], Some(&self.output[1][skip..skip + keep]));
        self.frames_out += keep as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_length_is_exact_and_aligned() {
        let mut rs = StreamResampler::new(48_000, 44_100, "t").expect("resampler");
        let mut out = StereoFifo::default();
        // An impulse at 0.5 s, fed in odd-sized pieces.
        let mut signal = vec![0.0f32; 48_000];
        signal[24_000] = 1.0;
        for piece in signal.chunks(777) {
            rs.push(piece, None, &mut out).expect("push");
        }
        rs.finish(&mut out).expect("finish");
        assert_eq!(out.len(), 44_100);
        let (l, _) = out.as_slices();
        let peak = l.iter().enumerate().fold((0, 0.0f32), |m, (i, v)| if v.abs() > m.1 { (i, v.abs()) } else { m });
        assert!((peak.0 as i64 - 22_050).abs() <= 1, "impulse at {}", peak.0);
    }
}

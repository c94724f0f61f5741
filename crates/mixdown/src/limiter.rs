//! Clip protection: a streaming look-ahead peak limiter, and the ceiling shared with peak normalisation.
//!
//! The limiter works on sub-blocks of `S` frames (1.5 ms). For sub-block `k` it knows `h_k`, the gain that brings
//! the sub-block's loudest sample down to the ceiling (`min(1, ceiling / peak)`). The gain at the start of each
//! sub-block is
//!
//! `a_(k+1) = min(release(a_k), h_k, h_(k+1))`
//!
//! (release: an exponential return towards 1 with a 50 ms time constant), and within sub-block `k` the gain moves
//! linearly from `a_k` to `a_(k+1)`. Both ends are ≤ `h_k`, so every sample of the sub-block stays under the
//! ceiling, and because `a_(k+1)` already looks at the next sub-block the gain starts falling one sub-block
//! *before* a peak: a 1.5 ms linear attack instead of a hard clip. A mix that stays under the ceiling passes
//! through bit-identical (the gain stays exactly 1). The limiter delays its output by up to two sub-blocks
//! internally and compensates: its output lines up with its input.
//!
//! Per sample it only interpolates and multiplies (no branches, no divisions), which keeps it cheap enough for the
//! mixing thread.

/// The ceiling for clip protection: −0.1 dBFS, just under full scale (headroom for dither and rounding).
pub const CEILING: f32 = 0.988_553_1;

/// A streaming stereo look-ahead peak limiter.
pub(crate) struct Limiter {
    sub: usize,
    release_coef: f32,
    /// Input frames not yet output (at most two sub-blocks plus one call's input).
    pending_l: Vec<f32>,
    pending_r: Vec<f32>,
    /// Gain at the start of the next sub-block to output; `None` before the first.
    gain: Option<f32>,
}

impl Limiter {
    /// A limiter for `sample_rate`.
    pub(crate) fn new(sample_rate: u32) -> Self {
        let sub = ((f64::from(sample_rate) * 0.0015).round() as usize).max(1);
        let release_coef = (1.0 - (-(sub as f64) / (f64::from(sample_rate) * 0.05)).exp()) as f32;
        Self { sub, release_coef, pending_l: Vec::new(), pending_r: Vec::new(), gain: None }
    }

    /// Limits `left`/`right` and appends the frames that are ready (all but the last one or two sub-blocks of
    /// what was pushed so far) to `out_l`/`out_r`.
    pub(crate) fn process(&mut self, left: &[f32], right: &[f32], out_l: &mut Vec<f32>, out_r: &mut Vec<f32>) {
        let n = left.len().min(right.len());
        self.pending_l.extend_from_slice(&left[..n]);
        self.pending_r.extend_from_slice(&right[..n]);
        self.drain(out_l, out_r, false);
    }

    /// Outputs everything still pending, at the end of the stream.
    pub(crate) fn flush(&mut self, out_l: &mut Vec<f32>, out_r: &mut Vec<f32>) {
        self.drain(out_l, out_r, true);
    }

    /// The gain that brings the loudest sample of `l`/`r` to the ceiling (1 when none exceeds it).
    fn required_gain(l: &[f32], r: &[f32]) -> f32 {
        let peak = l.iter().chain(r).fold(0.0f32, |m, s| m.max(s.abs()));
        if peak > CEILING { CEILING / peak } else { 1.0 }
    }

    fn drain(&mut self, out_l: &mut Vec<f32>, out_r: &mut Vec<f32>, last: bool) {
        let s = self.sub;
        let total = self.pending_l.len();
        let mut start = 0;
        // A sub-block is output once the next one (its look-ahead) is complete, or at the end.
        while start < total && (start + 2 * s <= total || last) {
            let end = (start + s).min(total);
            let next_end = (end + s).min(total);
            let here = Self::required_gain(&self.pending_l[start..end], &self.pending_r[start..end]);
            let ahead = Self::required_gain(&self.pending_l[end..next_end], &self.pending_r[end..next_end]);
            let a = self.gain.unwrap_or(1.0).min(here);
            let released = a + (1.0 - a) * self.release_coef;
            let b = released.min(here).min(ahead);
            let len = end - start;
            if a == 1.0 && b == 1.0 {
                out_l.extend_from_slice(&self.pending_l[start..end]);
                out_r.extend_from_slice(&self.pending_r[start..end]);
            } else {
                let step = (b - a) / len as f32;
                let gains = (0..len).map(|i| a + step * i as f32);
                out_l.extend(
                    self.pending_l[start..end].iter().zip(gains.clone()).map(|(x, g)| (x * g).clamp(-CEILING, CEILING)),
                );
                out_r.extend(
                    self.pending_r[start..end].iter().zip(gains).map(|(x, g)| (x * g).clamp(-CEILING, CEILING)),
                );
            }
            self.gain = Some(b);
            start = end;
        }
        self.pending_l.drain(..start);
        self.pending_r.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_input_stays_under_ceiling_and_quiet_input_passes_unchanged() {
        let mut limiter = Limiter::new(44_100);
        let n = 10_000;
        let l: Vec<f32> = (0..n).map(|i| if i < 5_000 { 0.25 } else { 3.0 * ((i as f32) * 0.05).sin() }).collect();
        let r = l.clone();
        let (mut out_l, mut out_r) = (Vec::new(), Vec::new());
        for (cl, cr) in l.chunks(999).zip(r.chunks(999)) {
            limiter.process(cl, cr, &mut out_l, &mut out_r);
        }
        limiter.flush(&mut out_l, &mut out_r);
        assert_eq!(out_l.len(), n);
        assert!(out_l.iter().chain(&out_r).all(|v| v.abs() <= CEILING));
        // Well before the loud part (beyond the look-ahead), the signal is untouched.
        assert!(out_l[..4_800].iter().zip(&l).all(|(a, b)| a == b));
        // The loud part is reduced, not silenced.
        assert!(out_l[6_000..].iter().fold(0.0f32, |m, v| m.max(v.abs())) > 0.9 * CEILING);
    }

    #[test]
    fn a_loud_start_is_limited_from_the_first_sample() {
        let mut limiter = Limiter::new(48_000);
        let l = vec![2.0f32; 50];
        let (mut out_l, mut out_r) = (Vec::new(), Vec::new());
        limiter.process(&l, &l, &mut out_l, &mut out_r);
        limiter.flush(&mut out_l, &mut out_r);
        assert_eq!(out_l.len(), 50);
        assert!(out_l.iter().all(|v| (v - CEILING).abs() < 1e-6), "{out_l:?}");
    }
}

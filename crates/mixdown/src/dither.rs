//! Conversion of the float mix to integer PCM: TPDF dither for 16-bit output, plain rounding for 24-bit.
//!
//! TPDF (triangular) dither adds the difference of two independent uniform random values of ±½ LSB each — noise
//! of ±1 LSB peak with a triangular distribution — before rounding, which turns truncation distortion into
//! signal-independent noise. 24-bit output is rounded without dither: its quantisation error (−144 dBFS) is below
//! any converter's noise floor. Samples beyond full scale are clamped.

/// Independent generator lanes; the noise for eight samples is made at once, which the compiler vectorises.
const LANES: usize = 8;

/// A fast, deterministic pseudo-random generator for dither noise: eight xorshift32 lanes.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    lanes: [u32; LANES],
    noise: Vec<f32>,
}

impl Rng {
    /// A generator with a fixed seed (the output is reproducible).
    pub(crate) fn new() -> Self {
        let mut lanes = [0u32; LANES];
        let mut seed = 0x9E37_79B9u32;
        for lane in &mut lanes {
            seed = seed.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F);
            *lane = seed | 1;
        }
        Self { lanes, noise: Vec::new() }
    }

    /// Fills `self.noise` with `n` TPDF values in LSB units, in `(-1, 1)`: each the difference of two independent
    /// uniform 16-bit values (the two halves of one xorshift32 output).
    fn fill_tpdf(&mut self, n: usize) {
        self.noise.resize(n, 0.0);
        for chunk in self.noise.chunks_mut(LANES) {
            for (out, state) in chunk.iter_mut().zip(self.lanes.iter_mut()) {
                let mut x = *state;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *state = x;
                *out = ((x >> 16) as f32 - (x & 0xFFFF) as f32) * (1.0 / 65_536.0);
            }
        }
    }
}

/// Converts planar float frames to interleaved 16-bit integers with TPDF dither, appending to `out`.
pub(crate) fn to_i16_dithered(left: &[f32], right: &[f32], rng: &mut Rng, out: &mut Vec<i16>) {
    let n = left.len().min(right.len());
    rng.fill_tpdf(2 * n);
    let start = out.len();
    out.resize(start + 2 * n, 0);
    let frames = out[start..].chunks_exact_mut(2).zip(rng.noise.chunks_exact(2));
    for ((pair, noise), (&l, &r)) in frames.zip(left.iter().zip(right)) {
        pair[0] = quantise_16(l, noise[0]);
        pair[1] = quantise_16(r, noise[1]);
    }
}

/// Rounds half up by flooring through a positive offset: `as` truncates, which floors for positive values, and
/// needs no call to `round` (a libm call without SSE4.1, which showed in profiles).
#[inline]
fn quantise_16(x: f32, noise: f32) -> i16 {
    let v = (x * 32_768.0 + noise).clamp(-32_768.0, 32_767.0);
    ((v + 32_768.5) as i32 - 32_768) as i16
}

/// Converts planar float frames to interleaved 24-bit integers (in `i32`), rounded, appending to `out`.
pub(crate) fn to_i24(left: &[f32], right: &[f32], out: &mut Vec<i32>) {
    out.reserve(left.len() * 2);
    for (&l, &r) in left.iter().zip(right) {
        out.push(quantise_24(l));
        out.push(quantise_24(r));
    }
}

#[inline]
fn quantise_24(x: f32) -> i32 {
    let v = (f64::from(x) * 8_388_608.0).clamp(-8_388_608.0, 8_388_607.0);
    (v + 8_388_608.5) as i32 - 8_388_608
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpdf_noise_is_triangular_and_bounded() {
        let mut rng = Rng::new();
        let n = 200_000;
        rng.fill_tpdf(n);
        let samples = rng.noise.clone();
        assert!(samples.iter().all(|v| v.abs() < 1.0));
        let mean = samples.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let var = samples.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        // The variance of a triangular distribution on (-1, 1) is 1/6.
        assert!((var - 1.0 / 6.0).abs() < 0.01, "variance {var}");
    }

    #[test]
    fn dithered_16_bit_stays_within_one_lsb_and_clamps() {
        let mut rng = Rng::new();
        let mut out = Vec::new();
        to_i16_dithered(&[0.5, 2.0], &[-0.25, -2.0], &mut rng, &mut out);
        assert!((i32::from(out[0]) - 16_384).abs() <= 1);
        assert!((i32::from(out[1]) + 8_192).abs() <= 1);
        assert_eq!(&out[2..], &[32_767, -32_768]);
        let mut out24 = Vec::new();
        to_i24(&[0.5], &[-1.0], &mut out24);
        assert_eq!(out24, vec![4_194_304, -8_388_608]);
    }
}

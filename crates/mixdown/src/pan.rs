//! Channel gains from a track's gain, pan and channel count: the pan law in one place.
//!
//! With `θ = (pan + 1) · π/4` (0 at hard left, π/4 at centre, π/2 at hard right) and `g = 10^(gain_db/20)`:
//!
//! * **mono** input (constant-power pan, −3 dB at centre): `L = g · cos θ · x`, `R = g · sin θ · x`;
//! * **stereo** input (constant-power balance): `L = g · min(1, √2 · cos θ) · l`, `R = g · min(1, √2 · sin θ) · r`,
//!   so centre leaves a stereo input unchanged, hard left keeps the left channel at unity and silences the right
//!   one (and the reverse); in between the louder side stays at unity and the quieter side follows √2 × the mono
//!   curve (−5.3 dB at ±0.5).

use std::f64::consts::{FRAC_PI_4, SQRT_2};

/// Linear gains applied to the left and right input channel of a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ChannelGains {
    /// Gain from the track's left (or mono) channel into the mix's left channel.
    pub(crate) left: f32,
    /// Gain from the track's right (or mono) channel into the mix's right channel.
    pub(crate) right: f32,
}

/// Converts decibels to a linear amplitude factor.
pub(crate) fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// The gains for a track with `gain_db` and `pan` (clamped to -1..=1); `mono` selects the mono law.
pub(crate) fn channel_gains(gain_db: f64, pan: f64, mono: bool) -> ChannelGains {
    let g = db_to_linear(gain_db);
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    let (l, r) = if mono {
        (theta.cos(), theta.sin())
    } else {
        ((SQRT_2 * theta.cos()).min(1.0), (SQRT_2 * theta.sin()).min(1.0))
    };
    ChannelGains { left: (g * l) as f32, right: (g * r) as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_centre_is_minus_three_db_and_constant_power() {
        for pan in [-1.0, -0.5, 0.0, 0.3, 1.0] {
            let g = channel_gains(0.0, pan, true);
            assert!((g.left * g.left + g.right * g.right - 1.0).abs() < 1e-6);
        }
        let c = channel_gains(0.0, 0.0, true);
        assert!((20.0 * f64::from(c.left).log10() + 3.0103).abs() < 1e-3);
    }

    #[test]
    fn stereo_centre_is_unity_and_hard_left_silences_right() {
        assert_eq!(channel_gains(0.0, 0.0, false), ChannelGains { left: 1.0, right: 1.0 });
        let hard_left = channel_gains(0.0, -1.0, false);
        assert_eq!(hard_left.left, 1.0);
        assert!(hard_left.right.abs() < 1e-7);
    }
}

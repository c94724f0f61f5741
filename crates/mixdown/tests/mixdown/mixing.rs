//! Mixing behaviour: null test against an independent reference, offsets, pan law, gain, mute/solo, resampling,
//! clip protection, progress and lengths.

use std::f64::consts::{FRAC_PI_4, SQRT_2};

use omnisonic_mixdown::{CEILING, ClipProtection, MixSettings, OutputFormat, TrackInput, WavBits, mix_length_frames};

use crate::helpers::*;

const WAV24: OutputFormat = OutputFormat::Wav { bits: WavBits::TwentyFour };
const RATE: u32 = 44_100;

/// The reference pan law, written out independently of the library: (left gain, right gain).
fn reference_gains(gain_db: f64, pan: f64, mono: bool) -> (f64, f64) {
    let g = 10f64.powf(gain_db / 20.0);
    let theta = (pan + 1.0) * FRAC_PI_4;
    if mono {
        (g * theta.cos(), g * theta.sin())
    } else {
        (g * (SQRT_2 * theta.cos()).min(1.0), g * (SQRT_2 * theta.sin()).min(1.0))
    }
}

#[test]
fn null_test_against_an_independent_reference_sum_is_below_minus_120_dbfs() {
    let dir = Dir::new();
    let n = 30_000;
    let a = vec![sine(440.0, 0.3, RATE, n)];
    let b = vec![noise(0.2, n, 1), sine(997.0, 0.25, RATE, n)];
    let c = vec![sine(3_000.0, 0.2, RATE, n / 2)];
    let mut ta = dir.track("a", RATE, &a);
    ta.gain_db = -3.5;
    ta.pan = -0.3;
    let mut tb = dir.track("b", RATE, &b);
    tb.gain_db = 2.0;
    tb.pan = 0.6;
    tb.start_offset_frames = 1_234;
    let mut tc = dir.track("c", RATE, &c);
    tc.gain_db = -10.0;
    tc.pan = -1.0;
    tc.start_offset_frames = 20_000;
    let mut settings = settings_off(RATE);
    settings.block_frames = 1_000; // offsets and track ends fall inside blocks
    let tracks = [ta, tb, tc];
    let (report, bytes, _) = run(&settings, &tracks, WAV24).expect("mix");

    // Reference: plain loops over the generated signals.
    let len = (n + 1_234).max(20_000 + n / 2);
    let mut reference = vec![vec![0.0f64; len]; 2];
    for (track, signal) in tracks.iter().zip([&a, &b, &c]) {
        let (gl, gr) = reference_gains(track.gain_db, track.pan, signal.len() == 1);
        let right = signal.get(1).unwrap_or(&signal[0]);
        for i in 0..signal[0].len() {
            let at = track.start_offset_frames as usize + i;
            reference[0][at] += gl * f64::from(signal[0][i] as f32);
            reference[1][at] += gr * f64::from(right[i] as f32);
        }
    }
    let (spec, out) = read_wav(&bytes);
    assert_eq!((spec.channels, spec.bits_per_sample, spec.sample_rate), (2, 24, RATE));
    assert_eq!(report.frames, len as u64);
    assert_eq!(out[0].len(), len);
    let residual = (0..2)
        .flat_map(|c| (0..len).map(move |i| (c, i)))
        .fold(0.0f64, |m, (c, i)| m.max((out[c][i] - reference[c][i]).abs()));
    assert!(db(residual) < -120.0, "residual {:.1} dBFS", db(residual));
    assert!(peak(&out[0]) > 0.3, "the mix is not silent");
}

#[test]
fn an_impulse_lands_exactly_at_its_offset() {
    let dir = Dir::new();
    let mut impulse = vec![0.0; 100];
    impulse[0] = 0.5;
    let offsets = [0u64, 4_095, 4_096, 12_345];
    let tracks: Vec<TrackInput> = offsets
        .iter()
        .enumerate()
        .map(|(k, &offset)| {
            let mut t = dir.track(&format!("click{k}"), RATE, &[impulse.clone(), impulse.clone()]);
            t.start_offset_frames = offset;
            t
        })
        .collect();
    let (_, bytes, _) = run(&settings_off(RATE), &tracks, WAV24).expect("mix");
    let (_, out) = read_wav(&bytes);
    assert_eq!(out[0].len(), 12_345 + 100);
    let hits: Vec<usize> = out[0].iter().enumerate().filter(|(_, v)| v.abs() > 0.0).map(|(i, _)| i).collect();
    assert_eq!(hits, offsets.iter().map(|&o| o as usize).collect::<Vec<_>>());
    assert!(hits.iter().all(|&i| (out[0][i] - 0.5).abs() < 1e-6 && (out[1][i] - 0.5).abs() < 1e-6));
}

/// Mixes one track with `pan` and returns the output's (left, right) RMS divided by the input's.
fn pan_gains(dir: &Dir, channels: &[Vec<f64>], pan: f64) -> (f64, f64) {
    let mut track = dir.track(&format!("pan{pan}{}", channels.len()), RATE, channels);
    track.pan = pan;
    let (_, bytes, _) = run(&settings_off(RATE), &[track], WAV24).expect("mix");
    let (_, out) = read_wav(&bytes);
    let input = rms(&channels[0]);
    (rms(&out[0]) / input, rms(&out[1]) / input)
}

#[test]
fn mono_pan_law_is_constant_power_with_minus_3_db_at_centre() {
    let dir = Dir::new();
    let mono = vec![sine(500.0, 0.5, RATE, 10_000)];
    let (l, r) = pan_gains(&dir, &mono, -1.0);
    assert!((l - 1.0).abs() < 1e-4 && r < 1e-6, "hard left: {l} {r}");
    let (l, r) = pan_gains(&dir, &mono, 1.0);
    assert!(l < 1e-6 && (r - 1.0).abs() < 1e-4, "hard right: {l} {r}");
    let (l, r) = pan_gains(&dir, &mono, 0.0);
    assert!((db(l) + 3.0103).abs() < 0.01 && (db(r) + 3.0103).abs() < 0.01, "centre: {l} {r}");
    let (l, r) = pan_gains(&dir, &mono, 0.5);
    assert!((l * l + r * r - 1.0).abs() < 1e-3, "power at 0.5: {}", l * l + r * r);
}

#[test]
fn stereo_balance_leaves_centre_unchanged_and_hard_left_drops_the_right_channel() {
    let dir = Dir::new();
    let stereo = vec![sine(500.0, 0.5, RATE, 10_000), sine(500.0, 0.5, RATE, 10_000)];
    let (l, r) = pan_gains(&dir, &stereo, 0.0);
    assert!((l - 1.0).abs() < 1e-4 && (r - 1.0).abs() < 1e-4, "centre: {l} {r}");
    let (l, r) = pan_gains(&dir, &stereo, -1.0);
    assert!((l - 1.0).abs() < 1e-4 && r < 1e-6, "hard left: {l} {r}");
    let (l, r) = pan_gains(&dir, &stereo, 0.5);
    let expected = SQRT_2 * (1.5 * FRAC_PI_4).cos(); // the quieter side: √2 · cos(3π/8) ≈ 0.541 (−5.3 dB)
    assert!((r - 1.0).abs() < 1e-4 && (l - expected).abs() < 1e-4, "half right: {l} {r}");
}

#[test]
fn plus_6_02_db_doubles_the_amplitude() {
    let dir = Dir::new();
    let signal = vec![sine(300.0, 0.2, RATE, 8_000), sine(300.0, 0.2, RATE, 8_000)];
    let mut track = dir.track("g", RATE, &signal);
    track.gain_db = 6.0206;
    let (_, bytes, _) = run(&settings_off(RATE), &[track], WAV24).expect("mix");
    let (_, out) = read_wav(&bytes);
    let ratio = peak(&out[0]) / peak(&signal[0]);
    assert!((ratio - 2.0).abs() < 1e-3, "ratio {ratio}");
}

#[test]
fn mute_silences_and_solo_isolates() {
    let dir = Dir::new();
    let loud = dir.track("loud", RATE, &[sine(200.0, 0.5, RATE, 5_000)]);
    let other = dir.track("other", RATE, &[sine(800.0, 0.3, RATE, 5_000)]);
    let freq_of = |tracks: &[TrackInput]| {
        let (report, bytes, _) = run(&settings_off(RATE), tracks, WAV24).expect("mix");
        let (_, out) = read_wav(&bytes);
        (report, out)
    };
    // Muted: the other track alone.
    let mut muted = loud.clone();
    muted.mute = true;
    let (report, out) = freq_of(&[muted.clone(), other.clone()]);
    assert_eq!(report.tracks_mixed, 1);
    assert!(tone_energy_fraction(&out[0], RATE, 800.0) > 0.99);
    // Everything muted: an empty mix.
    let mut other_muted = other.clone();
    other_muted.mute = true;
    let (report, out) = freq_of(&[muted, other_muted]);
    assert_eq!((report.frames, out[0].len()), (0, 0));
    // Solo: only the soloed track, even though the other is not muted.
    let mut solo = loud.clone();
    solo.solo = true;
    let (report, out) = freq_of(&[solo.clone(), other.clone()]);
    assert_eq!(report.tracks_mixed, 1);
    assert!(tone_energy_fraction(&out[0], RATE, 200.0) > 0.99);
    // A soloed but muted track stays silent, and non-soloed tracks too.
    solo.mute = true;
    let (report, _) = freq_of(&[solo, other]);
    assert_eq!(report.tracks_mixed, 0);
}

#[test]
fn a_48_khz_sine_comes_out_at_44_1_khz_with_the_same_pitch_and_duration() {
    let dir = Dir::new();
    let track = dir.track("48k", 48_000, &[sine(1_000.0, 0.5, 48_000, 96_000)]);
    let settings = settings_off(RATE);
    assert_eq!(mix_length_frames(&settings, std::slice::from_ref(&track)).expect("length"), 88_200);
    let (report, bytes, _) = run(&settings, &[track], WAV24).expect("mix");
    let (spec, out) = read_wav(&bytes);
    assert_eq!(spec.sample_rate, RATE);
    assert_eq!((report.frames, out[0].len()), (88_200, 88_200));
    let middle = &out[0][4_410..83_790];
    let freq = zero_crossing_frequency(middle, RATE);
    assert!((freq - 1_000.0).abs() < 1.0, "frequency {freq}");
    assert!(tone_energy_fraction(middle, RATE, 1_000.0) > 0.999);
    // Amplitude is preserved (mono centre: −3 dB).
    assert!((db(peak(middle) / 0.5) + 3.01).abs() < 0.05, "level {}", db(peak(middle) / 0.5));
}

#[test]
fn the_limiter_keeps_a_clipping_sum_under_the_ceiling() {
    let dir = Dir::new();
    let loud = vec![sine(220.0, 0.9, RATE, 20_000), sine(220.0, 0.9, RATE, 20_000)];
    let a = dir.track("a", RATE, &loud);
    let b = dir.track("b", RATE, &loud);
    let settings = MixSettings { sample_rate: RATE, ..MixSettings::default() };
    assert_eq!(settings.clip, ClipProtection::Limiter);
    let (report, bytes, _) = run(&settings, &[a, b], WAV24).expect("mix");
    assert!((report.peak - 1.8).abs() < 1e-3, "peak before limiting {}", report.peak);
    let (_, out) = read_wav(&bytes);
    assert_eq!(out[0].len(), 20_000);
    let out_peak = peak(&out[0]).max(peak(&out[1]));
    assert!(out_peak <= f64::from(CEILING) + 1e-6, "peak {out_peak}");
    assert!(out_peak > f64::from(CEILING) * 0.9, "the limiter should not squash the mix: {out_peak}");
}

#[test]
fn peak_normalize_scales_the_peak_to_just_under_full_scale() {
    let dir = Dir::new();
    for amplitude in [0.25, 0.9] {
        let signal = vec![sine(330.0, amplitude, RATE, 12_000)];
        let a = dir.track(&format!("a{amplitude}"), RATE, &signal);
        let b = dir.track(&format!("b{amplitude}"), RATE, &signal);
        let settings = MixSettings { sample_rate: RATE, clip: ClipProtection::PeakNormalize, ..MixSettings::default() };
        let (report, bytes, progress) = run(&settings, &[a, b], WAV24).expect("mix");
        let (_, out) = read_wav(&bytes);
        let out_peak = peak(&out[0]).max(peak(&out[1]));
        assert!((out_peak - f64::from(CEILING)).abs() < 1e-5, "peak {out_peak} for amplitude {amplitude}");
        assert!((f64::from(report.peak) - 2.0 * amplitude * FRAC_PI_4.cos()).abs() < 1e-3);
        // Two passes are reported as one progress run.
        let last = progress.last().expect("progress");
        assert_eq!((last.frames_done, last.frames_total), (24_000, 24_000));
    }
}

#[test]
fn progress_is_monotonic_frequent_and_ends_at_the_total() {
    let dir = Dir::new();
    let mut a = dir.track("a", RATE, &[noise(0.1, 100_000, 3)]);
    a.start_offset_frames = 5_000;
    let b = dir.track("b", 48_000, &[noise(0.1, 48_000, 4)]);
    let settings = MixSettings { sample_rate: RATE, ..MixSettings::default() };
    let expected = mix_length_frames(&settings, &[a.clone(), b.clone()]).expect("length");
    assert_eq!(expected, 105_000);
    let (report, _, progress) = run(&settings, &[a, b], OutputFormat::Flac).expect("mix");
    assert_eq!(report.frames, expected);
    assert!(progress.len() >= 3);
    assert!(progress.windows(2).all(|w| w[1].frames_done >= w[0].frames_done && w[1].percent() >= w[0].percent()));
    assert!(progress.iter().all(|p| p.frames_done <= p.frames_total));
    let mut previous = 0;
    for p in &progress {
        assert!(p.frames_done - previous <= u64::from(RATE) / 2, "a gap of more than 0.5 s of audio");
        previous = p.frames_done;
    }
    let last = progress.last().expect("progress");
    assert_eq!((last.frames_done, last.frames_total, last.percent()), (expected, expected, 100));
}

//! Round trips through every output format: WAV 16/24 within 1–2 LSB, FLAC lossless against the 16-bit mix,
//! MP3 192/320 with the right length, pitch and level.

use omnisonic_mixdown::{Mp3Bitrate, OutputFormat, WavBits};

use crate::helpers::*;

const RATE: u32 = 44_100;

/// A stereo test signal (different content per side) as a track, and its samples after the stereo centre pan
/// (unity).
fn program(dir: &Dir) -> (omnisonic_mixdown::TrackInput, Planar) {
    let n = 30_000;
    let left: Vec<f64> = sine(440.0, 0.4, RATE, n).iter().zip(noise(0.05, n, 9)).map(|(a, b)| a + b).collect();
    let right = sine(1_250.0, 0.3, RATE, n);
    let channels = vec![left, right];
    let track = dir.track("program", RATE, &channels);
    // The float WAV holds f32 values.
    let exact = channels.iter().map(|c| c.iter().map(|&v| f64::from(v as f32)).collect()).collect();
    (track, exact)
}

fn max_error_lsb(out: &Planar, reference: &Planar, bits: u32) -> f64 {
    let lsb = 1.0 / f64::from(1u32 << (bits - 1));
    (0..2).flat_map(|c| out[c].iter().zip(&reference[c]).map(|(a, b)| (a - b).abs())).fold(0.0f64, f64::max) / lsb
}

#[test]
fn wav_16_is_within_2_lsb_and_dithered() {
    let dir = Dir::new();
    let (track, reference) = program(&dir);
    let (_, bytes, _) = run(&settings_off(RATE), &[track], OutputFormat::Wav { bits: WavBits::Sixteen }).expect("mix");
    let (spec, out) = read_wav(&bytes);
    assert_eq!((spec.bits_per_sample, spec.channels, spec.sample_rate), (16, 2, RATE));
    assert_eq!(out[0].len(), reference[0].len());
    let error = max_error_lsb(&out, &reference, 16);
    assert!(error <= 1.5, "max error {error} LSB");
    // Dither: the error is noise, not a deterministic rounding (more than a third of the samples are off by one).
    let lsb = 1.0 / 32_768.0;
    let rounded_differs =
        out[0].iter().zip(&reference[0]).filter(|(o, r)| ((*r / lsb).round() * lsb - **o).abs() > lsb / 2.0).count();
    assert!(rounded_differs > out[0].len() / 10, "only {rounded_differs} samples differ from plain rounding");
}

#[test]
fn wav_24_is_within_1_lsb() {
    let dir = Dir::new();
    let (track, reference) = program(&dir);
    let (_, bytes, _) =
        run(&settings_off(RATE), &[track], OutputFormat::Wav { bits: WavBits::TwentyFour }).expect("mix");
    let (spec, out) = read_wav(&bytes);
    assert_eq!(spec.bits_per_sample, 24);
    let error = max_error_lsb(&out, &reference, 24);
    assert!(error <= 1.0, "max error {error} LSB");
}

/// FLAC is 16-bit with the same TPDF dither sequence as WAV 16, so it must decode to exactly the 16-bit WAV.
#[test]
fn flac_is_lossless_against_the_16_bit_mix() {
    let dir = Dir::new();
    let (track, _) = program(&dir);
    let settings = settings_off(RATE);
    let (_, wav, _) =
        run(&settings, std::slice::from_ref(&track), OutputFormat::Wav { bits: WavBits::Sixteen }).expect("mix wav");
    let (report, flac, _) = run(&settings, &[track], OutputFormat::Flac).expect("mix flac");
    assert_eq!(&flac[..4], b"fLaC");
    let (_, expected) = read_wav(&wav);
    let decoded = decode(flac, "flac");
    assert_eq!(decoded.rate, RATE);
    assert_eq!(decoded.bits, Some(16));
    assert_eq!(decoded.frames() as u64, report.frames);
    assert_eq!(decoded.channels.len(), 2);
    for (c, (got, want)) in decoded.channels.iter().zip(&expected).enumerate() {
        assert!(got == want, "channel {c} differs");
    }
}

#[test]
fn flac_of_a_length_that_is_not_a_multiple_of_the_block_size_keeps_every_frame() {
    let dir = Dir::new();
    let track = dir.track("odd", RATE, &[sine(100.0, 0.5, RATE, 4_096 * 3 + 17)]);
    let (_, flac, _) = run(&settings_off(RATE), &[track], OutputFormat::Flac).expect("mix");
    assert_eq!(decode(flac, "flac").frames(), 4_096 * 3 + 17);
}

fn mp3_round_trip(bitrate: Mp3Bitrate, kbps: usize) {
    let dir = Dir::new();
    let seconds = 3;
    let n = RATE as usize * seconds;
    let tone = sine(1_000.0, 0.5, RATE, n);
    let track = dir.track("tone", RATE, &[tone.clone(), tone]);
    let (report, mp3, _) = run(&settings_off(RATE), &[track], OutputFormat::Mp3 { bitrate }).expect("mix");
    assert_eq!(report.frames, n as u64);
    // CBR size: bitrate × duration, within a few frames.
    let expected_bytes = kbps * 1000 / 8 * seconds;
    assert!(
        mp3.len().abs_diff(expected_bytes) < expected_bytes / 20,
        "{} bytes, expected ≈{expected_bytes}",
        mp3.len()
    );
    let decoded = decode(mp3, "mp3");
    assert_eq!(decoded.rate, RATE);
    // Encoder delay and padding are at most a couple of MP3 frames (1152 samples each).
    // The LAME tag carries the delay and padding; symphonia trims them, so the length is exact.
    assert_eq!(decoded.frames(), n, "frames decoded");
    for channel in &decoded.channels {
        let middle = &channel[RATE as usize / 2..RATE as usize * 5 / 2];
        let freq = zero_crossing_frequency(middle, RATE);
        assert!((freq - 1_000.0).abs() < 2.0, "frequency {freq}");
        assert!(tone_energy_fraction(middle, RATE, 1_000.0) > 0.99);
        let level = db(rms(middle) / (0.5 / 2f64.sqrt()));
        assert!(level.abs() < 1.0, "level {level} dB");
    }
}

#[test]
fn mp3_192_keeps_length_pitch_and_level() {
    mp3_round_trip(Mp3Bitrate::Kbps192, 192);
}

#[test]
fn mp3_320_keeps_length_pitch_and_level() {
    mp3_round_trip(Mp3Bitrate::Kbps320, 320);
}

#[test]
fn inputs_in_other_containers_decode() {
    // A 16-bit WAV and the library's own FLAC and MP3 output as inputs.
    let dir = Dir::new();
    let n = 22_050;
    let tone = sine(600.0, 0.5, RATE, n);
    let wav16 = dir.path("in16.wav");
    write_wav_i16(&wav16, RATE, &[tone.clone(), tone.clone()]);
    let source = dir.track("src", RATE, &[tone.clone(), tone]);
    for (format, ext) in [(OutputFormat::Flac, "flac"), (OutputFormat::Mp3 { bitrate: Mp3Bitrate::Kbps320 }, "mp3")] {
        let (_, bytes, _) = run(&settings_off(RATE), std::slice::from_ref(&source), format).expect("encode input");
        let path = dir.path(&format!("input.{ext}"));
        std::fs::write(&path, bytes).expect("write input");
        let (report, out, _) = run(
            &settings_off(RATE),
            &[omnisonic_mixdown::TrackInput::new(ext, path)],
            OutputFormat::Wav { bits: WavBits::TwentyFour },
        )
        .expect("mix encoded input");
        assert!(report.frames.abs_diff(n as u64) <= 2 * 1152, "{ext}: {} frames", report.frames);
        let (_, planar) = read_wav(&out);
        assert!(tone_energy_fraction(&planar[0][4_410..17_640], RATE, 600.0) > 0.99, "{ext}");
    }
    let (report, _, _) = run(
        &settings_off(RATE),
        &[omnisonic_mixdown::TrackInput::new("wav16", wav16)],
        OutputFormat::Wav { bits: WavBits::Sixteen },
    )
    .expect("mix 16-bit input");
    assert_eq!(report.frames, n as u64);
}

/// Writes a minimal 16-bit big-endian AIFF file (hound writes only WAV).
fn write_aiff(path: &std::path::Path, rate: u32, channels: &[Vec<f64>]) {
    let frames = channels[0].len();
    let n_ch = channels.len();
    let mut sound = Vec::with_capacity(frames * n_ch * 2);
    for i in 0..frames {
        for ch in channels {
            sound.extend_from_slice(&((ch[i] * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16).to_be_bytes());
        }
    }
    // The sample rate as an 80-bit IEEE extended float.
    let exponent = 31 - rate.leading_zeros();
    let mut rate_bytes = [0u8; 10];
    rate_bytes[..2].copy_from_slice(&((16_383 + exponent) as u16).to_be_bytes());
    rate_bytes[2..].copy_from_slice(&((u64::from(rate)) << (63 - exponent)).to_be_bytes());
    let mut comm = Vec::new();
    comm.extend_from_slice(&(n_ch as u16).to_be_bytes());
    comm.extend_from_slice(&(frames as u32).to_be_bytes());
    comm.extend_from_slice(&16u16.to_be_bytes());
    comm.extend_from_slice(&rate_bytes);
    let mut body = b"AIFF".to_vec();
    body.extend_from_slice(b"COMM");
    body.extend_from_slice(&(comm.len() as u32).to_be_bytes());
    body.extend_from_slice(&comm);
    body.extend_from_slice(b"SSND");
    body.extend_from_slice(&((sound.len() + 8) as u32).to_be_bytes());
    body.extend_from_slice(&[0; 8]); // offset, block size
    body.extend_from_slice(&sound);
    let mut file = b"FORM".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_be_bytes());
    file.extend_from_slice(&body);
    std::fs::write(path, file).expect("write aiff");
}

#[test]
fn an_aiff_input_decodes_like_the_same_wav() {
    let dir = Dir::new();
    let n = 12_345;
    let channels = vec![sine(700.0, 0.5, 48_000, n), noise(0.3, n, 11)];
    let aiff = dir.path("in.aiff");
    write_aiff(&aiff, 48_000, &channels);
    let wav = dir.path("in.wav");
    write_wav_i16(&wav, 48_000, &channels);
    let wav24 = OutputFormat::Wav { bits: WavBits::TwentyFour };
    let settings = settings_off(48_000);
    let (report, from_aiff, _) =
        run(&settings, &[omnisonic_mixdown::TrackInput::new("aiff", aiff)], wav24).expect("mix aiff");
    let (_, from_wav, _) = run(&settings, &[omnisonic_mixdown::TrackInput::new("wav", wav)], wav24).expect("mix wav");
    assert_eq!(report.frames, n as u64);
    assert!(from_aiff == from_wav, "AIFF and WAV of the same samples mix differently");
}

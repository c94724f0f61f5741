//! Bad input, cancellation and limits: typed errors that name the track, never a panic.

use std::io::Cursor;
use std::ops::ControlFlow;

use omnisonic_mixdown::{MixError, MixSettings, OutputFormat, TrackInput, WavBits, mix, mix_length_frames, probe};

use crate::helpers::*;

const RATE: u32 = 44_100;
const WAV16: OutputFormat = OutputFormat::Wav { bits: WavBits::Sixteen };

#[test]
fn a_text_file_named_wav_is_unsupported_and_names_the_track() {
    let dir = Dir::new();
    let path = dir.path("notes.wav");
    std::fs::write(&path, "these are my lyrics, not audio\n".repeat(100)).expect("write");
    let err = run(&settings_off(RATE), &[TrackInput::new("Lyrics", &path)], WAV16).expect_err("text");
    assert!(matches!(&err, MixError::Unsupported { track, .. } if track == "Lyrics"), "{err:?}");
    assert!(err.to_string().starts_with("track \"Lyrics\": unsupported"), "{err}");
    assert!(err.is_input_error());
    assert!(probe(&path).is_err());
}

#[test]
fn an_empty_file_and_a_missing_file_are_typed_errors() {
    let dir = Dir::new();
    let empty = dir.path("empty.flac");
    std::fs::write(&empty, b"").expect("write");
    let err = run(&settings_off(RATE), &[TrackInput::new("Empty", &empty)], WAV16).expect_err("empty");
    assert!(matches!(&err, MixError::Unsupported { track, .. } if track == "Empty"), "{err:?}");
    let err = run(&settings_off(RATE), &[TrackInput::new("Gone", dir.path("gone.wav"))], WAV16).expect_err("missing");
    assert!(matches!(&err, MixError::Open { track, .. } if track == "Gone"), "{err:?}");
    assert!(err.is_input_error());
}

#[test]
fn a_truncated_wav_decodes_what_is_there() {
    let dir = Dir::new();
    let path = dir.path("cut.wav");
    write_wav_i16(&path, RATE, &[sine(440.0, 0.5, RATE, 10_000), sine(440.0, 0.5, RATE, 10_000)]);
    let bytes = std::fs::read(&path).expect("read");
    // Keep the header (44 bytes) and 4 000 frames plus half a frame.
    std::fs::write(&path, &bytes[..44 + 4_000 * 4 + 2]).expect("truncate");
    let (report, out, _) = run(&settings_off(RATE), &[TrackInput::new("Cut", &path)], WAV16).expect("truncated wav");
    assert_eq!(report.frames, 4_000);
    let (_, planar) = read_wav(&out);
    assert!(peak(&planar[0]) > 0.4);
}

#[test]
fn a_truncated_flac_decodes_its_complete_frames() {
    let dir = Dir::new();
    let source = dir.track("src", RATE, &[sine(440.0, 0.5, RATE, 20_000)]);
    let (_, flac, _) = run(&settings_off(RATE), &[source], OutputFormat::Flac).expect("flac");
    let path = dir.path("cut.flac");
    std::fs::write(&path, &flac[..flac.len() * 2 / 3]).expect("truncate");
    match run(&settings_off(RATE), &[TrackInput::new("Cut FLAC", &path)], WAV16) {
        Ok((report, _, _)) => {
            assert!(report.frames > 4_096 && report.frames < 20_000, "{} frames", report.frames);
            assert_eq!(report.frames % 4_096, 0, "only whole FLAC frames: {}", report.frames);
        }
        Err(err) => panic!("a truncated FLAC should decode what is there: {err}"),
    }
}

/// Garbage in the middle of a FLAC stream: symphonia's reader resynchronises on the next valid frame (frames are
/// CRC-checked), so the track decodes without the damaged frames — or, if a damaged frame gets through, the error
/// is a typed one naming the track. Never a panic.
#[test]
fn a_flac_with_garbage_in_the_middle_never_panics() {
    let dir = Dir::new();
    let source = dir.track("src", RATE, &[noise(0.5, 40_000, 5)]);
    let (_, mut flac, _) = run(&settings_off(RATE), &[source], OutputFormat::Flac).expect("flac");
    let middle = flac.len() / 2;
    for (i, byte) in flac[middle..middle + 2_000].iter_mut().enumerate() {
        *byte = (i * 7919 % 251) as u8;
    }
    let path = dir.path("damaged.flac");
    std::fs::write(&path, flac).expect("write");
    match run(&settings_off(RATE), &[TrackInput::new("Damaged", &path)], WAV16) {
        Ok((report, _, _)) => assert!(report.frames > 0 && report.frames < 40_000, "{} frames", report.frames),
        Err(err) => {
            assert!(err.to_string().contains("\"Damaged\""), "{err}");
            assert!(err.is_input_error());
        }
    }
}

#[test]
fn cancelling_from_progress_stops_with_cancelled() {
    let dir = Dir::new();
    let track = dir.track("long", RATE, &[noise(0.1, 200_000, 7)]);
    let mut out = Cursor::new(Vec::new());
    let mut calls = 0;
    let err = mix(&MixSettings::default(), &[track], WAV16, &mut out, &mut |_| {
        calls += 1;
        if calls == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .expect_err("cancelled");
    assert!(matches!(err, MixError::Cancelled), "{err:?}");
    assert_eq!(calls, 3);
    assert!(out.into_inner().len() < 200_000 * 4, "the mix went on after the cancel");
}

#[test]
fn a_mix_longer_than_max_frames_is_refused() {
    let dir = Dir::new();
    let mut track = dir.track("t", RATE, &[sine(100.0, 0.1, RATE, 10_000)]);
    track.start_offset_frames = 5_000;
    let settings = MixSettings { max_frames: Some(14_999), ..MixSettings::default() };
    assert_eq!(mix_length_frames(&settings, &[track.clone()]).expect("length"), 15_000);
    let err = run(&settings, &[track.clone()], WAV16).expect_err("too long");
    assert!(matches!(err, MixError::TooLong { frames: 15_000, limit: 14_999 }), "{err:?}");
    assert!(err.is_input_error());
    let exact = MixSettings { max_frames: Some(15_000), ..MixSettings::default() };
    assert_eq!(run(&exact, &[track], WAV16).expect("at the limit").0.frames, 15_000);
}

#[test]
fn a_stream_index_beyond_a_single_stream_file_is_out_of_range() {
    let dir = Dir::new();
    let mut track = dir.track("Vocals", RATE, &[sine(100.0, 0.1, RATE, 1_000)]);
    track.stream = Some(1);
    let err = run(&settings_off(RATE), &[track], WAV16).expect_err("stream 1");
    assert!(matches!(err, MixError::StreamOutOfRange { stream: 1, available: 1, .. }), "{err:?}");
    assert_eq!(err.to_string(), "track \"Vocals\": audio stream 1 does not exist (the file has 1)");
}

#[test]
fn invalid_settings_and_no_tracks_are_input_errors() {
    let dir = Dir::new();
    let track = dir.track("t", RATE, &[sine(100.0, 0.1, RATE, 1_000)]);
    assert!(matches!(run(&MixSettings::default(), &[], WAV16), Err(MixError::NoTracks)));
    let mut bad_pan = track.clone();
    bad_pan.pan = 1.5;
    assert!(matches!(run(&MixSettings::default(), &[bad_pan], WAV16), Err(MixError::InvalidSetting(_))));
    let mut bad_gain = track.clone();
    bad_gain.gain_db = f64::NAN;
    assert!(matches!(run(&MixSettings::default(), &[bad_gain], WAV16), Err(MixError::InvalidSetting(_))));
    let zero_rate = MixSettings { sample_rate: 0, ..MixSettings::default() };
    let err = run(&zero_rate, &[track], WAV16).expect_err("rate 0");
    assert!(err.is_input_error());
    assert!(!MixError::Io(std::io::Error::other("disk full")).is_input_error());
}

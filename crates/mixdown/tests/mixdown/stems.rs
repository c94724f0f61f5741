//! The real five-stream AAC stem file in shared/data (read in place, never copied).

use std::path::{Path, PathBuf};

use omnisonic_mixdown::{MixError, OutputFormat, TrackInput, WavBits, probe};

use crate::helpers::*;

/// The stem file in the shared test data (`OMNISONIC_SHARED_DATA`, else `../shared/data` beside the checkout).
/// Missing data fails the test: it must never pass by skipping.
fn stem_file() -> Option<PathBuf> {
    let data = std::env::var_os("OMNISONIC_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = data.join("audio/falcon69.stem.mp4");
    assert!(path.exists(), "{} is missing: set OMNISONIC_SHARED_DATA to the shared/data folder", path.display());
    Some(path)
}

fn stem(path: &Path, stream: usize) -> TrackInput {
    let mut track = TrackInput::new(format!("stem {stream}"), path);
    track.stream = Some(stream);
    track
}

#[test]
fn probe_lists_the_five_aac_streams() {
    let Some(path) = stem_file() else { return };
    let info = probe(&path).expect("probe");
    assert_eq!(info.streams.len(), 5, "{info:?}");
    for (i, s) in info.streams.iter().enumerate() {
        assert_eq!(s.index, i);
        assert_eq!(s.codec, "aac");
        assert!(s.decodable);
        assert_eq!(s.sample_rate, Some(44_100));
        assert_eq!(s.channels, Some(2));
    }
}

#[test]
fn each_stream_decodes_to_about_six_seconds_of_sound() {
    let Some(path) = stem_file() else { return };
    for stream in 0..5 {
        let (report, bytes, _) =
            run(&settings_off(44_100), &[stem(&path, stream)], OutputFormat::Wav { bits: WavBits::TwentyFour })
                .expect("mix stem");
        let (_, out) = read_wav(&bytes);
        let seconds = report.frames as f64 / 44_100.0;
        assert!((seconds - 6.08).abs() < 0.1, "stream {stream}: {seconds} s");
        assert!(db(rms(&out[0])) > -40.0, "stream {stream} is silent: {} dBFS", db(rms(&out[0])));
    }
}

#[test]
fn a_stream_index_past_the_last_is_out_of_range() {
    let Some(path) = stem_file() else { return };
    let err = run(&settings_off(44_100), &[stem(&path, 5)], OutputFormat::Flac).expect_err("stream 5");
    assert!(matches!(err, MixError::StreamOutOfRange { stream: 5, available: 5, .. }), "{err}");
    assert!(err.to_string().contains("stem 5"));
    assert!(err.is_input_error());
}

/// The four instrument stems (streams 1..=4) summed come close to the master (stream 0): measured on this file,
/// correlation ≈ 0.985 and the difference ≈ 15 dB below the music (the master is additionally limited — its peak is
/// far lower than the stems' sum — so they are not identical).
#[test]
fn the_four_stems_together_come_close_to_the_master_stream() {
    let Some(path) = stem_file() else { return };
    let quiet = |stream| {
        let mut track = stem(&path, stream);
        track.gain_db = -12.0; // headroom: the unlimited sum of the stems peaks far above full scale
        track
    };
    let wav24 = OutputFormat::Wav { bits: WavBits::TwentyFour };
    let (_, master, _) = run(&settings_off(44_100), &[quiet(0)], wav24).expect("master");
    let parts: Vec<TrackInput> = (1..5).map(quiet).collect();
    let (report, sum, _) = run(&settings_off(44_100), &parts, wav24).expect("sum of stems");
    assert_eq!(report.tracks_mixed, 4);
    let (_, master) = read_wav(&master);
    let (_, sum) = read_wav(&sum);
    assert_eq!(master[0].len(), sum[0].len());
    for c in 0..2 {
        let (m, s) = (&master[c], &sum[c]);
        assert!(peak(s) < 1.0, "the sum clipped");
        let dot: f64 = m.iter().zip(s).map(|(a, b)| a * b).sum();
        let correlation = dot / (rms(m) * rms(s) * m.len() as f64);
        assert!(correlation > 0.95, "channel {c}: correlation {correlation}");
        assert!((db(rms(s) / rms(m))).abs() < 1.0, "channel {c}: level differs");
        let diff: Vec<f64> = m.iter().zip(s).map(|(a, b)| a - b).collect();
        assert!(db(rms(&diff) / rms(m)) < -10.0, "channel {c}: difference {} dB", db(rms(&diff) / rms(m)));
    }
}

//! Mixes audio files into one stereo file and prints how long it took; the benchmark's driver
//! (`scripts/bench-mixdown.sh`).
//!
//! ```text
//! mix [--format wav|wav24|flac|mp3-192|mp3-320] [--rate 44100] [--clip limiter|normalize|off]
//!     [--block FRAMES] -o OUT IN[#STREAM]...
//! ```
//!
//! `IN#2` selects the third audio stream of a multi-stream file (e.g. a stem MP4).

use std::fs::File;
use std::io::BufWriter;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use omnisonic_mixdown::{ClipProtection, MixSettings, Mp3Bitrate, OutputFormat, TrackInput, WavBits, mix};

struct Args {
    format: OutputFormat,
    settings: MixSettings,
    output: PathBuf,
    inputs: Vec<TrackInput>,
}

fn parse() -> Result<Args, String> {
    let mut format = OutputFormat::Wav { bits: WavBits::Sixteen };
    let mut settings = MixSettings::default();
    let mut output = None;
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--format" => {
                format = match value()?.as_str() {
                    "wav" | "wav16" => OutputFormat::Wav { bits: WavBits::Sixteen },
                    "wav24" => OutputFormat::Wav { bits: WavBits::TwentyFour },
                    "flac" => OutputFormat::Flac,
                    "mp3-192" => OutputFormat::Mp3 { bitrate: Mp3Bitrate::Kbps192 },
                    "mp3-320" | "mp3" => OutputFormat::Mp3 { bitrate: Mp3Bitrate::Kbps320 },
                    other => return Err(format!("unknown format {other}")),
                }
            }
            "--rate" => settings.sample_rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--block" => settings.block_frames = value()?.parse().map_err(|e| format!("--block: {e}"))?,
            "--clip" => {
                settings.clip = match value()?.as_str() {
                    "limiter" => ClipProtection::Limiter,
                    "normalize" => ClipProtection::PeakNormalize,
                    "off" => ClipProtection::Off,
                    other => return Err(format!("unknown clip protection {other}")),
                }
            }
            "-o" | "--output" => output = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let (path, stream) = match arg.rsplit_once('#') {
                    Some((path, stream)) => {
                        (path.to_owned(), Some(stream.parse().map_err(|e| format!("stream of {arg}: {e}"))?))
                    }
                    None => (arg.clone(), None),
                };
                let mut track = TrackInput::new(arg.clone(), path);
                track.stream = stream;
                inputs.push(track);
            }
        }
    }
    let output = output.ok_or("missing -o OUT")?;
    Ok(Args { format, settings, output, inputs })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            eprintln!(
                "usage: mix [--format wav|wav24|flac|mp3-192|mp3-320] [--rate 44100] [--clip limiter|normalize|off] \
                 [--block FRAMES] -o OUT IN[#STREAM]..."
            );
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let result = File::create(&args.output).map_err(|e| e.to_string()).and_then(|file| {
        let mut out = BufWriter::new(file);
        mix(&args.settings, &args.inputs, args.format, &mut out, &mut |_| ControlFlow::Continue(()))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(report) => {
            println!(
                "mixed {} tracks, {} frames ({:.1} s) in {:.3} s; peak {:.4}",
                report.tracks_mixed,
                report.frames,
                report.frames as f64 / f64::from(report.sample_rate),
                started.elapsed().as_secs_f64(),
                report.peak
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mix: {message}");
            ExitCode::FAILURE
        }
    }
}

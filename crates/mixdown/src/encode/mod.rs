//! Encoders from planar float stereo blocks to the output formats. Each runs on the encoder thread and receives
//! blocks that already went through clip protection.

mod flac;
mod mp3;
mod wav;

use std::io::{Seek, Write};

use crate::{MixError, Mp3Bitrate, OutputFormat, WavBits};

/// A stereo encoder fed block by block.
pub(crate) trait BlockEncoder {
    /// Encodes one block of planar stereo frames in `[-1, 1]`.
    fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), MixError>;
    /// Flushes and finalises the output (headers with lengths, checksums).
    fn finish(self: Box<Self>) -> Result<(), MixError>;
}

/// Creates the encoder for `format`, writing to `out`.
pub(crate) fn encoder_for<'w, W: Write + Seek + Send>(
    format: OutputFormat,
    sample_rate: u32,
    out: &'w mut W,
) -> Result<Box<dyn BlockEncoder + 'w>, MixError> {
    Ok(match format {
        OutputFormat::Wav { bits: WavBits::Sixteen } => Box::new(wav::WavEncoder::new(out, sample_rate, 16)?),
        OutputFormat::Wav { bits: WavBits::TwentyFour } => Box::new(wav::WavEncoder::new(out, sample_rate, 24)?),
        OutputFormat::Flac => Box::new(flac::FlacEncoder::new(out, sample_rate)?),
        OutputFormat::Mp3 { bitrate } => Box::new(mp3::Mp3Encoder::new(
            out,
            sample_rate,
            match bitrate {
                Mp3Bitrate::Kbps192 => mp3lame_encoder::Bitrate::Kbps192,
                Mp3Bitrate::Kbps320 => mp3lame_encoder::Bitrate::Kbps320,
            },
        )?),
    })
}

//! WAV output with hound: 16-bit (TPDF-dithered) or 24-bit (rounded) integer PCM, stereo.

use std::io::{BufWriter, Seek, Write};

use hound::{SampleFormat, WavSpec, WavWriter};

use super::BlockEncoder;
use crate::MixError;
use crate::dither::{Rng, to_i16_dithered, to_i24};

/// The largest data chunk a WAV file can describe (its sizes are 32-bit).
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 64;

/// Writes a stereo WAV file.
pub(crate) struct WavEncoder<'w, W: Write + Seek> {
    writer: WavWriter<BufWriter<&'w mut W>>,
    bits: u16,
    rng: Rng,
    buf16: Vec<i16>,
    buf24: Vec<i32>,
    bytes: u64,
}

fn wav_err(e: hound::Error) -> MixError {
    match e {
        hound::Error::IoError(e) => MixError::Io(e),
        other => MixError::Encode(format!("WAV: {other}")),
    }
}

impl<'w, W: Write + Seek> WavEncoder<'w, W> {
    /// Starts a WAV file of `bits` (16 or 24) bits per sample.
    pub(crate) fn new(out: &'w mut W, sample_rate: u32, bits: u16) -> Result<Self, MixError> {
        let spec = WavSpec { channels: 2, sample_rate, bits_per_sample: bits, sample_format: SampleFormat::Int };
        let writer = WavWriter::new(BufWriter::with_capacity(1 << 16, out), spec).map_err(wav_err)?;
        Ok(Self { writer, bits, rng: Rng::new(), buf16: Vec::new(), buf24: Vec::new(), bytes: 0 })
    }
}

impl<W: Write + Seek> BlockEncoder for WavEncoder<'_, W> {
    fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), MixError> {
        self.bytes += left.len() as u64 * 2 * u64::from(self.bits / 8);
        if self.bytes > MAX_DATA_BYTES {
            return Err(MixError::Encode("WAV: the mix is longer than a WAV file can hold (4 GiB)".into()));
        }
        if self.bits == 16 {
            self.buf16.clear();
            to_i16_dithered(left, right, &mut self.rng, &mut self.buf16);
            let mut samples = self.writer.get_i16_writer(self.buf16.len() as u32);
            for &s in &self.buf16 {
                samples.write_sample(s);
            }
            samples.flush().map_err(wav_err)?;
        } else {
            self.buf24.clear();
            to_i24(left, right, &mut self.buf24);
            for &s in &self.buf24 {
                self.writer.write_sample(s).map_err(wav_err)?;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), MixError> {
        self.writer.finalize().map_err(wav_err)
    }
}

//! MP3 output with LAME (the `mp3lame-encoder` crate, which builds a vendored LAME): CBR 192 or 320 kbps,
//! joint stereo, LAME quality 3 (its library default), with a LAME/Info tag so decoders can trim the encoder delay
//! and padding.

use std::io::{BufWriter, Seek, SeekFrom, Write};

use mp3lame_encoder::{Bitrate, Builder, DualPcm, Encoder, FlushGap, Quality};

use super::BlockEncoder;
use crate::MixError;

/// Writes a CBR MP3 stream.
pub(crate) struct Mp3Encoder<'w, W: Write + Seek> {
    out: BufWriter<&'w mut W>,
    encoder: Encoder,
    buf: Vec<u8>,
}

fn mp3_err(e: impl std::fmt::Debug) -> MixError {
    MixError::Encode(format!("MP3: {e:?}"))
}

impl<'w, W: Write + Seek> Mp3Encoder<'w, W> {
    /// Starts an MP3 stream.
    pub(crate) fn new(out: &'w mut W, sample_rate: u32, bitrate: Bitrate) -> Result<Self, MixError> {
        let mut builder = Builder::new().ok_or_else(|| MixError::Encode("MP3: cannot initialise LAME".into()))?;
        builder.set_num_channels(2).map_err(mp3_err)?;
        builder.set_sample_rate(sample_rate).map_err(mp3_err)?;
        builder.set_brate(bitrate).map_err(mp3_err)?;
        builder.set_quality(Quality::VeryNice).map_err(mp3_err)?;
        builder.set_to_write_vbr_tag(true).map_err(mp3_err)?;
        let encoder = builder.build().map_err(mp3_err)?;
        Ok(Self { out: BufWriter::with_capacity(1 << 16, out), encoder, buf: Vec::new() })
    }
}

impl<W: Write + Seek> BlockEncoder for Mp3Encoder<'_, W> {
    fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), MixError> {
        self.buf.clear();
        self.buf.reserve(mp3lame_encoder::max_required_buffer_size(left.len()));
        self.encoder.encode_to_vec(DualPcm { left, right }, &mut self.buf).map_err(mp3_err)?;
        self.out.write_all(&self.buf)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), MixError> {
        self.buf.clear();
        self.buf.reserve(mp3lame_encoder::max_required_buffer_size(0) + 7200);
        self.encoder.flush_to_vec::<FlushGap>(&mut self.buf).map_err(mp3_err)?;
        self.out.write_all(&self.buf)?;
        // LAME reserved the first frame for the LAME/Info tag (there is no ID3v2 tag before it): fill it in.
        if self.encoder.lame_tag_size() > 0 {
            let mut tag = Vec::with_capacity(self.encoder.lame_tag_size());
            if self.encoder.lame_tag_encode_to_vec(&mut tag).is_some() {
                self.out.seek(SeekFrom::Start(self.encoder.id3v2_tag_size() as u64))?;
                self.out.write_all(&tag)?;
                self.out.seek(SeekFrom::End(0))?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

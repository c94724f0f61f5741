//! FLAC output with flacenc, frame by frame: 16-bit stereo with TPDF dither — bit-identical to the 16-bit WAV of
//! the same mix.
//!
//! Why 16 and not 24 bits: flacenc caps the Rice parameter at 14 (FLAC's 5-bit RICE2 coding would allow 30), so
//! the residual of loud, noisy 24-bit material costs dozens of bits per sample and the "compressed" file came out
//! seven times larger than the PCM. At 16 bits the cap is harmless.
//!
//! flacenc's convenience API builds the whole stream in memory; to keep memory flat the stream header is written
//! first with placeholder values, frames are encoded as soon as they are full and written in order, and the header
//! is rewritten at the end with the total length, frame sizes and MD5.
//!
//! FLAC frames are independent, so they are encoded by [`WORKERS`] worker threads (encoding is the bottleneck of a
//! FLAC mixdown), with at most [`IN_FLIGHT`] frames queued; this thread dithers, hashes, hands out frames and writes
//! the encoded ones back in order.

use std::collections::BTreeMap;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, Frame, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

use super::BlockEncoder;
use crate::MixError;
use crate::dither::{Rng, to_i16_dithered};

/// Samples per FLAC frame (the reference encoder's default).
const BLOCK_SIZE: usize = 4096;
/// Bits per sample of the FLAC output.
const BITS: usize = 16;
/// Frame-encoding threads.
const WORKERS: usize = 2;
/// Frames handed out but not yet written.
const IN_FLIGHT: usize = 8;

/// A frame to encode: its number and samples.
type Job = (usize, FrameBuf);
/// An encoded frame: its number, the frame (for the STREAMINFO statistics) and its bytes.
type Done = (usize, Result<(Frame, Vec<u8>), String>);

/// Writes a stereo 16-bit FLAC stream.
pub(crate) struct FlacEncoder<'w, W: Write + Seek> {
    out: BufWriter<&'w mut W>,
    info: StreamInfo,
    context: Context,
    rng: Rng,
    /// Dithered samples waiting for a full frame, interleaved.
    pending: Vec<i16>,
    /// One frame of samples as little-endian bytes (flacenc hashes them for the MD5 in one go).
    bytes: Vec<u8>,
    sink: ByteSink,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Encoded frames that arrived before their predecessors.
    reorder: BTreeMap<usize, (Frame, Vec<u8>)>,
    next_to_write: usize,
    handed_out: usize,
}

fn flac_err(e: impl std::fmt::Display) -> MixError {
    MixError::Encode(format!("FLAC: {e}"))
}

/// A worker: encodes frames until the job channel closes.
fn encode_frames(
    config: Arc<Verified<config::Encoder>>,
    info: StreamInfo,
    jobs: Arc<Mutex<Receiver<Job>>>,
    done: Sender<Done>,
) {
    let mut sink = ByteSink::new();
    loop {
        // The lock is only held while waiting for the next job, not while encoding.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok((number, framebuf)) = job else { return };
        let result = flacenc::encode_fixed_size_frame(&config, &framebuf, number, &info)
            .map_err(|e| e.to_string())
            .and_then(|frame| {
                sink.clear();
                frame.write(&mut sink).map_err(|e| e.to_string())?;
                Ok((frame, sink.as_slice().to_vec()))
            });
        if done.send((number, result)).is_err() {
            return;
        }
    }
}

impl<'w, W: Write + Seek> FlacEncoder<'w, W> {
    /// Starts a FLAC stream.
    pub(crate) fn new(out: &'w mut W, sample_rate: u32) -> Result<Self, MixError> {
        let mut encoder_config = config::Encoder::default();
        encoder_config.block_size = BLOCK_SIZE;
        // Fixed predictors only (like `flac -1`): flacenc's LPC search tripled the encoding time for well under 1 %
        // smaller files on the benchmark's mixes (27.4 vs 27.2 MB for 8 × 180 s).
        encoder_config.subframe_coding.use_lpc = false;
        // Independent or mid/side stereo only: left/side and right/side were never chosen on the benchmark's mixes
        // (identical output size) but cost encoding time.
        encoder_config.stereo_coding.use_leftside = false;
        encoder_config.stereo_coding.use_rightside = false;
        let config = Arc::new(encoder_config.into_verified().map_err(|(_, e)| flac_err(e))?);
        let mut info = StreamInfo::new(sample_rate as usize, 2, BITS).map_err(flac_err)?;
        info.set_block_sizes(BLOCK_SIZE, BLOCK_SIZE).map_err(flac_err)?;
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(IN_FLIGHT);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (done_tx, done_rx) = channel::<Done>();
        let workers = (0..WORKERS)
            .map(|_| {
                let (config, info, jobs, done) =
                    (Arc::clone(&config), info.clone(), Arc::clone(&jobs_rx), done_tx.clone());
                std::thread::spawn(move || encode_frames(config, info, jobs, done))
            })
            .collect();
        let mut encoder = Self {
            out: BufWriter::with_capacity(1 << 16, out),
            info,
            context: Context::new(BITS, 2),
            rng: Rng::new(),
            pending: Vec::with_capacity(BLOCK_SIZE * 2 * 2),
            bytes: Vec::with_capacity(BLOCK_SIZE * 2 * 2),
            sink: ByteSink::new(),
            jobs: Some(jobs_tx),
            done: done_rx,
            workers,
            reorder: BTreeMap::new(),
            next_to_write: 0,
            handed_out: 0,
        };
        encoder.write_header()?;
        Ok(encoder)
    }

    fn write_header(&mut self) -> Result<(), MixError> {
        let stream = Stream::with_stream_info(self.info.clone());
        self.sink.clear();
        stream.write(&mut self.sink).map_err(flac_err)?;
        self.out.write_all(self.sink.as_slice())?;
        Ok(())
    }

    /// Hands the first `frames` frames of `pending` to the workers.
    fn dispatch_frame(&mut self, frames: usize) -> Result<(), MixError> {
        self.bytes.clear();
        self.bytes.extend(self.pending[..frames * 2].iter().flat_map(|s| s.to_le_bytes()));
        let mut framebuf = FrameBuf::with_size(2, BLOCK_SIZE).map_err(flac_err)?;
        (&mut framebuf, &mut self.context).fill_le_bytes(&self.bytes, 2).map_err(flac_err)?;
        self.pending.drain(..frames * 2);
        while self.handed_out - self.next_to_write >= IN_FLIGHT {
            self.write_ready(true)?;
        }
        let jobs = self.jobs.as_ref().ok_or_else(|| flac_err("the encoder is finished"))?;
        jobs.send((self.handed_out, framebuf)).map_err(|_| flac_err("a frame encoder stopped"))?;
        self.handed_out += 1;
        self.write_ready(false)
    }

    /// Writes the encoded frames that are next in order; with `wait`, blocks until at least one arrives.
    fn write_ready(&mut self, wait: bool) -> Result<(), MixError> {
        let mut block = wait;
        loop {
            let received = if block {
                // All workers gone while frames are outstanding: they cannot come any more.
                Some(self.done.recv().map_err(|_| flac_err("the frame encoders stopped"))?)
            } else {
                self.done.try_recv().ok()
            };
            let Some((number, result)) = received else { break };
            block = false;
            self.reorder.insert(number, result.map_err(flac_err)?);
        }
        while let Some((frame, bytes)) = self.reorder.remove(&self.next_to_write) {
            self.info.update_frame_info(&frame);
            self.out.write_all(&bytes)?;
            self.next_to_write += 1;
        }
        Ok(())
    }
}

impl<W: Write + Seek> BlockEncoder for FlacEncoder<'_, W> {
    fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), MixError> {
        to_i16_dithered(left, right, &mut self.rng, &mut self.pending);
        while self.pending.len() >= BLOCK_SIZE * 2 {
            self.dispatch_frame(BLOCK_SIZE)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), MixError> {
        let rest = self.pending.len() / 2;
        if rest > 0 {
            self.dispatch_frame(rest)?;
        }
        while self.next_to_write < self.handed_out {
            self.write_ready(true)?;
        }
        self.jobs = None;
        for worker in self.workers.drain(..) {
            worker.join().map_err(|_| flac_err("a frame encoder panicked"))?;
        }
        let md5 = self.context.md5_digest();
        self.info.set_md5_digest(&md5);
        // A fixed-blocksize stream states min = max block size; the shorter last frame does not count (the FLAC
        // format says so, and symphonia treats min != max as a variable-blocksize stream and rejects the frames).
        self.info.set_block_sizes(BLOCK_SIZE, BLOCK_SIZE).map_err(flac_err)?;
        // Rewrite the header, now with the real length, frame sizes and checksum (its size does not change).
        self.out.seek(SeekFrom::Start(0))?;
        self.write_header()?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(())
    }
}

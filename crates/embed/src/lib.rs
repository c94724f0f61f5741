//! Omnisonic's sentence encoder: turns short texts into unit vectors whose dot product is their cosine
//! similarity. It runs all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions, Apache-2.0) in-process with candle on
//! the CPU: the same mean pooling and L2 normalisation as sentence-transformers, so vectors match the Python
//! model's. Nothing is fetched at run time: the model folder (`model.safetensors`, `tokenizer.json`,
//! `config.json`) comes from `scripts/fetch-model.sh`, and its path is a setting.
//!
//! Inputs are cut to [`MAX_TOKENS`] word pieces before the model sees them, so a hostile text costs no more
//! than a short one.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Word pieces per text, [CLS] and [SEP] included. The tagger embeds a mention with a few words around it and
/// entities by name: both fit in far fewer.
pub const MAX_TOKENS: usize = 64;

/// The files a model folder must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing or unreadable.
    #[error("cannot read {path}: {source} (fetch the model with scripts/fetch-model.sh)")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration.
    #[error("{path} is not a BERT model configuration: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The model weights do not fit the configuration, or a tensor operation failed.
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
}

/// A loaded sentence model. `Send + Sync`: share one behind an `Arc`; encoding is CPU-bound, so async callers
/// run it on a blocking thread.
pub struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
    name: String,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder").field("name", &self.name).field("dimensions", &self.dimensions).finish()
    }
}

impl SentenceEncoder {
    /// Loads the model in `dir` (see [`MODEL_FILES`]).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| EmbedError::Read { path, source })
        };
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|source| EmbedError::Config { path: config_path, source })?;
        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        // Buffered rather than memory-mapped: mapping is `unsafe` (the file could change underneath), and 90 MB
        // read once at start-up is cheap.
        let weights = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, &Device::Cpu)?;
        let model = BertModel::load(weights, &config)?;
        // Recorded with cached vectors and tags: a folder name, kept short.
        let name = dir.file_name().map(|n| n.to_string_lossy().chars().take(100).collect()).unwrap_or_default();
        Ok(Self { model, tokenizer, dimensions: config.hidden_size, name })
    }

    /// The vectors' length (384 for all-MiniLM-L6-v2).
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The model folder's name, recorded with cached vectors so another model's vectors are never mixed in.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Unit vectors for `texts`, in order, encoded as one padded batch.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for encoding in &encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, width), &Device::Cpu)?;
        let mask = Tensor::from_vec(mask, (rows, width), &Device::Cpu)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over the real (unpadded) word pieces, then scale to unit length.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// Cosine similarity of two unit vectors (their dot product); 0 when their lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A vector as little-endian bytes, for caches.
pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A vector from [`to_bytes`]; `None` when the length is not `dimensions` floats or a value is not finite.
pub fn from_bytes(bytes: &[u8], dimensions: usize) -> Option<Vec<f32>> {
    if bytes.len() != dimensions * 4 {
        return None;
    }
    let vector: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    vector.iter().all(|x| x.is_finite()).then_some(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_reject_wrong_lengths() {
        let v = vec![0.5_f32, -0.25, 1.0];
        assert_eq!(from_bytes(&to_bytes(&v), 3), Some(v.clone()));
        assert_eq!(from_bytes(&to_bytes(&v), 4), None);
        assert_eq!(from_bytes(&f32::NAN.to_le_bytes(), 1), None);
    }

    #[test]
    fn cosine_of_unit_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn a_missing_model_says_how_to_fetch_it() {
        let dir = std::env::temp_dir().join("omnisonic-embed-no-such-model");
        let error = SentenceEncoder::load(&dir).expect_err("no model there");
        assert!(error.to_string().contains("fetch-model.sh"), "{error}");
    }
}

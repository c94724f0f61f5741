//! Object storage: the local filesystem (embedded default) or S3 / MinIO, behind one [`Storage`].
//!
//! Uploads stream: the first 5 MiB are held; a file that ends there is one `PUT`, a larger one becomes a
//! multipart upload of 5 MiB parts (one in flight while the next fills), so memory per upload stays near 15 MiB
//! whatever the file size. The SHA-256 is computed on the way. Any failure — the size limit, a client that goes away, the store —
//! aborts the multipart upload, so nothing is left behind.
//!
//! Download URLs: S3 presigns them; the local backend signs its own (`HMAC-SHA256` over key and expiry with the
//! app secret), which the web layer checks in constant time before serving the file.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as StorePath;
use object_store::signer::SignedUrlOptions;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Size of a multipart part, and the point above which an upload becomes multipart (spec 1.2: above 5 MB).
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts in flight at once (`WriteMultipart::wait_for_capacity(n)` lets `n` run while another is handed over,
/// hence the `- 1` where it is called). One part uploading while the next fills keeps a 100 MB upload's extra
/// memory near two parts (10 MiB); see scripts/bench-upload.sh and CHANGELOG for the measured figures.
const PARTS_IN_FLIGHT: usize = 1;

/// Where objects live.
#[derive(Clone, Debug)]
pub enum StorageConfig {
    /// Files under `root`.
    Local {
        /// The folder.
        root: PathBuf,
    },
    /// An S3 bucket (AWS, MinIO or any S3 API).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region (`us-east-1` for MinIO).
        region: String,
        /// Custom endpoint (MinIO, s3s); path-style requests are used with it.
        endpoint: Option<String>,
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
    },
}

/// What can go wrong with storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The upload is larger than allowed; nothing was stored.
    #[error("the upload exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The client's body failed (disconnect); nothing was stored.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The configuration cannot work.
    #[error("storage configuration: {0}")]
    Config(String),
    /// The store refused or failed.
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
}

/// A stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Bytes written.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

enum Backend {
    Local { root: PathBuf },
    S3 { s3: Arc<AmazonS3>, bucket: String },
}

/// Object storage; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    backend: Arc<Backend>,
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Storage {
    /// Storage for `config`; `secret` signs the local backend's download URLs.
    pub fn new(config: &StorageConfig, secret: &[u8]) -> Result<Self, StorageError> {
        crate::install_tls_provider();
        let (store, backend): (Arc<dyn ObjectStore>, Backend) = match config {
            StorageConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| StorageError::Config(format!("cannot create {}: {e}", root.display())))?;
                let fs = LocalFileSystem::new_with_prefix(root)?;
                (Arc::new(fs), Backend::Local { root: root.clone() })
            }
            StorageConfig::S3 { bucket, region, endpoint, access_key_id, secret_access_key } => {
                // Fail in seconds, not minutes: a few quick retries, and bounded connects and requests (a part is
                // 5 MiB, so a minute per request is generous).
                let retry = object_store::RetryConfig {
                    backoff: object_store::BackoffConfig::default(),
                    max_retries: 3,
                    retry_timeout: Duration::from_secs(20),
                };
                let options = object_store::ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60));
                let mut builder = AmazonS3Builder::new()
                    .with_retry(retry)
                    .with_client_options(options)
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                let s3 = Arc::new(builder.build()?);
                (s3.clone(), Backend::S3 { s3, bucket: bucket.clone() })
            }
        };
        Ok(Self { store, backend: Arc::new(backend), secret: Arc::from(secret) })
    }

    /// `local DIR` or `s3 BUCKET` (for logs).
    pub fn describe(&self) -> String {
        match &*self.backend {
            Backend::Local { root } => format!("local {}", root.display()),
            Backend::S3 { bucket, .. } => format!("s3 bucket {bucket}"),
        }
    }

    /// Whether this is the local backend (its downloads are served by the app).
    pub fn is_local(&self) -> bool {
        matches!(&*self.backend, Backend::Local { .. })
    }

    /// Checks that the store answers, the bucket exists and we may write to it — by writing and deleting a small
    /// object — with a message an operator can act on.
    pub async fn check(&self) -> Result<(), StorageError> {
        let probe = StorePath::from(".omnisonic-startup-check");
        // Listing fails on a missing bucket everywhere (some S3 servers create buckets on a first write).
        let result = async {
            self.store.list_with_delimiter(Some(&probe)).await?;
            self.store.put(&probe, PutPayload::from_static(b"ok")).await?;
            self.store.delete(&probe).await
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(err) => {
                let text = err.to_string();
                let hint = if text.contains("NoSuchBucket") || (text.contains("bucket") && text.contains("not")) {
                    "the bucket does not exist"
                } else if text.contains("403")
                    || text.contains("SignatureDoesNotMatch")
                    || text.contains("AccessDenied")
                    || text.contains("InvalidAccessKeyId")
                {
                    "the credentials were refused"
                } else if ["error sending request", "connect", "dns", "timed out"].iter().any(|t| text.contains(t)) {
                    "the endpoint cannot be reached"
                } else {
                    "the storage check failed"
                };
                Err(StorageError::Config(format!("{hint} ({}): {err}", self.describe())))
            }
        }
    }

    /// Streams `first` then `rest` into `key`, refusing more than `limit` bytes.
    ///
    /// Bytes are copied once, into a part-sized buffer: the request's chunks (slices of the HTTP layer's read
    /// buffers) are released at once, and each part goes out as one contiguous buffer that the S3 client sends
    /// without another copy. So an upload holds about two parts: the one filling and the one in flight.
    pub async fn upload<S, E>(&self, key: &str, first: Bytes, mut rest: S, limit: u64) -> Result<Stored, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = StorePath::from(key);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut part = BytesMut::with_capacity(PART_BYTES);
        let mut pending = Some(first);
        let mut writer: Option<WriteMultipart> = None;
        let outcome: Result<(), StorageError> = async {
            loop {
                let chunk = match pending.take() {
                    Some(chunk) => chunk,
                    None => match rest.next().await {
                        Some(Ok(chunk)) => chunk,
                        Some(Err(err)) => return Err(StorageError::Interrupted(err.to_string())),
                        None => return Ok(()),
                    },
                };
                size += chunk.len() as u64;
                if size > limit {
                    return Err(StorageError::TooLarge { limit });
                }
                hasher.update(&chunk);
                let mut chunk = &chunk[..];
                while !chunk.is_empty() {
                    let room = PART_BYTES - part.len();
                    let (now, later) = chunk.split_at(room.min(chunk.len()));
                    part.extend_from_slice(now);
                    chunk = later;
                    if part.len() == PART_BYTES {
                        // A full part: the upload is multipart from here on.
                        if writer.is_none() {
                            let upload = self.store.put_multipart(&path).await?;
                            writer = Some(WriteMultipart::new_with_chunk_size(upload, PART_BYTES));
                        }
                        if let Some(writer) = writer.as_mut() {
                            writer.wait_for_capacity(PARTS_IN_FLIGHT - 1).await?;
                            let full = std::mem::replace(&mut part, BytesMut::with_capacity(PART_BYTES));
                            writer.put(full.freeze());
                        }
                    }
                }
            }
        }
        .await;
        let stored = |hasher: Sha256| Stored { size, sha256: hex(&hasher.finalize()) };
        match (outcome, writer) {
            (Ok(()), None) => {
                // It all fitted in one part: a single PUT.
                self.store.put(&path, PutPayload::from(part.freeze())).await?;
                Ok(stored(hasher))
            }
            (Ok(()), Some(mut writer)) => {
                if !part.is_empty() {
                    writer.put(part.freeze());
                }
                writer.finish().await?;
                Ok(stored(hasher))
            }
            (Err(err), writer) => {
                if let Some(writer) = writer
                    && let Err(abort) = writer.abort().await
                {
                    tracing::warn!(error = %abort, key, "could not abort a failed multipart upload");
                }
                Err(err)
            }
        }
    }

    /// The object `key` as a stream of chunks, read as it is consumed (never whole in memory).
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes, StorageError>>, StorageError> {
        let stream = self.store.get(&StorePath::from(key)).await?.into_stream();
        Ok(stream.map(|chunk| chunk.map_err(StorageError::from)).boxed())
    }

    /// Streams the object `key` into the local file `dest` (created or truncated), chunk by chunk.
    pub async fn download_to_file(&self, key: &str, dest: &std::path::Path) -> Result<u64, StorageError> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self.store.get(&StorePath::from(key)).await?.into_stream();
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| StorageError::Interrupted(format!("cannot create {}: {e}", dest.display())))?;
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| StorageError::Interrupted(format!("cannot write {}: {e}", dest.display())))?;
        }
        file.flush().await.map_err(|e| StorageError::Interrupted(format!("cannot write {}: {e}", dest.display())))?;
        Ok(written)
    }

    /// Streams the local file `src` into `key` (multipart above one part, like [`Storage::upload`]).
    pub async fn upload_file(&self, key: &str, src: &std::path::Path) -> Result<Stored, StorageError> {
        let file = tokio::fs::File::open(src)
            .await
            .map_err(|e| StorageError::Interrupted(format!("cannot open {}: {e}", src.display())))?;
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        self.upload(key, Bytes::new(), chunks, u64::MAX).await
    }

    /// Moves `from` to `to`, replacing `to` (S3: copy, then delete). Writers stage under a temporary key and move
    /// into place, so a reader never sees half an object and a retried job never leaves two.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        self.store.rename(&StorePath::from(from), &StorePath::from(to)).await?;
        Ok(())
    }

    /// Deletes an object (a missing one is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self.store.head(&StorePath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// A URL that downloads `key` until `ttl` from now: presigned on S3; on the local backend
    /// `{base}/api/files/{key}?expires=…&sig=…`, signed with the app secret.
    pub async fn download_url(&self, key: &str, base: &str, ttl: Duration) -> Result<String, StorageError> {
        match &*self.backend {
            Backend::S3 { s3, .. } => {
                Ok(s3.signed_url(http::Method::GET, &StorePath::from(key), ttl).await?.to_string())
            }
            Backend::Local { .. } => {
                let expires = chrono::Utc::now().timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(3600);
                let sig = self.local_signature(key, expires);
                Ok(format!("{}/api/files/{key}?expires={expires}&sig={sig}", base.trim_end_matches('/')))
            }
        }
    }

    fn local_signature(&self, key: &str, expires: i64) -> String {
        self.mac(&[key.as_bytes(), expires.to_string().as_bytes()])
    }

    /// HMAC-SHA256 of the fields, newline-separated, with the app secret; URL-safe base64.
    fn mac(&self, fields: &[&[u8]]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(field);
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Starts a browser-direct multipart upload of `key`: returns its upload id.
    pub async fn begin_direct(&self, key: &str) -> Result<String, StorageError> {
        match &*self.backend {
            Backend::S3 { s3, .. } => Ok(s3.create_multipart(&StorePath::from(key)).await?),
            Backend::Local { root } => {
                let id = uuid::Uuid::now_v7().simple().to_string();
                tokio::fs::create_dir_all(root.join(".incoming").join(&id))
                    .await
                    .map_err(|e| StorageError::Config(format!("cannot stage an upload: {e}")))?;
                Ok(id)
            }
        }
    }

    /// A URL the browser `PUT`s part `part` (1-based) of a direct upload to, valid for `ttl`: a presigned
    /// `UploadPart` on S3, our own signed URL on the local backend.
    ///
    /// Locally the URL is bound to the part's exact `length` (part of our signature). S3 presigned `UploadPart`
    /// URLs cannot bind a length (object_store reserves `Content-Length`), so there the assembled size is checked
    /// against the declared one on completion, before anything reads the object.
    pub async fn part_url(
        &self,
        key: &str,
        upload_id: &str,
        part: u32,
        length: u64,
        base: &str,
        ttl: Duration,
    ) -> Result<String, StorageError> {
        match &*self.backend {
            Backend::S3 { s3, .. } => {
                let options = SignedUrlOptions::new()
                    .with_query([("partNumber", part.to_string()), ("uploadId", upload_id.to_owned())]);
                Ok(s3.signed_url_opts(http::Method::PUT, &StorePath::from(key), ttl, &options).await?.to_string())
            }
            Backend::Local { .. } => {
                let expires = chrono::Utc::now().timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(3600);
                let sig = self.part_signature(key, upload_id, part, length, expires);
                Ok(format!(
                    "{}/api/files/{key}?upload={upload_id}&part={part}&length={length}&expires={expires}&sig={sig}",
                    base.trim_end_matches('/')
                ))
            }
        }
    }

    fn part_signature(&self, key: &str, upload_id: &str, part: u32, length: u64, expires: i64) -> String {
        let (part, length, expires) = (part.to_string(), length.to_string(), expires.to_string());
        self.mac(&[
            b"part",
            key.as_bytes(),
            upload_id.as_bytes(),
            part.as_bytes(),
            length.as_bytes(),
            expires.as_bytes(),
        ])
    }

    /// Local backend: stores one part sent to a signed part URL (checked here, in constant time); the body must be
    /// exactly the signed `length`. Returns the part's ETag (its SHA-256).
    #[allow(clippy::too_many_arguments)]
    pub async fn put_local_part<S, E>(
        &self,
        key: &str,
        upload_id: &str,
        part: u32,
        length: u64,
        expires: i64,
        sig: &str,
        mut body: S,
    ) -> Result<Option<String>, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Backend::Local { root } = &*self.backend else { return Ok(None) };
        let expected = self.part_signature(key, upload_id, part, length, expires);
        let valid = expires >= chrono::Utc::now().timestamp()
            && bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sig.as_bytes()))
            && !upload_id.is_empty()
            && upload_id.chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Ok(None);
        }
        let dir = root.join(".incoming").join(upload_id);
        if !dir.is_dir() {
            return Ok(None);
        }
        let path = dir.join(format!("{part:05}"));
        let written = async {
            let mut file =
                tokio::fs::File::create(&path).await.map_err(|e| StorageError::Interrupted(e.to_string()))?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StorageError::Interrupted(e.to_string()))?;
                size += chunk.len() as u64;
                if size > length {
                    return Err(StorageError::TooLarge { limit: length });
                }
                hasher.update(&chunk);
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                    .await
                    .map_err(|e| StorageError::Interrupted(e.to_string()))?;
            }
            if size != length {
                return Err(StorageError::Interrupted(format!("part {part} has {size} of {length} bytes")));
            }
            tokio::io::AsyncWriteExt::flush(&mut file).await.map_err(|e| StorageError::Interrupted(e.to_string()))?;
            Ok(format!("\"{}\"", hex(&hasher.finalize())))
        }
        .await;
        if written.is_err() {
            // A broken-off or oversized part must not be assembled later.
            let _ = tokio::fs::remove_file(&path).await;
        }
        written.map(Some)
    }

    /// Completes a direct upload from its parts' ETags, in part order.
    pub async fn complete_direct(&self, key: &str, upload_id: &str, etags: Vec<String>) -> Result<(), StorageError> {
        match &*self.backend {
            Backend::S3 { s3, .. } => {
                let parts = etags.into_iter().map(|content_id| PartId { content_id }).collect();
                s3.complete_multipart(&StorePath::from(key), &upload_id.to_owned(), parts).await?;
                Ok(())
            }
            Backend::Local { root } => {
                let dir = root.join(".incoming").join(upload_id);
                let mut parts: Vec<PathBuf> = Vec::new();
                let mut entries =
                    tokio::fs::read_dir(&dir).await.map_err(|e| StorageError::Interrupted(e.to_string()))?;
                while let Ok(Some(entry)) = entries.next_entry().await {
                    parts.push(entry.path());
                }
                parts.sort();
                if parts.len() != etags.len() {
                    return Err(StorageError::Interrupted(format!(
                        "{} parts sent, {} listed",
                        parts.len(),
                        etags.len()
                    )));
                }
                let upload = self.store.put_multipart(&StorePath::from(key)).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
                for part in &parts {
                    let bytes = tokio::fs::read(part).await.map_err(|e| StorageError::Interrupted(e.to_string()))?;
                    writer.wait_for_capacity(PARTS_IN_FLIGHT - 1).await?;
                    writer.put(Bytes::from(bytes));
                }
                writer.finish().await?;
                let _ = tokio::fs::remove_dir_all(&dir).await;
                Ok(())
            }
        }
    }

    /// Abandons a direct upload and whatever parts it has (one already gone is fine).
    pub async fn abort_direct(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match &*self.backend {
            Backend::S3 { s3, .. } => match s3.abort_multipart(&StorePath::from(key), &upload_id.to_owned()).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(err) => Err(err.into()),
            },
            Backend::Local { root } => {
                if !upload_id.is_empty() && upload_id.chars().all(|c| c.is_ascii_hexdigit()) {
                    let _ = tokio::fs::remove_dir_all(root.join(".incoming").join(upload_id)).await;
                }
                Ok(())
            }
        }
    }

    /// The size of a stored object.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        Ok(self.store.head(&StorePath::from(key)).await?.size)
    }

    /// The first `n` bytes, the size and the SHA-256 of a stored object (read once, streaming).
    pub async fn inspect(&self, key: &str, n: usize) -> Result<(Bytes, Stored), StorageError> {
        let result = self.store.get(&StorePath::from(key)).await?;
        let mut stream = result.into_stream();
        let mut head = BytesMut::new();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if head.len() < n {
                head.extend_from_slice(&chunk[..chunk.len().min(n - head.len())]);
            }
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((head.freeze(), Stored { size, sha256: hex(&hasher.finalize()) }))
    }

    /// The file behind a local download URL, when its signature is right and it has not expired.
    pub fn verify_local(&self, key: &str, expires: i64, sig: &str) -> Option<PathBuf> {
        let Backend::Local { root } = &*self.backend else { return None };
        if expires < chrono::Utc::now().timestamp() {
            return None;
        }
        let expected = self.local_signature(key, expires);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sig.as_bytes())) {
            return None;
        }
        // Keys are ours (`uploads/<uuid>/<uuid>`), but the path is checked anyway: nothing outside the root.
        let path = StorePath::parse(key).ok()?;
        let file = path.parts().fold(root.clone(), |dir, part| dir.join(part.as_ref()));
        file.starts_with(root).then_some(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_links_expire_and_cannot_be_altered() {
        let dir = tempfile::tempdir().expect("dir");
        let storage =
            Storage::new(&StorageConfig::Local { root: dir.path().to_path_buf() }, b"secret").expect("storage");
        let key = "uploads/a/b";
        let now = chrono::Utc::now().timestamp();
        let valid = storage.local_signature(key, now + 60);
        assert!(storage.verify_local(key, now + 60, &valid).is_some());
        let expired = storage.local_signature(key, now - 1);
        assert!(storage.verify_local(key, now - 1, &expired).is_none(), "expired");
        assert!(storage.verify_local(key, now + 120, &valid).is_none(), "expiry moved");
        assert!(storage.verify_local("uploads/a/c", now + 60, &valid).is_none(), "another key");
        let other = Storage::new(&StorageConfig::Local { root: dir.path().to_path_buf() }, b"other").expect("storage");
        assert!(other.verify_local(key, now + 60, &valid).is_none(), "another secret");
    }
}

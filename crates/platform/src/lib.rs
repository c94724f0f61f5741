//! Omnisonic's platform services: each has an embedded implementation (no configuration, one process) and a
//! distributed one (a real server), chosen by the binary from settings. Mail and object storage so far;
//! the job queue and pub/sub join them in later releases.

pub mod mail;
pub mod storage;

pub use mail::{MailError, Mailer};
pub use storage::{Storage, StorageConfig, StorageError, Stored};

/// Installs ring as the process's TLS crypto provider (idempotent). reqwest is built without a default provider
/// (its default, aws-lc, needs cmake and a longer C build); every HTTP client in the process — sign-in
/// providers, S3 — needs one installed before it is built.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

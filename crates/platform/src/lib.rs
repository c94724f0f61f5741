//! Omnisonic's platform services: each has an embedded implementation (no configuration, one process) and a
//! distributed one (a real server), chosen by the binary from settings. Mail is the first; object storage, the
//! job queue and pub/sub join it in later releases.

pub mod mail;

pub use mail::{MailError, Mailer};

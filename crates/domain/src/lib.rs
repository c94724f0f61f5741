//! Omnisonic's domain: the types and rules every transport and store agrees on.
//!
//! This crate does no I/O and knows nothing of async runtimes, HTTP or databases (the `tidy` test in `xtask`
//! enforces that), so every rule here can be tested — and fuzzed — as a plain function.

pub mod account;
pub mod catalogue;
pub mod ids;
pub mod isrc;
pub mod iswc;
pub mod share;
pub mod studio;
pub mod upload;
pub mod validation;

pub use ids::{ContributionId, PartyId, RecordingId, StudioSessionId, TrackId, WorkId};
pub use isrc::{Isrc, IsrcError};
pub use iswc::{Iswc, IswcError};
pub use share::{ShareBps, ShareError};
pub use validation::{FieldError, ValidationErrors};

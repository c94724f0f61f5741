//! Omnisonic's domain: the types and rules every transport and store agrees on.
//!
//! This crate does no I/O and knows nothing of async runtimes, HTTP or databases (the `tidy` test in `xtask`
//! enforces that), so every rule here can be tested — and fuzzed — as a plain function.

/// A closed set of names stored as lower-case text: `ALL`, `as_str`, `parse` and `Display`.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable lower-case name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses the stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod account;
pub mod bulk_import;
pub mod catalogue;
pub mod channels;
pub mod ddex;
pub mod export;
pub mod ids;
pub mod isrc;
pub mod iswc;
pub mod ledger;
pub mod license;
pub mod records;
pub mod share;
pub mod studio;
pub mod upload;
pub mod validation;

pub use ids::{ContributionId, PartyId, RecordingId, StudioSessionId, TrackId, WorkId};
pub use isrc::{Isrc, IsrcError};
pub use iswc::{Iswc, IswcError};
pub use share::{ShareBps, ShareError};
pub use validation::{FieldError, ValidationErrors};

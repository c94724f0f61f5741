//! Newtype identifiers, so a `WorkId` can never be passed where a `RecordingId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) identifier: index-friendly and sortable by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a party: an artist, writer, publisher or label.
    PartyId
);
id_type!(
    /// Identifies a musical work (the composition).
    WorkId
);
id_type!(
    /// Identifies a sound recording.
    RecordingId
);
id_type!(
    /// Identifies a contribution of a party to a work or recording.
    ContributionId
);
id_type!(
    /// Identifies a studio session (not to be confused with a sign-in session).
    StudioSessionId
);
id_type!(
    /// Identifies an audio track inside a studio session.
    TrackId
);

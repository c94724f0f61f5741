//! Shares of a work or recording, in basis points (1/100 of a percent), so that splits add up exactly.

use serde::{Deserialize, Serialize};

/// The whole: 100 % in basis points.
pub const WHOLE_BPS: u32 = 10_000;

/// A share between 0 and 10,000 basis points inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ShareBps(u16);

/// Why a share or a set of shares is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// A single share outside 0..=10,000.
    #[error("share must be between 0 and 10000 basis points, got {0}")]
    OutOfRange(i64),
    /// The shares of one role would add up to more than 100 %.
    #[error("shares for role {role} would total {total} basis points, more than 10000")]
    OverAllocated {
        /// The role whose shares overflow.
        role: String,
        /// What the total would be.
        total: u32,
    },
}

impl ShareBps {
    /// A share of `bps` basis points.
    pub fn new(bps: i64) -> Result<Self, ShareError> {
        u16::try_from(bps).ok().filter(|&b| u32::from(b) <= WHOLE_BPS).map(Self).ok_or(ShareError::OutOfRange(bps))
    }

    /// The share in basis points.
    pub fn bps(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for ShareBps {
    type Error = ShareError;
    fn try_from(bps: i64) -> Result<Self, Self::Error> {
        Self::new(bps)
    }
}

impl From<ShareBps> for i64 {
    fn from(share: ShareBps) -> Self {
        i64::from(share.0)
    }
}

/// Checks that adding `new` to the `existing` shares of one role keeps the total at or below 100 %.
pub fn check_role_total(
    role: &str,
    existing: impl IntoIterator<Item = ShareBps>,
    new: ShareBps,
) -> Result<u32, ShareError> {
    let total = existing.into_iter().map(|s| u32::from(s.0)).sum::<u32>() + u32::from(new.0);
    if total > WHOLE_BPS { Err(ShareError::OverAllocated { role: role.to_owned(), total }) } else { Ok(total) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        assert!(ShareBps::new(0).is_ok());
        assert!(ShareBps::new(10_000).is_ok());
        assert_eq!(ShareBps::new(10_001), Err(ShareError::OutOfRange(10_001)));
        assert_eq!(ShareBps::new(-1), Err(ShareError::OutOfRange(-1)));
    }

    proptest! {
        #[test]
        fn total_is_accepted_iff_at_most_whole(shares in proptest::collection::vec(0i64..=10_000, 0..8), new in 0i64..=10_000) {
            let existing: Vec<ShareBps> = shares.iter().map(|&s| ShareBps::new(s).expect("in range")).collect();
            let sum: i64 = shares.iter().sum::<i64>() + new;
            let result = check_role_total("composer", existing, ShareBps::new(new).expect("in range"));
            prop_assert_eq!(result.is_ok(), sum <= 10_000);
        }
    }
}

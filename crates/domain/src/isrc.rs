//! International Standard Recording Code (ISO 3901): `CC-XXX-YY-NNNNN`.
//!
//! Input is forgiving — an `ISRC` prefix, hyphens, spaces and lower case are accepted, as people paste codes from
//! liner notes and spreadsheets — but the stored form is always the compact upper-case twelve characters, so one
//! recording can never be stored twice under two spellings.

use serde::{Deserialize, Serialize};

/// A valid ISRC in its compact, upper-case form (e.g. `USRC11301176`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Isrc(String);

/// Why a string is not an ISRC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsrcError {
    /// Nothing but whitespace, hyphens or the prefix.
    #[error("is empty")]
    Empty,
    /// A character other than letters, digits, hyphens and spaces.
    #[error("contains the character {0:?}; only letters, digits, hyphens and spaces are allowed")]
    InvalidCharacter(char),
    /// Not twelve characters once separators are removed.
    #[error("must have 12 characters (CC-XXX-YY-NNNNN), found {0}")]
    WrongLength(usize),
    /// The first two characters are not letters.
    #[error("country code {0:?} must be two letters")]
    BadCountry(String),
    /// The registrant code is not three letters or digits.
    #[error("registrant code {0:?} must be three letters or digits")]
    BadRegistrant(String),
    /// The year of reference is not two digits.
    #[error("year {0:?} must be two digits")]
    BadYear(String),
    /// The designation code is not five digits.
    #[error("designation code {0:?} must be five digits")]
    BadDesignation(String),
}

impl Isrc {
    /// Parses and normalises an ISRC.
    pub fn parse(input: &str) -> Result<Self, IsrcError> {
        let trimmed = input.trim();
        let without_prefix = match trimmed.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("ISRC") => trimmed[4..].trim_start_matches([' ', ':']),
            _ => trimmed,
        };
        let mut compact = String::with_capacity(12);
        for c in without_prefix.chars() {
            match c {
                '-' | ' ' => {}
                c if c.is_ascii_alphanumeric() => compact.push(c.to_ascii_uppercase()),
                other => return Err(IsrcError::InvalidCharacter(other)),
            }
        }
        if compact.is_empty() {
            return Err(IsrcError::Empty);
        }
        if compact.len() != 12 {
            return Err(IsrcError::WrongLength(compact.len()));
        }
        let (country, rest) = compact.split_at(2);
        let (registrant, rest) = rest.split_at(3);
        let (year, designation) = rest.split_at(2);
        if !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(IsrcError::BadCountry(country.to_owned()));
        }
        if !registrant.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IsrcError::BadRegistrant(registrant.to_owned()));
        }
        if !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IsrcError::BadYear(year.to_owned()));
        }
        if !designation.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IsrcError::BadDesignation(designation.to_owned()));
        }
        Ok(Self(compact))
    }

    /// The compact form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hyphenated display form `CC-XXX-YY-NNNNN`.
    pub fn hyphenated(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}-{}", &s[..2], &s[2..5], &s[5..7], &s[7..])
    }

    /// The two-letter country (or special-purpose) code.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }
}

impl std::fmt::Display for Isrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Isrc {
    type Err = IsrcError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Isrc {
    type Error = IsrcError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Isrc> for String {
    fn from(isrc: Isrc) -> Self {
        isrc.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_spellings_people_paste() {
        for input in [
            "USRC11301176",
            "usrc11301176",
            "US-RC1-13-01176",
            "ISRC US-RC1-13-01176",
            "isrc:USRC11301176",
            " US RC1 13 01176 ",
        ] {
            assert_eq!(Isrc::parse(input).map(|i| i.0), Ok("USRC11301176".to_owned()), "{input}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(Isrc::parse(""), Err(IsrcError::Empty));
        assert_eq!(Isrc::parse("USRC1130117"), Err(IsrcError::WrongLength(11)));
        assert_eq!(Isrc::parse("1SRC11301176"), Err(IsrcError::BadCountry("1S".into())));
        assert_eq!(Isrc::parse("USR_11301176"), Err(IsrcError::InvalidCharacter('_')));
        assert_eq!(Isrc::parse("USRC1A301176"), Err(IsrcError::BadYear("A3".into())));
        assert_eq!(Isrc::parse("USRC1130117X"), Err(IsrcError::BadDesignation("0117X".into())));
    }

    #[test]
    fn hyphenated_form() {
        assert_eq!(Isrc::parse("USRC11301176").map(|i| i.hyphenated()), Ok("US-RC1-13-01176".to_owned()));
    }

    fn valid_isrc() -> impl Strategy<Value = String> {
        "[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}"
    }

    proptest! {
        #[test]
        fn every_well_formed_code_round_trips(code in valid_isrc()) {
            let parsed = Isrc::parse(&code).expect("well-formed");
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(Isrc::parse(&parsed.hyphenated()).expect("hyphenated"), parsed.clone());
            prop_assert_eq!(Isrc::parse(&code.to_lowercase()).expect("lower case"), parsed);
        }

        #[test]
        fn parsing_never_panics_and_output_is_canonical(input in "\\PC{0,20}") {
            if let Ok(isrc) = Isrc::parse(&input) {
                prop_assert_eq!(isrc.as_str().len(), 12);
                prop_assert!(isrc.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            }
        }
    }
}

//! Licenses (spec 2.2): who may use a work, where, for which right and when — and when two licenses collide.
//!
//! A license covers the half-open period `[effective_from, expires_on)`; no end means open-ended. A territory is
//! an ISO 3166-1 alpha-2 code, or none for worldwide, which overlaps every territory. Two licenses conflict when
//! they are for the same work and rights type, their territories overlap and their periods intersect.

use crate::ValidationErrors;
use crate::validation::required_text;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Longest licensee name, in characters.
pub const MAX_LICENSEE_CHARS: usize = 500;
/// Largest `terms` document, in bytes of compact JSON.
pub const MAX_TERMS_BYTES: usize = 16 * 1024;

string_enum!(
    /// Which right a license grants.
    RightsType {
        /// Reproducing the composition (records, downloads, streams).
        Mechanical => "mechanical",
        /// Performing the composition in public (radio, venues, streams).
        Performance => "performance",
        /// Setting the music to picture.
        Synchronization => "synchronization",
        /// Using the master recording.
        Master => "master",
    }
);

string_enum!(
    /// Where a license is in its life.
    LicenseStatus {
        /// Being prepared; grants nothing and collides with nothing.
        Draft => "draft",
        /// In force.
        Active => "active",
        /// Its end date has passed.
        Expired => "expired",
        /// Ended early by the licensor.
        Revoked => "revoked",
    }
);

impl LicenseStatus {
    /// Whether a license in this status can still be revoked.
    pub fn can_revoke(self) -> bool {
        matches!(self, Self::Draft | Self::Active)
    }

    /// Whether a license in this status can still be edited.
    pub fn can_edit(self) -> bool {
        matches!(self, Self::Draft | Self::Active)
    }
}

/// Normalises a territory: blank, `Worldwide` or `WW` mean worldwide (`None`); otherwise two ASCII letters,
/// upper-cased.
pub fn parse_territory(value: Option<&str>) -> Result<Option<String>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.eq_ignore_ascii_case("worldwide") || value.eq_ignore_ascii_case("ww") {
        return Ok(None);
    }
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(Some(value.to_ascii_uppercase()))
    } else {
        Err(format!("{value:?} is not a territory (an ISO 3166-1 alpha-2 code such as GB, or null for worldwide)"))
    }
}

/// Parses an instant: RFC 3339 (`2026-01-01T00:00:00Z`) or a bare date (`2026-01-01`, midnight UTC).
pub fn parse_instant(value: &str) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{value:?} is not a date (YYYY-MM-DD) or an RFC 3339 date-time"))
}

/// When a license is in force: `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First instant in force.
    pub from: DateTime<Utc>,
    /// First instant no longer in force; `None` for open-ended.
    pub until: Option<DateTime<Utc>>,
}

impl Period {
    /// Whether the two periods share an instant.
    pub fn intersects(&self, other: &Period) -> bool {
        let starts_before_other_ends = other.until.is_none_or(|end| self.from < end);
        let other_starts_before_end = self.until.is_none_or(|end| other.from < end);
        starts_before_other_ends && other_starts_before_end
    }

    /// Whether the period has ended at `now`.
    pub fn ended_at(&self, now: DateTime<Utc>) -> bool {
        self.until.is_some_and(|end| end <= now)
    }
}

/// What a license covers, for conflict checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The work.
    pub work_id: Uuid,
    /// Territory code; `None` is worldwide.
    pub territory: Option<String>,
    /// The right.
    pub rights_type: RightsType,
    /// When.
    pub period: Period,
}

impl Scope {
    /// Whether two licenses with these scopes would collide.
    pub fn overlaps(&self, other: &Scope) -> bool {
        self.work_id == other.work_id
            && self.rights_type == other.rights_type
            && territories_overlap(self.territory.as_deref(), other.territory.as_deref())
            && self.period.intersects(&other.period)
    }
}

/// Worldwide overlaps everything; two codes overlap when they are the same.
pub fn territories_overlap(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// The ids of `existing` licenses that `candidate` collides with (a license never collides with itself).
pub fn conflicts_with<'a>(
    candidate_id: Option<Uuid>,
    candidate: &Scope,
    existing: impl IntoIterator<Item = (Uuid, &'a Scope)>,
) -> Vec<Uuid> {
    existing
        .into_iter()
        .filter(|(id, scope)| Some(*id) != candidate_id && candidate.overlaps(scope))
        .map(|(id, _)| id)
        .collect()
}

/// Every colliding pair among `licenses`, each pair once, in input order.
pub fn pairwise_conflicts(licenses: &[(Uuid, Scope)]) -> Vec<(Uuid, Uuid)> {
    let mut pairs = Vec::new();
    for (i, (a_id, a)) in licenses.iter().enumerate() {
        for (b_id, b) in &licenses[i + 1..] {
            if a.overlaps(b) {
                pairs.push((*a_id, *b_id));
            }
        }
    }
    pairs
}

/// A license as received from a client (spec 2.2's `LicenseInput`), before validation.
#[derive(Debug, Clone, Default)]
pub struct LicenseInput {
    /// The licensed work.
    pub work_id: Uuid,
    /// Who the license is granted to.
    pub licensee: String,
    /// Territory code, or none for worldwide.
    pub territory: Option<String>,
    /// The right.
    pub rights_type: Option<RightsType>,
    /// Start, as a date or date-time.
    pub effective_from: String,
    /// End, as a date or date-time.
    pub expires_on: Option<String>,
    /// Free-form metadata (must be a JSON object).
    pub terms: Option<serde_json::Value>,
}

/// A validated license.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLicense {
    /// Trimmed licensee.
    pub licensee: String,
    /// What it covers.
    pub scope: Scope,
    /// Metadata object (`{}` when none was given).
    pub terms: serde_json::Value,
}

impl LicenseInput {
    /// Validates every field and reports all that are wrong at once (field names as in the GraphQL input).
    pub fn validate(&self) -> Result<NewLicense, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let licensee = required_text(&mut errors, "licensee", &self.licensee, MAX_LICENSEE_CHARS);
        let territory = parse_territory(self.territory.as_deref()).map_err(|e| errors.add("territory", e)).ok();
        if self.rights_type.is_none() {
            errors.add("rightsType", "is required");
        }
        let from = parse_instant(&self.effective_from).map_err(|e| errors.add("effectiveFrom", e)).ok();
        let until = match self.expires_on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(s) => parse_instant(s).map(Some).map_err(|e| errors.add("expiresOn", e)).ok(),
        };
        if let (Some(from), Some(Some(until))) = (from, until)
            && until <= from
        {
            errors.add("expiresOn", "must be after effectiveFrom");
        }
        let terms = match &self.terms {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(value @ serde_json::Value::Object(_)) => {
                if serde_json::to_string(value).map_or(usize::MAX, |s| s.len()) > MAX_TERMS_BYTES {
                    errors.add("terms", format!("must be at most {MAX_TERMS_BYTES} bytes of JSON"));
                }
                value.clone()
            }
            Some(_) => {
                errors.add("terms", "must be a JSON object");
                serde_json::Value::Null
            }
        };
        match (territory, self.rights_type, from, until) {
            (Some(territory), Some(rights_type), Some(from), Some(until)) if errors.is_empty() => Ok(NewLicense {
                licensee,
                scope: Scope { work_id: self.work_id, territory, rights_type, period: Period { from, until } },
                terms,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid") + Duration::days(n)
    }

    const TERRITORIES: [Option<&str>; 4] = [None, Some("GB"), Some("US"), Some("DE")];

    fn scope_strategy() -> impl Strategy<Value = Scope> {
        (0u128..2, 0usize..4, 0usize..2, 0i64..30, proptest::option::of(1i64..30)).prop_map(
            |(work, territory, rights, from, len)| Scope {
                work_id: Uuid::from_u128(work),
                territory: TERRITORIES[territory].map(str::to_owned),
                rights_type: [RightsType::Mechanical, RightsType::Master][rights],
                period: Period { from: day(from), until: len.map(|l| day(from + l)) },
            },
        )
    }

    /// The brute-force oracle: two licenses collide when some (day, concrete territory) is covered by both.
    /// Worldwide covers every concrete territory, including one neither names (`FR`).
    fn oracle(a: &Scope, b: &Scope) -> bool {
        if a.work_id != b.work_id || a.rights_type != b.rights_type {
            return false;
        }
        let covers_place = |s: &Scope, t: &str| s.territory.as_deref().is_none_or(|own| own == t);
        let covers_day = |s: &Scope, d: i64| day(d) >= s.period.from && s.period.until.is_none_or(|u| day(d) < u);
        (0..80).any(|d| {
            ["GB", "US", "DE", "FR"].iter().any(|t| covers_place(a, t) && covers_place(b, t))
                && covers_day(a, d)
                && covers_day(b, d)
        })
    }

    proptest! {
        #[test]
        fn overlap_matches_brute_force(a in scope_strategy(), b in scope_strategy()) {
            prop_assert_eq!(a.overlaps(&b), oracle(&a, &b));
            prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        }

        #[test]
        fn pairwise_matches_brute_force(list in proptest::collection::vec(scope_strategy(), 0..12)) {
            let licenses: Vec<(Uuid, Scope)> =
                list.into_iter().enumerate().map(|(i, s)| (Uuid::from_u128(i as u128 + 1000), s)).collect();
            let got = pairwise_conflicts(&licenses);
            let mut expected = Vec::new();
            for i in 0..licenses.len() {
                for j in i + 1..licenses.len() {
                    if oracle(&licenses[i].1, &licenses[j].1) {
                        expected.push((licenses[i].0, licenses[j].0));
                    }
                }
            }
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn touching_periods_do_not_overlap() {
        let a = Period { from: day(0), until: Some(day(10)) };
        let b = Period { from: day(10), until: None };
        assert!(!a.intersects(&b));
        assert!(a.intersects(&Period { from: day(9), until: Some(day(10)) }));
        assert!(a.ended_at(day(10)));
        assert!(!a.ended_at(day(10) - Duration::seconds(1)));
    }

    #[test]
    fn territory_forms() {
        assert_eq!(parse_territory(None), Ok(None));
        assert_eq!(parse_territory(Some(" worldwide ")), Ok(None));
        assert_eq!(parse_territory(Some("gb")), Ok(Some("GB".into())));
        assert!(parse_territory(Some("GBR")).is_err());
        assert!(parse_territory(Some("G1")).is_err());
    }

    #[test]
    fn input_validation() {
        let ok = LicenseInput {
            work_id: Uuid::nil(),
            licensee: " Netflix ".into(),
            territory: Some("us".into()),
            rights_type: Some(RightsType::Synchronization),
            effective_from: "2026-01-01".into(),
            expires_on: Some("2026-01-01T00:00:01Z".into()),
            terms: Some(serde_json::json!({"fee": 1000})),
        };
        let license = ok.validate().expect("valid");
        assert_eq!(license.licensee, "Netflix");
        assert_eq!(license.scope.territory.as_deref(), Some("US"));
        let cases = [
            (LicenseInput { expires_on: Some("2026-01-01".into()), ..ok.clone() }, "expiresOn"),
            (LicenseInput { expires_on: Some("2025-12-31".into()), ..ok.clone() }, "expiresOn"),
            (LicenseInput { effective_from: "01/02/2026".into(), ..ok.clone() }, "effectiveFrom"),
            (LicenseInput { licensee: " ".into(), ..ok.clone() }, "licensee"),
            (LicenseInput { territory: Some("USA".into()), ..ok.clone() }, "territory"),
            (LicenseInput { rights_type: None, ..ok.clone() }, "rightsType"),
            (LicenseInput { terms: Some(serde_json::json!([1])), ..ok.clone() }, "terms"),
            (
                LicenseInput { terms: Some(serde_json::json!({"x": "y".repeat(MAX_TERMS_BYTES)})), ..ok.clone() },
                "terms",
            ),
        ];
        for (bad, field) in cases {
            let errors = bad.validate().expect_err("invalid");
            assert!(errors.reason_for(field).is_some(), "{field}: {errors}");
        }
        let open = LicenseInput { expires_on: None, terms: None, ..ok }.validate().expect("valid");
        assert_eq!(open.scope.period.until, None);
        assert_eq!(open.terms, serde_json::json!({}));
    }
}

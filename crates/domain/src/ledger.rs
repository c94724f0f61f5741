//! The royalty ledger's rules: money in integer minor units, entry validation, per-party totals that never lose a
//! cent, and the hash chain that makes a closed cycle's entries tamper-evident.
//!
//! Every entry's hash covers the previous entry's hash and the entry's own facts, starting from a genesis hash of
//! the cycle's id. Closing a cycle freezes the last hash and the per-party totals in a checkpoint; verifying
//! recomputes both from the entries as they are now, so an edited, deleted or inserted entry shows.

use crate::ValidationErrors;
use crate::validation::optional_text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The largest amount one entry may carry, in minor units (10¹⁵: ten trillion in a two-decimal currency). Keeps
/// any realistic cycle's sum far inside `i64`, while the sum itself is still checked.
pub const MAX_ENTRY_AMOUNT: i64 = 1_000_000_000_000_000;
/// Longest memo on an entry, in characters.
pub const MAX_MEMO_CHARS: usize = 500;
/// Longest cycle name, in characters.
pub const MAX_CYCLE_NAME_CHARS: usize = 200;

string_enum!(
    /// What an entry records.
    EntryKind {
        /// Royalties earned by the party.
        Royalty => "royalty",
        /// An advance paid to the party.
        Advance => "advance",
        /// An advance being earned back.
        Recoupment => "recoupment",
        /// A correction of an earlier entry.
        Adjustment => "adjustment",
        /// A fee charged to the party.
        Fee => "fee",
    }
);

string_enum!(
    /// Whether a cycle still takes entries.
    CycleStatus {
        /// Entries may be added.
        Open => "open",
        /// Frozen by a checkpoint.
        Closed => "closed",
    }
);

/// An ISO 4217-shaped currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code, accepting lower case (`eur` → `EUR`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let bytes = s.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => Err(format!("{s:?} is not a currency code (three letters, e.g. EUR)")),
        }
    }

    /// The code, e.g. `EUR`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many decimal places a currency's minor unit has (ISO 4217): 0 for the yen and its like, 3 for the dinars
/// that count in fils, 2 for everything else.
pub fn minor_unit_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount of minor units written out in major units, exactly (`-1250 EUR` → `−12.50 EUR`, `1250 JPY` →
/// `1250 JPY`).
pub fn format_money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "\u{2212}" } else { "" };
    let abs = minor.unsigned_abs();
    match minor_unit_digits(currency) {
        0 => format!("{sign}{abs} {currency}"),
        digits => {
            let scale = 10u64.pow(digits);
            format!("{sign}{}.{:0width$} {currency}", abs / scale, abs % scale, width = digits as usize)
        }
    }
}

/// A ledger entry as received from a client, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EntryInput {
    /// The party the money is for (or charged to).
    pub party_id: Uuid,
    /// The work it concerns, if any.
    pub work_id: Option<Uuid>,
    /// The recording it concerns, if any.
    pub recording_id: Option<Uuid>,
    /// What the entry records (`royalty`, `advance`, …).
    pub kind: String,
    /// Amount in minor units (cents); negative for money going the other way.
    pub amount_minor: i64,
    /// Currency code.
    pub currency: String,
    /// A free-text note.
    pub memo: Option<String>,
}

/// A validated entry, ready to be appended to a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The party.
    pub party_id: Uuid,
    /// The work, if any.
    pub work_id: Option<Uuid>,
    /// The recording, if any.
    pub recording_id: Option<Uuid>,
    /// The kind.
    pub kind: EntryKind,
    /// Non-zero amount in minor units, at most [`MAX_ENTRY_AMOUNT`] either way.
    pub amount_minor: i64,
    /// Currency.
    pub currency: Currency,
    /// Trimmed memo.
    pub memo: Option<String>,
}

impl EntryInput {
    /// Validates every field and reports all that are wrong at once.
    pub fn validate(&self) -> Result<NewEntry, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let kind = EntryKind::parse(&self.kind.trim().to_ascii_lowercase());
        if kind.is_none() {
            let names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
            errors.add("kind", format!("must be one of {}", names.join(", ")));
        }
        if self.amount_minor == 0 {
            errors.add("amountMinor", "must not be zero");
        } else if self.amount_minor.unsigned_abs() > MAX_ENTRY_AMOUNT.unsigned_abs() {
            errors.add("amountMinor", format!("must be at most {MAX_ENTRY_AMOUNT} minor units either way"));
        }
        if self.work_id.is_some() && self.recording_id.is_some() {
            errors.add("recordingId", "an entry concerns a work or a recording, not both");
        }
        let currency = Currency::parse(&self.currency).map_err(|e| errors.add("currency", e)).ok();
        let memo = optional_text(&mut errors, "memo", self.memo.as_deref(), MAX_MEMO_CHARS);
        match (kind, currency) {
            (Some(kind), Some(currency)) if errors.is_empty() => Ok(NewEntry {
                party_id: self.party_id,
                work_id: self.work_id,
                recording_id: self.recording_id,
                kind,
                amount_minor: self.amount_minor,
                currency,
                memo,
            }),
            _ => Err(errors),
        }
    }
}

/// The facts of an entry that its hash covers, in the order they are hashed. The memo is left out on purpose:
/// it is commentary, and correcting a typo must not look like fraud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFacts<'a> {
    /// The entry's id.
    pub id: Uuid,
    /// Its position in the cycle, from 1.
    pub seq: i64,
    /// The party.
    pub party_id: Uuid,
    /// The work, if any.
    pub work_id: Option<Uuid>,
    /// The recording, if any.
    pub recording_id: Option<Uuid>,
    /// The kind's stored name.
    pub kind: &'a str,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency code as stored.
    pub currency: &'a str,
    /// Creation time in microseconds since the epoch (what both databases store exactly).
    pub created_at_micros: i64,
}

/// A SHA-256 hash in the chain.
pub type ChainHash = [u8; 32];

/// The hash the chain of `cycle_id` starts from.
pub fn genesis(cycle_id: Uuid) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(b"omnisonic-ledger/v1\0");
    hasher.update(cycle_id.as_bytes());
    hasher.finalize().into()
}

/// The hash of `entry` following `prev`. Variable-length fields are length-prefixed and optional ones flagged, so
/// no two different entries share an encoding.
pub fn chain(prev: &ChainHash, entry: &EntryFacts<'_>) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(entry.id.as_bytes());
    hasher.update(entry.seq.to_be_bytes());
    hasher.update(entry.party_id.as_bytes());
    for id in [entry.work_id, entry.recording_id] {
        match id {
            Some(id) => {
                hasher.update([1]);
                hasher.update(id.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    for text in [entry.kind, entry.currency] {
        hasher.update((text.len() as u32).to_be_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.update(entry.amount_minor.to_be_bytes());
    hasher.update(entry.created_at_micros.to_be_bytes());
    hasher.finalize().into()
}

/// Lower-case hex of a hash, as stored.
pub fn to_hex(hash: &ChainHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses [`to_hex`]'s output back; `None` for anything else.
pub fn from_hex(hex: &str) -> Option<ChainHash> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A sum that would not fit in 64 bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the total for party {party_id} in {currency} does not fit in 64 bits")]
pub struct TotalOverflow {
    /// The party whose total overflows.
    pub party_id: Uuid,
    /// In which currency.
    pub currency: String,
}

/// One party's total in one currency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartyTotal {
    /// The party.
    pub party_id: Uuid,
    /// Currency code.
    pub currency: String,
    /// Sum of the party's entries in that currency, in minor units.
    pub amount_minor: i64,
}

/// Per-party, per-currency sums of `(party, currency, amount)` triples, sorted by party then currency. Sums are
/// accumulated in 128 bits, so only a final total outside `i64` fails, never an intermediate one.
pub fn totals<'a>(entries: impl IntoIterator<Item = (Uuid, &'a str, i64)>) -> Result<Vec<PartyTotal>, TotalOverflow> {
    let mut sums: BTreeMap<(Uuid, &str), i128> = BTreeMap::new();
    for (party, currency, amount) in entries {
        *sums.entry((party, currency)).or_default() += i128::from(amount);
    }
    sums.into_iter()
        .map(|((party_id, currency), sum)| {
            i64::try_from(sum)
                .map(|amount_minor| PartyTotal { party_id, currency: currency.to_owned(), amount_minor })
                .map_err(|_| TotalOverflow { party_id, currency: currency.to_owned() })
        })
        .collect()
}

/// What a closed cycle's checkpoint froze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// How many entries the cycle had.
    pub entry_count: i64,
    /// The last entry's chain hash (the genesis hash for an empty cycle), hex.
    pub chain_hash: String,
    /// The per-party totals.
    pub totals: Vec<PartyTotal>,
}

/// The outcome of checking a checkpoint against the entries as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Whether everything matches.
    pub valid: bool,
    /// How many entries there are now.
    pub entry_count: i64,
    /// The chain hash recomputed from the entries now, hex.
    pub recomputed_hash: String,
    /// The first entry (by position) whose stored hash no longer matches its facts, or whose position is out of
    /// sequence: where the tampering starts.
    pub first_bad_seq: Option<i64>,
    /// Human-readable findings, empty when valid.
    pub problems: Vec<String>,
}

/// Verifies `checkpoint` against `entries` (in position order, each with the hash stored when it was written).
pub fn verify(cycle_id: Uuid, entries: &[(EntryFacts<'_>, &str)], checkpoint: &Checkpoint) -> Verification {
    let mut problems = Vec::new();
    let mut first_bad_seq = None;
    let mut hash = genesis(cycle_id);
    for (expected_seq, (facts, stored)) in (1i64..).zip(entries) {
        hash = chain(&hash, facts);
        if first_bad_seq.is_none() && (facts.seq != expected_seq || to_hex(&hash) != *stored) {
            first_bad_seq = Some(facts.seq);
            problems.push(if facts.seq == expected_seq {
                format!("entry #{} ({}) does not match the hash written with it", facts.seq, facts.id)
            } else {
                format!("entry #{expected_seq} is missing or out of order (found #{})", facts.seq)
            });
        }
    }
    let entry_count = entries.len() as i64;
    if entry_count != checkpoint.entry_count {
        problems.push(format!("the checkpoint froze {} entries, there are {entry_count}", checkpoint.entry_count));
    }
    let recomputed_hash = to_hex(&hash);
    if recomputed_hash != checkpoint.chain_hash {
        problems.push("the chain hash differs from the checkpoint's".to_owned());
    }
    match totals(entries.iter().map(|(f, _)| (f.party_id, f.currency, f.amount_minor))) {
        Ok(now) if now != checkpoint.totals => {
            problems.push("the per-party totals differ from the checkpoint's".into())
        }
        Ok(_) => {}
        Err(overflow) => problems.push(overflow.to_string()),
    }
    Verification { valid: problems.is_empty(), entry_count, recomputed_hash, first_bad_seq, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(seq: i64, party: Uuid, amount: i64, currency: &str) -> EntryFacts<'_> {
        EntryFacts {
            id: Uuid::from_u128(seq as u128),
            seq,
            party_id: party,
            work_id: None,
            recording_id: None,
            kind: "royalty",
            amount_minor: amount,
            currency,
            created_at_micros: seq * 1_000,
        }
    }

    /// Builds entries with their stored hashes and the checkpoint a close would write.
    fn close(cycle: Uuid, entries: &[EntryFacts<'static>]) -> (Vec<(EntryFacts<'static>, String)>, Checkpoint) {
        let mut hash = genesis(cycle);
        let mut stored = Vec::new();
        for e in entries {
            hash = chain(&hash, e);
            stored.push((e.clone(), to_hex(&hash)));
        }
        let totals = totals(entries.iter().map(|e| (e.party_id, e.currency, e.amount_minor))).expect("fits");
        (stored, Checkpoint { entry_count: entries.len() as i64, chain_hash: to_hex(&hash), totals })
    }

    fn as_refs<'a>(v: &'a [(EntryFacts<'static>, String)]) -> Vec<(EntryFacts<'static>, &'a str)> {
        v.iter().map(|(f, h)| (f.clone(), h.as_str())).collect()
    }

    const CURRENCIES: [&str; 3] = ["EUR", "USD", "JPY"];

    fn entries_strategy() -> impl Strategy<Value = Vec<EntryFacts<'static>>> {
        proptest::collection::vec((0u128..4, -MAX_ENTRY_AMOUNT..=MAX_ENTRY_AMOUNT, 0usize..3), 0..60).prop_map(|v| {
            v.into_iter()
                .zip(1i64..)
                .map(|((party, amount, cur), seq)| facts(seq, Uuid::from_u128(party + 100), amount, CURRENCIES[cur]))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn totals_are_exact(entries in entries_strategy()) {
            let got = totals(entries.iter().map(|e| (e.party_id, e.currency, e.amount_minor))).expect("fits");
            // Oracle: the plain arithmetic sum per key, in 128 bits, by a linear scan.
            for t in &got {
                let expected: i128 = entries.iter()
                    .filter(|e| e.party_id == t.party_id && e.currency == t.currency)
                    .map(|e| i128::from(e.amount_minor)).sum();
                prop_assert_eq!(i128::from(t.amount_minor), expected);
            }
            let keys: std::collections::BTreeSet<_> = entries.iter().map(|e| (e.party_id, e.currency)).collect();
            prop_assert_eq!(got.len(), keys.len());
            let grand: i128 = got.iter().map(|t| i128::from(t.amount_minor)).sum();
            prop_assert_eq!(grand, entries.iter().map(|e| i128::from(e.amount_minor)).sum::<i128>());
        }

        #[test]
        fn untouched_entries_verify(entries in entries_strategy()) {
            let cycle = Uuid::from_u128(7);
            let (stored, checkpoint) = close(cycle, &entries);
            let v = verify(cycle, &as_refs(&stored), &checkpoint);
            prop_assert!(v.valid, "{:?}", v.problems);
        }

        #[test]
        fn any_changed_entry_fails(entries in entries_strategy().prop_filter("non-empty", |e| !e.is_empty()),
                                   pick in any::<prop::sample::Index>(), field in 0u8..5, delta in 1i64..1_000) {
            let cycle = Uuid::from_u128(7);
            let (mut stored, checkpoint) = close(cycle, &entries);
            let i = pick.index(stored.len());
            let e = &mut stored[i].0;
            match field {
                0 => e.amount_minor = if e.amount_minor > 0 { e.amount_minor - delta } else { e.amount_minor + delta },
                1 => e.party_id = Uuid::from_u128(999),
                2 => e.currency = if e.currency == "EUR" { "USD" } else { "EUR" },
                3 => e.work_id = Some(Uuid::from_u128(5)),
                _ => e.created_at_micros += delta,
            }
            let v = verify(cycle, &as_refs(&stored), &checkpoint);
            prop_assert!(!v.valid);
            prop_assert_eq!(v.first_bad_seq, Some(i as i64 + 1));
        }

        #[test]
        fn a_deleted_entry_fails(entries in entries_strategy().prop_filter("non-empty", |e| !e.is_empty()),
                                 pick in any::<prop::sample::Index>()) {
            let cycle = Uuid::from_u128(7);
            let (mut stored, checkpoint) = close(cycle, &entries);
            stored.remove(pick.index(stored.len()));
            prop_assert!(!verify(cycle, &as_refs(&stored), &checkpoint).valid);
        }
    }

    #[test]
    fn rehashing_a_changed_entry_still_fails_at_the_checkpoint() {
        // Someone who edits an entry and rewrites every stored hash after it still cannot match the checkpoint.
        let cycle = Uuid::from_u128(1);
        let party = Uuid::from_u128(2);
        let entries = vec![facts(1, party, 100, "EUR"), facts(2, party, 250, "EUR")];
        let (_, checkpoint) = close(cycle, &entries);
        let mut forged = entries.clone();
        forged[0].amount_minor = 10_000;
        let (restored, _) = close(cycle, &forged);
        let v = verify(cycle, &as_refs(&restored), &checkpoint);
        assert!(!v.valid);
        assert!(v.problems.iter().any(|p| p.contains("chain hash")), "{:?}", v.problems);
    }

    #[test]
    fn money_formats_by_currency_exponent() {
        assert_eq!(format_money(123_456, "EUR"), "1234.56 EUR");
        assert_eq!(format_money(-5, "USD"), "\u{2212}0.05 USD");
        assert_eq!(format_money(1250, "JPY"), "1250 JPY");
        assert_eq!(format_money(1250, "KWD"), "1.250 KWD");
        assert_eq!(format_money(i64::MIN, "EUR"), "\u{2212}92233720368547758.08 EUR");
    }

    #[test]
    fn hex_round_trip() {
        let h = genesis(Uuid::from_u128(3));
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn totals_overflow_is_reported_not_wrapped() {
        let party = Uuid::from_u128(1);
        let huge = std::iter::repeat_n((party, "EUR", i64::MAX / 2 + 1), 2);
        assert!(totals(huge).is_err());
        let back = [(party, "EUR", i64::MAX), (party, "EUR", 1), (party, "EUR", -1)];
        assert_eq!(totals(back).expect("fits")[0].amount_minor, i64::MAX);
    }

    #[test]
    fn entry_validation_edges() {
        let ok = EntryInput {
            kind: "Royalty".into(),
            amount_minor: MAX_ENTRY_AMOUNT,
            currency: "eur".into(),
            ..Default::default()
        };
        let entry = ok.validate().expect("valid");
        assert_eq!(entry.currency.as_str(), "EUR");
        assert_eq!(entry.kind, EntryKind::Royalty);
        let negative = EntryInput { amount_minor: -MAX_ENTRY_AMOUNT, ..ok.clone() };
        assert!(negative.validate().is_ok());
        for (bad, field) in [
            (EntryInput { amount_minor: MAX_ENTRY_AMOUNT + 1, ..ok.clone() }, "amountMinor"),
            (EntryInput { amount_minor: 0, ..ok.clone() }, "amountMinor"),
            (EntryInput { amount_minor: i64::MIN, ..ok.clone() }, "amountMinor"),
            (EntryInput { currency: "EU".into(), ..ok.clone() }, "currency"),
            (EntryInput { currency: "€UR".into(), ..ok.clone() }, "currency"),
            (EntryInput { kind: "bonus".into(), ..ok.clone() }, "kind"),
            (EntryInput { memo: Some("m".repeat(MAX_MEMO_CHARS + 1)), ..ok.clone() }, "memo"),
            (EntryInput { work_id: Some(Uuid::nil()), recording_id: Some(Uuid::nil()), ..ok.clone() }, "recordingId"),
        ] {
            let errors = bad.validate().expect_err("invalid");
            assert!(errors.reason_for(field).is_some(), "{field}: {errors}");
        }
        assert!(EntryInput { memo: Some("m".repeat(MAX_MEMO_CHARS)), ..ok }.validate().is_ok());
    }
}

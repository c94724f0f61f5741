//! DDEX ERN 3.4.1 `NewReleaseMessage` import: the releases a label delivers and the deals under which the
//! recipient may exploit them, turned into licenses.
//!
//! Labels and distributors announce releases to shops and streaming services with DDEX "Electronic Release
//! Notification" messages. Besides the metadata (recordings, ISRCs, titles, artists) every message carries a
//! `DealList`: which release may be used how (`CommercialModelType`, `UseType`), where (`TerritoryCode`) and when
//! (`ValidityPeriod`). Omnisonic imports those deals as licenses granted to the message's recipient, so a publisher
//! can see who may use which recording where.
//!
//! The module is pure: [`parse`] takes the XML text and returns an [`ErnMessage`] (no I/O, no async). It reads the
//! document with a streaming `quick-xml` reader instead of building a DOM and keeps what it reads close to the
//! message: header, [`SoundRecording`]s, [`Release`]s and [`Deal`]s. [`ErnMessage::grants`] then derives one
//! [`Grant`] per recording × territory, merging the deals that grant the same thing over overlapping or adjacent
//! periods (an album deal and a track deal usually cover the same recording).
//!
//! What real messages do, and how it is read here:
//! - Element names are matched on their local name, so any namespace prefix works. A root in a DDEX namespace other
//!   than ERN 3 (ERN 4 links artists and resources differently) is refused as [`ErnError::NotErn`].
//! - One `ReleaseDeal` may name several releases (`DealReleaseReference` repeated; the Sony sample covers its 15
//!   track releases with one `ReleaseDeal`), and one `Deal` may have several `ValidityPeriod`s. [`parse`] yields one
//!   [`Deal`] per release × `Deal` element × validity period, so [`Deal::release_reference`] is always one release.
//! - Dates may be `xs:date` (`StartDate`, optionally with a zone) or `xs:dateTime` (`StartDateTime`); the calendar
//!   date as written is kept, without converting to UTC. An `EndDate` is the last day of validity (inclusive).
//! - A deal with `TakeDown` or `AllDealsCancelled` set grants nothing ([`Deal::take_down`]).
//! - ISRCs and territory codes are kept as written in the parsed message; grants upper-case territory codes and read
//!   `Worldwide` as "no territory restriction" (`None`).

mod grants;
mod parser;
#[cfg(test)]
mod tests;

use parser::Parser;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Written as `source` into every grant's `terms`.
const SOURCE: &str = "DDEX ERN 3.4.1";
/// The root element of every accepted message.
const ROOT: &str = "NewReleaseMessage";
/// The longest text one element may hold, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The deepest elements may nest (real messages nest about eight levels).
pub const MAX_DEPTH: usize = 64;
/// The DDEX territory code that means "every territory".
const WORLDWIDE: &str = "Worldwide";

// Element paths below the root, by local name.
const HEADER: &[&str] = &["MessageHeader"];
const SENDER: &[&str] = &["MessageHeader", "MessageSender"];
const RECIPIENT: &[&str] = &["MessageHeader", "MessageRecipient"];
const SOUND_RECORDING: &[&str] = &["ResourceList", "SoundRecording"];
const DETAILS: &[&str] = &["ResourceList", "SoundRecording", "SoundRecordingDetailsByTerritory"];
const DISPLAY_ARTIST: &[&str] =
    &["ResourceList", "SoundRecording", "SoundRecordingDetailsByTerritory", "DisplayArtist"];
const RELEASE: &[&str] = &["ReleaseList", "Release"];
const RELEASE_DEAL: &[&str] = &["DealList", "ReleaseDeal"];
const DEAL: &[&str] = &["DealList", "ReleaseDeal", "Deal"];
const DEAL_TERMS: &[&str] = &["DealList", "ReleaseDeal", "Deal", "DealTerms"];
const VALIDITY: &[&str] = &["DealList", "ReleaseDeal", "Deal", "DealTerms", "ValidityPeriod"];

/// A parsed ERN `NewReleaseMessage`: its header and the recordings, releases and deals it announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErnMessage {
    /// `MessageHeader/MessageId`.
    pub message_id: String,
    /// The sender's `PartyName/FullName` (its `PartyId` when it has no name).
    pub sender: String,
    /// The first recipient's `PartyName/FullName` (its `PartyId` when it has no name): the licensee of every grant.
    pub recipient: String,
    /// `MessageHeader/MessageCreatedDateTime`, as written.
    pub created: Option<String>,
    /// Every `ResourceList/SoundRecording`, in document order.
    pub recordings: Vec<SoundRecording>,
    /// Every `ReleaseList/Release`, in document order.
    pub releases: Vec<Release>,
    /// One entry per release × `Deal` × `ValidityPeriod` of every `DealList/ReleaseDeal`, in document order.
    pub deals: Vec<Deal>,
}

/// One `SoundRecording` resource of the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoundRecording {
    /// `ResourceReference`: the message-local id releases refer to (e.g. `A1`).
    pub reference: String,
    /// `SoundRecordingId/ISRC`, as written.
    pub isrc: Option<String>,
    /// `ReferenceTitle/TitleText`, with ` (SubTitle)` appended when the reference title has a `SubTitle`.
    pub title: String,
    /// The display artists of the first `SoundRecordingDetailsByTerritory`, in `SequenceNumber` order, joined with
    /// `", "`: only those with the `MainArtist` role when any has it, else all of them.
    pub artist: Option<String>,
    /// `Duration` (an ISO 8601 duration such as `PT0H8M10S`) in whole seconds.
    pub duration_seconds: Option<u32>,
}

/// One `Release` of the message: a product (album, track release, …) made of resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// `ReleaseReference`: the message-local id deals refer to (e.g. `R0`).
    pub reference: String,
    /// The first `ReleaseType` (e.g. `Album`, `TrackRelease`).
    pub release_type: Option<String>,
    /// `ReleaseResourceReferenceList/ReleaseResourceReference`, in document order.
    pub resource_references: Vec<String>,
}

/// The terms under which one release may be used over one validity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// The `DealReleaseReference` this deal applies to.
    pub release_reference: String,
    /// `DealTerms/CommercialModelType` (e.g. `PayAsYouGoModel`, `SubscriptionModel`).
    pub commercial_model_types: Vec<String>,
    /// `DealTerms/Usage/UseType` (e.g. `PermanentDownload`, `OnDemandStream`).
    pub use_types: Vec<String>,
    /// `DealTerms/TerritoryCode`, as written (`Worldwide` kept).
    pub territories: Vec<String>,
    /// `DealTerms/ExcludedTerritoryCode`, as written.
    pub excluded_territories: Vec<String>,
    /// The first `DealTerms/PriceInformation/PriceType` (a price tier code such as `B99`).
    pub price_type: Option<String>,
    /// The date of `ValidityPeriod/StartDate` or `StartDateTime`; `None` when the period has no start.
    pub start: Option<NaiveDate>,
    /// The date of `ValidityPeriod/EndDate` or `EndDateTime` (the last valid day); `None` when open-ended.
    pub end: Option<NaiveDate>,
    /// `DealTerms/TakeDown` or `AllDealsCancelled` is true: the deal withdraws the release rather than grants it.
    pub take_down: bool,
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErnError {
    /// The text is not well-formed XML; the message names the byte position.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The document is XML but not an ERN 3 `NewReleaseMessage` (the message says what was found).
    #[error("not a DDEX ERN 3 NewReleaseMessage: {0}")]
    NotErn(String),
    /// A required element is absent or empty (e.g. `MessageId`).
    #[error("required element {0} is missing")]
    Missing(&'static str),
    /// A date is neither an `xs:date` nor an `xs:dateTime`.
    #[error("invalid date {value:?}")]
    BadDate {
        /// The text as written.
        value: String,
    },
    /// An element's text is longer than [`MAX_TEXT_BYTES`] (no field of a real message comes close; a 50 MB title
    /// would otherwise be copied into every grant).
    #[error("the text of <{element}> is longer than {MAX_TEXT_BYTES} bytes")]
    TooLong {
        /// The element's local name.
        element: String,
    },
    /// Elements nest deeper than [`MAX_DEPTH`].
    #[error("elements nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A `Duration` is not an ISO 8601 duration of days, hours, minutes and seconds.
    #[error("invalid duration {value:?}")]
    BadDuration {
        /// The text as written.
        value: String,
    },
}

/// Reads a DDEX ERN 3.4.1 `NewReleaseMessage`.
///
/// Only what licensing needs is kept; everything else (images, technical details, genres, …) is skipped.
pub fn parse(xml: &str) -> Result<ErnMessage, ErnError> {
    Parser::default().run(xml)
}

/// One license a message grants: recording × territory, for the recipient, over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The recording's ISRC, as written in the message.
    pub isrc: String,
    /// The recording's title ([`SoundRecording::title`]).
    pub recording_title: String,
    /// The recording's display artist ([`SoundRecording::artist`]).
    pub artist: Option<String>,
    /// The recording's duration in seconds.
    pub duration_seconds: Option<u32>,
    /// Who may use the recording: the message's recipient.
    pub licensee: String,
    /// An upper-cased territory code; `None` for `Worldwide`.
    pub territory: Option<String>,
    /// The first day of the license.
    pub start: NaiveDate,
    /// The last day of the license; `None` when open-ended.
    pub end: Option<NaiveDate>,
    /// Where the grant comes from: `{"source", "messageId", "sender", "deals": [{"releaseReference", "releaseType",
    /// "commercialModelTypes", "useTypes", "priceType", "start", "end"}, …]}`, listing every merged deal once (a deal
    /// with excluded territories also has `"excludedTerritories"`).
    pub terms: Value,
}

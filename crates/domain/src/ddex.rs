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

impl ErnMessage {
    /// The licenses the message's deals grant to its recipient, one per recording × territory × period.
    ///
    /// Every deal with a start date is followed to its release's resources, and each sound recording with an ISRC
    /// gets a grant for each territory of the deal (`Worldwide` gives `None`; excluded territories are left out).
    /// Deals without a start date, taken-down deals, periods ending before they start and references to unknown
    /// releases or to resources that are not recordings grant nothing. Grants of the same ISRC and territory whose
    /// periods overlap or touch (the next starts at most a day after the previous ends) are merged into one with the
    /// earliest start and the latest end (open-ended wins), and their `terms` list every deal merged. Grants of
    /// different territories are never merged, even `Worldwide` with a country: the caller decides about those.
    ///
    /// Sorted by ISRC, territory (`None` first) and start.
    pub fn grants(&self) -> Vec<Grant> {
        let mut recordings: HashMap<&str, &SoundRecording> = HashMap::new();
        for recording in &self.recordings {
            recordings.entry(recording.reference.as_str()).or_insert(recording);
        }
        let mut releases: HashMap<&str, &Release> = HashMap::new();
        for release in &self.releases {
            releases.entry(release.reference.as_str()).or_insert(release);
        }

        let mut entries: Vec<Value> = Vec::new();
        let mut groups: BTreeMap<(&str, Option<String>), Vec<Piece<'_>>> = BTreeMap::new();
        for deal in &self.deals {
            let Some(start) = deal.start else { continue };
            if deal.take_down || deal.end.is_some_and(|end| end < start) {
                continue;
            }
            let Some(release) = releases.get(deal.release_reference.as_str()) else { continue };
            let territories = grant_territories(deal);
            if territories.is_empty() {
                continue;
            }
            let entry = entries.len();
            entries.push(deal_entry(deal, release));
            let mut seen = HashSet::new();
            for reference in &release.resource_references {
                if !seen.insert(reference.as_str()) {
                    continue;
                }
                let Some(recording) = recordings.get(reference.as_str()) else { continue };
                let Some(isrc) = recording.isrc.as_deref().filter(|isrc| !isrc.is_empty()) else { continue };
                for territory in &territories {
                    let piece = Piece { recording, start, end: deal.end, entry };
                    groups.entry((isrc, territory.clone())).or_default().push(piece);
                }
            }
        }

        let mut grants = Vec::new();
        for ((isrc, territory), mut pieces) in groups {
            pieces.sort_by_key(|piece| (piece.start, piece.end.is_none(), piece.end));
            let mut run: Option<Run<'_>> = None;
            for piece in pieces {
                match run.as_mut() {
                    Some(current) if current.touches(piece.start) => current.absorb(&piece),
                    _ => {
                        if let Some(done) = run.take() {
                            grants.push(self.grant(isrc, &territory, done, &entries));
                        }
                        run = Some(Run::new(&piece));
                    }
                }
            }
            if let Some(done) = run {
                grants.push(self.grant(isrc, &territory, done, &entries));
            }
        }
        grants
    }

    /// Builds the grant for one merged run of deals.
    fn grant(&self, isrc: &str, territory: &Option<String>, run: Run<'_>, entries: &[Value]) -> Grant {
        let mut deals: Vec<Value> = Vec::new();
        for index in run.entries {
            if let Some(entry) = entries.get(index)
                && !deals.contains(entry)
            {
                deals.push(entry.clone());
            }
        }
        Grant {
            isrc: isrc.to_owned(),
            recording_title: run.recording.title.clone(),
            artist: run.recording.artist.clone(),
            duration_seconds: run.recording.duration_seconds,
            licensee: self.recipient.clone(),
            territory: territory.clone(),
            start: run.start,
            end: run.end,
            terms: json!({
                "source": SOURCE,
                "messageId": self.message_id,
                "sender": self.sender,
                "deals": deals,
            }),
        }
    }
}

/// One deal's grant of one recording in one territory, before merging.
struct Piece<'a> {
    recording: &'a SoundRecording,
    start: NaiveDate,
    end: Option<NaiveDate>,
    /// Index of the deal's `terms` entry.
    entry: usize,
}

/// Pieces of the same ISRC and territory merged so far.
struct Run<'a> {
    recording: &'a SoundRecording,
    start: NaiveDate,
    end: Option<NaiveDate>,
    entries: Vec<usize>,
}

impl<'a> Run<'a> {
    fn new(piece: &Piece<'a>) -> Self {
        Run { recording: piece.recording, start: piece.start, end: piece.end, entries: vec![piece.entry] }
    }

    /// Whether a period starting on `start` (not before this run's start) overlaps or touches this run.
    fn touches(&self, start: NaiveDate) -> bool {
        match self.end {
            None => true,
            Some(end) => end.succ_opt().is_none_or(|next| start <= next),
        }
    }

    fn absorb(&mut self, piece: &Piece<'a>) {
        self.end = match (self.end, piece.end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        self.entries.push(piece.entry);
    }
}

/// The territories a deal grants: upper-cased, `Worldwide` as `None`, excluded codes and repeats left out.
fn grant_territories(deal: &Deal) -> Vec<Option<String>> {
    let excluded: HashSet<String> = deal.excluded_territories.iter().map(|code| code.trim().to_uppercase()).collect();
    let mut territories = Vec::new();
    for code in &deal.territories {
        let code = code.trim();
        let territory = if code.eq_ignore_ascii_case(WORLDWIDE) {
            None
        } else if code.is_empty() || excluded.contains(&code.to_uppercase()) {
            continue;
        } else {
            Some(code.to_uppercase())
        };
        if !territories.contains(&territory) {
            territories.push(territory);
        }
    }
    territories
}

/// A deal as listed in a grant's `terms`.
fn deal_entry(deal: &Deal, release: &Release) -> Value {
    let mut entry = json!({
        "releaseReference": deal.release_reference,
        "releaseType": release.release_type,
        "commercialModelTypes": deal.commercial_model_types,
        "useTypes": deal.use_types,
        "priceType": deal.price_type,
        "start": deal.start.map(|date| date.to_string()),
        "end": deal.end.map(|date| date.to_string()),
    });
    if !deal.excluded_territories.is_empty()
        && let Some(object) = entry.as_object_mut()
    {
        object.insert("excludedTerritories".to_owned(), json!(deal.excluded_territories));
    }
    entry
}

/// A message party (sender or recipient) being read.
#[derive(Default)]
struct Party {
    /// How many elements for this party were opened: only the first one counts.
    seen: u32,
    name: Option<String>,
    id: Option<String>,
}

impl Party {
    fn resolve(self, element: &'static str) -> Result<String, ErnError> {
        self.name.or(self.id).ok_or(ErnError::Missing(element))
    }
}

/// A `SoundRecording` being read.
#[derive(Default)]
struct RecordingBuilder {
    reference: Option<String>,
    isrc: Option<String>,
    title: Option<String>,
    subtitle: Option<String>,
    duration: Option<u32>,
    /// How many `SoundRecordingDetailsByTerritory` were opened: artists are read from the first only.
    details_seen: u32,
    artists: Vec<ArtistBuilder>,
}

impl RecordingBuilder {
    fn build(self) -> Result<SoundRecording, ErnError> {
        let reference = self.reference.ok_or(ErnError::Missing("SoundRecording/ResourceReference"))?;
        let title = self.title.ok_or(ErnError::Missing("SoundRecording/ReferenceTitle/TitleText"))?;
        let title = match self.subtitle {
            Some(subtitle) => format!("{title} ({subtitle})"),
            None => title,
        };
        Ok(SoundRecording {
            reference,
            isrc: self.isrc,
            title,
            artist: display_artist(self.artists),
            duration_seconds: self.duration,
        })
    }
}

/// A `DisplayArtist` being read.
#[derive(Default)]
struct ArtistBuilder {
    sequence: Option<u32>,
    name: Option<String>,
    roles: Vec<String>,
}

impl ArtistBuilder {
    fn is_main(&self) -> bool {
        self.roles.iter().any(|role| role == "MainArtist")
    }
}

/// The display artist line: main artists (or all when none is marked main) in sequence order, joined with ", ".
fn display_artist(mut artists: Vec<ArtistBuilder>) -> Option<String> {
    // Stable: artists without a sequence number keep their document order, after the numbered ones.
    artists.sort_by_key(|artist| artist.sequence.unwrap_or(u32::MAX));
    let only_main = artists.iter().any(ArtistBuilder::is_main);
    let mut names: Vec<&str> = Vec::new();
    for artist in &artists {
        if only_main && !artist.is_main() {
            continue;
        }
        if let Some(name) = artist.name.as_deref()
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    if names.is_empty() { None } else { Some(names.join(", ")) }
}

/// A `Release` being read.
#[derive(Default)]
struct ReleaseBuilder {
    reference: Option<String>,
    release_type: Option<String>,
    resources: Vec<String>,
}

/// A `ReleaseDeal` being read.
#[derive(Default)]
struct ReleaseDealBuilder {
    references: Vec<String>,
    deals: Vec<DealBuilder>,
}

/// A `Deal` being read.
#[derive(Default)]
struct DealBuilder {
    commercial_model_types: Vec<String>,
    use_types: Vec<String>,
    territories: Vec<String>,
    excluded_territories: Vec<String>,
    price_type: Option<String>,
    take_down: bool,
    periods: Vec<Period>,
}

/// A `ValidityPeriod`.
#[derive(Default, Clone, Copy)]
struct Period {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
}

/// The streaming reader's state: where it is in the document and what it has read so far.
#[derive(Default)]
struct Parser {
    /// Local names of the open elements, the root first.
    path: Vec<String>,
    /// Text of the innermost open element.
    text: String,
    seen_root: bool,
    message_id: Option<String>,
    created: Option<String>,
    sender: Party,
    recipient: Party,
    recording: Option<RecordingBuilder>,
    artist: Option<ArtistBuilder>,
    release: Option<ReleaseBuilder>,
    release_deal: Option<ReleaseDealBuilder>,
    deal: Option<DealBuilder>,
    period: Option<Period>,
    recordings: Vec<SoundRecording>,
    releases: Vec<Release>,
    deals: Vec<Deal>,
}

impl Parser {
    fn run(mut self, xml: &str) -> Result<ErnMessage, ErnError> {
        let mut reader = Reader::from_str(xml);
        loop {
            let event = reader
                .read_event()
                .map_err(|error| ErnError::Xml(format!("{error} at byte {}", reader.error_position())))?;
            let position = reader.buffer_position();
            match event {
                Event::Start(element) => self.start(&element, position)?,
                Event::Empty(element) => {
                    self.start(&element, position)?;
                    self.end()?;
                }
                Event::End(_) => self.end()?,
                Event::Text(text) => {
                    let text = text.xml10_content().map_err(|error| xml_error(&error, position))?;
                    self.push_text(&text)?;
                }
                Event::CData(data) => {
                    let data = data.xml10_content().map_err(|error| xml_error(&error, position))?;
                    self.push_text(&data)?;
                }
                Event::GeneralRef(reference) => {
                    if let Some(ch) = reference.resolve_char_ref().map_err(|error| xml_error(&error, position))? {
                        self.push_text(ch.encode_utf8(&mut [0; 4]))?;
                    } else {
                        let name = reference.xml10_content().map_err(|error| xml_error(&error, position))?;
                        let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| ErnError::Xml(format!("unknown entity &{name}; before byte {position}")))?;
                        self.push_text(resolved)?;
                    }
                }
                Event::Eof => {
                    if let Some(open) = self.path.last() {
                        return Err(ErnError::Xml(format!("document ends inside <{open}> at byte {position}")));
                    }
                    break;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !self.seen_root {
            return Err(ErnError::Xml("document has no root element".to_owned()));
        }
        self.finish()
    }

    /// Appends to the open element's text, within [`MAX_TEXT_BYTES`] (checked before the text is copied).
    fn push_text(&mut self, text: &str) -> Result<(), ErnError> {
        if self.text.len().saturating_add(text.len()) > MAX_TEXT_BYTES {
            return Err(ErnError::TooLong { element: self.path.last().cloned().unwrap_or_default() });
        }
        self.text.push_str(text);
        Ok(())
    }

    /// Whether the open elements below the root are exactly `prefix` followed by `rest`.
    fn at(&self, prefix: &[&str], rest: &[&str]) -> bool {
        self.path.len() == 1 + prefix.len() + rest.len()
            && self.path[1..].iter().map(String::as_str).eq(prefix.iter().chain(rest).copied())
    }

    fn start(&mut self, element: &BytesStart<'_>, position: u64) -> Result<(), ErnError> {
        let local = std::str::from_utf8(element.local_name().into_inner())
            .map_err(|error| ErnError::Xml(format!("element name is not UTF-8 ({error}) before byte {position}")))?
            .to_owned();
        if self.path.is_empty() {
            if self.seen_root {
                return Err(ErnError::Xml(format!("second root element <{local}> before byte {position}")));
            }
            self.seen_root = true;
            check_root(element, &local)?;
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(ErnError::TooDeep);
        }
        self.path.push(local);
        self.text.clear();

        if self.at(SENDER, &[]) {
            self.sender.seen += 1;
        } else if self.at(RECIPIENT, &[]) {
            self.recipient.seen += 1;
        } else if self.at(SOUND_RECORDING, &[]) {
            self.recording = Some(RecordingBuilder::default());
        } else if self.at(DETAILS, &[]) {
            if let Some(recording) = self.recording.as_mut() {
                recording.details_seen += 1;
            }
        } else if self.at(DISPLAY_ARTIST, &[]) {
            if self.recording.as_ref().is_some_and(|recording| recording.details_seen == 1) {
                self.artist = Some(ArtistBuilder { sequence: sequence_number(element), ..ArtistBuilder::default() });
            }
        } else if self.at(RELEASE, &[]) {
            self.release = Some(ReleaseBuilder::default());
        } else if self.at(RELEASE_DEAL, &[]) {
            self.release_deal = Some(ReleaseDealBuilder::default());
        } else if self.at(DEAL, &[]) {
            self.deal = Some(DealBuilder::default());
        } else if self.at(VALIDITY, &[]) {
            self.period = Some(Period::default());
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), ErnError> {
        let value = self.text.trim().to_owned();
        self.leaf(value)?;
        self.close()?;
        self.path.pop();
        self.text.clear();
        Ok(())
    }

    /// Stores the text of an element that carries a value.
    fn leaf(&mut self, value: String) -> Result<(), ErnError> {
        if self.at(HEADER, &["MessageId"]) {
            set_first(&mut self.message_id, value);
        } else if self.at(HEADER, &["MessageCreatedDateTime"]) {
            set_first(&mut self.created, value);
        } else if self.at(SENDER, &["PartyName", "FullName"]) && self.sender.seen == 1 {
            set_first(&mut self.sender.name, value);
        } else if self.at(SENDER, &["PartyId"]) && self.sender.seen == 1 {
            set_first(&mut self.sender.id, value);
        } else if self.at(RECIPIENT, &["PartyName", "FullName"]) && self.recipient.seen == 1 {
            set_first(&mut self.recipient.name, value);
        } else if self.at(RECIPIENT, &["PartyId"]) && self.recipient.seen == 1 {
            set_first(&mut self.recipient.id, value);
        } else if self.path.len() > 1 + SOUND_RECORDING.len()
            && self.path[1..=SOUND_RECORDING.len()] == *SOUND_RECORDING
        {
            self.recording_leaf(value)?;
        } else if self.path.len() > 1 + RELEASE.len() && self.path[1..=RELEASE.len()] == *RELEASE {
            self.release_leaf(value);
        } else if self.path.len() > 1 + RELEASE_DEAL.len() && self.path[1..=RELEASE_DEAL.len()] == *RELEASE_DEAL {
            self.deal_leaf(value)?;
        }
        Ok(())
    }

    fn recording_leaf(&mut self, value: String) -> Result<(), ErnError> {
        let is_isrc = self.at(SOUND_RECORDING, &["SoundRecordingId", "ISRC"]);
        let is_reference = self.at(SOUND_RECORDING, &["ResourceReference"]);
        let is_title = self.at(SOUND_RECORDING, &["ReferenceTitle", "TitleText"]);
        let is_subtitle = self.at(SOUND_RECORDING, &["ReferenceTitle", "SubTitle"]);
        let is_duration = self.at(SOUND_RECORDING, &["Duration"]);
        let is_artist_name = self.at(DISPLAY_ARTIST, &["PartyName", "FullName"]);
        let is_artist_role = self.at(DISPLAY_ARTIST, &["ArtistRole"]);
        if is_artist_name || is_artist_role {
            if let Some(artist) = self.artist.as_mut() {
                if is_artist_name {
                    set_first(&mut artist.name, value);
                } else if !value.is_empty() {
                    artist.roles.push(value);
                }
            }
            return Ok(());
        }
        let Some(recording) = self.recording.as_mut() else { return Ok(()) };
        if is_isrc {
            set_first(&mut recording.isrc, value);
        } else if is_reference {
            set_first(&mut recording.reference, value);
        } else if is_title {
            set_first(&mut recording.title, value);
        } else if is_subtitle {
            set_first(&mut recording.subtitle, value);
        } else if is_duration && !value.is_empty() && recording.duration.is_none() {
            recording.duration = Some(parse_duration(&value)?);
        }
        Ok(())
    }

    fn release_leaf(&mut self, value: String) {
        let is_reference = self.at(RELEASE, &["ReleaseReference"]);
        let is_type = self.at(RELEASE, &["ReleaseType"]);
        let is_resource = self.at(RELEASE, &["ReleaseResourceReferenceList", "ReleaseResourceReference"]);
        let Some(release) = self.release.as_mut() else { return };
        if is_reference {
            set_first(&mut release.reference, value);
        } else if is_type {
            set_first(&mut release.release_type, value);
        } else if is_resource && !value.is_empty() {
            release.resources.push(value);
        }
    }

    fn deal_leaf(&mut self, value: String) -> Result<(), ErnError> {
        if self.at(RELEASE_DEAL, &["DealReleaseReference"]) {
            if let Some(release_deal) = self.release_deal.as_mut()
                && !value.is_empty()
                && !release_deal.references.contains(&value)
            {
                release_deal.references.push(value);
            }
            return Ok(());
        }
        let is_start = self.at(VALIDITY, &["StartDate"]) || self.at(VALIDITY, &["StartDateTime"]);
        let is_end = self.at(VALIDITY, &["EndDate"]) || self.at(VALIDITY, &["EndDateTime"]);
        if is_start || is_end {
            let date = parse_date(&value)?;
            if let Some(period) = self.period.as_mut() {
                let slot = if is_start { &mut period.start } else { &mut period.end };
                slot.get_or_insert(date);
            }
            return Ok(());
        }
        let is_model = self.at(DEAL_TERMS, &["CommercialModelType"]);
        let is_use = self.at(DEAL_TERMS, &["Usage", "UseType"]);
        let is_territory = self.at(DEAL_TERMS, &["TerritoryCode"]);
        let is_excluded = self.at(DEAL_TERMS, &["ExcludedTerritoryCode"]);
        let is_price = self.at(DEAL_TERMS, &["PriceInformation", "PriceType"]);
        let is_take_down = self.at(DEAL_TERMS, &["TakeDown"]) || self.at(DEAL_TERMS, &["AllDealsCancelled"]);
        let Some(deal) = self.deal.as_mut() else { return Ok(()) };
        if is_price {
            set_first(&mut deal.price_type, value);
        } else if is_take_down {
            deal.take_down |= value == "true" || value == "1";
        } else if !value.is_empty() {
            let list = if is_model {
                &mut deal.commercial_model_types
            } else if is_use {
                &mut deal.use_types
            } else if is_territory {
                &mut deal.territories
            } else if is_excluded {
                &mut deal.excluded_territories
            } else {
                return Ok(());
            };
            list.push(value);
        }
        Ok(())
    }

    /// Completes the record an element closes.
    fn close(&mut self) -> Result<(), ErnError> {
        if self.at(DISPLAY_ARTIST, &[]) {
            if let (Some(artist), Some(recording)) = (self.artist.take(), self.recording.as_mut()) {
                recording.artists.push(artist);
            }
        } else if self.at(SOUND_RECORDING, &[]) {
            if let Some(recording) = self.recording.take() {
                self.recordings.push(recording.build()?);
            }
        } else if self.at(RELEASE, &[]) {
            if let Some(release) = self.release.take() {
                let reference = release.reference.ok_or(ErnError::Missing("Release/ReleaseReference"))?;
                self.releases.push(Release {
                    reference,
                    release_type: release.release_type,
                    resource_references: release.resources,
                });
            }
        } else if self.at(VALIDITY, &[]) {
            if let (Some(period), Some(deal)) = (self.period.take(), self.deal.as_mut()) {
                deal.periods.push(period);
            }
        } else if self.at(DEAL, &[]) {
            if let (Some(deal), Some(release_deal)) = (self.deal.take(), self.release_deal.as_mut()) {
                release_deal.deals.push(deal);
            }
        } else if self.at(RELEASE_DEAL, &[])
            && let Some(release_deal) = self.release_deal.take()
        {
            if release_deal.references.is_empty() {
                return Err(ErnError::Missing("ReleaseDeal/DealReleaseReference"));
            }
            for reference in &release_deal.references {
                for deal in &release_deal.deals {
                    let periods = if deal.periods.is_empty() { vec![Period::default()] } else { deal.periods.clone() };
                    for period in periods {
                        self.deals.push(Deal {
                            release_reference: reference.clone(),
                            commercial_model_types: deal.commercial_model_types.clone(),
                            use_types: deal.use_types.clone(),
                            territories: deal.territories.clone(),
                            excluded_territories: deal.excluded_territories.clone(),
                            price_type: deal.price_type.clone(),
                            start: period.start,
                            end: period.end,
                            take_down: deal.take_down,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ErnMessage, ErnError> {
        Ok(ErnMessage {
            message_id: self.message_id.ok_or(ErnError::Missing("MessageId"))?,
            sender: self.sender.resolve("MessageSender")?,
            recipient: self.recipient.resolve("MessageRecipient")?,
            created: self.created,
            recordings: self.recordings,
            releases: self.releases,
            deals: self.deals,
        })
    }
}

/// Keeps the first non-empty value.
fn set_first(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value);
    }
}

fn xml_error(error: &dyn std::fmt::Display, position: u64) -> ErnError {
    ErnError::Xml(format!("{error} before byte {position}"))
}

/// Refuses a root that is not `NewReleaseMessage`, or one in a namespace other than DDEX ERN 3.
fn check_root(element: &BytesStart<'_>, local: &str) -> Result<(), ErnError> {
    if local != ROOT {
        return Err(ErnError::NotErn(format!("the root element is <{local}>, not <{ROOT}>")));
    }
    let binding = match element.name().prefix() {
        Some(prefix) => [b"xmlns:".as_slice(), prefix.into_inner()].concat(),
        None => b"xmlns".to_vec(),
    };
    for attribute in element.attributes().flatten() {
        if attribute.key.into_inner() == binding.as_slice() {
            let namespace = String::from_utf8_lossy(&attribute.value).trim().to_owned();
            if !namespace.starts_with("http://ddex.net/xml/ern/3") {
                return Err(ErnError::NotErn(format!("the root element is in namespace {namespace:?}, not ERN 3")));
            }
        }
    }
    Ok(())
}

/// The `SequenceNumber` attribute of a `DisplayArtist`, when it is a number.
fn sequence_number(element: &BytesStart<'_>) -> Option<u32> {
    let attribute = element.try_get_attribute("SequenceNumber").ok().flatten()?;
    std::str::from_utf8(&attribute.value).ok()?.trim().parse().ok()
}

/// Reads an `xs:date` (optionally with a zone: `2017-12-15`, `2017-12-15Z`, `2017-12-15+01:00`) or an
/// `xs:dateTime` (`2017-12-15T00:00:00`, optionally with fractions and a zone) and keeps the date as written.
fn parse_date(raw: &str) -> Result<NaiveDate, ErnError> {
    let bad = || ErnError::BadDate { value: raw.to_owned() };
    let text = raw.trim();
    if text.contains('T') {
        if let Ok(datetime) = DateTime::parse_from_rfc3339(text) {
            return Ok(datetime.date_naive());
        }
        return NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|datetime| datetime.date())
            .map_err(|_| bad());
    }
    let (date, zone) = text.split_at_checked(10).ok_or_else(bad)?;
    let digits_at =
        |bytes: &[u8], positions: &[usize]| positions.iter().all(|&i| bytes.get(i).is_some_and(u8::is_ascii_digit));
    let bytes = date.as_bytes();
    let date_shape =
        bytes.get(4) == Some(&b'-') && bytes.get(7) == Some(&b'-') && digits_at(bytes, &[0, 1, 2, 3, 5, 6, 8, 9]);
    let zone_bytes = zone.as_bytes();
    let zone_shape = zone.is_empty()
        || zone == "Z"
        || (zone_bytes.len() == 6
            && matches!(zone_bytes[0], b'+' | b'-')
            && zone_bytes[3] == b':'
            && digits_at(zone_bytes, &[1, 2, 4, 5]));
    if !date_shape || !zone_shape {
        return Err(bad());
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())
}

/// Reads an ISO 8601 duration of days, hours, minutes and seconds (`PT0H8M10S`, `PT3M`, `P1DT2H`, `PT3.5S`) as
/// whole seconds, rounding fractions of a second to the nearest. Years, months and weeks are refused: a recording
/// is not that long, and months have no fixed length.
fn parse_duration(raw: &str) -> Result<u32, ErnError> {
    let bad = || ErnError::BadDuration { value: raw.to_owned() };
    let text = raw.trim();
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) if !time.is_empty() => (days, time),
        Some(_) => return Err(bad()),
        None => (rest, ""),
    };
    let mut total: u64 = 0;
    let mut any = false;
    for (part, units) in [(days, &[('D', 86_400)][..]), (time, &[('H', 3_600), ('M', 60), ('S', 1)][..])] {
        let mut remaining = part;
        let mut next_unit = 0;
        while !remaining.is_empty() {
            let end = remaining.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
            let (number, tail) = remaining.split_at(end);
            let mut chars = tail.chars();
            let unit = chars.next().ok_or_else(bad)?;
            remaining = chars.as_str();
            let offset = units[next_unit..].iter().position(|&(u, _)| u == unit).ok_or_else(bad)?;
            let (_, factor) = units[next_unit + offset];
            next_unit += offset + 1;
            let (whole, fraction) = match number.split_once(['.', ',']) {
                Some((whole, fraction)) if unit == 'S' && remaining.is_empty() => (whole, Some(fraction)),
                Some(_) => return Err(bad()),
                None => (number, None),
            };
            if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let mut seconds = whole.parse::<u64>().map_err(|_| bad())?.checked_mul(factor).ok_or_else(bad)?;
            if let Some(fraction) = fraction {
                if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                if fraction.as_bytes()[0] >= b'5' {
                    seconds = seconds.checked_add(1).ok_or_else(bad)?;
                }
            }
            total = total.checked_add(seconds).ok_or_else(bad)?;
            any = true;
        }
    }
    if !any {
        return Err(bad());
    }
    u32::try_from(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "ddex/ern341_sony_7digital.xml";

    /// The real Sony → 7digital message from the shared test data.
    fn real_xml() -> String {
        let root = std::env::var_os("OMNISONIC_SHARED_DATA").unwrap_or_else(|| {
            panic!("set OMNISONIC_SHARED_DATA to the shared data folder (the one holding {SAMPLE}) to run this test")
        });
        let path = std::path::PathBuf::from(root).join(SAMPLE);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
    }

    fn real() -> ErnMessage {
        parse(&real_xml()).expect("the real message parses")
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn text_and_nesting_are_bounded_while_parsing() {
        let xml = real_xml();
        let at = xml.find("<TitleText>").expect("a title") + "<TitleText>".len();
        let end = at + xml[at..].find("</TitleText>").expect("its end");
        let fits = format!("{}{}{}", &xml[..at], "é".repeat(MAX_TEXT_BYTES / 2), &xml[end..]);
        assert!(parse(&fits).is_ok(), "a title of exactly the limit is read");
        let long = format!("{}{}{}", &xml[..at], "x".repeat(MAX_TEXT_BYTES + 1), &xml[end..]);
        assert_eq!(parse(&long), Err(ErnError::TooLong { element: "TitleText".to_owned() }));
        let by_entities = format!("{}{}{}", &xml[..at], "&amp;".repeat(MAX_TEXT_BYTES + 1), &xml[end..]);
        assert!(matches!(parse(&by_entities), Err(ErnError::TooLong { .. })));
        let deep = format!(
            r#"<ernm:NewReleaseMessage xmlns:ernm="http://ddex.net/xml/ern/341">{}{}</ernm:NewReleaseMessage>"#,
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert_eq!(parse(&deep), Err(ErnError::TooDeep));
    }

    /// A minimal message with one recording (A1, ISRC `USAAA0000001`) in release R1, and the given deals.
    fn message_with_deals(deals: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ernm:NewReleaseMessage xmlns:ernm="http://ddex.net/xml/ern/341" MessageSchemaVersionId="/ern/341">
  <MessageHeader>
    <MessageId>M1</MessageId>
    <MessageSender><PartyId>PADPIDA0000000001</PartyId><PartyName><FullName>Label &amp; Co</FullName></PartyName></MessageSender>
    <MessageRecipient><PartyName><FullName>Shop</FullName></PartyName></MessageRecipient>
    <MessageCreatedDateTime>2018-01-01T00:00:00Z</MessageCreatedDateTime>
  </MessageHeader>
  <ResourceList>
    <SoundRecording>
      <SoundRecordingId><ISRC>USAAA0000001</ISRC></SoundRecordingId>
      <ResourceReference>A1</ResourceReference>
      <ReferenceTitle><TitleText>Song</TitleText></ReferenceTitle>
      <Duration>PT3M</Duration>
    </SoundRecording>
    <Image><ResourceReference>A2</ResourceReference></Image>
  </ResourceList>
  <ReleaseList>
    <Release>
      <ReleaseReference>R1</ReleaseReference>
      <ReleaseResourceReferenceList>
        <ReleaseResourceReference>A1</ReleaseResourceReference>
        <ReleaseResourceReference>A2</ReleaseResourceReference>
      </ReleaseResourceReferenceList>
      <ReleaseType>Single</ReleaseType>
    </Release>
  </ReleaseList>
  <DealList>
    <ReleaseDeal>
      <DealReleaseReference>R1</DealReleaseReference>
      {deals}
    </ReleaseDeal>
  </DealList>
</ernm:NewReleaseMessage>"#
        )
    }

    /// One `Deal` element with the given territory codes and validity period children.
    fn deal(territories: &[&str], period: &str) -> String {
        let codes: String = territories.iter().map(|code| format!("<TerritoryCode>{code}</TerritoryCode>")).collect();
        format!(
            "<Deal><DealTerms><CommercialModelType>PayAsYouGoModel</CommercialModelType>\
             <Usage><UseType>PermanentDownload</UseType></Usage>{codes}\
             <ValidityPeriod>{period}</ValidityPeriod></DealTerms></Deal>"
        )
    }

    fn parse_deals(deals: &str) -> ErnMessage {
        parse(&message_with_deals(deals)).expect("the test message parses")
    }

    #[test]
    fn real_message_header() {
        let message = real();
        assert_eq!(message.message_id, "130295703");
        assert_eq!(message.sender, "Sony Music Entertainment");
        assert_eq!(message.recipient, "7 Digital HD");
        assert_eq!(message.created.as_deref(), Some("2017-12-05T03:32:27.584+01:00"));
    }

    #[test]
    fn real_message_recordings() {
        let xml = real_xml();
        let message = parse(&xml).expect("the real message parses");
        assert_eq!(message.recordings.len(), xml.matches("<SoundRecording>").count());
        let with_isrc: Vec<&str> = message.recordings.iter().filter_map(|r| r.isrc.as_deref()).collect();
        assert_eq!(with_isrc.len(), 15);
        let distinct: HashSet<&str> = with_isrc.iter().copied().collect();
        assert_eq!(distinct.len(), 15);

        let first = &message.recordings[0];
        assert_eq!(first.reference, "A1");
        assert_eq!(first.isrc.as_deref(), Some("ES5021702674"));
        assert_eq!(first.title, "Zarzuela (Remasterizado)");
        // Eleven display artists, two of them main artists; composers and the orchestra are left out.
        assert_eq!(first.artist.as_deref(), Some("Paloma San Basilio, Luis Cobos"));
        assert_eq!(first.duration_seconds, Some(8 * 60 + 10));
        let last = &message.recordings[14];
        assert_eq!(last.reference, "A15");
        assert_eq!(last.title, "No Llores por Mí Argentina (From \"Evita\") (Remasterizado)");
        assert_eq!(last.duration_seconds, Some(5 * 60 + 43));
        assert!(message.recordings.iter().all(|r| r.artist.as_deref() == Some("Paloma San Basilio, Luis Cobos")));
    }

    #[test]
    fn real_message_releases() {
        let message = real();
        assert_eq!(message.releases.len(), 16);
        let album = &message.releases[0];
        assert_eq!(album.reference, "R0");
        assert_eq!(album.release_type.as_deref(), Some("Album"));
        // A1..A15 are the tracks, A16 the cover image; the resource group repeats them and must not count.
        assert_eq!(album.resource_references.len(), 16);
        assert_eq!(album.resource_references[15], "A16");
        let track = &message.releases[1];
        assert_eq!((track.reference.as_str(), track.release_type.as_deref()), ("R1", Some("TrackRelease")));
        assert_eq!(track.resource_references, vec!["A1".to_owned()]);
    }

    #[test]
    fn real_message_deals() {
        let xml = real_xml();
        let message = parse(&xml).expect("the real message parses");
        assert_eq!(xml.matches("<Deal>").count(), 45);

        // The album's ReleaseDeal has 21 Deal elements; the second ReleaseDeal names the 15 track releases at once
        // and has 24, so every track release gets those 24: 21 + 24 = 45 Deal elements, 21 + 15 × 24 deals.
        let mut per_release: BTreeMap<&str, usize> = BTreeMap::new();
        for deal in &message.deals {
            *per_release.entry(deal.release_reference.as_str()).or_default() += 1;
        }
        assert_eq!(per_release.len(), 16);
        assert_eq!(per_release["R0"], 21);
        assert!(per_release.iter().filter(|(r, _)| **r != "R0").all(|(_, n)| *n == 24));
        assert_eq!(per_release["R0"] + per_release["R1"], 45);
        assert_eq!(message.deals.len(), 21 + 15 * 24);

        let first = &message.deals[0];
        assert_eq!(first.release_reference, "R0");
        assert_eq!(first.commercial_model_types, vec!["PayAsYouGoModel".to_owned()]);
        assert_eq!(first.use_types, vec!["PermanentDownload".to_owned()]);
        assert_eq!(first.territories, vec!["AE".to_owned()]);
        assert!(first.excluded_territories.is_empty());
        assert_eq!(first.price_type.as_deref(), Some("B99"));
        assert_eq!(first.start, Some(date("2017-12-15")));
        assert_eq!(first.end, None);
        assert!(!first.take_down);

        // The subscription deal of the track releases: three use types, 31 territories, no price.
        let subscription = message
            .deals
            .iter()
            .find(|d| d.release_reference == "R1" && d.commercial_model_types == ["SubscriptionModel"])
            .expect("a subscription deal for R1");
        assert_eq!(subscription.use_types, ["ConditionalDownload", "NonInteractiveStream", "OnDemandStream"]);
        assert_eq!(subscription.territories.len(), 31);
        assert_eq!(subscription.price_type, None);

        // Quirks of this sample: every deal starts on 2017-12-15 and is open-ended; no exclusions, no take-downs,
        // and every territory is a two-letter ISO code.
        assert!(message.deals.iter().all(|d| d.start == Some(date("2017-12-15")) && d.end.is_none()));
        assert!(message.deals.iter().all(|d| d.excluded_territories.is_empty() && !d.take_down));
        assert!(
            message
                .deals
                .iter()
                .flat_map(|d| &d.territories)
                .all(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    /// Counts the grants the slow way: every (isrc, territory, period) any deal yields, joined into groups by
    /// comparing every pair until nothing changes.
    fn brute_force_grant_count(message: &ErnMessage) -> usize {
        let mut pieces: Vec<(String, Option<String>, NaiveDate, Option<NaiveDate>)> = Vec::new();
        for deal in &message.deals {
            let Some(start) = deal.start else { continue };
            for release in message.releases.iter().filter(|r| r.reference == deal.release_reference) {
                for resource in &release.resource_references {
                    for recording in message.recordings.iter().filter(|r| &r.reference == resource) {
                        let Some(isrc) = &recording.isrc else { continue };
                        for territory in &deal.territories {
                            let territory = (territory != "Worldwide").then(|| territory.to_uppercase());
                            pieces.push((isrc.clone(), territory, start, deal.end));
                        }
                    }
                }
            }
        }
        pieces.sort();
        pieces.dedup();
        let joined = |a: &(String, Option<String>, NaiveDate, Option<NaiveDate>),
                      b: &(String, Option<String>, NaiveDate, Option<NaiveDate>)| {
            let reaches =
                |end: Option<NaiveDate>, start: NaiveDate| end.is_none_or(|end| start <= end + chrono::Days::new(1));
            a.0 == b.0 && a.1 == b.1 && reaches(a.3, b.2) && reaches(b.3, a.2)
        };
        let mut group: Vec<usize> = (0..pieces.len()).collect();
        loop {
            let mut changed = false;
            for i in 0..pieces.len() {
                for j in 0..pieces.len() {
                    if group[i] != group[j] && joined(&pieces[i], &pieces[j]) {
                        let low = group[i].min(group[j]);
                        group[i] = low;
                        group[j] = low;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        group.iter().collect::<HashSet<_>>().len()
    }

    #[test]
    fn real_message_grants() {
        let message = real();
        let grants = message.grants();

        // No two grants of the same ISRC and territory overlap.
        for (i, a) in grants.iter().enumerate() {
            for b in &grants[i + 1..] {
                if a.isrc == b.isrc && a.territory == b.territory {
                    let overlap = a.end.is_none_or(|end| b.start <= end) && b.end.is_none_or(|end| a.start <= end);
                    assert!(!overlap, "{a:?} overlaps {b:?}");
                }
            }
        }

        // Every ISRC of the album has a grant in every territory of the album's deals.
        let album = &message.releases[0];
        let album_isrcs: Vec<&str> = album
            .resource_references
            .iter()
            .filter_map(|reference| message.recordings.iter().find(|r| &r.reference == reference))
            .filter_map(|r| r.isrc.as_deref())
            .collect();
        assert_eq!(album_isrcs.len(), 15);
        let album_territories: HashSet<&str> = message
            .deals
            .iter()
            .filter(|d| d.release_reference == "R0")
            .flat_map(|d| d.territories.iter().map(String::as_str))
            .collect();
        assert_eq!(album_territories.len(), 31);
        for isrc in &album_isrcs {
            for territory in &album_territories {
                assert!(
                    grants.iter().any(|g| g.isrc == *isrc && g.territory.as_deref() == Some(territory)),
                    "no grant of {isrc} in {territory}"
                );
            }
        }

        assert_eq!(grants.len(), brute_force_grant_count(&message));
        assert_eq!(grants.len(), 15 * 31);

        // Sorted by ISRC, then territory.
        let keys: Vec<(&str, Option<&str>, NaiveDate)> =
            grants.iter().map(|g| (g.isrc.as_str(), g.territory.as_deref(), g.start)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);

        // Each grant merges the album deal with the track release's download and subscription deals.
        let first = &grants[0];
        assert_eq!(first.isrc, "ES5021702674");
        assert_eq!(first.territory.as_deref(), Some("AE"));
        assert_eq!(first.licensee, "7 Digital HD");
        assert_eq!(first.recording_title, "Zarzuela (Remasterizado)");
        assert_eq!((first.start, first.end), (date("2017-12-15"), None));
        assert_eq!(first.terms["source"], "DDEX ERN 3.4.1");
        assert_eq!(first.terms["messageId"], "130295703");
        assert_eq!(first.terms["sender"], "Sony Music Entertainment");
        assert_eq!(
            first.terms["deals"],
            json!([
                {"releaseReference": "R0", "releaseType": "Album", "commercialModelTypes": ["PayAsYouGoModel"],
                 "useTypes": ["PermanentDownload"], "priceType": "B99", "start": "2017-12-15", "end": null},
                {"releaseReference": "R1", "releaseType": "TrackRelease", "commercialModelTypes": ["PayAsYouGoModel"],
                 "useTypes": ["PermanentDownload"], "priceType": "T09", "start": "2017-12-15", "end": null},
                {"releaseReference": "R1", "releaseType": "TrackRelease", "commercialModelTypes": ["SubscriptionModel"],
                 "useTypes": ["ConditionalDownload", "NonInteractiveStream", "OnDemandStream"], "priceType": null,
                 "start": "2017-12-15", "end": null},
            ])
        );
        assert!(grants.iter().all(|g| g.terms["deals"].as_array().map(Vec::len) == Some(3)));
    }

    #[test]
    fn not_ern_is_refused() {
        let error = parse(r#"<?xml version="1.0"?><PurchaseOrder><Id>1</Id></PurchaseOrder>"#);
        assert!(matches!(error, Err(ErnError::NotErn(_))), "{error:?}");
        let ern4 =
            r#"<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43"><MessageHeader/></ern:NewReleaseMessage>"#;
        assert!(matches!(parse(ern4), Err(ErnError::NotErn(_))));
    }

    #[test]
    fn malformed_xml_is_an_xml_error() {
        for broken in
            ["<NewReleaseMessage><MessageHeader></NewReleaseMessage>", "<NewReleaseMessage><MessageHeader>", ""]
        {
            match parse(broken) {
                Err(ErnError::Xml(message)) => assert!(message.contains("byte") || broken.is_empty(), "{message}"),
                other => panic!("{broken:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn missing_message_id_is_reported() {
        let xml = message_with_deals("").replace("<MessageId>M1</MessageId>", "");
        assert_eq!(parse(&xml), Err(ErnError::Missing("MessageId")));
    }

    #[test]
    fn header_entities_are_resolved() {
        let message = parse_deals("");
        assert_eq!(message.sender, "Label & Co");
        assert_eq!(message.recipient, "Shop");
        assert_eq!(message.recordings[0].artist, None);
        assert_eq!(message.recordings[0].duration_seconds, Some(180));
    }

    #[test]
    fn end_date_is_parsed() {
        let message = parse_deals(&deal(&["GB"], "<StartDate>2018-01-01</StartDate><EndDate>2018-06-30</EndDate>"));
        assert_eq!(message.deals[0].start, Some(date("2018-01-01")));
        assert_eq!(message.deals[0].end, Some(date("2018-06-30")));
        let grants = message.grants();
        assert_eq!(grants.len(), 1);
        assert_eq!((grants[0].start, grants[0].end), (date("2018-01-01"), Some(date("2018-06-30"))));
        assert_eq!(grants[0].terms["deals"][0]["end"], "2018-06-30");
    }

    #[test]
    fn date_times_keep_their_date() {
        let period =
            "<StartDateTime>2018-03-01T23:30:00-05:00</StartDateTime><EndDateTime>2018-04-01T00:00:00</EndDateTime>";
        let message = parse_deals(&deal(&["US"], period));
        assert_eq!(message.deals[0].start, Some(date("2018-03-01")));
        assert_eq!(message.deals[0].end, Some(date("2018-04-01")));
        let zoned = parse_deals(&deal(&["US"], "<StartDate>2018-03-01Z</StartDate>"));
        assert_eq!(zoned.deals[0].start, Some(date("2018-03-01")));
    }

    #[test]
    fn bad_date_is_refused() {
        for bad in ["2018-02-30", "15/12/2017", "2018-1-5", "2018-01-01T25:00:00"] {
            let error = parse(&message_with_deals(&deal(&["GB"], &format!("<StartDate>{bad}</StartDate>"))));
            assert_eq!(error, Err(ErnError::BadDate { value: bad.to_owned() }));
        }
    }

    #[test]
    fn worldwide_is_no_territory() {
        let grants = parse_deals(&deal(&["Worldwide"], "<StartDate>2018-01-01</StartDate>")).grants();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].territory, None);
        assert_eq!(grants[0].isrc, "USAAA0000001");
        assert_eq!(grants[0].licensee, "Shop");
    }

    #[test]
    fn worldwide_and_a_country_are_both_kept() {
        let deals = deal(&["Worldwide"], "<StartDate>2018-01-01</StartDate>")
            + &deal(&["de"], "<StartDate>2018-02-01</StartDate>");
        let grants = parse_deals(&deals).grants();
        let territories: Vec<Option<&str>> = grants.iter().map(|g| g.territory.as_deref()).collect();
        assert_eq!(territories, [None, Some("DE")]);
    }

    #[test]
    fn deal_without_start_grants_nothing() {
        let message = parse_deals(&deal(&["GB"], "<EndDate>2018-06-30</EndDate>"));
        assert_eq!(message.deals.len(), 1);
        assert_eq!(message.deals[0].start, None);
        assert!(message.grants().is_empty());
        let no_period = "<Deal><DealTerms><TerritoryCode>GB</TerritoryCode></DealTerms></Deal>";
        assert!(parse_deals(no_period).grants().is_empty());
    }

    #[test]
    fn touching_periods_merge() {
        let deals = deal(&["GB"], "<StartDate>2018-01-01</StartDate><EndDate>2018-06-30</EndDate>")
            + &deal(&["GB"], "<StartDate>2018-07-01</StartDate><EndDate>2018-12-31</EndDate>");
        let grants = parse_deals(&deals).grants();
        assert_eq!(grants.len(), 1);
        assert_eq!((grants[0].start, grants[0].end), (date("2018-01-01"), Some(date("2018-12-31"))));
        assert_eq!(grants[0].terms["deals"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn open_end_wins_and_gaps_split() {
        let deals = deal(&["GB"], "<StartDate>2018-01-01</StartDate><EndDate>2018-06-30</EndDate>")
            + &deal(&["GB"], "<StartDate>2018-03-01</StartDate>")
            + &deal(&["FR"], "<StartDate>2018-01-01</StartDate><EndDate>2018-06-30</EndDate>")
            + &deal(&["FR"], "<StartDate>2018-07-02</StartDate><EndDate>2018-12-31</EndDate>");
        let grants = parse_deals(&deals).grants();
        let periods: Vec<(Option<&str>, NaiveDate, Option<NaiveDate>)> =
            grants.iter().map(|g| (g.territory.as_deref(), g.start, g.end)).collect();
        assert_eq!(
            periods,
            [
                (Some("FR"), date("2018-01-01"), Some(date("2018-06-30"))),
                (Some("FR"), date("2018-07-02"), Some(date("2018-12-31"))),
                (Some("GB"), date("2018-01-01"), None),
            ]
        );
    }

    #[test]
    fn identical_deals_are_listed_once() {
        let deals = deal(&["GB", "GB"], "<StartDate>2018-01-01</StartDate>")
            + &deal(&["GB"], "<StartDate>2018-01-01</StartDate>");
        let grants = parse_deals(&deals).grants();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].terms["deals"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn excluded_territories_and_take_downs() {
        let excluded = "<Deal><DealTerms><TerritoryCode>Worldwide</TerritoryCode><TerritoryCode>US</TerritoryCode>\
             <ExcludedTerritoryCode>US</ExcludedTerritoryCode>\
             <ValidityPeriod><StartDate>2018-01-01</StartDate></ValidityPeriod></DealTerms></Deal>";
        let message = parse_deals(excluded);
        assert_eq!(message.deals[0].excluded_territories, ["US"]);
        let grants = message.grants();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].territory, None);
        assert_eq!(grants[0].terms["deals"][0]["excludedTerritories"], json!(["US"]));

        let take_down = "<Deal><DealTerms><TakeDown>true</TakeDown><TerritoryCode>GB</TerritoryCode>\
             <ValidityPeriod><StartDate>2018-01-01</StartDate></ValidityPeriod></DealTerms></Deal>";
        let message = parse_deals(take_down);
        assert!(message.deals[0].take_down);
        assert!(message.grants().is_empty());
    }

    #[test]
    fn display_artists_follow_sequence_and_roles() {
        let artists = r#"<SoundRecordingDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>
            <DisplayArtist SequenceNumber="2"><PartyName><FullName>Second</FullName></PartyName><ArtistRole>MainArtist</ArtistRole></DisplayArtist>
            <DisplayArtist SequenceNumber="3"><PartyName><FullName>Composer</FullName></PartyName><ArtistRole>Composer</ArtistRole></DisplayArtist>
            <DisplayArtist SequenceNumber="1"><PartyName><FullName>First</FullName></PartyName><ArtistRole>MainArtist</ArtistRole></DisplayArtist>
            </SoundRecordingDetailsByTerritory>
            <SoundRecordingDetailsByTerritory><TerritoryCode>US</TerritoryCode>
            <DisplayArtist SequenceNumber="1"><PartyName><FullName>Other</FullName></PartyName><ArtistRole>MainArtist</ArtistRole></DisplayArtist>
            </SoundRecordingDetailsByTerritory>"#;
        let xml = message_with_deals("").replace("<Duration>PT3M</Duration>", artists);
        let recording = &parse(&xml).expect("parses").recordings[0];
        assert_eq!(recording.artist.as_deref(), Some("First, Second"));
        assert_eq!(recording.duration_seconds, None);

        let no_main = xml.replace("MainArtist", "FeaturedArtist");
        let recording = &parse(&no_main).expect("parses").recordings[0];
        assert_eq!(recording.artist.as_deref(), Some("First, Second, Composer"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H2M3S"), Ok(3723));
        assert_eq!(parse_duration("PT3M"), Ok(180));
        assert_eq!(parse_duration("PT0H8M10S"), Ok(490));
        assert_eq!(parse_duration("P1DT1S"), Ok(86_401));
        assert_eq!(parse_duration("PT3.5S"), Ok(4));
        assert_eq!(parse_duration("PT3.4S"), Ok(3));
        for bad in ["", "P", "PT", "3M", "PT3X", "PT3S2M", "P1M", "PT1.5M", "PTM", "PT-3S", "PT99999999999999999999S"] {
            assert_eq!(parse_duration(bad), Err(ErnError::BadDuration { value: bad.to_owned() }), "{bad}");
        }
        let xml = message_with_deals("").replace("PT3M", "3 minutes");
        assert_eq!(parse(&xml), Err(ErnError::BadDuration { value: "3 minutes".to_owned() }));
    }
}

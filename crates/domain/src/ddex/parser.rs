//! The streaming reader: `quick-xml` events to the parts of an [`super::ErnMessage`] licensing needs.

use super::*;

/// A message party (sender or recipient) being read.
#[derive(Default)]
pub(super) struct Party {
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
pub(super) struct RecordingBuilder {
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
pub(super) struct ArtistBuilder {
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
pub(super) fn display_artist(mut artists: Vec<ArtistBuilder>) -> Option<String> {
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
pub(super) struct ReleaseBuilder {
    reference: Option<String>,
    release_type: Option<String>,
    resources: Vec<String>,
}

/// A `ReleaseDeal` being read.
#[derive(Default)]
pub(super) struct ReleaseDealBuilder {
    references: Vec<String>,
    deals: Vec<DealBuilder>,
}

/// A `Deal` being read.
#[derive(Default)]
pub(super) struct DealBuilder {
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
pub(super) struct Period {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
}

/// The streaming reader's state: where it is in the document and what it has read so far.
#[derive(Default)]
pub(super) struct Parser {
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
    pub(super) fn run(mut self, xml: &str) -> Result<ErnMessage, ErnError> {
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
pub(super) fn set_first(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value);
    }
}

pub(super) fn xml_error(error: &dyn std::fmt::Display, position: u64) -> ErnError {
    ErnError::Xml(format!("{error} before byte {position}"))
}

/// Refuses a root that is not `NewReleaseMessage`, or one in a namespace other than DDEX ERN 3.
pub(super) fn check_root(element: &BytesStart<'_>, local: &str) -> Result<(), ErnError> {
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
pub(super) fn sequence_number(element: &BytesStart<'_>) -> Option<u32> {
    let attribute = element.try_get_attribute("SequenceNumber").ok().flatten()?;
    std::str::from_utf8(&attribute.value).ok()?.trim().parse().ok()
}

/// Reads an `xs:date` (optionally with a zone: `2017-12-15`, `2017-12-15Z`, `2017-12-15+01:00`) or an
/// `xs:dateTime` (`2017-12-15T00:00:00`, optionally with fractions and a zone) and keeps the date as written.
pub(super) fn parse_date(raw: &str) -> Result<NaiveDate, ErnError> {
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
pub(super) fn parse_duration(raw: &str) -> Result<u32, ErnError> {
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

//! Grants: one license per recording × territory × period, merging the deals that grant the same thing.

use super::*;

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
pub(super) struct Piece<'a> {
    recording: &'a SoundRecording,
    start: NaiveDate,
    end: Option<NaiveDate>,
    /// Index of the deal's `terms` entry.
    entry: usize,
}

/// Pieces of the same ISRC and territory merged so far.
pub(super) struct Run<'a> {
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
pub(super) fn grant_territories(deal: &Deal) -> Vec<Option<String>> {
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
pub(super) fn deal_entry(deal: &Deal, release: &Release) -> Value {
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

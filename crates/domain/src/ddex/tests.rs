//! The DDEX ERN import against the real Sony → 7digital message and hand-made edge cases.

use super::parser::*;
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
    for broken in ["<NewReleaseMessage><MessageHeader></NewReleaseMessage>", "<NewReleaseMessage><MessageHeader>", ""] {
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
    let deals =
        deal(&["Worldwide"], "<StartDate>2018-01-01</StartDate>") + &deal(&["de"], "<StartDate>2018-02-01</StartDate>");
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
    let deals =
        deal(&["GB", "GB"], "<StartDate>2018-01-01</StartDate>") + &deal(&["GB"], "<StartDate>2018-01-01</StartDate>");
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

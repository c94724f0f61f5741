//! Tracks of a session: adding one (optionally playing an upload, probed first) and changing its mix settings.

use super::*;

/// A track form as submitted.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct TrackForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) gain_db: String,
    #[serde(default)]
    pub(super) pan: String,
    #[serde(default)]
    pub(super) start_offset_samples: String,
    #[serde(default)]
    pub(super) mute: Option<String>,
    #[serde(default)]
    pub(super) solo: Option<String>,
    /// An upload of the owner's that the track plays.
    #[serde(default)]
    pub(super) upload_id: Option<String>,
}

impl Default for TrackForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            gain_db: "0".into(),
            pan: "0".into(),
            start_offset_samples: "0".into(),
            mute: None,
            solo: None,
            upload_id: None,
        }
    }
}

impl TrackForm {
    pub(super) fn parse(&self) -> Result<TrackInput, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut number = |field: &str, raw: &str| -> f64 {
            match raw.trim() {
                "" => 0.0,
                s => s.parse::<f64>().ok().filter(|v| v.is_finite()).unwrap_or_else(|| {
                    errors.add(field, "must be a number");
                    0.0
                }),
            }
        };
        let gain_db = number("gain_db", &self.gain_db);
        let pan = number("pan", &self.pan);
        let start_offset_samples = match self.start_offset_samples.trim() {
            "" => 0,
            s => s.parse::<i64>().unwrap_or_else(|_| {
                errors.add("start_offset_samples", "must be a whole number of samples");
                0
            }),
        };
        let input = TrackInput {
            name: self.name.clone(),
            gain_db,
            pan,
            mute: self.mute.is_some(),
            solo: self.solo.is_some(),
            start_offset_samples,
        };
        let validated = input.validate();
        match validated {
            Ok(t) if errors.is_empty() => Ok(t),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.merge(errors);
                Err(more)
            }
        }
    }
}

pub(super) async fn add_track(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<TrackForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let id = session.id;
    // A track may play one of the owner's uploads — never somebody else's.
    let upload = match form.upload_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(upload_id) => match omnisonic_store::uploads::get_upload(&state.db, upload_id).await {
                Ok(upload) if omnisonic_app::access::is_owner(&upload, me.user.id) => Some(upload),
                Ok(_) => {
                    return forbidden_page(
                        &viewer,
                        "That upload belongs to another user.",
                        format!("/studio/sessions/{id}"),
                    );
                }
                Err(err) => return page_error(err, &uri),
            },
            Err(_) => return not_found_page(&uri),
        },
    };
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            let problems = PageProblems { track: errors, export: None };
            return detail_page(&state, &viewer, &me, &uri, id, form, problems).await;
        }
    };
    let Some(upload) = upload else {
        return match store::add_track(&state.db, id, &input, None).await {
            Ok(track) => {
                track_changed(&state, &track, "added").await;
                see_other(format!("/studio/sessions/{id}#tracks-heading"))
            }
            Err(err) => page_error(err, &uri),
        };
    };
    // The audio is checked now, not at export time: a file that cannot be mixed is refused with the reason.
    let streams = match crate::audio::probe_upload(&state, &upload).await {
        Ok(streams) => streams,
        Err(crate::audio::ProbeFailure::NotAudio(reason)) => {
            let mut errors = ValidationErrors::default();
            errors.add("upload_id", format!("{} cannot be a track: {reason}", upload.file_name));
            let problems = PageProblems { track: errors, export: None };
            return detail_page(&state, &viewer, &me, &uri, id, TrackForm::default(), problems).await;
        }
        Err(crate::audio::ProbeFailure::Internal(err)) => {
            tracing::error!(error = %err, "could not probe an upload");
            return super::super::server_error_page();
        }
    };
    for planned in crate::audio::tracks_for(&input, &upload, &streams) {
        match store::add_track(&state.db, id, &planned.input, Some(planned.source)).await {
            Ok(track) => track_changed(&state, &track, "added").await,
            Err(err) => return page_error(err, &uri),
        }
    }
    see_other(format!("/studio/sessions/{id}#tracks-heading"))
}

/// Tells the session's room that a track changed.
pub(super) async fn track_changed(state: &AppState, track: &track::Model, change: &str) {
    let data = serde_json::json!({
        "sessionId": track.session_id,
        "trackId": track.id,
        "change": change,
        "name": track.name,
        "gainDb": track.gain_db,
        "pan": track.pan,
        "mute": track.mute,
        "solo": track.solo,
        "startOffsetSamples": track.start_offset_samples,
    });
    state.publish_to_session(track.session_id, &SessionEvent::TrackUpdated(data)).await;
}

pub(super) async fn to_detail_of_track(Path((id, _track)): Path<(String, String)>) -> Response {
    see_other(format!("/studio/sessions/{id}"))
}

/// Changes a track's mix settings (name, gain, pan, mute, solo, offset).
pub(super) async fn update_track(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path((id, track_id)): Path<(String, String)>,
    Form(form): Form<TrackForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(track_id) = parse_id(&track_id) else { return not_found_page(&uri) };
    match store::get_track(&state.db, track_id).await {
        Ok(track) if track.session_id == session.id => {}
        Ok(_) => return not_found_page(&uri),
        Err(err) => return page_error(err, &uri),
    }
    match form.parse() {
        Ok(input) => match store::update_track(&state.db, track_id, &input).await {
            Ok(track) => {
                track_changed(&state, &track, "updated").await;
                see_other(format!("/studio/sessions/{}#track-{track_id}", session.id))
            }
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => {
            let problems = PageProblems { track: errors, export: None };
            detail_page(&state, &viewer, &me, &uri, session.id, form, problems).await
        }
    }
}

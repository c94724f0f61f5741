//! Studio sessions: the list, creating one, its edit form, updating and deleting it.

use super::*;

/// A session form as submitted: every field a string, so bad numbers become field errors, not 400s.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct SessionForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) bpm: String,
    #[serde(default)]
    pub(super) sample_rate: String,
}

/// What the session form template shows.
pub(super) struct SessionFormView {
    pub(super) action: String,
    pub(super) submit_label: &'static str,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) bpm: String,
    pub(super) sample_rate: String,
    pub(super) errors: ValidationErrors,
}

impl SessionForm {
    pub(super) fn parse(&self) -> Result<omnisonic_domain::studio::StudioSessionFields, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let bpm = match self.bpm.trim() {
            "" => None,
            s => s.parse::<i32>().map_err(|_| errors.add("bpm", "must be a whole number")).ok(),
        };
        let sample_rate = self.sample_rate.trim().parse::<i32>().unwrap_or(0);
        let input = StudioSessionInput {
            title: self.title.clone(),
            description: Some(self.description.clone()),
            bpm,
            sample_rate,
        };
        match input.validate() {
            Ok(fields) if errors.is_empty() => Ok(fields),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.merge(errors);
                Err(more)
            }
        }
    }

    pub(super) fn view(self, action: String, submit_label: &'static str, errors: ValidationErrors) -> SessionFormView {
        SessionFormView {
            action,
            submit_label,
            title: self.title,
            description: self.description,
            bpm: self.bpm,
            sample_rate: self.sample_rate,
            errors,
        }
    }

    pub(super) fn from_session(s: &studio_session::Model) -> Self {
        Self {
            title: s.title.clone(),
            description: s.description.clone().unwrap_or_default(),
            bpm: s.bpm.map(|b| b.to_string()).unwrap_or_default(),
            sample_rate: s.sample_rate.to_string(),
        }
    }
}

pub(super) fn new_session_form() -> SessionForm {
    SessionForm { sample_rate: "48000".to_owned(), ..Default::default() }
}

#[derive(Template)]
#[template(path = "studio/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) sessions: Vec<studio_session::Model>,
    pub(super) form: SessionFormView,
    pub(super) sample_rates: &'static [i32],
}

pub(super) async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    me: &SignedIn,
    uri: &Uri,
    form: SessionFormView,
    status: StatusCode,
) -> Response {
    match store::list_sessions(&state.db, me.user.id).await {
        Ok(sessions) => render(
            status,
            &ListPage { chrome: Chrome::new("studio", viewer), sessions, form, sample_rates: SAMPLE_RATES },
        ),
        Err(err) => page_error(err, uri),
    }
}

pub(super) async fn list(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    let form = new_session_form().view("/studio/sessions".into(), "Create session", ValidationErrors::default());
    list_page(&state, &viewer, &me, &uri, form, StatusCode::OK).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Form(form): Form<SessionForm>,
) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    match form.parse() {
        Ok(fields) => match store::create_session(&state.db, me.user.id, &fields).await {
            Ok(session) => see_other(format!("/studio/sessions/{}", session.id)),
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => {
            let view = form.view("/studio/sessions".into(), "Create session", errors);
            list_page(&state, &viewer, &me, &uri, view, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Template)]
#[template(path = "studio/edit.html")]
pub(super) struct EditPage {
    pub(super) chrome: Chrome,
    pub(super) id: Uuid,
    pub(super) original_title: String,
    pub(super) form: SessionFormView,
    pub(super) sample_rates: &'static [i32],
}

pub(super) fn edit_page(
    viewer: &Viewer,
    session: studio_session::Model,
    form: Option<SessionForm>,
    errors: ValidationErrors,
) -> Response {
    let id = session.id;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = form.unwrap_or_else(|| SessionForm::from_session(&session));
    let view = form.view(format!("/studio/sessions/{id}"), "Save changes", errors);
    render(
        status,
        &EditPage {
            chrome: Chrome::new("studio", viewer),
            id,
            original_title: session.title,
            form: view,
            sample_rates: SAMPLE_RATES,
        },
    )
}

pub(super) async fn edit(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => edit_page(&viewer, session, None, ValidationErrors::default()),
        Err(response) => response,
    }
}

pub(super) async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<SessionForm>,
) -> Response {
    let session = match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => session,
        Err(response) => return response,
    };
    match form.parse() {
        Ok(fields) => match store::update_session(&state.db, session.id, &fields).await {
            Ok(saved) => {
                let data = serde_json::json!({
                    "sessionId": saved.id,
                    "title": saved.title,
                    "bpm": saved.bpm,
                    "sampleRate": saved.sample_rate,
                });
                state.publish_to_session(saved.id, &SessionEvent::SessionUpdated(data)).await;
                see_other(format!("/studio/sessions/{}", saved.id))
            }
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => edit_page(&viewer, session, Some(form), errors),
    }
}

pub(super) async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let session = match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => session,
        Err(response) => return response,
    };
    match store::delete_session(&state.db, session.id).await {
        Ok(()) => see_other("/studio".to_owned()),
        Err(err) => page_error(err, &uri),
    }
}

//! Exports on a session page: the list with progress, and the owner's export button.

use super::*;

/// An export as the session page lists it.
pub(super) struct ExportItem {
    pub(super) id: Uuid,
    pub(super) created: String,
    pub(super) label: String,
    pub(super) status: String,
    pub(super) progress: i32,
    pub(super) size: String,
    pub(super) error: String,
}

impl ExportItem {
    pub(super) fn new(row: omnisonic_store::entities::export::Model) -> Self {
        let label = omnisonic_domain::export::ExportFormat::from_columns(&row.format, row.bit_depth, row.bitrate_kbps)
            .map_or_else(|| row.format.to_ascii_uppercase(), |format| format.label());
        Self {
            id: row.id,
            created: row.created_at.format("%Y-%m-%d %H:%M").to_string(),
            label,
            status: row.status,
            progress: row.progress,
            size: row.file_size.map(human_size).unwrap_or_default(),
            error: row.error_message.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ExportForm {
    #[serde(default)]
    pub(super) format: String,
}

/// Asks for a mixdown from the session page (the owner's export button).
pub(super) async fn create_export(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<ExportForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let format = omnisonic_domain::export::ExportFormat::from_choice(&form.format);
    match omnisonic_app::exports::request_export(&state.app, me.user.id, &session, format).await {
        Ok(_) => see_other(format!("/studio/sessions/{}#exports-heading", session.id)),
        Err(omnisonic_app::AppError::Invalid(errors)) => {
            let reason = errors.0.first().map_or("the export was refused", |e| e.reason.as_str()).to_owned();
            let problems = PageProblems { track: ValidationErrors::default(), export: Some(reason) };
            detail_page(&state, &viewer, &me, &uri, session.id, TrackForm::default(), problems).await
        }
        Err(err) => {
            tracing::error!(error = %err, "could not queue an export");
            super::super::server_error_page()
        }
    }
}

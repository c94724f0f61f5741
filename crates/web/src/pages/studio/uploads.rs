//! The owner's uploads on a session page, and deleting one from there.

use super::*;

/// An upload as the session page lists it.
pub(super) struct UploadItem {
    pub(super) id: Uuid,
    pub(super) file_name: String,
    pub(super) size: String,
    pub(super) mime_type: String,
    pub(super) url: String,
    pub(super) in_this_session: bool,
    /// The file name cut to a track name's length.
    pub(super) track_name: String,
}

pub(super) fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    } else if bytes >= 1024.0 {
        format!("{:.0} KB", bytes / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

pub(super) async fn delete_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path((id, upload_id)): Path<(String, String)>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(upload_id) = parse_id(&upload_id) else { return not_found_page(&uri) };
    let upload = match omnisonic_store::uploads::get_upload(&state.db, upload_id).await {
        Ok(upload) if omnisonic_app::access::is_owner(&upload, me.user.id) => upload,
        Ok(_) => {
            return forbidden_page(
                &viewer,
                "That upload belongs to another user.",
                format!("/studio/sessions/{}", session.id),
            );
        }
        Err(err) => return page_error(err, &uri),
    };
    let aborted = match upload.multipart_id.as_deref() {
        Some(multipart_id) => state.storage.abort_direct(&upload.storage_key, multipart_id).await,
        None => Ok(()),
    };
    if let Err(err) = aborted.and(state.storage.delete(&upload.storage_key).await) {
        tracing::error!(error = %err, "could not delete an upload's object");
        return super::super::server_error_page();
    }
    match omnisonic_store::uploads::delete_upload(&state.db, upload.id).await {
        Ok(()) => see_other(format!("/studio/sessions/{}#uploads-heading", session.id)),
        Err(err) => page_error(err, &uri),
    }
}

//! Who may touch a user's things: studio sessions, uploads, exports and bulk imports belong to the user who made
//! them, and only that user may change (or, for private things, see) them. One check, for every transport.

use crate::AppError;
use omnisonic_store::entities::{bulk_import_job, export, studio_session, upload};
use uuid::Uuid;

/// Something a user owns.
pub trait Owned {
    /// What people call it (`upload`, `studio session`, …).
    const KIND: &'static str;
    /// Its owner; `None` for things no user owns (imports made from the command line).
    fn owner(&self) -> Option<Uuid>;
}

impl Owned for studio_session::Model {
    const KIND: &'static str = "studio session";
    fn owner(&self) -> Option<Uuid> {
        Some(self.user_id)
    }
}

impl Owned for upload::Model {
    const KIND: &'static str = "upload";
    fn owner(&self) -> Option<Uuid> {
        Some(self.user_id)
    }
}

impl Owned for export::Model {
    const KIND: &'static str = "export";
    fn owner(&self) -> Option<Uuid> {
        Some(self.user_id)
    }
}

impl Owned for bulk_import_job::Model {
    const KIND: &'static str = "import";
    fn owner(&self) -> Option<Uuid> {
        self.user_id
    }
}

/// `thing` when `user` owns it; [`AppError::Forbidden`] ("this upload belongs to another user") otherwise. The
/// refusal is logged with who asked.
pub fn owned_by<T: Owned>(thing: T, user: Uuid) -> Result<T, AppError> {
    if thing.owner() == Some(user) {
        return Ok(thing);
    }
    tracing::info!(user_id = %user, kind = T::KIND, "refused: not the owner");
    Err(AppError::Forbidden(format!("this {} belongs to another user", T::KIND)))
}

/// Whether `user` owns `thing` (for views that show owners more than others).
pub fn is_owner<T: Owned>(thing: &T, user: Uuid) -> bool {
    thing.owner() == Some(user)
}

/// `Ok` when `user` holds `role` (editors manage feed sources, aliases and re-tags); [`AppError::Forbidden`]
/// otherwise.
pub async fn require_role(
    db: &omnisonic_store::Db,
    user: Uuid,
    role: omnisonic_domain::account::StaffRole,
) -> Result<(), AppError> {
    let roles = omnisonic_store::auth::roles_of(&**db, user).await?;
    if roles.iter().any(|r| r == role.as_str()) {
        return Ok(());
    }
    tracing::info!(user_id = %user, role = role.as_str(), "refused: missing role");
    Err(AppError::Forbidden(format!("this needs the {} role", role.as_str())))
}

//! `auth_sessions`: server-side sign-in sessions (spec 1.1's `Session`, renamed to keep it apart from studio
//! sessions). The key is the SHA-256 of the cookie's session id, so a leaked table cannot be replayed as cookies.

use sea_orm::entity::prelude::*;

/// A sign-in session row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    /// Hex SHA-256 of the session id in the cookie.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The signed-in user, once there is one (anonymous sessions carry only CSRF and OAuth state).
    pub user_id: Option<Uuid>,
    /// The session's data as a JSON object.
    pub data: String,
    /// When it stops being valid (moved forward on activity).
    pub expires_at: DateTimeUtc,
    /// When it was first stored.
    pub created_at: DateTimeUtc,
}

/// Sign-in sessions relate to nothing the store navigates.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

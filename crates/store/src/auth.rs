//! Users, their provider accounts, server-side sign-in sessions and one-time email tokens.
//!
//! Nothing here knows about HTTP or cookies: the web crate hashes session ids and tokens before they reach the
//! store, so the tables never hold a value that would sign anybody in.

use crate::StoreError;
use crate::entities::{account, auth_session, user, verification_token};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

/// A user to create.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// Email address, already normalised (trimmed, lower-cased).
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// Whether the email is known to belong to the person (the provider verified it).
    pub email_verified: bool,
    /// argon2 PHC string, for development credentials.
    pub password_hash: Option<String>,
}

/// A user with the providers they can sign in with.
#[derive(Clone, Debug)]
pub struct UserSummary {
    /// The user.
    pub user: user::Model,
    /// Linked providers (`github`, …), plus `credentials` when a password is set.
    pub providers: Vec<String>,
}

fn user_row(new: NewUser, now: DateTime<Utc>) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email),
        name: Set(new.name),
        image: Set(new.image),
        email_verified_at: Set(new.email_verified.then_some(now)),
        password_hash: Set(new.password_hash),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Creates a user; [`StoreError::Conflict`] on `email` when the address is taken.
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model, StoreError> {
    Ok(user::Entity::insert(user_row(new, Utc::now())).exec_with_returning(db).await?)
}

/// The user with this id.
pub async fn get_user(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, StoreError> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// The user with this (normalised) email address.
pub async fn user_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<user::Model>, StoreError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?)
}

/// Every user, oldest first, with their sign-in methods.
pub async fn list_users(db: &impl ConnectionTrait) -> Result<Vec<UserSummary>, StoreError> {
    let users =
        user::Entity::find().order_by_asc(user::Column::CreatedAt).order_by_asc(user::Column::Id).all(db).await?;
    let accounts = account::Entity::find().order_by_asc(account::Column::Provider).all(db).await?;
    Ok(users
        .into_iter()
        .map(|user| {
            let mut providers: Vec<String> =
                accounts.iter().filter(|a| a.user_id == user.id).map(|a| a.provider.clone()).collect();
            if user.password_hash.is_some() {
                providers.push("credentials".to_owned());
            }
            UserSummary { user, providers }
        })
        .collect())
}

/// Disables or re-enables a user. Disabling also revokes every sign-in session the user has.
pub async fn set_user_disabled(db: &DatabaseConnection, id: Uuid, disabled: bool) -> Result<user::Model, StoreError> {
    let txn = db.begin().await?;
    let current = get_user(&txn, id).await?.ok_or(StoreError::NotFound { entity: "user", id: id.to_string() })?;
    let now = Utc::now();
    let mut row: user::ActiveModel = current.into();
    row.disabled_at = Set(disabled.then_some(now));
    row.updated_at = Set(now);
    let updated = row.update(&txn).await?;
    if disabled {
        revoke_user_sessions(&txn, id).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// The user a provider account signs in as.
pub async fn user_for_account(
    db: &impl ConnectionTrait,
    provider: &str,
    provider_account_id: &str,
) -> Result<Option<user::Model>, StoreError> {
    let Some(account) = account::Entity::find()
        .filter(account::Column::Provider.eq(provider))
        .filter(account::Column::ProviderAccountId.eq(provider_account_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    get_user(db, account.user_id).await
}

fn account_row(user_id: Uuid, provider: &str, provider_account_id: &str) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        provider: Set(provider.to_owned()),
        provider_account_id: Set(provider_account_id.to_owned()),
        created_at: Set(Utc::now()),
    }
}

/// First sign-in with a provider: creates the user and links the account, in one transaction.
///
/// [`StoreError::Conflict`] on `email` when another user already has the address — accounts are never linked
/// by email automatically (that would hand an account to whoever controls a matching address at any provider).
pub async fn create_user_with_account(
    db: &DatabaseConnection,
    new: NewUser,
    provider: &str,
    provider_account_id: &str,
) -> Result<user::Model, StoreError> {
    let txn = db.begin().await?;
    let user = user::Entity::insert(user_row(new, Utc::now())).exec_with_returning(&txn).await?;
    account::Entity::insert(account_row(user.id, provider, provider_account_id)).exec_without_returning(&txn).await?;
    txn.commit().await?;
    Ok(user)
}

/// Links a provider account to a signed-in user. [`StoreError::Conflict`] on `provider` when the account already
/// belongs to a user (this one or another).
pub async fn link_account(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    provider: &str,
    provider_account_id: &str,
) -> Result<(), StoreError> {
    account::Entity::insert(account_row(user_id, provider, provider_account_id)).exec_without_returning(db).await?;
    Ok(())
}

/// The provider accounts linked to a user.
pub async fn accounts_of(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<account::Model>, StoreError> {
    Ok(account::Entity::find()
        .filter(account::Column::UserId.eq(user_id))
        .order_by_asc(account::Column::Provider)
        .all(db)
        .await?)
}

/// Sets (or clears) a user's development password hash.
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: Option<String>,
) -> Result<user::Model, StoreError> {
    let current = get_user(db, id).await?.ok_or(StoreError::NotFound { entity: "user", id: id.to_string() })?;
    let mut row: user::ActiveModel = current.into();
    row.password_hash = Set(password_hash);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Marks a user's email as proven (an email link was used).
pub async fn mark_email_verified(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A stored sign-in session, keyed by the hash of its id.
#[derive(Clone, Debug)]
pub struct StoredSession {
    /// Hex SHA-256 of the session id.
    pub id_hash: String,
    /// The signed-in user, if any.
    pub user_id: Option<Uuid>,
    /// JSON object.
    pub data: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// Loads a session that has not expired.
pub async fn load_session(db: &impl ConnectionTrait, id_hash: &str) -> Result<Option<StoredSession>, StoreError> {
    Ok(auth_session::Entity::find_by_id(id_hash.to_owned())
        .filter(auth_session::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .map(|row| StoredSession { id_hash: row.id, user_id: row.user_id, data: row.data, expires_at: row.expires_at }))
}

/// Inserts a new session; `false` when the id is taken (the caller picks another).
pub async fn insert_session(db: &impl ConnectionTrait, session: StoredSession) -> Result<bool, StoreError> {
    let row = auth_session::ActiveModel {
        id: Set(session.id_hash),
        user_id: Set(session.user_id),
        data: Set(session.data),
        expires_at: Set(session.expires_at),
        created_at: Set(Utc::now()),
    };
    let inserted = auth_session::Entity::insert(row)
        .on_conflict(OnConflict::column(auth_session::Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Updates a live session. A session that was deleted meanwhile (signed out, revoked, expired) stays deleted:
/// a request still in flight cannot bring it back.
pub async fn update_session(db: &impl ConnectionTrait, session: StoredSession) -> Result<(), StoreError> {
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::UserId, sea_orm::sea_query::Expr::value(session.user_id))
        .col_expr(auth_session::Column::Data, sea_orm::sea_query::Expr::value(session.data))
        .col_expr(auth_session::Column::ExpiresAt, sea_orm::sea_query::Expr::value(session.expires_at))
        .filter(auth_session::Column::Id.eq(session.id_hash))
        .filter(auth_session::Column::ExpiresAt.gt(Utc::now()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a session (sign-out): its cookie stops working everywhere at once.
pub async fn delete_session(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), StoreError> {
    auth_session::Entity::delete_by_id(id_hash.to_owned()).exec(db).await?;
    Ok(())
}

/// Deletes every session of a user; returns how many there were.
pub async fn revoke_user_sessions(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, StoreError> {
    Ok(auth_session::Entity::delete_many()
        .filter(auth_session::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes expired sessions and email tokens; returns how many rows went.
pub async fn delete_expired(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    let now = Utc::now();
    let sessions =
        auth_session::Entity::delete_many().filter(auth_session::Column::ExpiresAt.lte(now)).exec(db).await?;
    let tokens = verification_token::Entity::delete_many()
        .filter(verification_token::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(sessions.rows_affected + tokens.rows_affected)
}

/// Stores a one-time email sign-in token (its hash).
pub async fn create_verification_token(
    db: &impl ConnectionTrait,
    identifier: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = verification_token::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        identifier: Set(identifier.to_owned()),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
    };
    verification_token::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Uses up a token: deletes it and returns the address it was sent to, if it existed and had not expired. One
/// `DELETE … RETURNING`, so of two racing requests only one gets the row, on either backend.
pub async fn consume_verification_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<String>, StoreError> {
    let deleted = verification_token::Entity::delete_by_id(token_hash.to_owned()).exec_with_returning(db).await?;
    Ok(deleted.filter(|row| row.expires_at > Utc::now()).map(|row| row.identifier))
}

/// Gives `user_id` a role (idempotent).
pub async fn grant_role(db: &impl ConnectionTrait, user_id: Uuid, role: &str) -> Result<(), StoreError> {
    use crate::entities::user_role;
    let row = user_role::ActiveModel { user_id: Set(user_id), role: Set(role.to_owned()), granted_at: Set(Utc::now()) };
    user_role::Entity::insert(row)
        .on_conflict_do_nothing_on([user_role::Column::UserId, user_role::Column::Role])
        .exec(db)
        .await?;
    Ok(())
}

/// Takes a role away; `false` when the user did not have it.
pub async fn revoke_role(db: &impl ConnectionTrait, user_id: Uuid, role: &str) -> Result<bool, StoreError> {
    use crate::entities::user_role;
    let deleted = user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(user_id))
        .filter(user_role::Column::Role.eq(role))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// The roles of a user, sorted.
pub async fn roles_of(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<String>, StoreError> {
    use crate::entities::user_role;
    use sea_orm::QuerySelect;
    Ok(user_role::Entity::find()
        .select_only()
        .column(user_role::Column::Role)
        .filter(user_role::Column::UserId.eq(user_id))
        .order_by_asc(user_role::Column::Role)
        .into_tuple()
        .all(db)
        .await?)
}

//! Personal API tokens: created and revoked by their owner, stored as their SHA-256 only.

use crate::StoreError;
use crate::entities::api_token::{self, Model as ApiToken};
use crate::entities::user;
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

/// Records a new token for `user_id` (the caller made it and shows it once).
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    name: &str,
    token_hash: &str,
    prefix: &str,
) -> Result<ApiToken, StoreError> {
    let row = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(token_hash.to_owned()),
        prefix: Set(prefix.to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    Ok(row.insert(db).await?)
}

/// A user's tokens, revoked ones included, newest first.
pub async fn list(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Revokes a token of `user_id` (`None`: any user's, for operators); `false` when there is no such live token.
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid, user_id: Option<Uuid>) -> Result<bool, StoreError> {
    let mut update = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null());
    if let Some(user_id) = user_id {
        update = update.filter(api_token::Column::UserId.eq(user_id));
    }
    Ok(update.exec(db).await?.rows_affected > 0)
}

/// The live token with this hash and its (enabled) user; notes the use, at most once a minute.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(ApiToken, user::Model)>, StoreError> {
    let Some(token) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = user::Entity::find_by_id(token.user_id).one(db).await? else { return Ok(None) };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    let now = Utc::now();
    if token.last_used_at.is_none_or(|at| now - at > Duration::minutes(1)) {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    Ok(Some((token, user)))
}

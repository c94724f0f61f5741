//! Aliases: other names an entity goes by in the news ("RHCP", "Bey", "Boss"). Editors add them; the tagger's
//! dictionary picks them up on its next use (its catalogue fingerprint counts aliases), and a re-tag applies
//! them to stored items.

use omnisonic_store::entities::entity_alias;
use omnisonic_tagging::normalize;
use uuid::Uuid;

use crate::{AppError, Context};

/// Longest alias, in characters.
pub const MAX_ALIAS_CHARS: usize = 500;

/// Adds `alias` to the party, work or recording `entity_id` of `entity_type`.
pub async fn add_alias(
    ctx: &Context,
    entity_type: &str,
    entity_id: Uuid,
    alias: &str,
    created_by: Option<Uuid>,
) -> Result<entity_alias::Model, AppError> {
    let alias = alias.trim();
    if alias.chars().count() > MAX_ALIAS_CHARS {
        return Err(AppError::invalid("alias", format!("is longer than {MAX_ALIAS_CHARS} characters")));
    }
    if normalize::normalize(alias).is_empty() {
        return Err(AppError::invalid("alias", "has no letters or digits"));
    }
    let exists = match entity_type {
        "party" => !omnisonic_store::catalogue::parties_by_ids(&ctx.db, &[entity_id]).await?.is_empty(),
        "work" => !omnisonic_store::catalogue::works_by_ids(&ctx.db, &[entity_id]).await?.is_empty(),
        "recording" => !omnisonic_store::catalogue::recordings_by_ids(&ctx.db, &[entity_id]).await?.is_empty(),
        _ => return Err(AppError::invalid("entityType", "must be party, work or recording")),
    };
    if !exists {
        return Err(AppError::NotFound(format!("{entity_type} {entity_id}")));
    }
    Ok(omnisonic_store::news::add_alias(&ctx.db, entity_type, entity_id, alias, created_by, ctx.clock.now()).await?)
}

/// Removes an alias.
pub async fn remove_alias(ctx: &Context, id: Uuid) -> Result<(), AppError> {
    if omnisonic_store::news::delete_alias(&ctx.db, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("alias {id}")))
    }
}

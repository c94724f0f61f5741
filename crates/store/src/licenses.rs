//! Licenses (spec 2.2): writes that refuse overlapping active licenses, queries, conflict reports and expiry.
//!
//! Every write that can make a license active takes the work's row lock first and checks the work's other active
//! licenses inside the same transaction, so two concurrent writers cannot both slip in an overlapping license.

use crate::StoreError;
use crate::catalogue::lock_row;
use crate::entities::{license, work};
use chrono::{DateTime, Utc};
use omnisonic_domain::license::{
    LicenseStatus, NewLicense, Period, RightsType, Scope, conflicts_with, pairwise_conflicts,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// The scope of a stored license, for conflict checks; `None` for a row whose rights type this build does not know.
pub fn scope_of(row: &license::Model) -> Option<Scope> {
    Some(Scope {
        work_id: row.work_id,
        territory: row.territory.clone(),
        rights_type: RightsType::parse(&row.rights_type)?,
        period: Period { from: row.effective_from, until: row.expires_on },
    })
}

/// The status a license that should be in force gets: expired already when its end has passed.
fn in_force_status(new: &NewLicense, now: DateTime<Utc>) -> LicenseStatus {
    if new.scope.period.ended_at(now) { LicenseStatus::Expired } else { LicenseStatus::Active }
}

/// Fails with the ids of the active licenses `scope` would overlap (other than `own_id`).
async fn check_no_conflict(txn: &impl ConnectionTrait, own_id: Option<Uuid>, scope: &Scope) -> Result<(), StoreError> {
    let rows = license::Entity::find()
        .filter(license::Column::WorkId.eq(scope.work_id))
        .filter(license::Column::RightsType.eq(scope.rights_type.as_str()))
        .filter(license::Column::Status.eq(LicenseStatus::Active.as_str()))
        .all(txn)
        .await?;
    let scopes: Vec<(Uuid, Scope)> = rows.iter().filter_map(|r| Some((r.id, scope_of(r)?))).collect();
    let ids = conflicts_with(own_id, scope, scopes.iter().map(|(id, s)| (*id, s)));
    if ids.is_empty() { Ok(()) } else { Err(StoreError::LicenseConflict { ids }) }
}

async fn lock_work(txn: &impl ConnectionTrait, work_id: Uuid) -> Result<(), StoreError> {
    if lock_row::<work::Entity>(txn, work::Column::Id, work::Column::UpdatedAt, work_id).await? {
        Ok(())
    } else {
        Err(StoreError::NotFound { entity: "work", id: work_id.to_string() })
    }
}

/// Creates a license: a draft, or one in force (active, or expired at once when its end has already passed).
/// `source_key` marks an imported license; a second import with the same key returns `Ok(None)` and writes nothing.
pub async fn create_license(
    db: &DatabaseConnection,
    new: &NewLicense,
    draft: bool,
    source_key: Option<String>,
) -> Result<Option<license::Model>, StoreError> {
    let txn = db.begin().await?;
    lock_work(&txn, new.scope.work_id).await?;
    if let Some(key) = &source_key
        && license::Entity::find().filter(license::Column::SourceKey.eq(key.as_str())).one(&txn).await?.is_some()
    {
        return Ok(None);
    }
    let now = Utc::now();
    let status = if draft { LicenseStatus::Draft } else { in_force_status(new, now) };
    if status == LicenseStatus::Active {
        check_no_conflict(&txn, None, &new.scope).await?;
    }
    let row = license::ActiveModel {
        id: Set(Uuid::now_v7()),
        work_id: Set(new.scope.work_id),
        licensee: Set(new.licensee.clone()),
        territory: Set(new.scope.territory.clone()),
        rights_type: Set(new.scope.rights_type.as_str().to_owned()),
        effective_from: Set(new.scope.period.from),
        expires_on: Set(new.scope.period.until),
        terms: Set(new.terms.clone()),
        status: Set(status.as_str().to_owned()),
        source_key: Set(source_key),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let saved = license::Entity::insert(row).exec_with_returning(&txn).await?;
    txn.commit().await?;
    Ok(Some(saved))
}

/// Takes a license's write lock inside `txn` and reads it, or `NotFound`. Locking before reading matters twice:
/// SQLite would otherwise fail the later write with a busy snapshot, and on PostgreSQL the license cannot move to
/// another work between the read and the work's lock. (Locks go license first, then work, everywhere.)
async fn lock_license(txn: &impl ConnectionTrait, id: Uuid) -> Result<license::Model, StoreError> {
    lock_row::<license::Entity>(txn, license::Column::Id, license::Column::UpdatedAt, id).await?;
    license::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound { entity: "license", id: id.to_string() })
}

fn status_of(row: &license::Model) -> LicenseStatus {
    LicenseStatus::parse(&row.status).unwrap_or(LicenseStatus::Draft)
}

/// Replaces a draft or active license's fields. An active license stays active (or expires at once when its new
/// end has passed) and must still not overlap another; expired and revoked licenses are history and refused.
/// Returns the license before and after, so callers can tell subscribers of both works when it moved.
pub async fn update_license(
    db: &DatabaseConnection,
    id: Uuid,
    new: &NewLicense,
) -> Result<(license::Model, license::Model), StoreError> {
    let txn = db.begin().await?;
    let before = lock_license(&txn, id).await?;
    for work_id in [before.work_id, new.scope.work_id].into_iter().collect::<std::collections::BTreeSet<_>>() {
        lock_work(&txn, work_id).await?;
    }
    let current = status_of(&before);
    if !current.can_edit() {
        return Err(StoreError::Conflict {
            field: "status".into(),
            reason: format!("is {current}: it cannot be changed"),
        });
    }
    let status = if current == LicenseStatus::Draft { current } else { in_force_status(new, Utc::now()) };
    if status == LicenseStatus::Active {
        check_no_conflict(&txn, Some(id), &new.scope).await?;
    }
    let mut row: license::ActiveModel = before.clone().into();
    row.work_id = Set(new.scope.work_id);
    row.licensee = Set(new.licensee.clone());
    row.territory = Set(new.scope.territory.clone());
    row.rights_type = Set(new.scope.rights_type.as_str().to_owned());
    row.effective_from = Set(new.scope.period.from);
    row.expires_on = Set(new.scope.period.until);
    row.terms = Set(new.terms.clone());
    row.status = Set(status.as_str().to_owned());
    row.updated_at = Set(Utc::now());
    let after = sea_orm::ActiveModelTrait::update(row, &txn).await?;
    txn.commit().await?;
    Ok((before, after))
}

/// Puts a draft in force (checking for overlaps), or revokes a draft or active license.
pub async fn set_status(db: &DatabaseConnection, id: Uuid, to: LicenseStatus) -> Result<license::Model, StoreError> {
    let txn = db.begin().await?;
    let row = lock_license(&txn, id).await?;
    lock_work(&txn, row.work_id).await?;
    let current = status_of(&row);
    let allowed = match to {
        LicenseStatus::Revoked => current.can_revoke(),
        LicenseStatus::Active => current == LicenseStatus::Draft,
        _ => false,
    };
    if !allowed {
        return Err(StoreError::Conflict {
            field: "status".into(),
            reason: format!("is {current}: it cannot become {to}"),
        });
    }
    if to == LicenseStatus::Active {
        let scope = scope_of(&row).ok_or_else(|| StoreError::Conflict {
            field: "rightsType".into(),
            reason: format!("{:?} is unknown", row.rights_type),
        })?;
        if scope.period.ended_at(Utc::now()) {
            return Err(StoreError::Conflict {
                field: "expiresOn".into(),
                reason: "has passed: an expired license cannot be put in force".into(),
            });
        }
        check_no_conflict(&txn, Some(id), &scope).await?;
    }
    let mut active: license::ActiveModel = row.into();
    active.status = Set(to.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let saved = sea_orm::ActiveModelTrait::update(active, &txn).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Licenses with these ids.
pub async fn licenses_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<license::Model>, StoreError> {
    Ok(license::Entity::find().filter(license::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Filters for listing licenses; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct LicenseFilter {
    /// Only this work's.
    pub work_id: Option<Uuid>,
    /// Only licenses covering this territory: the territory's own and worldwide ones.
    pub covering_territory: Option<String>,
    /// Only this right.
    pub rights_type: Option<RightsType>,
    /// Only this status.
    pub status: Option<LicenseStatus>,
    /// Only licenses in force at this instant (started, not ended).
    pub in_force_at: Option<DateTime<Utc>>,
}

/// A page of licenses in id order after `after`.
pub async fn list_licenses(
    db: &impl ConnectionTrait,
    filter: &LicenseFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<license::Model>, StoreError> {
    let mut query = license::Entity::find();
    if let Some(work_id) = filter.work_id {
        query = query.filter(license::Column::WorkId.eq(work_id));
    }
    if let Some(territory) = &filter.covering_territory {
        query = query.filter(
            Condition::any()
                .add(license::Column::Territory.eq(territory.as_str()))
                .add(license::Column::Territory.is_null()),
        );
    }
    if let Some(rights) = filter.rights_type {
        query = query.filter(license::Column::RightsType.eq(rights.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(license::Column::Status.eq(status.as_str()));
    }
    if let Some(at) = filter.in_force_at {
        query = query
            .filter(license::Column::EffectiveFrom.lte(at))
            .filter(Condition::any().add(license::Column::ExpiresOn.is_null()).add(license::Column::ExpiresOn.gt(at)));
    }
    if let Some(after) = after {
        query = query.filter(license::Column::Id.gt(after));
    }
    Ok(query.order_by_asc(license::Column::Id).limit(limit).all(db).await?)
}

/// Licenses of these works, oldest first (for the `Work.licenses` loader).
pub async fn licenses_for_works(
    db: &impl ConnectionTrait,
    work_ids: &[Uuid],
) -> Result<Vec<license::Model>, StoreError> {
    Ok(license::Entity::find()
        .filter(license::Column::WorkId.is_in(work_ids.iter().copied()))
        .order_by_asc(license::Column::Id)
        .all(db)
        .await?)
}

/// Colliding pairs among a work's active and draft licenses (drafts are included so a conflict shows before it
/// is activated); each pair once.
pub async fn conflicts(
    db: &impl ConnectionTrait,
    work_id: Uuid,
) -> Result<Vec<(license::Model, license::Model)>, StoreError> {
    let rows = license::Entity::find()
        .filter(license::Column::WorkId.eq(work_id))
        .filter(license::Column::Status.is_in([LicenseStatus::Active.as_str(), LicenseStatus::Draft.as_str()]))
        .order_by_asc(license::Column::Id)
        .all(db)
        .await?;
    let scoped: Vec<(Uuid, Scope)> = rows.iter().filter_map(|r| Some((r.id, scope_of(r)?))).collect();
    let by_id: std::collections::HashMap<Uuid, &license::Model> = rows.iter().map(|r| (r.id, r)).collect();
    Ok(pairwise_conflicts(&scoped)
        .into_iter()
        .filter_map(|(a, b)| Some(((*by_id.get(&a)?).clone(), (*by_id.get(&b)?).clone())))
        .collect())
}

/// How many active licenses have their end at or before `now` (what [`expire_due`] would expire).
pub async fn count_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(license::Entity::find()
        .filter(license::Column::Status.eq(LicenseStatus::Active.as_str()))
        .filter(license::Column::ExpiresOn.lte(now))
        .count(db)
        .await?)
}

/// Marks every active license whose end is at or before `now` as expired; returns them as they are now. Safe to
/// run on several nodes at once: the update only touches rows still active.
pub async fn expire_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<license::Model>, StoreError> {
    // Whole microseconds, as stored: the rows this call changed are told apart by their exact `updated_at`.
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    let due: Vec<Uuid> = license::Entity::find()
        .select_only()
        .column(license::Column::Id)
        .filter(license::Column::Status.eq(LicenseStatus::Active.as_str()))
        .filter(license::Column::ExpiresOn.lte(now))
        .into_tuple()
        .all(db)
        .await?;
    let mut expired = Vec::new();
    for chunk in due.chunks(500) {
        let txn = db.begin().await?;
        let changed = license::Entity::update_many()
            .col_expr(license::Column::Status, Expr::value(LicenseStatus::Expired.as_str()))
            .col_expr(license::Column::UpdatedAt, Expr::value(now))
            .filter(license::Column::Id.is_in(chunk.iter().copied()))
            .filter(license::Column::Status.eq(LicenseStatus::Active.as_str()))
            .exec(&txn)
            .await?;
        if changed.rows_affected > 0 {
            expired.extend(licenses_by_ids(&txn, chunk).await?.into_iter().filter(|l| l.updated_at == now));
        }
        txn.commit().await?;
    }
    Ok(expired)
}

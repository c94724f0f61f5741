//! `licenses`: spec 2.2's `License`.

use sea_orm::entity::prelude::*;

/// A license row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "licenses")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The licensed work.
    pub work_id: Uuid,
    /// Who it is granted to.
    pub licensee: String,
    /// ISO 3166-1 alpha-2 code; `None` is worldwide.
    pub territory: Option<String>,
    /// `mechanical`, `performance`, `synchronization` or `master`.
    pub rights_type: String,
    /// First instant in force.
    pub effective_from: DateTimeUtc,
    /// First instant no longer in force; `None` is open-ended.
    pub expires_on: Option<DateTimeUtc>,
    /// Free-form metadata (a JSON object).
    pub terms: Json,
    /// `draft`, `active`, `expired` or `revoked`.
    pub status: String,
    /// Where an imported license came from (e.g. a DDEX deal), so that importing again changes nothing.
    pub source_key: Option<String>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a license (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

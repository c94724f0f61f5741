//! The sign-in migrations on a database that already has studio sessions: the owner column is added, backfilled
//! and made required without losing a session or a track, and the foreign keys still hold — on both backends.

use crate::helpers::{Backend, create_database};
use omnisonic_store::migration::Migrator;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;

async fn scalar(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn existing_sessions_survive_and_get_an_owner(backend: Backend) {
    let Some((url, _database)) = create_database(backend).await else { return };
    let db = omnisonic_store::connect(&url, 2).await.expect("connect");
    // The schema as it was before sign-in: the first two migrations.
    Migrator::up(&db, Some(2)).await.expect("migrations 1-2");
    let session = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let insert_session = sea_orm::sea_query::Query::insert()
        .into_table(sea_orm::sea_query::Alias::new("studio_sessions"))
        .columns(["id", "title", "sample_rate", "created_at", "updated_at"].map(sea_orm::sea_query::Alias::new))
        .values_panic([session.into(), "Before sign-in".into(), 48_000.into(), now.into(), now.into()])
        .to_owned();
    db.execute(&insert_session).await.expect("insert session");
    for (position, name) in ["Kick", "Snare"].into_iter().enumerate() {
        let insert_track = sea_orm::sea_query::Query::insert()
            .into_table(sea_orm::sea_query::Alias::new("tracks"))
            .columns(
                ["id", "session_id", "name", "position", "created_at", "updated_at"]
                    .map(sea_orm::sea_query::Alias::new),
            )
            .values_panic([
                uuid::Uuid::now_v7().into(),
                session.into(),
                name.into(),
                (position as i32).into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        db.execute(&insert_track).await.expect("insert track");
    }

    Migrator::up(&db, None).await.expect("the sign-in migrations");

    let stored = omnisonic_store::studio::get_session(&db, session).await.expect("the session is still there");
    let owner = omnisonic_store::auth::get_user(&db, stored.user_id).await.expect("db").expect("an owner");
    assert!(
        owner.disabled_at.is_some() && owner.password_hash.is_none(),
        "nobody can sign in as the placeholder owner"
    );
    assert_eq!(omnisonic_store::studio::list_tracks(&db, session).await.expect("tracks").len(), 2);
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM tracks").await, 2);

    // The owner is required now…
    let ownerless = format!(
        "INSERT INTO studio_sessions (id, title, sample_rate, created_at, updated_at) VALUES ('{}', 'x', 48000, '{}', '{}')",
        uuid::Uuid::now_v7(),
        now.to_rfc3339(),
        now.to_rfc3339()
    );
    let refused = db.execute_raw(Statement::from_string(db.get_database_backend(), ownerless)).await;
    assert!(refused.is_err(), "a session without an owner is refused");
    // …and the rebuilt tables still cascade: deleting the session deletes its tracks.
    omnisonic_store::studio::delete_session(&db, session).await.expect("delete");
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM tracks").await, 0);
    if db.get_database_backend() == DbBackend::Sqlite {
        let check = db
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA foreign_key_check".to_owned()))
            .await
            .expect("foreign_key_check");
        assert!(check.is_empty(), "no dangling references after the rebuild");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sessions_survive_the_owner_migrations() {
    existing_sessions_survive_and_get_an_owner(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_survive_the_owner_migrations() {
    existing_sessions_survive_and_get_an_owner(Backend::Postgres).await;
}

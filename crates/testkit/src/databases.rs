//! Both databases for store-level tests without HTTP: a temporary SQLite file, and a fresh PostgreSQL database
//! (at `OMNISONIC_TEST_DATABASE_URL`) dropped afterwards. With `OMNISONIC_REQUIRE_SERVICES=1` a missing
//! PostgreSQL fails the test instead of skipping it.

use omnisonic_store::DatabaseConnection;
use sea_orm::ConnectionTrait;

/// A migrated database and what keeps it alive.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The connection.
    pub db: DatabaseConnection,
    _dir: tempfile::TempDir,
    drop_after: Option<(String, String)>,
}

impl TestDb {
    /// Drops the PostgreSQL database (SQLite's file goes with its folder).
    pub async fn close(self) {
        let Self { db, drop_after, .. } = self;
        let _ = db.close().await;
        if let Some((admin_url, name)) = drop_after
            && let Ok(admin) = omnisonic_store::connect(&admin_url, 1).await
        {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// SQLite always; PostgreSQL when `OMNISONIC_TEST_DATABASE_URL` is set.
pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let db = omnisonic_store::connect(&url, 5).await.expect("SQLite");
    omnisonic_store::migrate(&db).await.expect("migrate SQLite");
    let mut all = vec![TestDb { name: "sqlite", db, _dir: dir, drop_after: None }];
    match std::env::var("OMNISONIC_TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let admin = omnisonic_store::connect(&admin_url, 1).await.expect("PostgreSQL");
            let name = format!("omnisonic_app_{}", uuid::Uuid::now_v7().simple());
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
            let _ = admin.close().await;
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            let db = omnisonic_store::connect(&format!("{base}/{name}"), 5).await.expect("connect");
            omnisonic_store::migrate(&db).await.expect("migrate PostgreSQL");
            let dir = tempfile::tempdir().expect("temp dir");
            all.push(TestDb { name: "postgres", db, _dir: dir, drop_after: Some((admin_url, name)) });
        }
        Err(_) if std::env::var("OMNISONIC_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("OMNISONIC_TEST_DATABASE_URL is not set and OMNISONIC_REQUIRE_SERVICES=1")
        }
        Err(_) => eprintln!("OMNISONIC_TEST_DATABASE_URL not set: PostgreSQL skipped"),
    }
    all
}

//! Connecting to the backend named by a URL, and migrating it.

use crate::StoreError;
use crate::migration::Migrator;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// The database backends Omnisonic runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a URL names, or a clear error for any other scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(StoreError::UnsupportedScheme { scheme: other.to_owned() }),
        }
    }
}

/// Connects to `url` with a pool of at most `max_connections`.
///
/// SQLite files (and their folder) are created when missing and run in WAL mode with a busy timeout and
/// foreign keys on, so readers never block the one writer and a concurrent write waits instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, StoreError> {
    let backend = Backend::from_url(url)?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // Ping only connections idle long enough to have been dropped by a server or proxy: pinging on every
        // checkout added a full round trip to each statement (a third of a catalogue page's time on SQLite).
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if backend == Backend::Sqlite {
        if let Some(parent) = sqlite_path(url).and_then(|p| std::path::Path::new(p).parent().map(|p| p.to_owned()))
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&parent).map_err(|e| {
                StoreError::Database(sea_orm::DbErr::Custom(format!("create {}: {e}", parent.display())))
            })?;
        }
        if let Some(path) = sqlite_path(url) {
            create_private(std::path::Path::new(path))
                .map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(format!("create {path}: {e}"))))?;
        }
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    }
    Ok(Database::connect(options).await?)
}

/// The most connections `db`'s pool may open.
pub fn max_connections(db: &DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => db.get_sqlite_connection_pool().options().get_max_connections(),
        sea_orm::DbBackend::Postgres => db.get_postgres_connection_pool().options().get_max_connections(),
        _ => 1,
    }
}

/// Creates the database file readable by its owner only (it holds password hashes and sign-in sessions), unless
/// it exists. SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    Ok(Migrator::up(db, None).await?)
}

/// Checks that the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), StoreError> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://data/x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://u@h/db").ok(), Some(Backend::Postgres));
        let err = Backend::from_url("mysql://u@h/db").expect_err("unsupported");
        assert!(err.to_string().contains("\"mysql\""), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data").join("omnisonic.db");
        let db = connect(&format!("sqlite://{}", path.display()), 1).await.expect("connect");
        migrate(&db).await.expect("migrate");
        for file in [path.clone(), path.with_extension("db-wal")] {
            let mode = std::fs::metadata(&file).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/omnisonic.db?mode=rwc"), Some("data/omnisonic.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}

//! The store handle every layer holds: a writer, and a reader for queries that may see slightly old data.
//!
//! Until read replicas arrive (`DATABASE_READ_URL`) the reader *is* the writer. Code that only reads and can
//! tolerate replication lag (catalogue pages, GraphQL queries, listings) asks for [`Db::reader`]; everything
//! else uses the handle itself, which acts as the writer: it implements sea-orm's `ConnectionTrait` and
//! dereferences to the writer's `DatabaseConnection`, so every store function takes it as it is.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement};

/// The database: a writer and a reader. Cheap to clone (both are pools).
#[derive(Clone, Debug)]
pub struct Db {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
}

impl Db {
    /// One connection for writes and reads.
    pub fn new(writer: DatabaseConnection) -> Self {
        Self { reader: writer.clone(), writer }
    }

    /// Writes to `writer`, lag-tolerant reads from `reader` (a replica).
    pub fn with_reader(writer: DatabaseConnection, reader: DatabaseConnection) -> Self {
        Self { writer, reader }
    }

    /// The primary: every write, and reads that must see them.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// For reads that may lag behind the writer.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }
}

impl From<DatabaseConnection> for Db {
    fn from(writer: DatabaseConnection) -> Self {
        Self::new(writer)
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.writer
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.writer.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.writer.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.writer.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.writer.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.writer.support_returning()
    }
}

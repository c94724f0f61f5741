//! The store under the application: unique keys are named from the database's own report of the violation
//! (PostgreSQL's constraint, SQLite's failing columns), never from the error's wording; and the `Db` handle
//! reads and writes through one connection until read replicas arrive.

use crate::harness::databases;
use omnisonic_domain::catalogue::WorkInput;
use omnisonic_store::{Db, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_unique_key_is_a_conflict_naming_its_field() {
    for test in databases().await {
        let db = Db::new(test.db.clone());
        let work =
            WorkInput { title: "Bohemian Rhapsody".into(), iswc: Some("T-345.246.800-3".into()), ..Default::default() }
                .validate()
                .expect("valid");
        let first = omnisonic_store::catalogue::create_work(&db, &work).await.expect("first");
        match omnisonic_store::catalogue::create_work(&db, &work).await {
            Err(StoreError::Conflict { field, reason }) => {
                assert_eq!((field.as_str(), reason.as_str()), ("iswc", "is already taken"), "{}", test.name)
            }
            other => panic!("{}: {other:?}", test.name),
        }
        let user = || omnisonic_store::auth::NewUser { email: Some("dup@example.test".into()), ..Default::default() };
        omnisonic_store::auth::create_user(&db, user()).await.expect("first");
        match omnisonic_store::auth::create_user(&db, user()).await {
            Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "email", "{}", test.name),
            other => panic!("{}: {other:?}", test.name),
        }
        // The reader is the writer: what was just written is read back through it.
        let read = omnisonic_store::catalogue::works_by_ids(db.reader(), &[first.id]).await.expect("read");
        assert_eq!(read.len(), 1, "{}", test.name);
        test.close().await;
    }
}

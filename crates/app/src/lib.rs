//! Omnisonic's application layer: what the product *does*, independent of how it is asked.
//!
//! A use-case that spans more than one store call or has a side effect (a job, an event, a file) is a function
//! here taking a [`Context`]; pages, REST, GraphQL and the CLI call the same function and translate its
//! [`AppError`] into their own answer in one place each. Background work is declared here too: each job is a
//! [`jobs::JobKind`] (queue name + payload type, so enqueueing and handling cannot disagree) and each event a
//! typed enum with one serializer ([`events`]). The workers live beside their use-cases; periodic work is
//! enqueued by the one [`schedule`]r.
//!
//! **Invariant:** no HTTP and no GraphQL: this crate must not depend on axum, async-graphql, or the web and
//! graphql crates (`cargo xtask tidy` checks it).

pub mod access;
pub mod accounts;
pub mod bulk_import;
pub mod context;
pub mod error;
pub mod events;
pub mod exports;
pub mod insight;
pub mod jobs;
pub mod maintenance;
pub mod queue;
pub mod schedule;
pub mod trace;

pub use context::{Clock, Context};
pub use error::AppError;

//! The `omnisonic` binary's library half: command line, settings and wiring.
//!
//! This is the only crate that names concrete backends; everything below it takes what it is given.

pub mod cli;
pub mod feeds_cli;
pub mod import_cli;
pub mod jobs_cli;
pub mod rights;
pub mod seed;
pub mod serve;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod users;

//! The command line: `serve`, `worker`, `migrate`, `seed`, `schema`, `uploads`, `user`, `import`, `token`, …

use crate::settings::{Settings, redact_url};
use crate::{seed, startup, users};
use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// Omnisonic runs the studio, the rights catalogue and news insight from one binary.
///
/// With no configuration it runs everything in one process on embedded defaults (SQLite under ./data).
/// Point DATABASE_URL at PostgreSQL and the same binary runs on it.
///
/// Examples:
///   omnisonic serve                              # http://127.0.0.1:3000 on ./data/omnisonic.db
///   omnisonic seed                               # load a small demo catalogue
///   omnisonic seed --from ../shared/data         # load real recordings from CSV files
///   DATABASE_URL=postgres://postgres@localhost/omnisonic omnisonic serve
#[derive(Debug, Parser)]
#[command(name = "omnisonic", version, verbatim_doc_comment, max_term_width = 110)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app, GraphQL API, REST API and realtime gateway, and run the workers (mixdown exports) in the
    /// same process; migrates the database first (see --auto-migrate).
    Serve {
        /// Serve only: leave jobs to `omnisonic worker` processes (needs REDIS_URL or a shared DATABASE_URL).
        #[arg(long)]
        no_workers: bool,
    },
    /// Run only the workers (mixdown exports), for scale-out beside `serve --no-workers` web nodes.
    ///
    /// Workers and web nodes share jobs through the database's `jobs` table, or through Redis when REDIS_URL is
    /// set; progress reaches the web nodes' WebSocket clients through Redis pub/sub.
    #[command(verbatim_doc_comment)]
    Worker,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Load catalogue data: a small built-in demo by default, or real data from CSV files.
    #[command(verbatim_doc_comment)]
    Seed {
        /// Folder with `isrc/tracks_updated.csv`, `catalog/artist_tracks.csv` and `catalog/artists.csv`
        /// (the layout of ../shared/data).
        #[arg(long, value_name = "DIR", conflicts_with = "synthetic")]
        from: Option<PathBuf>,
        /// Generate N synthetic recordings with contributions (for benchmarks).
        #[arg(long, value_name = "N")]
        synthetic: Option<u64>,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql; `--openapi` prints the REST OpenAPI document.
    Schema {
        /// Print the OpenAPI document (JSON) instead.
        #[arg(long)]
        openapi: bool,
    },
    /// Uploads: `cleanup` deletes uploads no studio session has used for 30 days (the daily job, run by hand).
    #[command(subcommand)]
    Uploads(UploadsCommand),
    /// Manage users: create development sign-in accounts, list users, disable or re-enable them.
    #[command(subcommand)]
    User(UserCommand),
    /// Import the deals of a DDEX ERN 3.4.1 NewReleaseMessage as licenses.
    ///
    /// Each deal becomes a master-rights license to the message's recipient, per recording and territory
    /// (deals of the album and of its tracks that cover the same recording and territory are merged). Recordings
    /// the catalogue lacks are added, with a work of their title. A license that overlaps an active one is stored
    /// as a draft and counted, for a person to resolve. Importing the same message again changes nothing.
    ///
    /// Example:
    ///   omnisonic import-ern ../shared/data/ddex/ern341_sony_7digital.xml
    #[command(verbatim_doc_comment)]
    ImportErn {
        /// The ERN XML file.
        file: PathBuf,
    },
    /// Import recordings from a CSV or JSON Lines file, as `POST /ingest/isrc/bulk` does, with a progress bar.
    ///
    /// CSV needs a header with isrc, title and artist (any case); duration (seconds or m:ss), released_at
    /// (YYYY-MM-DD) and genre are optional, other columns are ignored. JSON Lines has one object per line with
    /// the same keys. Rows are validated and upserted by ISRC in batches (BULK_IMPORT_BATCH_SIZE, default 100)
    /// with BULK_IMPORT_CONCURRENCY (10) batches in flight; bad rows are rejected with their line and reason and
    /// the good ones around them still land. A later row with the same ISRC replaces the earlier one (a
    /// warning). Rows already stored as the file says are left alone, so importing the same file again changes
    /// nothing.
    ///
    /// Examples:
    ///   omnisonic import catalogue.csv
    ///   omnisonic import releases.ndjson --format jsonl --errors rejected.csv
    #[command(verbatim_doc_comment)]
    Import {
        /// The file (`-` reads standard input).
        file: PathBuf,
        /// `csv` or `jsonl`; by default the file name's extension decides (.csv, .jsonl, .ndjson).
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Write every rejected row and warning here as CSV (line, column, value, reason, severity).
        #[arg(long, value_name = "FILE")]
        errors: Option<PathBuf>,
    },
    /// Personal API tokens for machine clients (`Authorization: Bearer oms_…` on REST and /graphql).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Licenses: `expire` marks active licenses whose end has passed as expired (the daily job, run by hand).
    #[command(subcommand)]
    Licenses(LicensesCommand),
    /// Background jobs: `list` shows queued, running, failed and buried jobs per queue; `retry` puts a buried
    /// job back to run again.
    ///
    /// Examples:
    ///   omnisonic jobs list
    ///   omnisonic jobs list --queue exports --state buried
    ///   omnisonic jobs retry 0190a3c4-…
    #[command(subcommand, verbatim_doc_comment)]
    Jobs(JobsCommand),
    /// Insight's feed sources: `add` (checked like the web form: http(s), no internal addresses), `list` (with
    /// each source's error count and next poll), `remove`, `poll` (now, whatever the schedule).
    ///
    /// Examples:
    ///   omnisonic feeds add https://pitchfork.com/feed/feed-news/rss --interval-seconds 900
    ///   omnisonic feeds list
    ///   omnisonic feeds poll                     # every enabled source, now
    ///   omnisonic feeds remove https://example.com/feed.xml
    #[command(subcommand, verbatim_doc_comment)]
    Feeds(FeedsCommand),
    /// The entity tagger: `explain` tags a text against the catalogue and says why each candidate name was or
    /// was not tagged.
    ///
    /// Example:
    ///   omnisonic tagging explain "Radiohead's Kid A returns to the charts"
    #[command(subcommand, verbatim_doc_comment)]
    Tagging(TaggingCommand),
    /// Print .env.example, generated from the settings' documentation.
    #[command(hide = true)]
    EnvExample,
}

/// `omnisonic feeds …`.
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Add a feed source (RSS, Atom or JSON Feed).
    Add {
        /// The feed's URL.
        url: String,
        /// A title until the feed tells its own.
        #[arg(long)]
        title: Option<String>,
        /// Seconds between polls (60 to 86400; FEED_POLL_INTERVAL_SECONDS by default).
        #[arg(long, value_name = "SECONDS")]
        interval_seconds: Option<u64>,
    },
    /// List sources with their polling state.
    List,
    /// Remove a source (by id or URL); its items stay.
    Remove {
        /// The source's id or URL.
        source: String,
    },
    /// Poll now: one source (by id or URL), or every enabled source.
    Poll {
        /// The source's id or URL; every enabled source when absent.
        source: Option<String>,
    },
}

/// `omnisonic tagging …`.
#[derive(Debug, Subcommand)]
pub enum TaggingCommand {
    /// Tag a text against the current catalogue and explain every candidate.
    Explain {
        /// The text (a headline, a sentence).
        text: String,
    },
}

/// `omnisonic uploads …`.
#[derive(Debug, Subcommand)]
pub enum UploadsCommand {
    /// Delete uploads (object and row) that no studio session uses and that are older than 30 days.
    Cleanup {
        /// Only report what would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// Age in days after which an unused upload goes.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        older_than_days: u64,
    },
}

/// `omnisonic jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Counts per queue and state, then the jobs themselves (id, state, attempts, last error).
    List {
        /// Only this queue (exports, bulk_imports, maintenance, tagging).
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
        /// Only jobs in this state (queued, running, failed, buried).
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// At most this many jobs per queue.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
    },
    /// Put a buried job back on its queue to run now, with fresh attempts.
    Retry {
        /// The job's id (from `jobs list`).
        id: String,
        /// Its queue; by default every queue is tried.
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
    },
}

/// `omnisonic licenses …`.
#[derive(Debug, Subcommand)]
pub enum LicensesCommand {
    /// Expire every active license whose end is at or before now (what the daily job does).
    Expire {
        /// Count as of this instant instead of now (`YYYY-MM-DD` or RFC 3339). Expired licenses cannot be put back
        /// in force, so a future instant needs --dry-run.
        #[arg(long, value_name = "WHEN")]
        now: Option<String>,
        /// Only count the licenses that would expire; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `omnisonic token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user and print it (once: only its hash is stored).
    ///
    /// Example:
    ///   TOKEN=$(omnisonic token create --user ana@example.com --name "nightly import")
    ///   curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' --data-binary @isrcs.csv \
    ///        http://127.0.0.1:3000/ingest/isrc/bulk
    #[command(verbatim_doc_comment)]
    Create {
        /// The owner: email address or user id.
        #[arg(long)]
        user: String,
        /// What the token is for (shown in lists).
        #[arg(long)]
        name: String,
    },
    /// List a user's tokens (their start, name, last use; never the token).
    List {
        /// Email address or user id.
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by id: requests with it are refused from now on.
    Revoke {
        /// The token's id (see `omnisonic token list`).
        id: String,
    },
}

/// `omnisonic user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user who signs in with email and password (development credentials; see AUTH_CREDENTIALS).
    ///
    /// Without --password-stdin a strong password is generated and printed once.
    ///
    /// Example:
    ///   printf '%s\n' 'correct horse battery' | omnisonic user create --email ana@example.com --name Ana --password-stdin
    #[command(verbatim_doc_comment)]
    Create {
        /// Email address to sign in with.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input (at least 10 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: email, name, sign-in methods and whether they are disabled.
    List,
    /// Disable a user (by email or id): no more sign-ins, and their current sign-ins end at once.
    Disable {
        /// Email address or user id.
        user: String,
    },
    /// Re-enable a disabled user (by email or id).
    Enable {
        /// Email address or user id.
        user: String,
    },
    /// Give a user a role: `editor` (catalogue and licenses) or `accountant` (the royalty ledger).
    Grant {
        /// Email address or user id.
        user: String,
        /// `editor` or `accountant`.
        role: String,
    },
    /// Take a role away from a user.
    Revoke {
        /// Email address or user id.
        user: String,
        /// `editor` or `accountant`.
        role: String,
    },
}

impl Cli {
    /// Parses flags and environment, then fills the rest from the settings file, then checks the result.
    pub fn load() -> anyhow::Result<Self> {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).map_err(|e| e.exit()).unwrap_or_else(|never| never);
        if let Some(path) = cli.settings.config.clone() {
            let unknown = cli.settings.apply_file(&path, &matches)?;
            for key in unknown {
                eprintln!("omnisonic: warning: unknown setting `{key}` in {}", path.display());
            }
        }
        cli.settings.check()?;
        Ok(cli)
    }

    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = self.settings;
        match self.command {
            Command::Serve { no_workers } => {
                let app = startup::Application::build(&settings, !no_workers).await?;
                println!("omnisonic listening on http://{}", app.local_addr());
                app.run_until_stopped(startup::shutdown_signal()).await
            }
            Command::Worker => {
                let services = startup::Services::connect(&settings).await?;
                println!("omnisonic worker running ({} queue)", services.queue.describe());
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let workers = tokio::spawn(startup::run_workers(services, settings.clone(), stopped));
                startup::shutdown_signal().await;
                let _ = stop.send(true);
                workers.await.context("wait for the workers")?;
                Ok(())
            }
            Command::Migrate => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                println!("migrations applied to {}", redact_url(&settings.database_url()));
                Ok(())
            }
            Command::Seed { from, synthetic } => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                let summary = match (from, synthetic) {
                    (Some(dir), _) => seed::from_dir(&db, &dir).await?,
                    (None, Some(n)) => seed::synthetic(&db, n).await?,
                    (None, None) => seed::demo(&db).await?,
                };
                omnisonic_store::catalogue::refresh_statistics(&db).await.context("refresh planner statistics")?;
                println!("{summary}");
                Ok(())
            }
            Command::Schema { openapi } => {
                if openapi {
                    println!("{}", omnisonic_web::openapi_json());
                } else {
                    print!("{}", omnisonic_graphql::sdl());
                }
                Ok(())
            }
            Command::Uploads(UploadsCommand::Cleanup { dry_run, older_than_days }) => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                let storage = startup::connect_storage(&settings).await?;
                let age = std::time::Duration::from_secs(older_than_days.saturating_mul(24 * 3600));
                let report = omnisonic_app::maintenance::cleanup_uploads(&db, &storage, age, dry_run).await?;
                if dry_run {
                    println!("would delete {report}");
                } else {
                    println!("deleted {report}");
                }
                Ok(())
            }
            Command::User(command) => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                // Disabling a user tells the servers (through Redis, when configured) to close their sockets.
                let pubsub = startup::connect_pubsub(&settings).await?;
                users::run(&db, &pubsub, command).await
            }
            Command::ImportErn { file } => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                let pubsub = omnisonic_web::graphql_events(startup::connect_pubsub(&settings).await?);
                let bar = indicatif::ProgressBar::new(0).with_message("importing deals");
                let summary = crate::rights::import_ern(&db, &pubsub, &file, &bar).await;
                bar.finish_and_clear();
                println!("{}", summary?);
                Ok(())
            }
            Command::Import { file, format, errors } => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                let summary =
                    crate::import_cli::import_file(&db, &file, format.as_deref(), &settings, errors.as_deref()).await?;
                println!("{summary}");
                Ok(())
            }
            Command::Token(command) => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                users::run_token(&db, command).await
            }
            Command::Licenses(LicensesCommand::Expire { now, dry_run }) => {
                let at = match now {
                    Some(text) => {
                        omnisonic_domain::license::parse_instant(&text).map_err(|e| anyhow::anyhow!("--now: {e}"))?
                    }
                    None => chrono::Utc::now(),
                };
                anyhow::ensure!(
                    dry_run || at <= chrono::Utc::now(),
                    "--now {at} is in the future: expiring early cannot be undone (add --dry-run to only count)"
                );
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                if dry_run {
                    let due = omnisonic_store::licenses::count_due(&db, at).await?;
                    println!("{due} licenses would expire");
                } else {
                    let pubsub = startup::connect_pubsub(&settings).await?;
                    let expired = omnisonic_app::maintenance::expire_licenses(&db, &pubsub, at).await?;
                    println!("{expired} licenses expired");
                }
                Ok(())
            }
            Command::Jobs(command) => {
                let db = startup::connect(&settings).await?;
                omnisonic_store::migrate(&db).await.context("migrate the database")?;
                let queue = startup::connect_queue(&settings, &db).await?;
                crate::jobs_cli::run(&*queue, command).await
            }
            Command::Feeds(command) => {
                let services = startup::Services::connect(&settings).await?;
                crate::feeds_cli::run(&services.context(&settings), command).await
            }
            Command::Tagging(command) => {
                let services = startup::Services::connect(&settings).await?;
                crate::feeds_cli::run_tagging(&services.context(&settings), command).await
            }
            Command::EnvExample => {
                print!("{}", env_example());
                Ok(())
            }
        }
    }
}

/// `.env.example`, generated from the settings' doc comments so that it cannot drift from `--help`.
pub fn env_example() -> String {
    let mut out = String::from(
        "# Omnisonic settings. Generated by `omnisonic env-example` from the settings' documentation;\n\
         # every line is optional: with none set, omnisonic runs on embedded defaults under ./data.\n",
    );
    let command = Cli::command();
    let mut section = None;
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        if arg.get_help_heading() != section {
            section = arg.get_help_heading();
            if let Some(heading) = section {
                out.push_str(&format!("\n# ===== {heading} =====\n"));
            }
        }
        let help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
        out.push('\n');
        for line in help.lines() {
            out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
        }
        let default = arg.get_default_values().first().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default();
        out.push_str(&format!("#{}={default}\n", env.to_string_lossy()));
    }
    out
}

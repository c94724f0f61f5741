//! One `Settings` struct for the whole binary, layered defaults → TOML file → environment → flags.
//!
//! Each setting is documented once, on its field: that doc comment is the `--help` text and the `.env.example`
//! entry (a test keeps `.env.example` in step). Secrets never appear in `Debug` output or logs.

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use omnisonic_web::auth::{AuthConfig, ClientSecret, ProviderConfig, ProviderKind};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Where uploaded files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageType {
    /// Files under `<data dir>/objects`, downloads served by Omnisonic with signed, expiring URLs.
    Local,
    /// Amazon S3 (`S3_*`, `AWS_*`).
    S3,
    /// MinIO or another S3-compatible server (`MINIO_*`).
    Minio,
}

/// A value that must not be printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Every setting of the binary, in sections (each a group in `--help`). A setting is declared once, as a field:
/// its flag, environment variable, settings-file key (the field name) and help text all come from there.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Optional TOML settings file; its keys are the long flag names with underscores (e.g. `data_dir = "/var/lib/omnisonic"`).
    /// Environment variables and flags override it.
    #[arg(long, env = "OMNISONIC_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder for embedded data: the SQLite database and, later, locally stored files.
    #[arg(long, env = "OMNISONIC_DATA_DIR", global = true, default_value = "data", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Log format: `pretty` for people, `json` for log shippers. Filter with `RUST_LOG` (e.g. `info,omnisonic=debug`).
    #[arg(long, env = "LOG_FORMAT", global = true, value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Where and how `serve` listens.
    #[command(flatten)]
    pub server: ServerSettings,

    /// The database: embedded SQLite by default, or PostgreSQL.
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Redis, for the distributed job queue, pub/sub and rate limits.
    #[command(flatten)]
    pub redis: RedisSettings,

    /// Sign-in: the public URL, OAuth providers, passwords, email links, sign-in sessions.
    #[command(flatten)]
    pub auth: AuthSettings,

    /// Outgoing mail.
    #[command(flatten)]
    pub mail: MailSettings,

    /// Object storage for uploads, exports and import files.
    #[command(flatten)]
    pub storage: StorageSettings,

    /// Background jobs: mixdown exports and the workers that run them.
    #[command(flatten)]
    pub jobs: JobSettings,

    /// Bulk ISRC imports.
    #[command(flatten)]
    pub bulk_import: BulkImportSettings,

    /// Insight: feeds, outbound HTTP, tagging.
    #[command(flatten)]
    pub insight: InsightSettings,
}

/// Where and how `serve` listens.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerSettings {
    /// Address `serve` listens on. Port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "OMNISONIC_BIND", global = true, default_value = "127.0.0.1:3000", value_name = "ADDR")]
    pub bind: SocketAddr,

    /// Also serve GraphQL subscriptions (`/graphql/ws`) on this port, as spec 2.1 asks (4001 there); they are
    /// always served on the main port too.
    #[arg(long, env = "SUBSCRIPTIONS_PORT", global = true, value_name = "PORT")]
    pub subscriptions_port: Option<u16>,

    /// Apply pending database migrations when `serve` starts. Turn off when deployments run `omnisonic migrate`
    /// as a separate step.
    #[arg(long, env = "OMNISONIC_AUTO_MIGRATE", global = true, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub auto_migrate: bool,
}

/// The database: embedded SQLite by default, or PostgreSQL.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://PATH` (embedded) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    /// Default: `sqlite://<data dir>/omnisonic.db`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub database_url: Option<Secret>,

    /// Read-replica URL for read-only queries (PostgreSQL). Checked at start; routing reads to it arrives with the
    /// read-replica release.
    #[arg(long, env = "DATABASE_READ_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub database_read_url: Option<Secret>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", global = true, default_value_t = 16, value_name = "N")]
    pub database_max_connections: u32,
}

/// Redis, for the distributed job queue, pub/sub and rate limits.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Redis")]
pub struct RedisSettings {
    /// Redis URL for the distributed job queue and pub/sub (`redis://HOST:6379`): with it, web nodes and workers
    /// in separate processes share jobs and realtime events. Without it, jobs queue in the database and events stay
    /// in-process.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub redis_url: Option<Secret>,

    /// Prefix of every Redis key Omnisonic writes (queues, jobs): lets deployments share one Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", global = true, default_value = "omnisonic:", value_name = "PREFIX")]
    pub redis_key_prefix: String,
}

/// Sign-in: the public URL, OAuth providers, passwords, email links, sign-in sessions.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Sign-in")]
pub struct AuthSettings {
    /// Public base URL people reach Omnisonic at (`NEXTAUTH_URL` is accepted too). OAuth callback URLs are built
    /// from it (`<AUTH_URL>/auth/callback/github`), and cookies are `Secure` when it is https.
    /// Default: `http://<bind address>`.
    #[arg(long, env = "AUTH_URL", global = true, value_name = "URL")]
    pub auth_url: Option<String>,

    /// GitHub OAuth app client id. GitHub sign-in is on when this and `GITHUB_CLIENT_SECRET` are set.
    #[arg(long, env = "GITHUB_CLIENT_ID", global = true, value_name = "ID")]
    pub github_client_id: Option<String>,

    /// GitHub OAuth app client secret.
    #[arg(long, env = "GITHUB_CLIENT_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    pub github_client_secret: Option<Secret>,

    /// GitHub's web URL (authorize and token endpoints). Change it only for GitHub Enterprise or a test provider.
    #[arg(long, env = "GITHUB_BASE_URL", global = true, default_value = "https://github.com", value_name = "URL")]
    pub github_base_url: String,

    /// GitHub's API URL (the user profile and emails).
    #[arg(long, env = "GITHUB_API_URL", global = true, default_value = "https://api.github.com", value_name = "URL")]
    pub github_api_url: String,

    /// Google OAuth client id (OpenID Connect). Google sign-in is on when this and `GOOGLE_CLIENT_SECRET` are set.
    #[arg(long, env = "GOOGLE_CLIENT_ID", global = true, value_name = "ID")]
    pub google_client_id: Option<String>,

    /// Google OAuth client secret.
    #[arg(long, env = "GOOGLE_CLIENT_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    pub google_client_secret: Option<Secret>,

    /// Google's OpenID issuer; its endpoints are discovered from `<issuer>/.well-known/openid-configuration`.
    #[arg(
        long,
        env = "GOOGLE_ISSUER_URL",
        global = true,
        default_value = "https://accounts.google.com",
        value_name = "URL"
    )]
    pub google_issuer_url: String,

    /// Discord OAuth2 client id. Discord sign-in is on when this and `DISCORD_CLIENT_SECRET` are set.
    #[arg(long, env = "DISCORD_CLIENT_ID", global = true, value_name = "ID")]
    pub discord_client_id: Option<String>,

    /// Discord OAuth2 client secret.
    #[arg(long, env = "DISCORD_CLIENT_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    pub discord_client_secret: Option<Secret>,

    /// Discord's base URL (`/oauth2/authorize`, `/api/oauth2/token`, `/api/users/@me` below it).
    #[arg(long, env = "DISCORD_BASE_URL", global = true, default_value = "https://discord.com", value_name = "URL")]
    pub discord_base_url: String,

    /// Email + password sign-in, for development (`omnisonic user create` makes accounts). Default: on only when
    /// no OAuth provider is configured and `AUTH_URL` is not https — so production needs an explicit `true`.
    #[arg(long, env = "AUTH_CREDENTIALS", global = true, value_name = "BOOL")]
    pub auth_credentials: Option<bool>,

    /// Passwordless sign-in by a one-time link sent by email. Default: on when `SMTP_URL` is set, or when
    /// `AUTH_URL` is not https (the links then go to the outbox folder under the data dir).
    #[arg(long, env = "AUTH_EMAIL", global = true, value_name = "BOOL")]
    pub auth_email: Option<bool>,

    /// A sign-in ends after this many seconds without a request (default: 7 days).
    #[arg(long, env = "AUTH_SESSION_IDLE_SECS", global = true, default_value_t = 7 * 24 * 3600, value_name = "SECS")]
    pub auth_session_idle_secs: u64,

    /// A sign-in ends this many seconds after it started, however active (default: 30 days).
    #[arg(long, env = "AUTH_SESSION_MAX_AGE_SECS", global = true, default_value_t = 30 * 24 * 3600, value_name = "SECS")]
    pub auth_session_max_age_secs: u64,

    /// The app secret (`NEXTAUTH_SECRET` is accepted too) that signs the local storage's download URLs. Default:
    /// a random key kept in `<data dir>/secret.key`. Set the same value on every node that serves local files.
    #[arg(long, env = "AUTH_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    pub auth_secret: Option<Secret>,
}

/// Outgoing mail.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Mail")]
pub struct MailSettings {
    /// SMTP server for outgoing mail: `smtp://HOST:PORT` (plain, a local relay), `smtp://HOST:587?tls=required`
    /// (STARTTLS) or `smtps://USER:PASSWORD@HOST:465`. Without it mail is written as `.eml` files to
    /// `<data dir>/outbox`.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub smtp_url: Option<Secret>,

    /// The sender of Omnisonic's mail.
    #[arg(
        long,
        env = "EMAIL_FROM",
        global = true,
        default_value = "Omnisonic <no-reply@omnisonic.invalid>",
        value_name = "MAILBOX"
    )]
    pub email_from: String,
}

/// Object storage for uploads, exports and import files.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Storage")]
pub struct StorageSettings {
    /// Where uploads are stored: `local` (under the data dir), `s3` or `minio` (any S3-compatible server).
    #[arg(long, env = "STORAGE_TYPE", global = true, value_enum, default_value = "local")]
    pub storage_type: StorageType,

    /// S3 bucket for uploads (`STORAGE_TYPE=s3`).
    #[arg(long, env = "S3_BUCKET_NAME", global = true, value_name = "BUCKET")]
    pub s3_bucket_name: Option<String>,

    /// S3 region.
    #[arg(long, env = "S3_REGION", global = true, default_value = "us-east-1", value_name = "REGION")]
    pub s3_region: String,

    /// AWS access key id (`STORAGE_TYPE=s3`).
    #[arg(long, env = "AWS_ACCESS_KEY_ID", global = true, value_name = "ID")]
    pub aws_access_key_id: Option<String>,

    /// AWS secret access key (`STORAGE_TYPE=s3`).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", global = true, hide_env_values = true, value_name = "SECRET")]
    pub aws_secret_access_key: Option<Secret>,

    /// MinIO (or other S3 API) endpoint, e.g. `http://localhost:9000` (`STORAGE_TYPE=minio`).
    #[arg(long, env = "MINIO_ENDPOINT", global = true, value_name = "URL")]
    pub minio_endpoint: Option<String>,

    /// MinIO bucket for uploads.
    #[arg(long, env = "MINIO_BUCKET_NAME", global = true, value_name = "BUCKET")]
    pub minio_bucket_name: Option<String>,

    /// MinIO access key.
    #[arg(long, env = "MINIO_ACCESS_KEY", global = true, value_name = "KEY")]
    pub minio_access_key: Option<String>,

    /// MinIO secret key.
    #[arg(long, env = "MINIO_SECRET_KEY", global = true, hide_env_values = true, value_name = "SECRET")]
    pub minio_secret_key: Option<Secret>,

    /// Public base URL of a CDN in front of the bucket; download links then point there instead of being presigned.
    #[arg(long, env = "STORAGE_CDN_URL", global = true, value_name = "URL")]
    pub storage_cdn_url: Option<String>,
}

/// Background jobs: mixdown exports and the workers that run them.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Jobs")]
pub struct JobSettings {
    /// Mixdown exports a worker process runs at once.
    #[arg(long, env = "EXPORT_WORKER_CONCURRENCY", global = true, default_value_t = 2, value_name = "N")]
    pub export_worker_concurrency: usize,

    /// The longest mix, in seconds: a longer one is refused when asked for, and an export job running longer
    /// than this is stopped and marked failed.
    #[arg(long, env = "EXPORT_MAX_DURATION_SECONDS", global = true, default_value_t = 600, value_name = "SECONDS")]
    pub export_max_duration_seconds: u64,

    /// How long a worker holds a job without a heartbeat. When a worker dies, its job runs again after this.
    #[arg(long, env = "JOB_LEASE_SECONDS", global = true, default_value_t = 30, value_name = "SECONDS")]
    pub job_lease_seconds: u64,
}

/// Bulk ISRC imports.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Bulk import")]
pub struct BulkImportSettings {
    /// The largest bulk import file, in MB (spec 2.3: 100); larger uploads are refused with 413 as they stream.
    #[arg(long, env = "BULK_IMPORT_MAX_FILE_SIZE_MB", global = true, default_value_t = 100, value_name = "MB")]
    pub bulk_import_max_file_size_mb: u64,

    /// Records a bulk import writes per batch (spec 2.3: 100; at most 1,000). Each batch is one transaction and
    /// the unit a restarted import resumes from.
    #[arg(long, env = "BULK_IMPORT_BATCH_SIZE", global = true, default_value_t = 100, value_name = "N")]
    pub bulk_import_batch_size: usize,

    /// Batches a bulk import writes at once (spec 2.3: 10).
    #[arg(long, env = "BULK_IMPORT_CONCURRENCY", global = true, default_value_t = 10, value_name = "N")]
    pub bulk_import_concurrency: usize,

    /// Bulk imports one user may start per hour (spec 2.3: 5); shared across nodes through Redis when
    /// `REDIS_URL` is set.
    #[arg(long, env = "BULK_IMPORT_RATE_LIMIT_PER_HOUR", global = true, default_value_t = 5, value_name = "N")]
    pub bulk_import_rate_limit_per_hour: u32,
}

/// Insight: feeds, outbound HTTP, tagging.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Insight")]
pub struct InsightSettings {
    /// Private address ranges outbound requests (feeds) may reach after all, comma-separated CIDRs such as
    /// `127.0.0.0/8,::1`. Empty (the default) refuses loopback, private, link-local (cloud metadata), CGNAT and
    /// multicast addresses. Set it only for local testing or a trusted internal feed.
    #[arg(long, env = "OUTBOUND_ALLOW_CIDRS", global = true, default_value = "", value_name = "CIDRS")]
    pub outbound_allow_cidrs: String,

    /// Seconds an outbound request (a feed poll) may take in all.
    #[arg(long, env = "OUTBOUND_TIMEOUT_SECONDS", global = true, default_value_t = 20, value_name = "SECONDS")]
    pub outbound_timeout_seconds: u64,

    /// The largest feed body, in bytes; a larger one fails the poll (and counts as an error).
    #[arg(long, env = "FEED_MAX_BYTES", global = true, default_value_t = 10 * 1024 * 1024, value_name = "BYTES")]
    pub feed_max_bytes: u64,

    /// The poll interval of new feed sources, in seconds (at least 60).
    #[arg(long, env = "FEED_POLL_INTERVAL_SECONDS", global = true, default_value_t = 900, value_name = "SECONDS")]
    pub feed_poll_interval_seconds: u64,

    /// Minimum confidence (0-100) of an entity tag (spec 3.1: the fuzzy match threshold).
    #[arg(long, env = "TAGGING_FUZZY_THRESHOLD", global = true, default_value_t = 70, value_name = "0-100",
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub tagging_fuzzy_threshold: u8,

    /// Extra common words for the tagger's stoplist, comma-separated: names made only of such words need
    /// evidence in the text (quotes, a cue like "the band", the artist nearby) to be tagged.
    #[arg(long, env = "TAGGING_STOPLIST", global = true, default_value = "", value_name = "WORDS")]
    pub tagging_stoplist: String,

    /// A file of extra stoplist words (one or more per line, `#` comments), added to `TAGGING_STOPLIST`.
    #[arg(long, env = "TAGGING_STOPLIST_FILE", global = true, value_name = "FILE")]
    pub tagging_stoplist_file: Option<PathBuf>,

    /// Ask a local sentence model (all-MiniLM-L6-v2, run in-process, no network) for a second opinion on each
    /// mention: it lifts names the context rules doubted and confirms others (method `embedding`/`hybrid`).
    /// Needs the model at TAGGING_MODEL_PATH; about 20-70 ms of CPU per item.
    #[arg(long, env = "TAGGING_USE_EMBEDDINGS", global = true, default_value_t = false, value_name = "BOOL",
          action = clap::ArgAction::Set)]
    pub tagging_use_embeddings: bool,

    /// Cosine similarity (0-1) at which the model agrees that a mention names an entity.
    #[arg(long, env = "TAGGING_EMBEDDING_THRESHOLD", global = true, default_value_t = 0.7, value_name = "0-1",
          value_parser = parse_unit_interval)]
    pub tagging_embedding_threshold: f32,

    /// Folder of the sentence model (model.safetensors, tokenizer.json, config.json); `bash
    /// scripts/fetch-model.sh DIR` fetches it. Default: ~/.cache/omnisonic/models/all-minilm-l6-v2.
    #[arg(long, env = "TAGGING_MODEL_PATH", global = true, value_name = "DIR")]
    pub tagging_model_path: Option<PathBuf>,
}

/// A number from 0 to 1.
fn parse_unit_interval(value: &str) -> Result<f32, String> {
    let parsed: f32 = value.trim().parse().map_err(|_| format!("{value:?} is not a number"))?;
    if (0.0..=1.0).contains(&parsed) { Ok(parsed) } else { Err(format!("{value} is not between 0 and 1")) }
}

impl Settings {
    /// The sentence model's settings, when `TAGGING_USE_EMBEDDINGS` is on.
    pub fn embeddings(&self) -> Option<omnisonic_app::insight::embeddings::EmbeddingSettings> {
        if !self.insight.tagging_use_embeddings {
            return None;
        }
        let model_path = self.insight.tagging_model_path.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/omnisonic/models/all-minilm-l6-v2")
        });
        Some(omnisonic_app::insight::embeddings::EmbeddingSettings {
            model_path,
            threshold: self.insight.tagging_embedding_threshold,
        })
    }

    /// Insight's services: the guarded outbound client, the tagger cache, feed settings.
    pub fn insight(&self) -> anyhow::Result<omnisonic_app::insight::Insight> {
        let allow = omnisonic_platform::outbound::parse_allow_list(&self.insight.outbound_allow_cidrs)
            .map_err(|e| anyhow::anyhow!("OUTBOUND_ALLOW_CIDRS: {e}"))?;
        let outbound = omnisonic_platform::OutboundClient::new(&omnisonic_platform::OutboundSettings {
            allow,
            timeout: Duration::from_secs(self.insight.outbound_timeout_seconds.max(1)),
            ..Default::default()
        })
        .context("build the outbound HTTP client")?;
        let mut extra_stopwords = self.insight.tagging_stoplist.replace(',', " ");
        if let Some(path) = &self.insight.tagging_stoplist_file {
            let words = std::fs::read_to_string(path)
                .with_context(|| format!("read TAGGING_STOPLIST_FILE {}", path.display()))?;
            extra_stopwords.push('\n');
            extra_stopwords.push_str(&words);
        }
        let tagging = omnisonic_app::insight::tagger::TaggingSettings {
            fuzzy_threshold: self.insight.tagging_fuzzy_threshold,
            extra_stopwords,
        };
        Ok(omnisonic_app::insight::Insight {
            outbound,
            tagger: omnisonic_app::insight::tagger::TaggerCache::new(tagging),
            feeds: omnisonic_app::insight::feeds::FeedSettings {
                max_bytes: self.insight.feed_max_bytes,
                default_interval: Duration::from_secs(self.insight.feed_poll_interval_seconds),
            },
        })
    }

    /// How bulk imports run (batch size, batches in flight).
    pub fn import_tuning(&self) -> omnisonic_app::bulk_import::pipeline::Tuning {
        omnisonic_app::bulk_import::pipeline::Tuning {
            batch_size: self.bulk_import.bulk_import_batch_size,
            concurrency: self.bulk_import.bulk_import_concurrency,
            ..Default::default()
        }
    }

    /// The limits the web layer enforces on bulk imports.
    pub fn bulk_import_limits(&self) -> omnisonic_web::BulkImportLimits {
        omnisonic_web::BulkImportLimits {
            max_file_bytes: self.bulk_import.bulk_import_max_file_size_mb.saturating_mul(1024 * 1024),
            batch_size: u32::try_from(self.bulk_import.bulk_import_batch_size).unwrap_or(100),
            per_hour: self.bulk_import.bulk_import_rate_limit_per_hour,
        }
    }

    /// The database URL in force: the configured one, or the embedded SQLite file under the data folder.
    pub fn database_url(&self) -> String {
        match &self.database.database_url {
            Some(url) => url.0.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("omnisonic.db").display()),
        }
    }

    /// Fails with a clear message when a URL names something this build cannot use.
    pub fn check(&self) -> anyhow::Result<()> {
        omnisonic_store::Backend::from_url(&self.database_url()).context("DATABASE_URL")?;
        if let Some(read) = &self.database.database_read_url {
            let backend = omnisonic_store::Backend::from_url(&read.0).context("DATABASE_READ_URL")?;
            if backend != omnisonic_store::Backend::Postgres {
                bail!("DATABASE_READ_URL: a read replica must be PostgreSQL");
            }
        }
        if let Some(redis) = &self.redis.redis_url
            && !(redis.0.starts_with("redis://") || redis.0.starts_with("rediss://"))
        {
            bail!("REDIS_URL: expected redis://HOST:PORT or rediss://HOST:PORT");
        }
        if self.database.database_max_connections == 0 {
            bail!("DATABASE_MAX_CONNECTIONS must be at least 1");
        }
        if let Some(url) = self.public_url_setting() {
            let parsed = url::Url::parse(&url).with_context(|| format!("AUTH_URL: {url:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("AUTH_URL: expected an http:// or https:// URL");
            }
        }
        self.providers()?;
        omnisonic_platform::Mailer::validate(self.mail.smtp_url.as_ref().map(|u| u.0.as_str()), &self.mail.email_from)
            .context("SMTP_URL / EMAIL_FROM")?;
        self.storage_config()?;
        if let Some(cdn) = &self.storage.storage_cdn_url {
            url::Url::parse(cdn).with_context(|| format!("STORAGE_CDN_URL: {cdn:?} is not a URL"))?;
        }
        if self.jobs.export_worker_concurrency == 0 || self.jobs.export_max_duration_seconds == 0 {
            bail!("EXPORT_WORKER_CONCURRENCY and EXPORT_MAX_DURATION_SECONDS must be at least 1");
        }
        if self.bulk_import.bulk_import_max_file_size_mb == 0
            || self.bulk_import.bulk_import_concurrency == 0
            || self.bulk_import.bulk_import_rate_limit_per_hour == 0
        {
            bail!(
                "BULK_IMPORT_MAX_FILE_SIZE_MB, BULK_IMPORT_CONCURRENCY and BULK_IMPORT_RATE_LIMIT_PER_HOUR must be at \
                 least 1"
            );
        }
        let max_batch = omnisonic_domain::bulk_import::MAX_BATCH_SIZE;
        if !(1..=max_batch).contains(&self.bulk_import.bulk_import_batch_size) {
            bail!("BULK_IMPORT_BATCH_SIZE must be between 1 and {max_batch}");
        }
        if self.jobs.job_lease_seconds < 3 {
            bail!("JOB_LEASE_SECONDS must be at least 3 (heartbeats come every third of it)");
        }
        if self.auth.auth_session_idle_secs == 0 || self.auth.auth_session_max_age_secs == 0 {
            bail!("AUTH_SESSION_IDLE_SECS and AUTH_SESSION_MAX_AGE_SECS must be at least 1");
        }
        Ok(())
    }

    /// `AUTH_URL`, else `NEXTAUTH_URL` (the spec's name).
    fn public_url_setting(&self) -> Option<String> {
        self.auth.auth_url.clone().or_else(|| std::env::var("NEXTAUTH_URL").ok().filter(|v| !v.is_empty()))
    }

    /// The OAuth providers that have both a client id and a secret; half a pair is an error.
    pub fn providers(&self) -> anyhow::Result<Vec<ProviderConfig>> {
        let pairs = [
            (
                ProviderKind::GitHub,
                &self.auth.github_client_id,
                &self.auth.github_client_secret,
                &self.auth.github_base_url,
                Some(&self.auth.github_api_url),
            ),
            (
                ProviderKind::Google,
                &self.auth.google_client_id,
                &self.auth.google_client_secret,
                &self.auth.google_issuer_url,
                None,
            ),
            (
                ProviderKind::Discord,
                &self.auth.discord_client_id,
                &self.auth.discord_client_secret,
                &self.auth.discord_base_url,
                None,
            ),
        ];
        let mut providers = Vec::new();
        for (kind, id, secret, base, api) in pairs {
            let name = kind.id().to_uppercase();
            match (id, secret) {
                (None, None) => continue,
                (Some(_), None) => bail!("{name}_CLIENT_ID is set but {name}_CLIENT_SECRET is not"),
                (None, Some(_)) => bail!("{name}_CLIENT_SECRET is set but {name}_CLIENT_ID is not"),
                (Some(id), Some(secret)) => {
                    let parse = |url: &str, what: &str| {
                        url::Url::parse(url).with_context(|| format!("{name}_{what}: {url:?} is not a URL"))
                    };
                    providers.push(ProviderConfig {
                        kind,
                        client_id: id.clone(),
                        client_secret: ClientSecret(secret.0.clone()),
                        base_url: parse(base, if kind == ProviderKind::Google { "ISSUER_URL" } else { "BASE_URL" })?,
                        api_url: api.map(|api| parse(api, "API_URL")).transpose()?,
                    });
                }
            }
        }
        Ok(providers)
    }

    /// Where uploads go; a missing bucket name or key for the chosen type is an error naming the variable.
    pub fn storage_config(&self) -> anyhow::Result<omnisonic_platform::StorageConfig> {
        let need =
            |value: &Option<String>, var: &str| value.clone().with_context(|| format!("STORAGE_TYPE needs {var}"));
        let need_secret = |value: &Option<Secret>, var: &str| {
            value.as_ref().map(|s| s.0.clone()).with_context(|| format!("STORAGE_TYPE needs {var}"))
        };
        Ok(match self.storage.storage_type {
            StorageType::Local => omnisonic_platform::StorageConfig::Local { root: self.data_dir.join("objects") },
            StorageType::S3 => omnisonic_platform::StorageConfig::S3 {
                bucket: need(&self.storage.s3_bucket_name, "S3_BUCKET_NAME")?,
                region: self.storage.s3_region.clone(),
                endpoint: None,
                access_key_id: need(&self.storage.aws_access_key_id, "AWS_ACCESS_KEY_ID")?,
                secret_access_key: need_secret(&self.storage.aws_secret_access_key, "AWS_SECRET_ACCESS_KEY")?,
            },
            StorageType::Minio => {
                let endpoint = need(&self.storage.minio_endpoint, "MINIO_ENDPOINT")?;
                url::Url::parse(&endpoint).with_context(|| format!("MINIO_ENDPOINT: {endpoint:?} is not a URL"))?;
                omnisonic_platform::StorageConfig::S3 {
                    bucket: need(&self.storage.minio_bucket_name, "MINIO_BUCKET_NAME")?,
                    region: self.storage.s3_region.clone(),
                    endpoint: Some(endpoint),
                    access_key_id: need(&self.storage.minio_access_key, "MINIO_ACCESS_KEY")?,
                    secret_access_key: need_secret(&self.storage.minio_secret_key, "MINIO_SECRET_KEY")?,
                }
            }
        })
    }

    /// The app secret: `AUTH_SECRET`, else `NEXTAUTH_SECRET`, else a random key kept in `<data dir>/secret.key`.
    pub fn app_secret(&self) -> anyhow::Result<Vec<u8>> {
        const MIN: usize = 16;
        let given =
            self.auth.auth_secret.as_ref().map(|s| s.0.clone()).or_else(|| std::env::var("NEXTAUTH_SECRET").ok());
        if let Some(secret) = given.filter(|v| !v.is_empty()) {
            if secret.len() < MIN {
                bail!("AUTH_SECRET must be at least {MIN} characters (e.g. `openssl rand -base64 32`)");
            }
            return Ok(secret.into_bytes());
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(existing) = std::fs::read(&path) {
            if existing.len() < MIN {
                bail!(
                    "{} is shorter than {MIN} bytes (a crash while creating it?): delete it to get a new one",
                    path.display()
                );
            }
            return Ok(existing);
        }
        std::fs::create_dir_all(&self.data_dir).with_context(|| format!("create {}", self.data_dir.display()))?;
        let secret: [u8; 32] = rand::random();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, &secret).with_context(|| format!("write {}", path.display()))?;
                Ok(secret.to_vec())
            }
            // Another process created it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read(&path).with_context(|| format!("read {}", path.display()))
            }
            Err(err) => Err(err).with_context(|| format!("create {}", path.display())),
        }
    }

    /// Outgoing mail: SMTP when configured, else the outbox folder.
    pub fn mailer(&self) -> Result<omnisonic_platform::Mailer, omnisonic_platform::MailError> {
        match &self.mail.smtp_url {
            Some(url) => omnisonic_platform::Mailer::smtp(&url.0, &self.mail.email_from),
            None => omnisonic_platform::Mailer::outbox(self.data_dir.join("outbox"), &self.mail.email_from),
        }
    }

    /// Sign-in settings for the web layer; `bound` is the address actually listened on (for the default URL).
    pub fn auth_config(&self, bound: SocketAddr) -> anyhow::Result<AuthConfig> {
        let public_url = match self.public_url_setting() {
            Some(url) => url::Url::parse(&url).context("AUTH_URL")?,
            None => url::Url::parse(&format!("http://{bound}")).context("default AUTH_URL from the bind address")?,
        };
        let providers = self.providers()?;
        let credentials = self.auth.auth_credentials.unwrap_or(providers.is_empty() && public_url.scheme() != "https");
        let mut config = AuthConfig::development(public_url);
        config.providers = providers;
        config.credentials = credentials;
        config.email_links = self.auth.auth_email.unwrap_or(self.mail.smtp_url.is_some() || !config.secure_cookies());
        config.idle_timeout = std::time::Duration::from_secs(self.auth.auth_session_idle_secs);
        config.max_age = std::time::Duration::from_secs(self.auth.auth_session_max_age_secs);
        Ok(config)
    }

    /// Fills every setting not given on the command line or in the environment from the TOML file at `path`.
    /// Unknown keys are reported, not silently ignored.
    pub fn apply_file(&mut self, path: &Path, matches: &ArgMatches) -> anyhow::Result<Vec<String>> {
        use clap::FromArgMatches;
        let text = std::fs::read_to_string(path).with_context(|| format!("read settings file {}", path.display()))?;
        let table: toml::Table = text.parse().with_context(|| format!("parse settings file {}", path.display()))?;
        // The file is read by the same clap definitions as flags and environment, so a setting is declared once
        // (its field): the key is the field's name, the value is parsed and checked as the flag's would be.
        // Without defaults and environment, only what the file says is applied.
        let command = Self::augment_args(clap::Command::new("settings-file").no_binary_name(true))
            .mut_args(|arg| arg.default_value(None).env(None).global(false));
        let mut args = Vec::new();
        let mut unknown = Vec::new();
        for (key, value) in table {
            let Some(long) = command.get_arguments().find(|a| a.get_id() == key.as_str()).and_then(|a| a.get_long())
            else {
                unknown.push(key);
                continue;
            };
            if matches!(matches.value_source(&key), Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
                continue;
            }
            let text = match &value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => bail!("{}: `{key}` must be a string, integer or boolean", path.display()),
            };
            args.push(format!("--{long}={text}"));
        }
        let from_file = command.try_get_matches_from(&args).map_err(|e| {
            let message = e.render().to_string();
            let message = message.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
            anyhow::anyhow!("{}: {message}", path.display())
        })?;
        self.update_from_arg_matches(&from_file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(unknown)
    }
}

/// A URL with any password replaced by `***`, safe to log.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(redact_url("postgres://u:hunter2@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "[redacted]");
    }

    fn loaded(file: &str, args: &[&str]) -> anyhow::Result<(Settings, Vec<String>)> {
        use clap::{CommandFactory, FromArgMatches};
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("omnisonic.toml");
        std::fs::write(&path, file)?;
        let matches = crate::cli::Cli::command().try_get_matches_from(
            std::iter::once("omnisonic").chain(args.iter().copied()).chain(std::iter::once("migrate")),
        )?;
        let mut settings = crate::cli::Cli::from_arg_matches(&matches)?.settings;
        let unknown = settings.apply_file(&path, &matches)?;
        Ok((settings, unknown))
    }

    #[test]
    fn the_file_fills_what_flags_leave_and_is_checked_like_them() {
        let file = "bulk_import_batch_size = 7\nauto_migrate = false\nbind = \"0.0.0.0:9\"\nstorage_type = \"minio\"\nnope = 1\n";
        let (settings, unknown) = loaded(file, &["--bind", "127.0.0.1:5"]).expect("loads");
        assert_eq!(settings.bulk_import.bulk_import_batch_size, 7);
        assert!(!settings.server.auto_migrate);
        assert_eq!(settings.storage.storage_type, StorageType::Minio);
        assert_eq!(settings.server.bind.to_string(), "127.0.0.1:5", "a flag wins over the file");
        assert_eq!(unknown, ["nope"]);
        // Untouched settings keep their defaults.
        assert_eq!(settings.database.database_max_connections, 16);
        let bad = loaded("database_max_connections = \"many\"\n", &[]).expect_err("refused");
        let message = bad.to_string();
        assert!(message.contains("omnisonic.toml") && message.contains("many"), "{message}");
    }
}

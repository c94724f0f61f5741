//! One `Settings` struct for the whole binary, layered defaults → TOML file → environment → flags.
//!
//! Each setting is documented once, on its field: that doc comment is the `--help` text and the `.env.example`
//! entry (a test keeps `.env.example` in step). Secrets never appear in `Debug` output or logs.

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
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

/// Every setting of the binary.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Optional TOML settings file; its keys are the long flag names with underscores (e.g. `data_dir = "/var/lib/omnisonic"`).
    /// Environment variables and flags override it.
    #[arg(long, env = "OMNISONIC_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder for embedded data: the SQLite database and, later, locally stored files.
    #[arg(long, env = "OMNISONIC_DATA_DIR", global = true, default_value = "data", value_name = "DIR")]
    pub data_dir: PathBuf,

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

    /// Redis URL for the distributed job queue and pub/sub (`redis://HOST:6379`). Checked at start; used by the
    /// queue and pub/sub releases. Without it everything runs in-process.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub redis_url: Option<Secret>,

    /// Address `serve` listens on. Port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "OMNISONIC_BIND", global = true, default_value = "127.0.0.1:3000", value_name = "ADDR")]
    pub bind: SocketAddr,

    /// Apply pending database migrations when `serve` starts. Turn off when deployments run `omnisonic migrate`
    /// as a separate step.
    #[arg(long, env = "OMNISONIC_AUTO_MIGRATE", global = true, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub auto_migrate: bool,

    /// Log format: `pretty` for people, `json` for log shippers. Filter with `RUST_LOG` (e.g. `info,omnisonic=debug`).
    #[arg(long, env = "LOG_FORMAT", global = true, value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
}

impl Settings {
    /// The database URL in force: the configured one, or the embedded SQLite file under the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.0.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("omnisonic.db").display()),
        }
    }

    /// Fails with a clear message when a URL names something this build cannot use.
    pub fn check(&self) -> anyhow::Result<()> {
        omnisonic_store::Backend::from_url(&self.database_url()).context("DATABASE_URL")?;
        if let Some(read) = &self.database_read_url {
            let backend = omnisonic_store::Backend::from_url(&read.0).context("DATABASE_READ_URL")?;
            if backend != omnisonic_store::Backend::Postgres {
                bail!("DATABASE_READ_URL: a read replica must be PostgreSQL");
            }
        }
        if let Some(redis) = &self.redis_url
            && !(redis.0.starts_with("redis://") || redis.0.starts_with("rediss://"))
        {
            bail!("REDIS_URL: expected redis://HOST:PORT or rediss://HOST:PORT");
        }
        if self.database_max_connections == 0 {
            bail!("DATABASE_MAX_CONNECTIONS must be at least 1");
        }
        Ok(())
    }

    /// Fills every setting not given on the command line or in the environment from the TOML file at `path`.
    /// Unknown keys are reported, not silently ignored.
    pub fn apply_file(&mut self, path: &Path, matches: &ArgMatches) -> anyhow::Result<Vec<String>> {
        let text = std::fs::read_to_string(path).with_context(|| format!("read settings file {}", path.display()))?;
        let table: toml::Table = text.parse().with_context(|| format!("parse settings file {}", path.display()))?;
        let mut unknown = Vec::new();
        const KNOWN: [&str; 8] = [
            "data_dir",
            "database_url",
            "database_read_url",
            "database_max_connections",
            "redis_url",
            "bind",
            "auto_migrate",
            "log_format",
        ];
        for (key, value) in table {
            if !KNOWN.contains(&key.as_str()) {
                unknown.push(key);
                continue;
            }
            let explicit =
                matches!(matches.value_source(&key), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
            if explicit {
                continue;
            }
            let text = match &value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => bail!("{}: `{key}` must be a string, integer or boolean", path.display()),
            };
            let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: `{key}`: {e}", path.display());
            match key.as_str() {
                "data_dir" => self.data_dir = PathBuf::from(text),
                "database_url" => self.database_url = Some(Secret(text)),
                "database_read_url" => self.database_read_url = Some(Secret(text)),
                "database_max_connections" => self.database_max_connections = text.parse().map_err(|e| bad(&e))?,
                "redis_url" => self.redis_url = Some(Secret(text)),
                "bind" => self.bind = text.parse().map_err(|e| bad(&e))?,
                "auto_migrate" => self.auto_migrate = text.parse().map_err(|e| bad(&e))?,
                "log_format" => self.log_format = LogFormat::from_str(&text, true).map_err(|e| bad(&e))?,
                _ => unreachable!("checked against KNOWN above"),
            }
        }
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
}

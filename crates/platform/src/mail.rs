//! Outgoing mail: SMTP when `SMTP_URL` is set, else an outbox folder of `.eml` files.
//!
//! The outbox is the embedded default: a developer opens the file (it holds the whole message, sign-in link
//! included), and nothing secret goes to the log, which only says where the file is.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address (sender or recipient) is not one.
    #[error("invalid email address {0:?}")]
    Address(String),
    /// `SMTP_URL` is not a valid SMTP URL.
    #[error("invalid SMTP_URL: {0}")]
    Url(String),
    /// Building the message failed.
    #[error("could not build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// Writing to the outbox failed.
    #[error("could not write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, host: String },
    Outbox(PathBuf),
}

/// Sends mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("transport", &self.describe()).field("from", &self.from.to_string()).finish()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|_| MailError::Address(address.to_owned()))
}

impl Mailer {
    /// Checks an `SMTP_URL` and sender without building anything: usable before an async runtime exists (building
    /// the SMTP transport needs one).
    pub fn validate(smtp_url: Option<&str>, from: &str) -> Result<(), MailError> {
        mailbox(from)?;
        if let Some(url) = smtp_url {
            let parsed = url::Url::parse(url).map_err(|e| MailError::Url(e.to_string()))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none_or(str::is_empty) {
                return Err(MailError::Url("expected smtp://HOST:PORT or smtps://USER:PASSWORD@HOST:PORT".to_owned()));
            }
        }
        Ok(())
    }

    /// Mail over SMTP. `url` is `smtp://host:port` (plain, for a local relay), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://user:password@host:465` (TLS from the start).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let host = url.rsplit_once('@').map_or(url, |(_, host)| host);
        let host = host.split_once("://").map_or(host, |(_, h)| h).to_owned();
        Ok(Self { transport: Arc::new(Transport::Smtp { transport, host }), from: mailbox(from)? })
    }

    /// Mail written as `.eml` files into `dir` (created when needed).
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        Ok(Self { transport: Arc::new(Transport::Outbox(dir)), from: mailbox(from)? })
    }

    /// Where mail goes, for logs (never includes a password).
    pub fn describe(&self) -> String {
        match &*self.transport {
            Transport::Smtp { host, .. } => format!("SMTP {host}"),
            Transport::Outbox(dir) => format!("outbox {}", dir.display()),
        }
    }

    /// Sends a plain-text message to `to`.
    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), MailError> {
        // A bare address, never a display-name form like `x<other@example.test>` that would redirect the mail.
        let to: lettre::Address = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)?;
        match &*self.transport {
            Transport::Smtp { transport, .. } => {
                transport.send(message).await?;
                tracing::info!(via = %self.describe(), "mail sent");
            }
            Transport::Outbox(dir) => {
                let path = write_outbox(dir, &message.formatted()).await?;
                tracing::info!(path = %path.display(), "mail written to the outbox (no SMTP_URL configured)");
            }
        }
        Ok(())
    }
}

/// Writes one message, readable only by its owner (it may hold a sign-in link).
async fn write_outbox(dir: &std::path::Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{}-{}.eml", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"), uuid::Uuid::now_v7().simple());
    let path = dir.join(name);
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    // tokio writes on a blocking thread: without the flush the write may still be in flight when we return.
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_holds_one_private_file_per_message() {
        let dir = tempfile::tempdir().expect("dir");
        let mailer = Mailer::outbox(dir.path().join("outbox"), "Omnisonic <no-reply@example.test>").expect("mailer");
        mailer.send("ana@example.test", "Hello", "Line one\nLine two".to_owned()).await.expect("send");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).expect("outbox").collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("To: ana@example.test") && text.contains("Subject: Hello") && text.contains("Line two"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn settings_are_checked_without_a_runtime() {
        assert!(Mailer::validate(Some("smtp://127.0.0.1:2525"), "a@example.test").is_ok());
        assert!(Mailer::validate(None, "Omnisonic <a@example.test>").is_ok());
        assert!(matches!(Mailer::validate(Some("http://example.test"), "a@example.test"), Err(MailError::Url(_))));
        assert!(matches!(Mailer::validate(None, "not an address"), Err(MailError::Address(_))));
    }

    #[tokio::test]
    async fn bad_addresses_and_urls_are_refused() {
        assert!(matches!(Mailer::outbox(PathBuf::from("x"), "not an address"), Err(MailError::Address(_))));
        assert!(matches!(Mailer::smtp("http://example.test", "a@example.test"), Err(MailError::Url(_))));
        let outbox = Mailer::outbox(PathBuf::from("unused"), "a@example.test").expect("outbox");
        let redirected = outbox.send("x<evil@example.test>", "s", String::new()).await;
        assert!(matches!(redirected, Err(MailError::Address(_))), "{redirected:?}");
        let mailer = Mailer::smtp("smtps://user:hunter2@mail.example.test:465", "a@example.test").expect("smtp");
        assert!(!mailer.describe().contains("hunter2"), "{}", mailer.describe());
    }
}

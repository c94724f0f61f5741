//! Wiring: connect the database, build the router, bind the listener, serve until told to stop.
//!
//! The listener is bound in [`Application::build`], before serving, so callers (and tests, on port 0) know the
//! address before the first request.

use crate::settings::{Settings, redact_url};
use anyhow::Context;
use omnisonic_store::DatabaseConnection;
use omnisonic_web::AppState;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    omnisonic_store::connect(&url, settings.database_max_connections)
        .await
        .with_context(|| format!("connect to the database at {}", redact_url(&url)))
}

impl Application {
    /// Connects, migrates (when `auto_migrate`), and binds `settings.bind`.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = connect(settings).await?;
        if settings.auto_migrate {
            omnisonic_store::migrate(&db).await.context("migrate the database")?;
        }
        if settings.database_read_url.is_some() || settings.redis_url.is_some() {
            tracing::warn!("DATABASE_READ_URL / REDIS_URL are accepted but not used by this version yet");
        }
        tracing::info!(database = %redact_url(&settings.database_url()), "database ready");
        Self::with_database(db, settings).await
    }

    /// Serves an already connected and migrated database with `settings` (tests use this to count statements).
    pub async fn with_database(db: DatabaseConnection, settings: &Settings) -> anyhow::Result<Self> {
        let bind = settings.bind;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("listen on {bind}"))?;
        let bound = listener.local_addr().context("read the bound address")?;
        let auth = settings.auth_config(bound)?;
        let providers: Vec<&str> = auth.providers.iter().map(|p| p.kind.id()).collect();
        tracing::info!(public_url = %auth.public_url, ?providers, credentials = auth.credentials, "sign-in configured");
        if auth.credentials && auth.secure_cookies() {
            tracing::warn!("email + password sign-in is on for an https deployment (AUTH_CREDENTIALS=true)");
        }
        let mailer = settings.mailer().context("set up outgoing mail")?;
        tracing::info!(mail = %mailer.describe(), email_links = auth.email_links, "mail configured");
        let runtime =
            omnisonic_web::auth::AuthRuntime::new(auth, Some(mailer)).context("set up the HTTP client for sign-in")?;
        tokio::spawn(sweep_expired_sessions(db.clone()));
        let storage = connect_storage(settings).await?;
        tokio::spawn(crate::jobs::daily_cleanup(db.clone(), storage.clone()));
        let state =
            AppState::new(db, omnisonic_web::install_recorder(), runtime, storage, settings.storage_cdn_url.clone());
        Ok(Self { listener, router: omnisonic_web::router(state) })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        // Connection info gives handlers the peer address (per-IP sign-in rate limits).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await.context("serve HTTP")
    }
}

/// Builds the configured object storage and checks it answers (bucket present, credentials accepted).
pub async fn connect_storage(settings: &Settings) -> anyhow::Result<omnisonic_platform::Storage> {
    let config = settings.storage_config()?;
    let secret = settings.app_secret().context("read or create the app secret")?;
    let storage = omnisonic_platform::Storage::new(&config, &secret).context("set up object storage")?;
    storage.check().await.context("check object storage (STORAGE_TYPE and its variables)")?;
    tracing::info!(storage = %storage.describe(), "object storage ready");
    Ok(storage)
}

/// Deletes expired sign-in sessions and email tokens once an hour (they are already refused when loaded; this
/// only keeps the tables small).
async fn sweep_expired_sessions(db: DatabaseConnection) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match omnisonic_store::auth::delete_expired(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "expired sign-in sessions and tokens deleted"),
            Err(err) => tracing::warn!(error = ?err, "could not delete expired sign-in sessions"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

//! Wiring: connect the database, storage, pub/sub and job queue, build the router, bind the listener, start the
//! workers, serve until told to stop.
//!
//! The listener is bound in [`Application::build`], before serving, so callers (and tests, on port 0) know the
//! address before the first request.

use crate::settings::{Settings, redact_url};
use anyhow::Context;
use omnisonic_app::bulk_import::BulkImportJob;
use omnisonic_app::exports::ExportJob;
use omnisonic_app::insight::embeddings::{Embeddings, VectorStore};
use omnisonic_app::jobs::JobKind;
use omnisonic_app::maintenance::MaintenanceJob;
use omnisonic_app::queue::DatabaseQueue;
use omnisonic_platform::{JobQueue, RetryPolicy, WorkerConfig};
use omnisonic_store::{DatabaseConnection, Db};
use omnisonic_web::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    /// The extra listener for GraphQL subscriptions (`SUBSCRIPTIONS_PORT`) and its router.
    subscriptions: Option<(TcpListener, axum::Router)>,
    router: axum::Router,
    /// Tells the in-process workers to stop taking jobs.
    stop_workers: tokio::sync::watch::Sender<bool>,
    /// The in-process workers, when `serve` runs them.
    workers: Option<tokio::task::JoinHandle<()>>,
}

/// How long a stopping `serve` waits for its exports in flight; an unfinished one is redone by another worker
/// once its lease runs out.
const WORKER_GRACE: Duration = Duration::from_secs(25);

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    omnisonic_store::connect(&url, settings.database.database_max_connections)
        .await
        .with_context(|| format!("connect to the database at {}", redact_url(&url)))
}

/// The services every process role shares: database, object storage, pub/sub and the job queue.
#[derive(Clone)]
pub struct Services {
    /// The database (migrated).
    pub db: Db,
    /// Object storage.
    pub storage: omnisonic_platform::Storage,
    /// In-process, or Redis when `REDIS_URL` is set.
    pub pubsub: omnisonic_platform::PubSub,
    /// The database's `jobs` table, or Redis when `REDIS_URL` is set.
    pub queue: Arc<dyn JobQueue>,
    /// Per-user limits: in process, or Redis when `REDIS_URL` is set.
    pub rate_limiter: omnisonic_platform::RateLimiter,
    /// Outgoing mail: SMTP with `SMTP_URL`, else the outbox folder.
    pub mailer: omnisonic_platform::Mailer,
    /// Insight: the guarded outbound client and the tagger (shared, so the dictionary is built once).
    pub insight: omnisonic_app::insight::Insight,
}

impl Services {
    /// Connects the database (migrating when `auto_migrate`), storage, pub/sub and the queue.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let db = connect(settings).await?;
        if settings.server.auto_migrate {
            omnisonic_store::migrate(&db).await.context("migrate the database")?;
        }
        if settings.database.database_read_url.is_some() {
            tracing::warn!("DATABASE_READ_URL is accepted but not used by this version yet");
        }
        tracing::info!(database = %redact_url(&settings.database_url()), "database ready");
        Self::with_database(db, settings).await
    }

    /// The services around an already connected and migrated database.
    pub async fn with_database(db: DatabaseConnection, settings: &Settings) -> anyhow::Result<Self> {
        let storage = connect_storage(settings).await?;
        let (pubsub, queue, rate_limiter): (_, Arc<dyn JobQueue>, _) = match &settings.redis.redis_url {
            Some(url) => {
                let shown = redact_url(&url.0);
                let pubsub = omnisonic_platform::PubSub::redis_with_prefix(&url.0, &settings.redis.redis_key_prefix)
                    .await
                    .with_context(|| format!("connect pub/sub to Redis at {shown}"))?;
                let queue = omnisonic_platform::RedisQueue::connect(&url.0, &settings.redis.redis_key_prefix)
                    .await
                    .with_context(|| format!("connect the job queue to Redis at {shown}"))?;
                let limiter = omnisonic_platform::RateLimiter::redis(&url.0, &settings.redis.redis_key_prefix)
                    .await
                    .with_context(|| format!("connect the rate limiter to Redis at {shown}"))?;
                (pubsub, Arc::new(queue), limiter)
            }
            None => (
                omnisonic_platform::PubSub::in_process(),
                Arc::new(DatabaseQueue::new(db.clone())),
                omnisonic_platform::RateLimiter::in_process(),
            ),
        };
        tracing::info!(pubsub = pubsub.describe(), queue = queue.describe(), "pub/sub and job queue ready");
        let mailer = settings.mailer().context("set up outgoing mail")?;
        let mut insight = settings.insight()?;
        if let Some(model) = settings.embeddings() {
            let store = match &settings.redis.redis_url {
                Some(url) => VectorStore::Redis(
                    omnisonic_platform::ExpiringCache::redis(&url.0, &settings.redis.redis_key_prefix)
                        .await
                        .with_context(|| {
                            format!("connect the entity vector cache to Redis at {}", redact_url(&url.0))
                        })?,
                ),
                None => VectorStore::Database,
            };
            let path = model.model_path.clone();
            let embeddings = tokio::task::spawn_blocking(move || Embeddings::load(&model, store))
                .await
                .context("load the tagging model")?
                .with_context(|| {
                    format!("TAGGING_USE_EMBEDDINGS: load the model at {} (TAGGING_MODEL_PATH)", path.display())
                })?;
            tracing::info!(model = embeddings.model(), cache = embeddings.describe_store(), "tagging with embeddings");
            insight.tagger = insight.tagger.with_embeddings(embeddings);
        }
        Ok(Self { db: Db::new(db), storage, pubsub, queue, rate_limiter, mailer, insight })
    }

    /// The application layer's context over these services.
    pub fn context(&self, settings: &Settings) -> omnisonic_app::Context {
        omnisonic_app::Context {
            db: self.db.clone(),
            storage: self.storage.clone(),
            pubsub: self.pubsub.clone(),
            queue: self.queue.clone(),
            rate_limiter: self.rate_limiter.clone(),
            mailer: self.mailer.clone(),
            clock: omnisonic_app::Clock::system(),
            limits: omnisonic_app::context::Limits {
                export_max_duration: Duration::from_secs(settings.jobs.export_max_duration_seconds),
            },
            insight: self.insight.clone(),
        }
    }
}

/// How a worker runs jobs of kind `K`: `concurrency` at once, leases of `JOB_LEASE_SECONDS`, the default retries.
fn worker_config<K: JobKind>(settings: &Settings, concurrency: usize, poll_interval: Duration) -> WorkerConfig {
    WorkerConfig {
        queue: K::QUEUE.to_owned(),
        concurrency,
        lease: Duration::from_secs(settings.jobs.job_lease_seconds),
        poll_interval,
        policy: RetryPolicy::default(),
    }
}

/// Runs every worker (exports, bulk imports, upkeep and feed polls, re-tags) and the scheduler until `stop` turns true, then lets the
/// jobs in flight finish.
pub async fn run_workers(services: Services, settings: Settings, stop: tokio::sync::watch::Receiver<bool>) {
    let handler = omnisonic_app::exports::worker::ExportHandler {
        db: services.db.clone(),
        storage: services.storage.clone(),
        pubsub: services.pubsub.clone(),
        scratch: settings.data_dir.join("tmp").join("exports"),
        max_duration: Duration::from_secs(settings.jobs.export_max_duration_seconds),
    };
    let config = worker_config::<ExportJob>(&settings, settings.jobs.export_worker_concurrency, Duration::from_secs(1));
    let imports = omnisonic_app::bulk_import::worker::BulkImportHandler {
        db: services.db.clone(),
        storage: services.storage.clone(),
        pubsub: services.pubsub.clone(),
        tuning: settings.import_tuning(),
    };
    // One import at a time per worker process: each already writes BULK_IMPORT_CONCURRENCY batches at once.
    let import_config = worker_config::<BulkImportJob>(&settings, 1, Duration::from_secs(1));
    // Upkeep: one job per period whichever nodes run the scheduler; one at a time per process.
    let ctx = services.context(&settings);
    let scheduler =
        omnisonic_app::schedule::run_scheduler(ctx.clone(), omnisonic_app::schedule::SCHEDULES.to_vec(), stop.clone());
    let maintenance_config = worker_config::<MaintenanceJob>(&settings, 1, Duration::from_secs(5));
    let maintenance = omnisonic_platform::queue::run_worker(
        services.queue.clone(),
        Arc::new(omnisonic_app::maintenance::MaintenanceHandler { ctx }),
        maintenance_config,
        stop.clone(),
    );
    let import_worker =
        omnisonic_platform::queue::run_worker(services.queue.clone(), Arc::new(imports), import_config, stop.clone());
    // Re-tag runs: one at a time per process (each walks every item it covers).
    let retag_config = worker_config::<omnisonic_app::insight::retag::RetagJob>(&settings, 1, Duration::from_secs(2));
    let retag = omnisonic_platform::queue::run_worker(
        services.queue.clone(),
        Arc::new(omnisonic_app::insight::retag::RetagHandler { ctx: services.context(&settings) }),
        retag_config,
        stop.clone(),
    );
    let export_worker = omnisonic_platform::queue::run_worker(services.queue.clone(), Arc::new(handler), config, stop);
    tokio::join!(import_worker, export_worker, maintenance, scheduler, retag);
}

impl Application {
    /// Connects, migrates (when `auto_migrate`), and binds `settings.server.bind`; with `workers`, the export workers run
    /// in this process too.
    pub async fn build(settings: &Settings, workers: bool) -> anyhow::Result<Self> {
        let services = Services::connect(settings).await?;
        Self::with_services(services, settings, workers).await
    }

    /// Serves an already connected and migrated database with `settings` (tests use this to count statements).
    pub async fn with_database(db: DatabaseConnection, settings: &Settings, workers: bool) -> anyhow::Result<Self> {
        let services = Services::with_database(db, settings).await?;
        Self::with_services(services, settings, workers).await
    }

    async fn with_services(services: Services, settings: &Settings, workers: bool) -> anyhow::Result<Self> {
        let bind = settings.server.bind;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("listen on {bind}"))?;
        let bound = listener.local_addr().context("read the bound address")?;
        let subscriptions_listener = match settings.server.subscriptions_port {
            Some(port) => {
                let addr = SocketAddr::new(bind.ip(), port);
                Some(TcpListener::bind(addr).await.with_context(|| format!("listen for subscriptions on {addr}"))?)
            }
            None => None,
        };
        let auth = settings.auth_config(bound)?;
        let providers: Vec<&str> = auth.providers.iter().map(|p| p.kind.id()).collect();
        tracing::info!(public_url = %auth.public_url, ?providers, credentials = auth.credentials, "sign-in configured");
        if auth.credentials && auth.secure_cookies() {
            tracing::warn!("email + password sign-in is on for an https deployment (AUTH_CREDENTIALS=true)");
        }
        let mailer = services.mailer.clone();
        tracing::info!(mail = %mailer.describe(), email_links = auth.email_links, "mail configured");
        let runtime =
            omnisonic_web::auth::AuthRuntime::new(auth, Some(mailer)).context("set up the HTTP client for sign-in")?;
        let (stop_workers, stopped) = tokio::sync::watch::channel(false);
        let workers = workers.then(|| tokio::spawn(run_workers(services.clone(), settings.clone(), stopped)));
        let background = omnisonic_web::Background {
            scratch: settings.data_dir.join("tmp").join("probe"),
            bulk_import: settings.bulk_import_limits(),
        };
        let state = AppState::new(
            services.context(settings),
            omnisonic_web::install_recorder(),
            runtime,
            settings.storage.storage_cdn_url.clone(),
            background,
        );
        let subscriptions = subscriptions_listener.map(|l| (l, omnisonic_web::subscriptions_router(state.clone())));
        Ok(Self { listener, router: omnisonic_web::router(state), subscriptions, stop_workers, workers })
    }

    /// The subscriptions listener's address, when `SUBSCRIPTIONS_PORT` is set.
    pub fn subscriptions_addr(&self) -> Option<SocketAddr> {
        self.subscriptions.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and the in-process workers finish
    /// their jobs (for up to 25 s).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        if let Some((listener, router)) = self.subscriptions {
            let mut stopping = self.stop_workers.subscribe();
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stopping.changed().await;
                };
                crate::serve::serve(listener, router, stopped).await;
            });
        }
        crate::serve::serve(self.listener, self.router, shutdown).await;
        let _ = self.stop_workers.send(true);
        if let Some(workers) = self.workers
            && tokio::time::timeout(WORKER_GRACE, workers).await.is_err()
        {
            tracing::warn!("exports still running at shutdown; another worker will redo them");
        }
        Ok(())
    }
}

/// The job queue as configured: Redis with `REDIS_URL`, else the database's `jobs` table.
pub async fn connect_queue(settings: &Settings, db: &DatabaseConnection) -> anyhow::Result<Arc<dyn JobQueue>> {
    match &settings.redis.redis_url {
        Some(url) => Ok(Arc::new(
            omnisonic_platform::RedisQueue::connect(&url.0, &settings.redis.redis_key_prefix)
                .await
                .with_context(|| format!("connect the job queue to Redis at {}", redact_url(&url.0)))?,
        )),
        None => Ok(Arc::new(DatabaseQueue::new(db.clone()))),
    }
}

/// Pub/sub as configured: Redis with `REDIS_URL`, else in-process (for commands that only publish).
pub async fn connect_pubsub(settings: &Settings) -> anyhow::Result<omnisonic_platform::PubSub> {
    match &settings.redis.redis_url {
        Some(url) => omnisonic_platform::PubSub::redis_with_prefix(&url.0, &settings.redis.redis_key_prefix)
            .await
            .with_context(|| format!("connect pub/sub to Redis at {}", redact_url(&url.0))),
        None => Ok(omnisonic_platform::PubSub::in_process()),
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

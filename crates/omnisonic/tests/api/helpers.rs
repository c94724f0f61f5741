//! `spawn_app()` and friends: a real server per test, its own database, dropped after.

use omnisonic::startup::Application;
use omnisonic_store::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot block on itself: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = omnisonic_store::connect(&admin_url, 1).await {
                        use sea_orm::ConnectionTrait;
                        let _ =
                            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    }
                });
            })
            .join();
        }
    }
}

/// The password every test user gets from [`TestApp::sign_in`].
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// One browser: its own cookie jar and, once it has one, the session's CSRF token (sent as `X-CSRF-Token`).
pub struct Browser {
    base: String,
    pub client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    csrf: std::sync::Mutex<Option<String>>,
}

impl Browser {
    /// A fresh browser for a server at `address` (another node than the test app, say).
    pub fn at(address: SocketAddr) -> Self {
        Self::new(address)
    }

    fn new(address: SocketAddr) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        Self { base: format!("http://{address}"), client, jar, csrf: std::sync::Mutex::new(None) }
    }

    /// The `Cookie` header this browser sends (for hand-made requests).
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("base URL");
        self.jar.cookies(&url).and_then(|v| v.to_str().ok().map(str::to_owned)).unwrap_or_default()
    }

    /// The CSRF token this browser sends, once it has one.
    pub fn csrf_token(&self) -> Option<String> {
        self.csrf.lock().expect("csrf lock").clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn with_csrf_header(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.csrf.lock().expect("csrf lock").clone() {
            Some(token) => request.header("x-csrf-token", token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header("accept", "text/html").send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.with_csrf_header(self.client.post(self.url(path))).json(body).send().await.expect("POST")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.with_csrf_header(self.client.post(self.url(path))).form(form).send().await.expect("POST form")
    }

    /// Fetches the session's CSRF token (creating the session) and remembers it.
    pub async fn refresh_csrf(&self) -> String {
        let body: serde_json::Value =
            self.client.get(self.url("/api/auth/csrf")).send().await.expect("csrf").json().await.expect("csrf json");
        let token = body["csrfToken"].as_str().expect("csrfToken").to_owned();
        *self.csrf.lock().expect("csrf lock") = Some(token.clone());
        token
    }

    /// Signs in with email and password through the credentials form; returns the response.
    pub async fn sign_in_with_password(&self, email: &str, password: &str) -> reqwest::Response {
        let token = self.refresh_csrf().await;
        let response = self
            .client
            .post(self.url("/auth/callback/credentials"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", email),
                ("password", password),
                ("callbackUrl", "/studio"),
            ])
            .send()
            .await
            .expect("sign in");
        if response.status() == 303 {
            // Signing in rotates the token with the session id.
            self.refresh_csrf().await;
        }
        response
    }

    /// Who this browser is signed in as (`/auth/session`).
    pub async fn whoami(&self) -> serde_json::Value {
        let body: serde_json::Value =
            self.client.get(self.url("/auth/session")).send().await.expect("session").json().await.expect("json");
        body["user"].clone()
    }
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: SocketAddr,
    /// The `SUBSCRIPTIONS_PORT` listener, when the settings asked for one.
    pub subscriptions_address: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The default browser, used by [`TestApp::get`] and friends.
    pub browser: Browser,
    pub db: DatabaseConnection,
    /// The database's URL (for a second process on the same data).
    pub database_url: String,
    statements: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    _data_dir: Option<tempfile::TempDir>,
    // Declared last: dropped after the server stopped.
    _database: TestDatabase,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SQL statements executed so far through the app's pool.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.browser.post_json(path, body).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.browser.post_form(path, form).await
    }

    /// A fresh browser with an empty cookie jar.
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.address)
    }

    /// Creates a user who can sign in with `password`; returns the id.
    pub async fn create_user(&self, email: &str, password: &str) -> uuid::Uuid {
        let new = omnisonic_store::auth::NewUser {
            email: Some(email.to_owned()),
            name: Some(email.split('@').next().unwrap_or(email).to_owned()),
            password_hash: Some(password_auth::generate_hash(password)),
            ..Default::default()
        };
        omnisonic_store::auth::create_user(&self.db, new).await.expect("create user").id
    }

    /// Creates `email` with [`TEST_PASSWORD`] and signs the default browser in as them; returns the user id.
    pub async fn sign_in(&self, email: &str) -> uuid::Uuid {
        let id = self.create_user(email, TEST_PASSWORD).await;
        let response = self.browser.sign_in_with_password(email, TEST_PASSWORD).await;
        assert_eq!(response.status(), 303, "sign-in as {email}");
        id
    }

    /// Runs a GraphQL query and returns the whole JSON response (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        let response = self.post_json("/graphql", &serde_json::json!({ "query": query, "variables": variables })).await;
        assert_eq!(response.status(), 200, "GraphQL answers 200 even for field errors");
        response.json().await.expect("GraphQL JSON")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn require_services() -> bool {
    std::env::var("OMNISONIC_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Creates the per-test database; `None` when PostgreSQL is not configured and not required.
pub async fn create_database(backend: Backend) -> Option<(String, TestDatabase)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            Some((url, TestDatabase::Sqlite(dir)))
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("OMNISONIC_TEST_DATABASE_URL") else {
                assert!(
                    !require_services(),
                    "OMNISONIC_REQUIRE_SERVICES=1 but OMNISONIC_TEST_DATABASE_URL is not set: PostgreSQL tests cannot run"
                );
                eprintln!("skipping the PostgreSQL variant: OMNISONIC_TEST_DATABASE_URL is not set");
                return None;
            };
            let admin = omnisonic_store::connect(&admin_url, 1)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at OMNISONIC_TEST_DATABASE_URL is unreachable: {e:?}"));
            let name = format!("omnisonic_test_{}", uuid::Uuid::new_v4().simple());
            use sea_orm::ConnectionTrait;
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            drop(admin);
            let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
            Some((format!("{base}/{name}"), TestDatabase::Postgres { admin_url: admin_url.clone(), name }))
        }
    }
}

/// Settings as `omnisonic serve` would parse them with these extra flags, listening on port 0.
pub fn settings(extra: &[&str]) -> omnisonic::settings::Settings {
    use clap::Parser;
    let mut args = vec!["omnisonic", "--bind", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    args.push("serve");
    omnisonic::cli::Cli::try_parse_from(args).expect("test settings parse").settings
}

/// Starts the real application on port 0 over a fresh, migrated database.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, settings(&[])).await
}

/// Like [`spawn_app`] with the given settings (their `bind` is used as is). Without a `--data-dir` the app gets a
/// temporary one, so no test writes into the working tree.
pub async fn spawn_app_with(backend: Backend, settings: omnisonic::settings::Settings) -> Option<TestApp> {
    spawn_app_inner(backend, settings, false).await
}

/// Like [`spawn_app_with`], with the export workers running in the app's process (as `omnisonic serve` does).
/// Other tests leave them out: their polling would disturb the statement counts.
pub async fn spawn_app_with_workers(backend: Backend, settings: omnisonic::settings::Settings) -> Option<TestApp> {
    spawn_app_inner(backend, settings, true).await
}

async fn spawn_app_inner(
    backend: Backend,
    mut settings: omnisonic::settings::Settings,
    workers: bool,
) -> Option<TestApp> {
    let mut data_dir = None;
    if settings.data_dir == std::path::Path::new("data") {
        let dir = tempfile::tempdir().expect("data dir");
        settings.data_dir = dir.path().to_path_buf();
        data_dir = Some(dir);
    }
    let (url, database) = create_database(backend).await?;
    let mut db = omnisonic_store::connect(&url, 8).await.expect("connect test database");
    omnisonic_store::migrate(&db).await.expect("migrate");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |info| {
        if std::env::var_os("OMNISONIC_TEST_PRINT_SQL").is_some() {
            eprintln!("SQL: {}", info.statement);
        }
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let app = Application::with_database(db.clone(), &settings, workers).await.expect("bind");
    let address = app.local_addr();
    let subscriptions_address = app.subscriptions_addr();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let browser = Browser::new(address);
    Some(TestApp {
        address,
        subscriptions_address,
        client,
        browser,
        db,
        database_url: url,
        statements,
        shutdown: Some(tx),
        _data_dir: data_dir,
        _database: database,
    })
}

/// Declares each test once and runs it on both backends.
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                use $crate::helpers::{Backend, TestApp, spawn_app};

                async fn run($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(spawn_app(Backend::Sqlite).await.expect("SQLite is always available")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = spawn_app(Backend::Postgres).await {
                        run(app).await
                    }
                }
            }
        )*
    };
}
pub(crate) use both_backends;

/// Like [`both_backends!`], with the workers running in the app's process (as `omnisonic serve` runs them) and
/// the given extra flags: `both_backends_with_workers! { ["--flag", "value"]; async fn …(app: TestApp) { … } }`.
macro_rules! both_backends_with_workers {
    ($flags:expr; $(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                use $crate::helpers::{Backend, TestApp, settings, spawn_app_with_workers};

                async fn run($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = spawn_app_with_workers(Backend::Sqlite, settings(&$flags)).await;
                    run(app.expect("SQLite is always available")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = spawn_app_with_workers(Backend::Postgres, settings(&$flags)).await {
                        run(app).await
                    }
                }
            }
        )*
    };
}
pub(crate) use both_backends_with_workers;

/// Path of the shared real-world test data: `OMNISONIC_SHARED_DATA`, else `../shared/data` beside the checkout.
pub fn shared_data() -> std::path::PathBuf {
    let path = std::env::var_os("OMNISONIC_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        path.join("isrc/tracks_updated.csv").exists(),
        "no test data at {}: set OMNISONIC_SHARED_DATA",
        path.display()
    );
    path
}

/// Asserts a problem+json response with `status` and `code`; returns the document.
pub async fn expect_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)), "{body}");
    body
}

/// A fresh bucket on the test S3 server (s3s-fs, `bash scripts/services.sh s3-env`); a bucket is a folder to it,
/// so tests can look at what was stored.
pub struct S3Bucket {
    pub endpoint: String,
    pub name: String,
    /// The bucket's folder on disk.
    pub folder: std::path::PathBuf,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Bucket {
    /// A new, empty bucket; `None` when the S3 server is not configured (a failure when services are required).
    pub fn fresh() -> Option<Self> {
        let (Ok(endpoint), Ok(root), Ok(access_key), Ok(secret_key)) = (
            std::env::var("OMNISONIC_TEST_S3_ENDPOINT"),
            std::env::var("OMNISONIC_TEST_S3_ROOT"),
            std::env::var("OMNISONIC_TEST_S3_ACCESS_KEY"),
            std::env::var("OMNISONIC_TEST_S3_SECRET_KEY"),
        ) else {
            assert!(
                !require_services(),
                "OMNISONIC_REQUIRE_SERVICES=1 but OMNISONIC_TEST_S3_* are not set (bash scripts/services.sh s3-env)"
            );
            eprintln!("skipping the S3 variant: OMNISONIC_TEST_S3_ENDPOINT is not set");
            return None;
        };
        let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
        let folder = std::path::PathBuf::from(root).join(&name);
        std::fs::create_dir_all(&folder).expect("bucket");
        Some(Self { endpoint, name, folder, access_key, secret_key })
    }

    /// The settings flags that point the app at this bucket.
    pub fn flags(&self) -> Vec<String> {
        let flags = [
            "--storage-type",
            "minio",
            "--minio-endpoint",
            &self.endpoint,
            "--minio-bucket-name",
            &self.name,
            "--minio-access-key",
            &self.access_key,
            "--minio-secret-key",
            &self.secret_key,
        ];
        flags.iter().map(|s| s.to_string()).collect()
    }

    /// The same bucket as a storage configuration, for tests that read it directly.
    pub fn config(&self) -> omnisonic_platform::StorageConfig {
        omnisonic_platform::StorageConfig::S3 {
            bucket: self.name.clone(),
            region: "us-east-1".to_owned(),
            endpoint: Some(self.endpoint.clone()),
            access_key_id: self.access_key.clone(),
            secret_access_key: self.secret_key.clone(),
        }
    }
}

/// Every regular file below `dir`.
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { stack.push(path) } else { found.push(path) }
        }
    }
    found
}

/// `omnisonic worker` as its own process on the app's database (and Redis, when given).
pub fn start_worker(database_url: &str, flags: &[String], data_dir: &std::path::Path) -> std::process::Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_omnisonic"));
    for var in ["DATABASE_URL", "REDIS_URL", "STORAGE_TYPE", "OMNISONIC_CONFIG", "AUTH_SECRET", "NEXTAUTH_SECRET"] {
        command.env_remove(var);
    }
    command
        .env("DATABASE_URL", database_url)
        .env("JOB_LEASE_SECONDS", "3")
        .env("RUST_LOG", "warn")
        .args(["--data-dir", data_dir.to_str().expect("utf-8")])
        .args(flags)
        .arg("worker")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start omnisonic worker")
}

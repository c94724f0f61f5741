//! The binary as an operator meets it: start-up, configuration errors, graceful shutdown, logs, generated files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn omnisonic() -> Command {
    // reqwest clients in these tests need the TLS provider the app installs for its own.
    omnisonic_web::auth::install_tls_provider();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omnisonic"));
    for var in [
        "DATABASE_URL",
        "DATABASE_READ_URL",
        "TAGGING_USE_EMBEDDINGS",
        "TAGGING_MODEL_PATH",
        "TAGGING_EMBEDDING_THRESHOLD",
        "REDIS_URL",
        "OMNISONIC_CONFIG",
        "OMNISONIC_BIND",
        "LOG_FORMAT",
        "AUTH_URL",
        "NEXTAUTH_URL",
        "AUTH_CREDENTIALS",
        "GITHUB_CLIENT_ID",
        "GITHUB_CLIENT_SECRET",
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "DISCORD_CLIENT_ID",
        "DISCORD_CLIENT_SECRET",
        "STORAGE_TYPE",
        "MINIO_ENDPOINT",
        "MINIO_BUCKET_NAME",
        "MINIO_ACCESS_KEY",
        "MINIO_SECRET_KEY",
        "S3_BUCKET_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "STORAGE_CDN_URL",
        "AUTH_SECRET",
        "NEXTAUTH_SECRET",
        "SMTP_URL",
        "EMAIL_FROM",
        "AUTH_EMAIL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn unknown_database_scheme_fails_at_start_with_a_clear_message() {
    let out = omnisonic().args(["--database-url", "mysql://root@localhost/x", "migrate"]).output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported database URL scheme \"mysql\""), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn settings_file_is_layered_under_env_and_flags() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("omnisonic.toml");
    std::fs::write(&file, "database_url = \"oracle://nope\"\nunknown_key = 1\n").expect("write");
    // The file's bad URL is used when nothing overrides it…
    let out = omnisonic().args(["--config", file.to_str().expect("utf-8"), "migrate"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("\"oracle\""), "{stderr}");
    assert!(stderr.contains("unknown setting `unknown_key`"), "{stderr}");
    // …and the environment wins over the file.
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    let out = omnisonic()
        .args(["--config", file.to_str().expect("utf-8"), "migrate"])
        .env("DATABASE_URL", &db)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // …and a flag wins over the environment.
    let out = omnisonic()
        .args(["--config", file.to_str().expect("utf-8"), "--database-url", "db2://flag", "migrate"])
        .env("DATABASE_URL", &db)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("\"db2\""), "{stderr}");
}

#[test]
fn secrets_are_not_printed() {
    let dir = tempfile::tempdir().expect("dir");
    let out = omnisonic()
        .args(["migrate"])
        .env("DATABASE_URL", "postgres://user:hunter2@127.0.0.1:1/nope")
        .env("OMNISONIC_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success(), "nothing listens on port 1");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("hunter2"), "{all}");
    assert!(all.contains("user:***@"), "{all}");
}

/// Starts `serve` on port 0 with JSON logs; returns the child and the address it printed.
fn serve(dir: &std::path::Path) -> (std::process::Child, String) {
    serve_with(dir, &[("RUST_LOG", "info")])
}

/// `serve` with extra environment variables.
fn serve_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = omnisonic()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("OMNISONIC_DATA_DIR", dir)
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    let address = line.trim().strip_prefix("omnisonic listening on ").expect("prints its URL").to_owned();
    (child, address)
}

#[tokio::test]
async fn serve_with_no_configuration_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut child, address) = serve(dir.path());
    let client = reqwest::Client::new();
    let ready = client.get(format!("{address}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let request_id = ready.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let studio = client.get(format!("{address}/studio")).send().await.expect("studio");
    assert_eq!(studio.status(), 200);
    assert!(dir.path().join("omnisonic.db").exists(), "the embedded database lives in the data folder");

    let status = stop(&mut child);
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");

    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut logs).expect("logs");
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "JSON logs: {logs}");
    let for_request: Vec<_> = lines.iter().filter(|l| l["span"]["request_id"] == request_id.as_str()).collect();
    assert!(!for_request.is_empty(), "the request's log lines carry its id: {logs}");
}

/// Sends SIGTERM and waits (10 s at most) for the exit.
fn stop(child: &mut std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `omnisonic user …` on the data folder, with `stdin`; returns (success, stdout, stderr).
fn user(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = omnisonic()
        .arg("user")
        .args(args)
        .env("OMNISONIC_DATA_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn user_create_list_disable_and_enable() {
    let dir = tempfile::tempdir().expect("dir");
    let (ok, _, err) = user(dir.path(), &["create", "--email", "ana@example.com", "--password-stdin"], "too short\n");
    assert!(!ok && err.contains("at least 10 characters"), "{err}");
    let (ok, out, err) = user(
        dir.path(),
        &["create", "--email", " Ana@Example.com ", "--name", "Ana", "--password-stdin"],
        "a long enough secret\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("created user ana@example.com") && !out.contains("a long enough secret"), "{out}");
    let (ok, _, err) =
        user(dir.path(), &["create", "--email", "ana@example.com", "--password-stdin"], "a long enough secret\n");
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) =
        user(dir.path(), &["create", "--email", "not-an-address", "--password-stdin"], "a long enough secret\n");
    assert!(!ok && err.contains("must be an email address"), "{err}");
    let (ok, out, _) = user(dir.path(), &["create", "--email", "gen@example.com"], "");
    let generated = out.lines().find_map(|l| l.strip_prefix("password: ")).expect("a generated password is printed");
    assert!(ok && generated.len() >= 20, "{out}");

    let (_, list, _) = user(dir.path(), &["list"], "");
    let ana = list.lines().find(|l| l.contains("ana@example.com")).expect("listed");
    assert!(ana.contains("Ana") && ana.contains("credentials") && ana.ends_with("active"), "{list}");
    let (ok, out, err) = user(dir.path(), &["disable", "ANA@example.com"], "");
    assert!(ok && out.contains("disabled ana@example.com"), "{out}{err}");
    let (_, list, _) = user(dir.path(), &["list"], "");
    assert!(list.lines().any(|l| l.contains("ana@example.com") && l.ends_with("disabled")), "{list}");
    let (ok, _, _) = user(dir.path(), &["enable", "ana@example.com"], "");
    assert!(ok);
    let (ok, _, err) = user(dir.path(), &["disable", "nobody@example.com"], "");
    assert!(!ok && err.contains("no user nobody@example.com"), "{err}");
}

#[test]
fn an_smtp_url_is_checked_before_the_runtime_starts() {
    let dir = tempfile::tempdir().expect("dir");
    let ok = omnisonic()
        .args(["--smtp-url", "smtp://127.0.0.1:2525", "migrate"])
        .env("OMNISONIC_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = omnisonic()
        .args(["--smtp-url", "http://mail.example", "migrate"])
        .env("OMNISONIC_DATA_DIR", dir.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("SMTP_URL") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn half_configured_providers_fail_at_start() {
    let out = omnisonic()
        .args(["--github-client-id", "abc", "migrate"])
        .env_remove("GITHUB_CLIENT_SECRET")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GITHUB_CLIENT_ID is set but GITHUB_CLIENT_SECRET is not"), "{stderr}");
}

#[tokio::test]
async fn sign_in_leaves_no_secrets_in_the_logs() {
    const CLIENT_SECRET: &str = "client-secret-that-must-not-leak";
    const PASSWORD: &str = "password-that-must-not-leak";
    let dir = tempfile::tempdir().expect("dir");
    let (ok, _, err) =
        user(dir.path(), &["create", "--email", "log@example.com", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert!(ok, "{err}");
    let (mut child, address) = serve_with(
        dir.path(),
        &[
            ("RUST_LOG", "debug"),
            ("GITHUB_CLIENT_ID", "id"),
            ("GITHUB_CLIENT_SECRET", CLIENT_SECRET),
            ("AUTH_CREDENTIALS", "true"),
        ],
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let csrf: serde_json::Value =
        client.get(format!("{address}/api/auth/csrf")).send().await.expect("csrf").json().await.expect("json");
    let token = csrf["csrfToken"].as_str().expect("token").to_owned();
    let signed_in = client
        .post(format!("{address}/auth/callback/credentials"))
        .form(&[("csrf_token", token.as_str()), ("email", "log@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303);
    let cookie =
        signed_in.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
    let cookie_value = cookie.split_once('=').expect("name=value").1.to_owned();
    client.get(format!("{address}/studio")).send().await.expect("studio");
    assert!(stop(&mut child).success());
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut logs).expect("logs");
    assert!(logs.contains("signed in"), "the sign-in itself is logged: {logs}");
    for secret in [CLIENT_SECRET, PASSWORD, token.as_str(), cookie_value.as_str()] {
        assert!(!logs.contains(secret), "{secret:?} leaked into the logs");
    }
}

#[test]
fn env_example_is_generated_from_the_settings() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example")).expect(".env.example");
    assert_eq!(
        committed,
        omnisonic::cli::env_example(),
        ".env.example is stale: run `cargo run -p omnisonic -- env-example > .env.example`"
    );
    for var in ["DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "OMNISONIC_DATA_DIR", "LOG_FORMAT"] {
        assert!(committed.contains(&format!("#{var}=")), "{var}");
    }
}

#[test]
fn seed_and_schema_commands_work() {
    let dir = tempfile::tempdir().expect("dir");
    let out = omnisonic().args(["seed"]).env("OMNISONIC_DATA_DIR", dir.path()).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo catalogue loaded: 8 parties, 3 works, 5 recordings"));
    let bad_dir = omnisonic()
        .args(["seed", "--from", "/definitely/not/here"])
        .env("OMNISONIC_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!bad_dir.status.success());
    assert!(String::from_utf8_lossy(&bad_dir.stderr).contains("/definitely/not/here"));
    let openapi = omnisonic().args(["schema", "--openapi"]).output().expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&openapi.stdout).expect("JSON");
    assert!(doc["paths"]["/ingest/isrc"]["post"].is_object());
}

#[test]
fn storage_problems_stop_the_server_with_a_clear_message() {
    let Ok(endpoint) = std::env::var("OMNISONIC_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var("OMNISONIC_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "OMNISONIC_TEST_S3_ENDPOINT is not set"
        );
        return;
    };
    let key = std::env::var("OMNISONIC_TEST_S3_ACCESS_KEY").expect("access key");
    let secret = std::env::var("OMNISONIC_TEST_S3_SECRET_KEY").expect("secret key");
    let root = std::env::var("OMNISONIC_TEST_S3_ROOT").expect("root");
    let bucket = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
    std::fs::create_dir_all(std::path::Path::new(&root).join(&bucket)).expect("bucket");
    let dir = tempfile::tempdir().expect("dir");
    let run = |endpoint: &str, bucket: &str, secret: &str| {
        let mut child = omnisonic()
            .args(["serve", "--bind", "127.0.0.1:0", "--storage-type", "minio", "--minio-endpoint", endpoint])
            .args(["--minio-bucket-name", bucket, "--minio-access-key", &key, "--minio-secret-key", secret])
            .env("OMNISONIC_DATA_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // A server that started anyway would never exit: give it a deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not stop on a storage problem within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    };
    for (endpoint, bucket, secret, expected) in [
        (endpoint.as_str(), "no-such-bucket", secret.as_str(), "the bucket does not exist"),
        (endpoint.as_str(), bucket.as_str(), "wrong-secret", "the credentials were refused"),
        ("http://127.0.0.1:1", bucket.as_str(), secret.as_str(), "the endpoint cannot be reached"),
    ] {
        let out = run(endpoint, bucket, secret);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{expected}: the server must not start");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("wrong-secret") && !stderr.contains(secret), "no secret in the message: {stderr}");
    }
    let out = omnisonic()
        .args(["--storage-type", "minio", "migrate"])
        .env("OMNISONIC_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("STORAGE_TYPE needs MINIO_ENDPOINT"));
}

/// Runs `omnisonic ARGS…` on the data folder; returns (success, stdout, stderr).
fn run_in(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = omnisonic().args(args).env("OMNISONIC_DATA_DIR", dir).output().expect("run omnisonic");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_runs_the_bulk_pipeline_with_a_summary_and_a_report() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("catalogue.csv");
    std::fs::write(
        &file,
        "Isrc,TITLE,artist,duration\nUSRC11301176,2 On,Tinashe,3:55\nXX,Bad,Someone,\nUSCM51400222,0 To 100,Drake,\n\
         usrc11301176,2 On (Remix),Tinashe,\n",
    )
    .expect("write");
    let report = dir.path().join("rejected.csv");
    let (ok, out, err) =
        run_in(dir.path(), &["import", file.to_str().expect("utf-8"), "--errors", report.to_str().expect("utf-8")]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("4 records") && out.contains("3 accepted (2 new") && out.contains("1 rejected, 1 warnings"),
        "{out}"
    );
    assert!(out.contains("line 3 isrc: is not an ISRC"), "{out}");
    let written = std::fs::read_to_string(&report).expect("report");
    assert_eq!(written.lines().count(), 3, "{written}");
    assert!(
        written.lines().nth(2).is_some_and(|l| l.starts_with("5,isrc,USRC11301176,") && l.ends_with(",warning")),
        "{written}"
    );
    // Again: nothing new, nothing changed.
    let (ok, out, _) = run_in(dir.path(), &["import", file.to_str().expect("utf-8")]);
    // (Both rows of the duplicated ISRC are in one batch, so only the later is written, as the first time.)
    assert!(ok && out.contains("0 new, 0 changed, 3 already as in the file"), "{out}");

    // A file that cannot be imported exits non-zero with the reason; so does an unknown format.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "isrc,name\nUSRC11301176,x\n").expect("write");
    let (ok, _, err) = run_in(dir.path(), &["import", bad.to_str().expect("utf-8")]);
    assert!(!ok && err.contains("lacks the required column(s) title, artist"), "{err}");
    let (ok, _, err) = run_in(dir.path(), &["import", dir.path().join("x.xlsx").to_str().expect("utf-8")]);
    assert!(!ok && err.contains("--format csv"), "{err}");
    let (ok, _, err) = run_in(dir.path(), &["import", file.to_str().expect("utf-8"), "--format", "xml"]);
    assert!(!ok && err.contains("use csv or jsonl"), "{err}");
}

#[test]
fn tokens_are_created_listed_and_revoked_from_the_shell() {
    let dir = tempfile::tempdir().expect("dir");
    let (ok, _, err) =
        user(dir.path(), &["create", "--email", "bot@example.com", "--password-stdin"], "a long enough secret\n");
    assert!(ok, "{err}");
    let (ok, out, err) = run_in(dir.path(), &["token", "create", "--user", "bot@example.com", "--name", "nightly"]);
    assert!(ok, "{err}");
    let token = out.trim();
    assert!(token.starts_with("oms_") && out.lines().count() == 1, "only the token on stdout: {out}");
    assert!(err.contains("shown only now"), "{err}");
    let (ok, list, _) = run_in(dir.path(), &["token", "list", "--user", "bot@example.com"]);
    assert!(ok && list.contains("nightly") && list.contains("active") && !list.contains(token), "{list}");
    let id = list.lines().nth(1).and_then(|l| l.split_whitespace().next()).expect("id").to_owned();
    let (ok, out, _) = run_in(dir.path(), &["token", "revoke", &id]);
    assert!(ok && out.contains("revoked"), "{out}");
    let (ok, _, err) = run_in(dir.path(), &["token", "revoke", &id]);
    assert!(!ok && err.contains("no active API token"), "{err}");
    let (ok, _, err) = run_in(dir.path(), &["token", "create", "--user", "nobody@example.com", "--name", "x"]);
    assert!(!ok && err.contains("no user nobody@example.com"), "{err}");
}

#[test]
fn jobs_list_shows_the_queues_and_retry_explains_what_it_cannot_do() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |args: &[&str]| omnisonic().env("OMNISONIC_DATA_DIR", dir.path()).args(args).output().expect("run");
    let listed = run(&["jobs", "list"]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    for queue in ["exports", "bulk_imports", "maintenance"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(queue) && l.split_whitespace().skip(1).all(|n| n == "0")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("(database queue)"), "{stdout}");
    let bad_state = run(&["jobs", "list", "--state", "lost"]);
    assert!(!bad_state.status.success());
    assert!(
        String::from_utf8_lossy(&bad_state.stderr).contains("no such state (one of queued, running, failed, buried)")
    );
    let bad_queue = run(&["jobs", "list", "--queue", "mail"]);
    assert!(String::from_utf8_lossy(&bad_queue.stderr).contains("no such queue"));
    let retry = run(&["jobs", "retry", "0190a3c4-0000-7000-8000-000000000000"]);
    assert!(!retry.status.success());
    let stderr = String::from_utf8_lossy(&retry.stderr);
    assert!(stderr.contains("only buried jobs can be retried") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn feeds_are_added_listed_polled_and_removed_from_the_shell() {
    let dir = tempfile::tempdir().expect("dir");
    // Internal addresses are refused with the reason, and nothing is stored.
    let (ok, _, err) = run_in(dir.path(), &["feeds", "add", "http://169.254.169.254/latest/meta-data/"]);
    assert!(!ok && err.contains("link-local"), "{err}");
    // With loopback allowed (as for a trusted local feed), the source is added; a poll that finds nothing there
    // fails with a non-zero exit and says why, and the source shows the error.
    let allow = ["--outbound-allow-cidrs", "127.0.0.0/8"];
    let (ok, out, err) = run_in(
        dir.path(),
        &[&allow[..], &["feeds", "add", "http://127.0.0.1:9/feed.xml", "--interval-seconds", "600"]].concat(),
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("every 600 s"), "{out}");
    let (ok, out, err) = run_in(dir.path(), &[&allow[..], &["feeds", "poll"]].concat());
    assert!(!ok && err.contains("1 of 1 feeds failed"), "{out}{err}");
    let (ok, out, _) = run_in(dir.path(), &["feeds", "list"]);
    assert!(ok && out.contains("http://127.0.0.1:9/feed.xml") && out.contains("1 errors"), "{out}");
    let (ok, out, _) = run_in(dir.path(), &["feeds", "remove", "http://127.0.0.1:9/feed.xml"]);
    assert!(ok && out.contains("removed"), "{out}");
    let (ok, out, _) = run_in(dir.path(), &["feeds", "list"]);
    assert!(ok && out.contains("no feed sources"), "{out}");
    // The tagger explains itself against the catalogue.
    let (ok, _, _) = run_in(dir.path(), &["seed"]);
    assert!(ok);
    let (ok, out, err) = run_in(dir.path(), &["tagging", "explain", "Drake and Tinashe share a stage"]);
    assert!(ok, "{err}");
    assert!(out.contains("TAG party") && out.contains("\"Drake\"") && out.contains("\"Tinashe\""), "{out}");
    // With embeddings on, a missing model stops the command and says which setting and script fix it.
    let missing = dir.path().join("no-model");
    let embeddings = ["--tagging-use-embeddings", "true", "--tagging-model-path"];
    let with_missing = [&embeddings[..], &[missing.to_str().expect("utf-8"), "tagging", "explain", "Drake"]].concat();
    let (ok, _, err) = run_in(dir.path(), &with_missing);
    assert!(!ok && err.contains("TAGGING_MODEL_PATH") && err.contains("fetch-model.sh"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    if let Some(model) = omnisonic_testkit::services::model_path() {
        let text = "Drake and Tinashe share a stage";
        let with_model = [&embeddings[..], &[model.to_str().expect("utf-8"), "tagging", "explain", text]].concat();
        let (ok, out, err) = run_in(dir.path(), &with_model);
        assert!(ok, "{err}");
        assert!(out.contains("embeddings: all-minilm-l6-v2 (entity vectors cached in the database)"), "{out}");
        assert!(out.contains("\"Drake\"") && out.contains("\"Tinashe\""), "{out}");
    }
}

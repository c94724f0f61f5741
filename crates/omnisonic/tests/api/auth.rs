//! Sign-in security, over real HTTP against a real OAuth provider on loopback (`omnisonic-testkit`): state and
//! PKCE bound to the provider, OIDC nonce, no linking by email, session rotation and revocation, cookie flags,
//! expiry, CSRF, rate limits and no user enumeration — on SQLite and PostgreSQL.

use crate::helpers::{Backend, Browser, TEST_PASSWORD, TestApp, settings, spawn_app_with};
use omnisonic_testkit::{ClientRegistration, OAuthProvider};

const CLIENT_ID: &str = "omnisonic-test-client";
const CLIENT_SECRET: &str = "omnisonic-test-secret";

/// The app with all three providers pointed at `provider`, credentials on, plus any `extra` flags.
async fn spawn_with_provider(backend: Backend, extra: &[&str]) -> Option<(TestApp, OAuthProvider)> {
    let provider = OAuthProvider::spawn(ClientRegistration {
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
    })
    .await
    .expect("provider");
    let (github, github_api, google, discord) = (
        provider.github_base_url(),
        provider.github_api_url(),
        provider.google_issuer_url(),
        provider.discord_base_url(),
    );
    let mut args = vec![
        "--github-client-id",
        CLIENT_ID,
        "--github-client-secret",
        CLIENT_SECRET,
        "--github-base-url",
        &github,
        "--github-api-url",
        &github_api,
        "--google-client-id",
        CLIENT_ID,
        "--google-client-secret",
        CLIENT_SECRET,
        "--google-issuer-url",
        &google,
        "--discord-client-id",
        CLIENT_ID,
        "--discord-client-secret",
        CLIENT_SECRET,
        "--discord-base-url",
        &discord,
        "--auth-credentials",
        "true",
    ];
    args.extend_from_slice(extra);
    let app = spawn_app_with(backend, settings(&args)).await?;
    Some((app, provider))
}

/// Declares each test once and runs it on both backends with a provider.
macro_rules! with_provider {
    ($(async fn $name:ident($app:ident, $provider:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: TestApp, $provider: OAuthProvider) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (app, provider) = spawn_with_provider(Backend::Sqlite, &[]).await.expect("SQLite");
                    run(app, provider).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some((app, provider)) = spawn_with_provider(Backend::Postgres, &[]).await {
                        run(app, provider).await
                    }
                }
            }
        )*
    };
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location").to_owned()
}

/// Starts an OAuth sign-in from `browser`: returns the provider URL the app redirected to.
async fn start(browser: &Browser, provider: &str, extra: &[(&str, &str)]) -> String {
    let token = browser.refresh_csrf().await;
    let mut form = vec![("csrf_token", token.as_str()), ("callbackUrl", "/studio")];
    form.extend_from_slice(extra);
    let response =
        browser.client.post(browser.url(&format!("/auth/signin/{provider}"))).form(&form).send().await.expect("start");
    assert_eq!(response.status(), 303, "start {provider}");
    location(&response)
}

/// The provider's answer to an authorization URL: the callback URL it sends the browser back to.
async fn authorize(browser: &Browser, authorize_url: &str) -> String {
    let response = browser.client.get(authorize_url).send().await.expect("authorize");
    assert_eq!(response.status(), 303, "provider approves");
    location(&response)
}

/// A whole sign-in: start, approve as `login`, follow the callback. Returns the callback's response.
async fn oauth_sign_in(browser: &Browser, provider: &OAuthProvider, kind: &str, login: &str) -> reqwest::Response {
    let url = start(browser, kind, &[]).await;
    provider.approve_next_as(login);
    let callback = authorize(browser, &url).await;
    let response = browser.client.get(&callback).send().await.expect("callback");
    if response.status() == 303 {
        browser.refresh_csrf().await;
    }
    response
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("omnisonic_session="))
        .map(str::to_owned)
}

/// `/auth/session` for a raw cookie value, bypassing any cookie jar.
async fn whoami_with_cookie(app: &TestApp, cookie: &str) -> serde_json::Value {
    let response = app.client.get(app.url("/auth/session")).header("cookie", cookie).send().await.expect("session");
    let body: serde_json::Value = response.json().await.expect("json");
    body["user"].clone()
}

with_provider! {
    async fn github_discord_and_google_sign_in_end_to_end(app, provider) {
        // Browsers apply the CSP's form-action to the redirect a form submission follows: the provider must be in it.
        let page = app.browser.get("/auth/signin").await;
        let csp = page.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
        assert!(csp.contains(&format!("form-action 'self' {}", provider.base_url())), "{csp}");
        let html = page.text().await.expect("html");
        for label in ["Continue with GitHub", "Continue with Google", "Continue with Discord", "Sign in with email"] {
            assert!(html.contains(label), "{label}");
        }
        // Provider emails are stored normalised, like every other address.
        provider.set_email("caps", Some("Caps.Lock@Example.TEST"));
        let caps = app.new_browser();
        oauth_sign_in(&caps, &provider, "github", "caps").await;
        assert_eq!(caps.whoami().await["email"], "caps.lock@example.test");
        for (kind, login) in [("github", "octo"), ("discord", "wumpus"), ("google", "gmail")] {
            let browser = app.new_browser();
            let done = oauth_sign_in(&browser, &provider, kind, login).await;
            assert_eq!(done.status(), 303, "{kind}");
            assert_eq!(location(&done), "/studio", "{kind}: back where the visitor was going");
            let me = browser.whoami().await;
            assert_eq!(me["email"], format!("{login}@example.test"), "{kind}: {me}");
            // A second sign-in with the same provider account is the same user, not a new one.
            let again = app.new_browser();
            oauth_sign_in(&again, &provider, kind, login).await;
            assert_eq!(again.whoami().await["id"], me["id"], "{kind}");
        }
        assert_eq!(provider.token_exchanges(), (7, 0), "every code exchanged once, with a valid PKCE verifier");
        let users = omnisonic_store::auth::list_users(&app.db).await.expect("users");
        assert_eq!(users.len(), 4);
    }

    async fn tampered_or_replayed_state_and_code_end_with_no_session(app, provider) {
        // Tampered state.
        let browser = app.new_browser();
        let url = start(&browser, "github", &[]).await;
        provider.approve_next_as("mallory");
        let callback = authorize(&browser, &url).await;
        let tampered = callback.replace("state=", "state=x");
        let response = browser.client.get(&tampered).send().await.expect("callback");
        assert_eq!(response.status(), 400);
        assert!(response.text().await.expect("html").contains("could not be verified"));
        assert_eq!(browser.whoami().await, serde_json::Value::Null);
        // The flow is used up: the genuine callback no longer works either.
        let genuine = browser.client.get(&callback).send().await.expect("callback");
        assert_eq!(genuine.status(), 400);
        assert_eq!(browser.whoami().await, serde_json::Value::Null);

        // Replay: a completed callback URL, replayed in the same browser and in another one, signs nobody in.
        let victim = app.new_browser();
        let url = start(&victim, "github", &[]).await;
        provider.approve_next_as("victim");
        let callback = authorize(&victim, &url).await;
        assert_eq!(victim.client.get(&callback).send().await.expect("callback").status(), 303);
        let attacker = app.new_browser();
        attacker.refresh_csrf().await;
        assert_eq!(attacker.client.get(&callback).send().await.expect("replay").status(), 400);
        assert_eq!(attacker.whoami().await, serde_json::Value::Null);
        let replay_same_browser = victim.client.get(&callback).send().await.expect("replay");
        assert_eq!(replay_same_browser.status(), 400);
        // No pending flow means the code never even reached the provider a second time.
        assert_eq!(provider.token_exchanges(), (1, 0));
    }

    async fn one_providers_callback_cannot_complete_anothers_flow(app, provider) {
        let browser = app.new_browser();
        let url = start(&browser, "github", &[]).await;
        provider.approve_next_as("crossed");
        let callback = authorize(&browser, &url).await;
        let crossed = callback.replace("/auth/callback/github", "/auth/callback/discord");
        let response = browser.client.get(&crossed).send().await.expect("callback");
        assert_eq!(response.status(), 400);
        assert!(response.text().await.expect("html").contains("different provider"));
        assert_eq!(browser.whoami().await, serde_json::Value::Null);
        assert_eq!(provider.token_exchanges(), (0, 0));
    }

    async fn google_id_token_nonce_must_match(app, provider) {
        let browser = app.new_browser();
        let url = start(&browser, "google", &[]).await;
        assert!(url.contains("nonce="), "{url}");
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        provider.approve_next_as("noncey");
        provider.tamper_next_nonce("not-the-nonce-we-sent");
        let callback = authorize(&browser, &url).await;
        let response = browser.client.get(&callback).send().await.expect("callback");
        assert_eq!(response.status(), 400);
        assert_eq!(browser.whoami().await, serde_json::Value::Null);
        assert!(omnisonic_store::auth::list_users(&app.db).await.expect("users").is_empty());
    }

    async fn cancelling_at_the_provider_is_a_clear_message(app, provider) {
        let browser = app.new_browser();
        let url = start(&browser, "github", &[]).await;
        provider.deny_next();
        let callback = authorize(&browser, &url).await;
        let response = browser.client.get(&callback).send().await.expect("callback");
        assert_eq!(response.status(), 400);
        assert!(response.text().await.expect("html").contains("Sign-in was cancelled at GitHub"));
        assert_eq!(browser.whoami().await, serde_json::Value::Null);
    }

    async fn accounts_are_never_linked_by_email_only_while_signed_in(app, provider) {
        // ana@example.test exists with a password; GitHub reports the same (verified) address for login "ana".
        app.create_user("ana@example.test", TEST_PASSWORD).await;
        let stranger = app.new_browser();
        let response = oauth_sign_in(&stranger, &provider, "github", "ana").await;
        assert_eq!(response.status(), 409);
        assert!(response.text().await.expect("html").contains("already exists"));
        assert_eq!(stranger.whoami().await, serde_json::Value::Null);
        assert_eq!(omnisonic_store::auth::list_users(&app.db).await.expect("users").len(), 1);

        // Signed in as Ana, she links GitHub from her account page; from then on GitHub signs her in.
        assert_eq!(app.browser.sign_in_with_password("ana@example.test", TEST_PASSWORD).await.status(), 303);
        let ana = app.browser.whoami().await;
        let url = start(&app.browser, "github", &[("link", "1")]).await;
        provider.approve_next_as("ana");
        let callback = authorize(&app.browser, &url).await;
        let linked = app.browser.client.get(&callback).send().await.expect("callback");
        assert_eq!(location(&linked), "/account");
        let account_page = app.browser.get("/account").await.text().await.expect("html");
        assert!(account_page.contains("GitHub linked"), "{account_page}");
        let later = app.new_browser();
        assert_eq!(oauth_sign_in(&later, &provider, "github", "ana").await.status(), 303);
        assert_eq!(later.whoami().await["id"], ana["id"]);

        // A provider account already linked to Ana cannot be linked to somebody else.
        app.create_user("bo@example.test", TEST_PASSWORD).await;
        let bo = app.new_browser();
        bo.sign_in_with_password("bo@example.test", TEST_PASSWORD).await;
        let url = start(&bo, "github", &[("link", "1")]).await;
        provider.approve_next_as("ana");
        let callback = authorize(&bo, &url).await;
        assert_eq!(bo.client.get(&callback).send().await.expect("callback").status(), 409);
    }

    async fn session_id_rotates_at_sign_in_and_sign_out_revokes_it(app, provider) {
        let browser = app.new_browser();
        // The anonymous session that carries the OAuth state.
        let pre = browser.client.get(browser.url("/api/auth/csrf")).send().await.expect("csrf");
        let before = session_cookie(&pre).expect("anonymous session cookie");
        let url = start(&browser, "github", &[]).await;
        provider.approve_next_as("rotor");
        let callback = authorize(&browser, &url).await;
        let signed_in = browser.client.get(&callback).send().await.expect("callback");
        let after = session_cookie(&signed_in).expect("new session cookie");
        let value = |c: &str| c.split(';').next().unwrap_or_default().to_owned();
        assert_ne!(value(&before), value(&after), "a planted pre-sign-in id is worthless");
        assert_eq!(whoami_with_cookie(&app, &value(&before)).await, serde_json::Value::Null);
        assert_eq!(whoami_with_cookie(&app, &value(&after)).await["name"], "Rotor");
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(after.contains(flag), "{flag} in {after}");
        }
        assert!(!after.contains("Secure"), "plain http deployment: {after}");
        assert_eq!(signed_in.headers()["cache-control"], "private, no-store");
        let page = browser.get("/studio").await;
        assert_eq!(page.headers()["cache-control"], "private, no-store", "pages of a signed-in user are never cached");
        let anonymous = app.client.get(app.url("/")).send().await.expect("home");
        assert!(anonymous.headers().get("cache-control").is_none(), "anonymous pages stay cacheable");

        browser.refresh_csrf().await;
        let out = browser.post_form("/auth/signout", &[]).await;
        assert_eq!(out.status(), 303);
        assert_eq!(location(&out), "/");
        // The old cookie, replayed by anyone, no longer works: the session is gone server-side.
        assert_eq!(whoami_with_cookie(&app, &value(&after)).await, serde_json::Value::Null);
        let studio = app.client.get(app.url("/studio")).header("cookie", value(&after)).send().await.expect("studio");
        assert_eq!(studio.status(), 303);
    }
}

crate::helpers::both_backends! {
    async fn csrf_is_required_on_every_state_changing_request(app: TestApp) {
        app.sign_in("csrf@example.test").await;
        let jar = &app.browser.client;
        let form = [("title", "Forged"), ("sample_rate", "48000")];
        let missing = jar.post(app.url("/studio/sessions")).form(&form).send().await.expect("POST");
        assert_eq!(missing.status(), 403);
        let wrong = jar.post(app.url("/studio/sessions")).header("x-csrf-token", "guess").form(&form).send().await.expect("POST");
        assert_eq!(wrong.status(), 403);
        let json = jar.post(app.url("/ingest/isrc")).json(&serde_json::json!({"isrc": "USRC11301176", "title": "t", "artist": "a"})).send().await.expect("POST");
        crate::helpers::expect_problem(json, 403, "csrf_failed").await;
        let signout = jar.post(app.url("/auth/signout")).send().await.expect("POST");
        assert_eq!(signout.status(), 403, "a forged sign-out is refused too");
        assert!(omnisonic_store::studio::count_sessions(&app.db).await.expect("count") == 0);
        // The right token as a form field (a browser without JavaScript) is accepted.
        let token = app.browser.refresh_csrf().await;
        let ok = jar.post(app.url("/studio/sessions")).form(&[("csrf_token", token.as_str()), ("title", "Real"), ("sample_rate", "48000")]).send().await.expect("POST");
        assert_eq!(ok.status(), 303);

        // Login CSRF: the sign-in endpoints need the token even without a signed-in session.
        app.create_user("victim@example.test", TEST_PASSWORD).await;
        let fresh = app.new_browser();
        let forged = fresh.client.post(fresh.url("/auth/callback/credentials")).form(&[("email", "victim@example.test"), ("password", TEST_PASSWORD)]).send().await.expect("POST");
        assert_eq!(forged.status(), 403);
        assert_eq!(fresh.whoami().await, serde_json::Value::Null);
    }

    async fn wrong_credentials_say_the_same_whether_or_not_the_account_exists(app: TestApp) {
        app.create_user("real@example.test", TEST_PASSWORD).await;
        let browser = app.new_browser();
        let wrong_password = browser.sign_in_with_password("real@example.test", "not the password").await;
        let no_account = browser.sign_in_with_password("ghost@example.test", "not the password").await;
        assert_eq!(wrong_password.status(), 401);
        assert_eq!(no_account.status(), 401);
        let a = wrong_password.text().await.expect("html");
        let b = no_account.text().await.expect("html");
        assert!(a.contains("Email or password is incorrect.") && b.contains("Email or password is incorrect."));
        assert_eq!(a.replace("real@example.test", "X"), b.replace("ghost@example.test", "X"), "the pages differ only in the echoed email");
        // A password over the hashing limit is refused without hashing, with the same message.
        let huge = "x".repeat(omnisonic_domain::account::MAX_PASSWORD_LEN + 1);
        assert_eq!(browser.sign_in_with_password("real@example.test", &huge).await.status(), 401);
        assert_eq!(browser.whoami().await, serde_json::Value::Null);
    }

    async fn credentials_attempts_are_rate_limited_per_account_and_per_ip(app: TestApp) {
        app.create_user("target@example.test", TEST_PASSWORD).await;
        let browser = app.new_browser();
        for attempt in 1..=5 {
            let response = browser.sign_in_with_password("target@example.test", "wrong").await;
            assert_eq!(response.status(), 401, "attempt {attempt}");
        }
        let limited = browser.sign_in_with_password("target@example.test", TEST_PASSWORD).await;
        assert_eq!(limited.status(), 429, "the 6th attempt within the window is refused, even with the right password");
        let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
        assert!(limited.text().await.expect("html").contains("Too many sign-in attempts"));
        // Per IP: spraying many accounts from one address hits the IP limit (20 per window; 6 used above).
        let mut statuses = Vec::new();
        for n in 0..15 {
            statuses.push(browser.sign_in_with_password(&format!("spray{n}@example.test"), "wrong").await.status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 14, "{statuses:?}");
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    }

    async fn disabled_users_cannot_sign_in_and_lose_their_sessions(app: TestApp) {
        let id = app.sign_in("leaver@example.test").await;
        assert!(app.browser.whoami().await.is_object());
        omnisonic_store::auth::set_user_disabled(&app.db, id, true).await.expect("disable");
        assert_eq!(app.browser.whoami().await, serde_json::Value::Null, "the live session ended at once");
        let again = app.new_browser().sign_in_with_password("leaver@example.test", TEST_PASSWORD).await;
        assert_eq!(again.status(), 403);
        assert!(again.text().await.expect("html").contains("disabled"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https_and_credentials_default_off_with_a_provider() {
    let (app, _provider) =
        spawn_with_provider(Backend::Sqlite, &["--auth-url", "https://omnisonic.example"]).await.expect("app");
    let response = app.browser.client.get(app.url("/api/auth/csrf")).send().await.expect("csrf");
    let cookie = session_cookie(&response).expect("cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    let start = app.browser.client.get(app.url("/api/auth/providers")).send().await.expect("providers");
    let providers: serde_json::Value = start.json().await.expect("json");
    assert_eq!(providers["github"]["callbackUrl"], "https://omnisonic.example/auth/callback/github");

    // With a provider configured and no explicit AUTH_CREDENTIALS, password sign-in is off.
    let provider = OAuthProvider::spawn(ClientRegistration { client_id: "c".into(), client_secret: "s".into() })
        .await
        .expect("provider");
    let github = provider.github_base_url();
    let app = spawn_app_with(
        Backend::Sqlite,
        settings(&["--github-client-id", "c", "--github-client-secret", "s", "--github-base-url", &github]),
    )
    .await
    .expect("app");
    app.create_user("dev@example.test", TEST_PASSWORD).await;
    let page = app.browser.get("/auth/signin").await.text().await.expect("html");
    assert!(page.contains("Continue with GitHub") && !page.contains("Sign in with email"), "{page}");
    let refused = app.browser.sign_in_with_password("dev@example.test", TEST_PASSWORD).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_expiry_end_a_sign_in() {
    let idle = spawn_app_with(Backend::Sqlite, settings(&["--auth-session-idle-secs", "1"])).await.expect("app");
    idle.sign_in("idle@example.test").await;
    assert!(idle.browser.whoami().await.is_object());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(idle.browser.whoami().await, serde_json::Value::Null, "idle for longer than the limit");

    // Activity keeps an idle-limited sign-in alive well past the idle limit.
    let active = spawn_app_with(Backend::Sqlite, settings(&["--auth-session-idle-secs", "2"])).await.expect("app");
    active.sign_in("active@example.test").await;
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert!(active.browser.whoami().await.is_object(), "still signed in while active");
    }

    let absolute = spawn_app_with(Backend::Sqlite, settings(&["--auth-session-max-age-secs", "2"])).await.expect("app");
    absolute.sign_in("busy@example.test").await;
    // Activity does not extend the absolute limit.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        absolute.browser.whoami().await;
    }
    assert_eq!(absolute.browser.whoami().await, serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sign_in_only_local_paths_are_followed() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    // One account per case: five attempts per account is the sign-in limit.
    for (n, (asked, landed)) in [
        ("/studio/sessions", "/studio/sessions"),
        ("https://evil.example/", "/studio"),
        ("//evil.example", "/studio"),
        ("/\\evil.example", "/studio"),
        // Paths that normalise to another host (`//evil.example`): checked after normalisation.
        ("/.//evil.example", "/studio"),
        ("/..//evil.example", "/studio"),
        ("/./..//evil.example/path", "/studio"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("nav{n}@example.test");
        app.create_user(&email, TEST_PASSWORD).await;
        let browser = app.new_browser();
        let token = browser.refresh_csrf().await;
        let response = browser
            .client
            .post(browser.url("/auth/callback/credentials"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", TEST_PASSWORD),
                ("callbackUrl", asked),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(location(&response), landed, "{asked}");
    }
}

/// Decodes a quoted-printable body (what mail encoders use for long lines).
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()))
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The sign-in link in the newest message to `to` among the files of `dir` (an outbox or a Maildir's `new/`).
fn link_in_mail(dir: &std::path::Path, to: &str) -> Option<String> {
    let mut messages: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, std::fs::read_to_string(e.path()).ok()?)))
        .filter(|(_, text)| text.lines().any(|l| l.eq_ignore_ascii_case(&format!("To: {to}"))))
        .collect();
    messages.sort_by_key(|(at, _)| *at);
    let text = decode_quoted_printable(&messages.last()?.1);
    let start = text.find("/auth/callback/email?").and_then(|end| text[..end].rfind("http://"))?;
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    Some(link)
}

/// Opens a sign-in link and presses the confirmation button; returns the final response.
async fn redeem(browser: &Browser, link: &str) -> reqwest::Response {
    let page = browser.client.get(link).send().await.expect("open link");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["cache-control"].to_str().expect("ascii").contains("no-store"));
    let html = page.text().await.expect("html");
    assert!(html.contains("Finish signing in"), "{html}");
    let query: std::collections::HashMap<String, String> =
        url::Url::parse(link).expect("link").query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    browser.refresh_csrf().await;
    let response = browser
        .post_form(
            "/auth/callback/email",
            &[("token", query["token"].as_str()), ("callbackUrl", query["callbackUrl"].as_str())],
        )
        .await;
    if response.status() == 303 {
        browser.refresh_csrf().await;
    }
    response
}

async fn request_link(browser: &Browser, email: &str) -> reqwest::Response {
    let token = browser.refresh_csrf().await;
    browser
        .client
        .post(browser.url("/auth/signin/email"))
        .form(&[("csrf_token", token.as_str()), ("email", email), ("callbackUrl", "/account")])
        .send()
        .await
        .expect("request link")
}

mod email_links {
    use super::*;

    async fn spawn_with_outbox(backend: Backend) -> Option<(TestApp, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("data dir");
        let data_dir = dir.path().to_str().expect("utf-8").to_owned();
        let app = spawn_app_with(backend, settings(&["--data-dir", &data_dir])).await?;
        Some((app, dir))
    }

    async fn outbox_link_signs_in_once(app: TestApp, data: tempfile::TempDir) {
        let outbox = data.path().join("outbox");
        // A new address: the page says the same as for a known one, and the account is created on redemption.
        let browser = app.new_browser();
        let asked = request_link(&browser, " New.Person@Example.test ").await;
        assert_eq!(asked.status(), 200);
        assert!(asked.text().await.expect("html").contains("Check your email"));
        let link = link_in_mail(&outbox, "new.person@example.test").expect("a message in the outbox");
        assert!(link.starts_with(&app.url("/auth/callback/email?token=")), "{link}");
        let signed_in = redeem(&browser, &link).await;
        assert_eq!(signed_in.status(), 303);
        assert_eq!(location(&signed_in), "/account");
        assert_eq!(browser.whoami().await["email"], "new.person@example.test");
        let user =
            omnisonic_store::auth::user_by_email(&app.db, "new.person@example.test").await.expect("db").expect("user");
        assert!(user.email_verified_at.is_some(), "the link proved the address");
        // Used once: a second redemption, in any browser, fails.
        let again = redeem(&app.new_browser(), &link).await;
        assert_eq!(again.status(), 400);
        assert!(again.text().await.expect("html").contains("expired or was already used"));

        // A known address signs in to the existing user.
        let known = app.create_user("known@example.test", TEST_PASSWORD).await;
        let other = app.new_browser();
        request_link(&other, "known@example.test").await;
        let link = link_in_mail(&outbox, "known@example.test").expect("message");
        assert_eq!(redeem(&other, &link).await.status(), 303);
        assert_eq!(other.whoami().await["id"], known.to_string());

        // Not an address: 422 and nothing sent.
        let bad = request_link(&app.new_browser(), "not-an-address").await;
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.expect("html").contains("Enter a valid email address"));

        // An expired token is refused.
        let hash = format!("{:x}", sha2_digest("expired-token"));
        omnisonic_store::auth::create_verification_token(
            &app.db,
            "late@example.test",
            &hash,
            chrono::Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .expect("token");
        let late = app.new_browser();
        late.refresh_csrf().await;
        let response = late.post_form("/auth/callback/email", &[("token", "expired-token")]).await;
        assert_eq!(response.status(), 400);
        assert_eq!(late.whoami().await, serde_json::Value::Null);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let (app, dir) = spawn_with_outbox(Backend::Sqlite).await.expect("SQLite");
        outbox_link_signs_in_once(app, dir).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some((app, dir)) = spawn_with_outbox(Backend::Postgres).await {
            outbox_link_signs_in_once(app, dir).await
        }
    }

    /// The production path: a real SMTP server (aiosmtpd, started by scripts/services.sh) delivering to a Maildir.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn smtp_delivers_a_working_link() {
        let (Ok(smtp), Ok(maildir)) =
            (std::env::var("OMNISONIC_TEST_SMTP_URL"), std::env::var("OMNISONIC_TEST_SMTP_MAILDIR"))
        else {
            assert!(
                std::env::var("OMNISONIC_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "OMNISONIC_REQUIRE_SERVICES=1 but OMNISONIC_TEST_SMTP_URL / OMNISONIC_TEST_SMTP_MAILDIR are not set"
            );
            eprintln!("skipping the SMTP test: OMNISONIC_TEST_SMTP_URL is not set");
            return;
        };
        let app = spawn_app_with(
            Backend::Sqlite,
            settings(&["--smtp-url", &smtp, "--email-from", "Omnisonic Test <test@omnisonic.invalid>"]),
        )
        .await
        .expect("app");
        let address = format!("smtp-{}@example.test", uuid::Uuid::now_v7().simple());
        let browser = app.new_browser();
        assert_eq!(request_link(&browser, &address).await.status(), 200);
        let new = std::path::Path::new(&maildir).join("new");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let link = loop {
            if let Some(link) = link_in_mail(&new, &address) {
                break link;
            }
            assert!(std::time::Instant::now() < deadline, "no message for {address} in {}", new.display());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(redeem(&browser, &link).await.status(), 303);
        assert_eq!(browser.whoami().await["email"], address);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn links_are_off_on_https_without_smtp() {
        let app = spawn_app_with(
            Backend::Sqlite,
            settings(&["--auth-url", "https://omnisonic.example", "--auth-credentials", "true"]),
        )
        .await
        .expect("app");
        let page = app.browser.get("/auth/signin").await.text().await.expect("html");
        assert!(!page.contains("Email me a sign-in link"), "{page}");
        let providers: serde_json::Value = app
            .browser
            .client
            .get(app.url("/api/auth/providers"))
            .send()
            .await
            .expect("providers")
            .json()
            .await
            .expect("json");
        assert!(providers.get("email").is_none() && providers.get("credentials").is_some(), "{providers}");
    }
}

fn sha2_digest(text: &str) -> impl std::fmt::LowerHex {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
}

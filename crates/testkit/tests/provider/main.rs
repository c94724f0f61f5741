//! Drives the test OAuth provider over real HTTP, the way the app's sign-in flows do, and checks that it refuses
//! what the real providers refuse.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use omnisonic_testkit::{ClientRegistration, OAuthProvider};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::Value;
use sha2::Sha256;
use url::Url;

const CLIENT_ID: &str = "omnisonic-test";
const CLIENT_SECRET: &str = "test-secret";
/// Has a query parameter of its own, which the provider must keep.
const REDIRECT_URI: &str = "http://app.test/auth/callback?from=test";
/// The verifier and challenge of RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn spawn() -> OAuthProvider {
    let client = ClientRegistration { client_id: CLIENT_ID.into(), client_secret: CLIENT_SECRET.into() };
    OAuthProvider::spawn(client).await.unwrap()
}

/// In a workspace build reqwest is compiled without a default TLS provider (the app's choice): install ring.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Like the app's client: no redirects followed, a User-Agent set (GitHub insists on one).
fn http() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("omnisonic-testkit-tests")
        .build()
        .unwrap()
}

fn github_authorize_params(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("state", state.into()),
        ("scope", "read:user user:email".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

fn google_authorize_params(state: &str, nonce: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("state", state.into()),
        ("scope", "openid email profile".into()),
        ("nonce", nonce.into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn get_authorize(url: &str, params: &[(&str, String)]) -> reqwest::Response {
    let url = Url::parse_with_params(url, params.iter().map(|(k, v)| (k, v.as_str()))).unwrap();
    http().get(url).send().await.unwrap()
}

/// The query parameters of a redirect's `Location`, after checking it goes back to [`REDIRECT_URI`].
fn callback_params(response: &reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "expected a redirect back to the app");
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("app.test"));
    assert_eq!(location.path(), "/auth/callback");
    location.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Approves a GitHub authorization for `login` and returns the code.
async fn github_code(provider: &OAuthProvider, login: &str) -> String {
    provider.approve_next_as(login);
    let url = format!("{}/login/oauth/authorize", provider.github_base_url());
    let response = get_authorize(&url, &github_authorize_params("st-1")).await;
    let params = callback_params(&response);
    assert_eq!(param(&params, "state"), Some("st-1"));
    param(&params, "code").unwrap().to_owned()
}

async fn github_exchange(provider: &OAuthProvider, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let url = format!("{}/login/oauth/access_token", provider.github_base_url());
    let response = http().post(url).header("Accept", "application/json").form(form).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn github_token_form<'a>(code: &'a str, verifier: &'a str, redirect_uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn github_code_flow_with_pkce_ends_in_the_user() {
    let provider = spawn().await;
    let code = github_code(&provider, "alice").await;

    let (status, token) = github_exchange(&provider, &github_token_form(&code, VERIFIER, REDIRECT_URI)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["scope"], "read:user,user:email");
    let access_token = token["access_token"].as_str().unwrap();
    assert!(access_token.starts_with("gho_"));

    let user: Value = http()
        .get(format!("{}/user", provider.github_api_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["id"], 1000);
    assert_eq!(user["login"], "alice");
    assert_eq!(user["name"], "Alice");
    assert_eq!(user["email"], "alice@example.test");
    assert_eq!(user["avatar_url"], format!("{}/github/avatar/alice.png", provider.base_url()));

    let emails: Value = http()
        .get(format!("{}/user/emails", provider.github_api_url()))
        .header("Authorization", format!("token {access_token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(emails[0]["email"], "alice@example.test");
    assert_eq!(emails[0]["primary"], true);
    assert_eq!(emails[0]["verified"], true);
    assert_eq!(provider.token_exchanges(), (1, 0));
}

#[tokio::test]
async fn the_redirect_keeps_the_apps_own_query_and_echoes_state_exactly() {
    let provider = spawn().await;
    provider.approve_next_as("alice");
    let state = "a b&c=d/é+";
    let url = format!("{}/login/oauth/authorize", provider.github_base_url());
    let params = callback_params(&get_authorize(&url, &github_authorize_params(state)).await);
    assert_eq!(param(&params, "from"), Some("test"));
    assert_eq!(param(&params, "state"), Some(state));
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_its_token() {
    let provider = spawn().await;
    let code = github_code(&provider, "alice").await;
    let form = github_token_form(&code, VERIFIER, REDIRECT_URI);

    let (status, token) = github_exchange(&provider, &form).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = github_exchange(&provider, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "bad_verification_code");
    assert_eq!(provider.token_exchanges(), (1, 1));

    let response = http()
        .get(format!("{}/user", provider.github_api_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_and_spends_the_code() {
    let provider = spawn().await;
    let code = github_code(&provider, "alice").await;
    let wrong = "x".repeat(43);

    let (status, error) = github_exchange(&provider, &github_token_form(&code, &wrong, REDIRECT_URI)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "bad_verification_code");
    // The code is gone even though the right verifier now comes along.
    let (status, _) = github_exchange(&provider, &github_token_form(&code, VERIFIER, REDIRECT_URI)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let code = github_code(&provider, "alice").await;
    let mut form = github_token_form(&code, VERIFIER, REDIRECT_URI);
    form.retain(|(name, _)| *name != "code_verifier");
    let (status, error) = github_exchange(&provider, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a missing verifier is refused too: {error}");
    assert_eq!(provider.token_exchanges(), (0, 3));
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_refused() {
    let provider = spawn().await;
    let code = github_code(&provider, "alice").await;
    let (status, error) =
        github_exchange(&provider, &github_token_form(&code, VERIFIER, "http://app.test/auth/callback")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error_description"].as_str().unwrap().contains("redirect_uri"), "{error}");
}

#[tokio::test]
async fn wrong_client_credentials_are_invalid_client() {
    let provider = spawn().await;
    let code = github_code(&provider, "alice").await;
    let mut form = github_token_form(&code, VERIFIER, REDIRECT_URI);
    form[1] = ("client_secret", "nope");
    let (status, error) = github_exchange(&provider, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "invalid_client");
}

async fn discord_code(provider: &OAuthProvider, scope: &str) -> String {
    provider.approve_next_as("bob");
    let params = [
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("state", "st".into()),
        ("scope", scope.into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ];
    let url = format!("{}/oauth2/authorize", provider.discord_base_url());
    param(&callback_params(&get_authorize(&url, &params).await), "code").unwrap().to_owned()
}

#[tokio::test]
async fn discord_accepts_basic_client_auth_and_its_tokens_only_work_at_discord() {
    let provider = spawn().await;
    let code = discord_code(&provider, "identify email").await;
    let token: Value = http()
        .post(format!("{}/api/oauth2/token", provider.discord_base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 604_800);
    assert_eq!(token["scope"], "identify email");
    let access_token = token["access_token"].as_str().unwrap();

    let me: Value = http()
        .get(format!("{}/api/users/@me", provider.discord_base_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], "1000");
    assert_eq!(me["username"], "bob");
    assert_eq!(me["global_name"], "Bob");
    assert_eq!(me["email"], "bob@example.test");

    for url in [format!("{}/user", provider.github_api_url()), format!("{}/userinfo", provider.google_issuer_url())] {
        let response = http().get(&url).bearer_auth(access_token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{url}");
    }
}

#[tokio::test]
async fn discord_needs_grant_type() {
    let provider = spawn().await;
    let code = discord_code(&provider, "identify").await;
    let response = http()
        .post(format!("{}/api/oauth2/token", provider.discord_base_url()))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
}

/// Runs the Google flow and returns the token response.
async fn google_tokens(provider: &OAuthProvider, nonce: &str) -> Value {
    provider.approve_next_as("carol");
    let discovery: Value = http()
        .get(format!("{}/.well-known/openid-configuration", provider.google_issuer_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], provider.google_issuer_url());
    let authorize_url = discovery["authorization_endpoint"].as_str().unwrap();
    let params = callback_params(&get_authorize(authorize_url, &google_authorize_params("st", nonce)).await);
    let code = param(&params, "code").unwrap();
    let response = http()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Checks the HS256 signature with the client secret and returns the claims.
fn verified_claims(id_token: &str) -> Value {
    let (signing_input, signature) = id_token.rsplit_once('.').unwrap();
    let (header, claims) = signing_input.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let mut mac = <Hmac<Sha256>>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[tokio::test]
async fn the_google_id_token_carries_the_nonce_and_audience() {
    let provider = spawn().await;
    let tokens = google_tokens(&provider, "n-0S6_WzA2Mj").await;
    assert_eq!(tokens["scope"], "openid email profile");
    let claims = verified_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], provider.google_issuer_url());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["sub"], "1000");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["email"], "carol@example.test");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Carol");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);

    let userinfo: Value = http()
        .get(format!("{}/userinfo", provider.google_issuer_url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "1000");
    assert_eq!(userinfo["email"], "carol@example.test");
}

#[tokio::test]
async fn tamper_next_nonce_changes_the_nonce_once() {
    let provider = spawn().await;
    provider.tamper_next_nonce("evil");
    let tampered = verified_claims(google_tokens(&provider, "honest").await["id_token"].as_str().unwrap());
    assert_eq!(tampered["nonce"], "evil");
    let next = verified_claims(google_tokens(&provider, "honest").await["id_token"].as_str().unwrap());
    assert_eq!(next["nonce"], "honest");
}

#[tokio::test]
async fn an_unknown_client_id_gets_an_error_page_not_a_redirect() {
    let provider = spawn().await;
    provider.approve_next_as("alice");
    let mut params = github_authorize_params("st");
    params[0].1 = "someone-else".into();
    let url = format!("{}/login/oauth/authorize", provider.github_base_url());
    let response = get_authorize(&url, &params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.text().await.unwrap().contains("someone-else"));
}

#[tokio::test]
async fn authorize_refuses_requests_the_real_providers_refuse() {
    let provider = spawn().await;
    let github = format!("{}/login/oauth/authorize", provider.github_base_url());
    let google = format!("{}/authorize", provider.google_issuer_url());

    let mut no_state = github_authorize_params("st");
    no_state.retain(|(name, _)| *name != "state");
    assert_eq!(get_authorize(&github, &no_state).await.status(), StatusCode::BAD_REQUEST);

    let mut plain = github_authorize_params("st");
    plain[5].1 = "plain".into();
    let params = callback_params(&get_authorize(&github, &plain).await);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert_eq!(param(&params, "state"), Some("st"));

    let mut no_nonce = google_authorize_params("st", "n");
    no_nonce.retain(|(name, _)| *name != "nonce");
    let params = callback_params(&get_authorize(&google, &no_nonce).await);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert_eq!(param(&params, "code"), None);
}

#[tokio::test]
async fn deny_next_redirects_with_access_denied() {
    let provider = spawn().await;
    provider.deny_next();
    let url = format!("{}/login/oauth/authorize", provider.github_base_url());
    let params = callback_params(&get_authorize(&url, &github_authorize_params("st")).await);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("st"));
    assert_eq!(param(&params, "code"), None);
}

#[tokio::test]
async fn the_sign_in_form_carries_the_request_and_decides_it() {
    let provider = spawn().await;
    let url = format!("{}/login/oauth/authorize", provider.github_base_url());
    let page = get_authorize(&url, &github_authorize_params("st")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Test GitHub sign-in</title>"));
    assert!(html.contains(r#"<form method="post" action="/github/login/oauth/authorize">"#));
    assert!(html.contains(r#"<label for="login">Username</label>"#));
    assert!(html.contains(&format!(r#"name="code_challenge" value="{CHALLENGE}""#)));

    let mut form: Vec<(&str, String)> = github_authorize_params("st");
    form.push(("login", "dave".into()));
    form.push(("decision", "approve".into()));
    let response = http().post(&url).form(&form).send().await.unwrap();
    let code = param(&callback_params(&response), "code").unwrap().to_owned();
    let (status, _) = github_exchange(&provider, &github_token_form(&code, VERIFIER, REDIRECT_URI)).await;
    assert_eq!(status, StatusCode::OK);

    let last = form.len() - 1;
    form[last].1 = "deny".into();
    let response = http().post(&url).form(&form).send().await.unwrap();
    assert_eq!(param(&callback_params(&response), "error"), Some("access_denied"));
}

#[tokio::test]
async fn github_needs_a_user_agent_and_reports_a_cleared_email_as_null() {
    let provider = spawn().await;
    provider.set_email("erin", None);
    let code = github_code(&provider, "erin").await;
    let (_, token) = github_exchange(&provider, &github_token_form(&code, VERIFIER, REDIRECT_URI)).await;
    let access_token = token["access_token"].as_str().unwrap();

    install_tls_provider();
    let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = bare.get(format!("{}/user", provider.github_api_url())).bearer_auth(access_token).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::FORBIDDEN);

    let user: Value = http()
        .get(format!("{}/user", provider.github_api_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["email"], Value::Null);
    let emails: Value = http()
        .get(format!("{}/user/emails", provider.github_api_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(emails, serde_json::json!([]));
}

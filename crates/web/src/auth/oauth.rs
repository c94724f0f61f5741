//! The OAuth 2.0 authorization-code flow with PKCE for GitHub, Discord and Google (OpenID Connect).
//!
//! Starting a sign-in stores a [`PendingSignIn`] in the session: the provider, `state`, PKCE verifier and (for
//! Google) `nonce`. The callback takes it out again — so a `state` or `code` works once — and checks that the
//! provider in the callback URL is the one that started the flow, so one provider's callback cannot complete
//! another's. Provider tokens are used to read the profile and then dropped.
//!
//! Google's ID token comes straight from its token endpoint over TLS, so per OpenID Connect Core §3.1.3.7 (6)
//! the TLS server check stands in for a signature check; we still check `iss`, `aud`, `exp` and the `nonce`.

use super::config::{ProviderConfig, ProviderKind};
use super::{AuthRuntime, keys};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use uuid::Uuid;

/// A sign-in in progress, kept in the session between the redirect out and the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// Provider id that started the flow.
    pub provider: String,
    /// The `state` sent to the provider.
    pub state: String,
    /// PKCE code verifier.
    pub verifier: String,
    /// OpenID Connect nonce (Google).
    pub nonce: Option<String>,
    /// Local path to return to afterwards.
    pub callback_url: String,
    /// Set when a signed-in user is linking this provider to their account.
    pub link_to: Option<Uuid>,
    /// Unix time the flow started; a flow older than [`MAX_FLOW_AGE_SECS`] is refused.
    pub started_at: i64,
}

/// How long a person may take at the provider before the callback is refused.
pub const MAX_FLOW_AGE_SECS: i64 = 10 * 60;

/// What we learn about a person from a provider.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The provider's stable id for them.
    pub account_id: String,
    /// Email, only when the provider says it is verified.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
}

/// Why an OAuth sign-in did not complete. Messages are safe to show; details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No sign-in was started in this session (or it was already used).
    #[error("This sign-in link has expired or was already used. Please start again.")]
    NoPendingSignIn,
    /// The callback is for another provider than the one that started.
    #[error("The sign-in response came from a different provider than the one you chose. Please start again.")]
    ProviderMismatch,
    /// `state` did not match.
    #[error("The sign-in response could not be verified. Please start again.")]
    StateMismatch,
    /// The person said no at the provider.
    #[error("Sign-in was cancelled at {0}.")]
    Denied(&'static str),
    /// The code exchange or profile request failed.
    #[error("{0} did not confirm the sign-in. Please try again.")]
    Provider(&'static str, #[source] Box<dyn std::error::Error + Send + Sync>),
    /// The ID token was not for us, expired, or carried the wrong nonce.
    #[error("The sign-in response could not be verified. Please start again.")]
    IdToken(&'static str),
    /// The provider is not configured.
    #[error("This sign-in method is not available.")]
    NotConfigured,
}

/// The extra field an OpenID Connect token response carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenFields {
    /// The ID token (JWT), Google only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

type OAuthTokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OAuthTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The endpoints of one provider.
#[derive(Clone, Debug, Deserialize)]
pub struct Endpoints {
    /// Where people are sent to approve.
    #[serde(rename = "authorization_endpoint")]
    pub authorize: String,
    /// Where codes are exchanged.
    #[serde(rename = "token_endpoint")]
    pub token: String,
    /// The profile endpoint.
    #[serde(rename = "userinfo_endpoint")]
    pub user: String,
    /// The OpenID issuer (Google).
    #[serde(default)]
    pub issuer: String,
}

fn join(base: &url::Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

fn provider_error(kind: ProviderKind, err: impl std::error::Error + Send + Sync + 'static) -> OAuthError {
    OAuthError::Provider(kind.label(), Box::new(err))
}

impl AuthRuntime {
    fn provider_config(&self, kind: ProviderKind) -> Result<&ProviderConfig, OAuthError> {
        self.config.provider(kind).ok_or(OAuthError::NotConfigured)
    }

    /// The provider's endpoints: fixed paths under the configured base URLs for GitHub and Discord, OpenID
    /// discovery for Google (fetched once, then cached).
    async fn endpoints(&self, provider: &ProviderConfig) -> Result<Endpoints, OAuthError> {
        let base = &provider.base_url;
        match provider.kind {
            ProviderKind::GitHub => {
                let api = provider.api_url.as_ref().unwrap_or(base);
                Ok(Endpoints {
                    authorize: join(base, "/login/oauth/authorize"),
                    token: join(base, "/login/oauth/access_token"),
                    user: join(api, "/user"),
                    issuer: String::new(),
                })
            }
            ProviderKind::Discord => Ok(Endpoints {
                authorize: join(base, "/oauth2/authorize"),
                token: join(base, "/api/oauth2/token"),
                user: join(base, "/api/users/@me"),
                issuer: String::new(),
            }),
            ProviderKind::Google => {
                let discovered = self
                    .google
                    .get_or_try_init(|| async {
                        let url = join(base, "/.well-known/openid-configuration");
                        let response = self.http.get(url).send().await.and_then(|r| r.error_for_status());
                        let endpoints: Endpoints = response
                            .map_err(|e| provider_error(ProviderKind::Google, e))?
                            .json()
                            .await
                            .map_err(|e| provider_error(ProviderKind::Google, e))?;
                        // OpenID Discovery §4.3: the document must name the issuer we asked.
                        if endpoints.issuer.trim_end_matches('/') != base.as_str().trim_end_matches('/') {
                            return Err(OAuthError::IdToken("discovery names another issuer"));
                        }
                        Ok::<_, OAuthError>(endpoints)
                    })
                    .await?;
                Ok(discovered.clone())
            }
        }
    }

    fn client(&self, provider: &ProviderConfig, endpoints: &Endpoints) -> Result<OAuthClient, OAuthError> {
        let invalid = |e: url::ParseError| provider_error(provider.kind, e);
        let auth_type = match provider.kind {
            // GitHub wants the secret in the body; the others take HTTP Basic as the standard prefers.
            ProviderKind::GitHub => AuthType::RequestBody,
            _ => AuthType::BasicAuth,
        };
        Ok(oauth2::Client::new(ClientId::new(provider.client_id.clone()))
            .set_client_secret(ClientSecret::new(provider.client_secret.0.clone()))
            .set_auth_uri(AuthUrl::new(endpoints.authorize.clone()).map_err(invalid)?)
            .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(invalid)?)
            .set_redirect_uri(RedirectUrl::new(self.config.callback_url(provider.kind)).map_err(invalid)?)
            .set_auth_type(auth_type))
    }

    /// Starts a sign-in: remembers the flow in the session and returns the provider URL to send the browser to.
    pub async fn start(
        &self,
        session: &Session,
        kind: ProviderKind,
        callback_url: String,
        link_to: Option<Uuid>,
    ) -> Result<String, super::AuthFailure> {
        let provider = self.provider_config(kind)?;
        let endpoints = self.endpoints(provider).await?;
        let client = self.client(provider, &endpoints)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = (kind == ProviderKind::Google).then(|| CsrfToken::new_random().secret().clone());
        let scopes: &[&str] = match kind {
            ProviderKind::GitHub => &["read:user", "user:email"],
            ProviderKind::Discord => &["identify", "email"],
            ProviderKind::Google => &["openid", "email", "profile"],
        };
        let mut request = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        if let Some(nonce) = &nonce {
            request = request.add_extra_param("nonce", nonce.clone());
        }
        let (url, state) = request.url();
        let pending = PendingSignIn {
            provider: kind.id().to_owned(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce,
            callback_url,
            link_to,
            started_at: chrono::Utc::now().timestamp(),
        };
        session.insert(keys::OAUTH, pending).await?;
        Ok(url.to_string())
    }

    /// Completes a sign-in from the provider's callback and returns who it was. The pending flow is taken out of
    /// the session first, so whatever happens the same `state` and `code` cannot be used again.
    pub async fn finish(
        &self,
        session: &Session,
        kind: ProviderKind,
        callback: &Callback,
    ) -> Result<(Profile, PendingSignIn), super::AuthFailure> {
        let pending: PendingSignIn = session.remove(keys::OAUTH).await?.ok_or(OAuthError::NoPendingSignIn)?;
        if pending.provider != kind.id() {
            return Err(OAuthError::ProviderMismatch.into());
        }
        if chrono::Utc::now().timestamp().saturating_sub(pending.started_at) > MAX_FLOW_AGE_SECS {
            return Err(OAuthError::NoPendingSignIn.into());
        }
        let state_ok =
            callback.state.as_deref().is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
        if !state_ok {
            return Err(OAuthError::StateMismatch.into());
        }
        if callback.error.is_some() {
            return Err(OAuthError::Denied(kind.label()).into());
        }
        let code = callback.code.clone().ok_or(OAuthError::StateMismatch)?;
        let provider = self.provider_config(kind)?;
        let endpoints = self.endpoints(provider).await?;
        let client = self.client(provider, &endpoints)?;
        let http = ProviderHttp(&self.http);
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| provider_error(kind, e))?;
        let access_token = token.access_token().secret();
        let profile = match kind {
            ProviderKind::GitHub => self.github_profile(provider, &endpoints, access_token).await?,
            ProviderKind::Discord => self.discord_profile(&endpoints, access_token).await?,
            ProviderKind::Google => {
                let id_token = token.extra_fields().id_token.as_deref().ok_or(OAuthError::IdToken("no id_token"))?;
                google_profile(id_token, &endpoints.issuer, &provider.client_id, pending.nonce.as_deref())?
            }
        };
        Ok((profile, pending))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: ProviderKind,
        url: &str,
        access_token: &str,
    ) -> Result<T, OAuthError> {
        self.http
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| provider_error(kind, e))?
            .json()
            .await
            .map_err(|e| provider_error(kind, e))
    }

    async fn github_profile(
        &self,
        provider: &ProviderConfig,
        endpoints: &Endpoints,
        access_token: &str,
    ) -> Result<Profile, OAuthError> {
        #[derive(Deserialize)]
        struct GitHubUser {
            id: u64,
            login: String,
            name: Option<String>,
            avatar_url: Option<String>,
        }
        #[derive(Deserialize)]
        struct GitHubEmail {
            email: String,
            primary: bool,
            verified: bool,
        }
        let user: GitHubUser = self.get_json(ProviderKind::GitHub, &endpoints.user, access_token).await?;
        let api = provider.api_url.as_ref().unwrap_or(&provider.base_url);
        // The profile's email is whatever the person made public, verified or not; the emails endpoint says which
        // address is primary and verified. It is optional: without it we simply store no email.
        let emails: Vec<GitHubEmail> =
            self.get_json(ProviderKind::GitHub, &join(api, "/user/emails"), access_token).await.unwrap_or_default();
        let email = emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email);
        Ok(Profile {
            account_id: user.id.to_string(),
            email,
            name: user.name.or(Some(user.login)),
            image: user.avatar_url,
        })
    }

    async fn discord_profile(&self, endpoints: &Endpoints, access_token: &str) -> Result<Profile, OAuthError> {
        #[derive(Deserialize)]
        struct DiscordUser {
            id: String,
            username: String,
            global_name: Option<String>,
            email: Option<String>,
            verified: Option<bool>,
        }
        let user: DiscordUser = self.get_json(ProviderKind::Discord, &endpoints.user, access_token).await?;
        Ok(Profile {
            account_id: user.id,
            email: user.email.filter(|_| user.verified == Some(true)),
            name: user.global_name.or(Some(user.username)),
            image: None,
        })
    }
}

/// The query of a provider's callback.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state we sent.
    pub state: Option<String>,
    /// Set when the person declined.
    pub error: Option<String>,
}

/// Reads and checks the claims of an ID token received directly from the token endpoint.
fn google_profile(id_token: &str, issuer: &str, client_id: &str, nonce: Option<&str>) -> Result<Profile, OAuthError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    #[derive(Deserialize)]
    struct Claims {
        iss: String,
        sub: String,
        aud: Audience,
        azp: Option<String>,
        exp: i64,
        nonce: Option<String>,
        email: Option<String>,
        email_verified: Option<bool>,
        name: Option<String>,
        picture: Option<String>,
    }
    let payload = id_token.split('.').nth(1).ok_or(OAuthError::IdToken("not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| OAuthError::IdToken("bad base64"))?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| OAuthError::IdToken("bad claims"))?;
    // With several audiences, the authorized party must be us (OpenID Connect Core §3.1.3.7, 4–5).
    let audience_ok = match &claims.aud {
        Audience::One(aud) => aud == client_id,
        Audience::Many(auds) => auds.iter().any(|a| a == client_id) && claims.azp.as_deref() == Some(client_id),
    };
    // Google writes `iss` with or without the scheme.
    let issuer = issuer.trim_end_matches('/');
    let iss = claims.iss.trim_end_matches('/');
    if iss != issuer && format!("https://{iss}") != issuer {
        return Err(OAuthError::IdToken("wrong issuer"));
    }
    if !audience_ok {
        return Err(OAuthError::IdToken("wrong audience"));
    }
    if claims.exp <= chrono::Utc::now().timestamp() {
        return Err(OAuthError::IdToken("expired"));
    }
    let nonce_ok = match (nonce, claims.nonce.as_deref()) {
        (Some(expected), Some(got)) => bool::from(expected.as_bytes().ct_eq(got.as_bytes())),
        _ => false,
    };
    if !nonce_ok {
        return Err(OAuthError::IdToken("nonce mismatch"));
    }
    Ok(Profile {
        account_id: claims.sub,
        email: claims.email.filter(|_| claims.email_verified == Some(true)),
        name: claims.name,
        image: claims.picture,
    })
}

/// Our reqwest client as the oauth2 crate's HTTP client (its own reqwest integration targets an older reqwest).
struct ProviderHttp<'a>(&'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for ProviderHttp<'_> {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

/// Sends one oauth2 request with our reqwest client.
async fn send(http: &reqwest::Client, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let mut out = oauth2::HttpResponse::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{OAuthError, google_profile};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    const ISSUER: &str = "https://accounts.google.com";

    fn token(claims: serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        format!("{header}.{}.signature", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    fn claims() -> serde_json::Value {
        json!({"iss": ISSUER, "sub": "42", "aud": "me", "exp": chrono::Utc::now().timestamp() + 60,
               "nonce": "n", "email": "a@example.test", "email_verified": true})
    }

    fn check(claims: serde_json::Value) -> Result<super::Profile, OAuthError> {
        google_profile(&token(claims), ISSUER, "me", Some("n"))
    }

    #[test]
    fn a_valid_token_gives_the_profile_and_iss_may_omit_the_scheme() {
        assert_eq!(check(claims()).expect("valid").account_id, "42");
        let mut bare = claims();
        bare["iss"] = json!("accounts.google.com");
        assert!(check(bare).is_ok());
    }

    #[test]
    fn wrong_issuer_audience_expiry_or_nonce_is_refused() {
        let cases = [
            ("iss", json!("https://evil.example")),
            ("aud", json!("someone-else")),
            ("aud", json!(["me", "someone-else"])),
            ("exp", json!(chrono::Utc::now().timestamp() - 1)),
            ("nonce", json!("other")),
        ];
        for (field, value) in cases {
            let mut bad = claims();
            bad[field] = value.clone();
            assert!(check(bad).is_err(), "{field} = {value}");
        }
        let mut no_nonce = claims();
        no_nonce.as_object_mut().expect("object").remove("nonce");
        assert!(check(no_nonce).is_err());
        // Several audiences are fine when we are the authorized party.
        let mut shared = claims();
        shared["aud"] = json!(["me", "someone-else"]);
        shared["azp"] = json!("me");
        assert!(check(shared).is_ok());
        // An unverified email is not kept.
        let mut unverified = claims();
        unverified["email_verified"] = json!(false);
        assert_eq!(check(unverified).expect("valid").email, None);
        assert!(google_profile("not-a-jwt", ISSUER, "me", Some("n")).is_err());
    }
}

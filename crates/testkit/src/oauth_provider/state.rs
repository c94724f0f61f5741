//! The provider's memory: users made up on the fly, issued codes and access tokens, the one-shot overrides tests
//! set, and the token-exchange counters. It lives behind one `std::sync::Mutex`; no handler awaits while holding it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use super::ClientRegistration;
use super::flavour::Flavour;

/// Everything the handlers share: the registered client, the public base URL and the mutable state.
pub(super) struct Shared {
    /// The one client every flavour accepts.
    pub(super) client: ClientRegistration,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(super) base_url: String,
    state: Mutex<ProviderState>,
}

impl Shared {
    pub(super) fn new(client: ClientRegistration, base_url: String) -> Self {
        Self { client, base_url, state: Mutex::new(ProviderState::default()) }
    }

    /// Locks the state. A panic in another handler cannot leave it half-updated in a way that matters for a test
    /// double, so a poisoned lock is simply taken over.
    pub(super) fn lock(&self) -> MutexGuard<'_, ProviderState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A user as the provider reports it.
#[derive(Clone, Debug)]
pub(super) struct User {
    pub(super) id: u64,
    pub(super) login: String,
    pub(super) name: String,
    pub(super) email: Option<String>,
}

/// What the next authorization request gets instead of the sign-in form.
#[derive(Clone, Debug)]
pub(super) enum NextDecision {
    Approve(String),
    Deny,
}

/// What an authorization code was issued for; the token request must match it.
#[derive(Clone, Debug)]
pub(super) struct CodeGrant {
    pub(super) flavour: Flavour,
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) login: String,
    pub(super) issued_at: Instant,
}

/// What an access token lets its bearer read.
#[derive(Clone, Debug)]
pub(super) struct AccessGrant {
    pub(super) flavour: Flavour,
    pub(super) login: String,
    pub(super) scopes: Vec<String>,
}

impl AccessGrant {
    pub(super) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The result of presenting a code at the token endpoint.
pub(super) enum Redemption {
    /// First use: the grant it was issued for. The code is now spent.
    Fresh(CodeGrant),
    /// The code was already presented once. Any token issued from it has just been revoked (RFC 6749 §4.1.2).
    Replayed,
    /// Never issued.
    Unknown,
}

#[derive(Default)]
pub(super) struct ProviderState {
    users: HashMap<String, User>,
    next_user_id: u64,
    codes: HashMap<String, CodeGrant>,
    /// Spent codes, with the access token issued from each (if the exchange succeeded).
    spent_codes: HashMap<String, Option<String>>,
    access_tokens: HashMap<String, AccessGrant>,
    pub(super) next_decision: Option<NextDecision>,
    pub(super) next_nonce: Option<String>,
    pub(super) exchanges_succeeded: usize,
    pub(super) exchanges_refused: usize,
}

/// The first user gets this id, the next one more, in order of first use.
const FIRST_USER_ID: u64 = 1000;

impl ProviderState {
    /// The user called `login`, made up on first use with the next free id.
    pub(super) fn user(&mut self, login: &str) -> &mut User {
        let next_id = &mut self.next_user_id;
        self.users.entry(login.to_owned()).or_insert_with(|| {
            let id = FIRST_USER_ID + *next_id;
            *next_id += 1;
            User {
                id,
                login: login.to_owned(),
                name: display_name(login),
                email: Some(format!("{login}@example.test")),
            }
        })
    }

    pub(super) fn issue_code(&mut self, grant: CodeGrant) -> String {
        let code = random_token(32);
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Spends `code`: whatever the outcome of the exchange, it cannot be used again.
    pub(super) fn redeem_code(&mut self, code: &str) -> Redemption {
        if let Some(grant) = self.codes.remove(code) {
            self.spent_codes.insert(code.to_owned(), None);
            return Redemption::Fresh(grant);
        }
        match self.spent_codes.get_mut(code) {
            Some(issued) => {
                if let Some(token) = issued.take() {
                    self.access_tokens.remove(&token);
                }
                Redemption::Replayed
            }
            None => Redemption::Unknown,
        }
    }

    /// Issues an access token for a code that was just redeemed, remembering it so a replay can revoke it.
    pub(super) fn issue_access_token(&mut self, code: &str, token: String, grant: AccessGrant) {
        self.spent_codes.insert(code.to_owned(), Some(token.clone()));
        self.access_tokens.insert(token, grant);
    }

    pub(super) fn access_grant(&self, token: &str) -> Option<AccessGrant> {
        self.access_tokens.get(token).cloned()
    }
}

/// `alice` → `Alice`.
fn display_name(login: &str) -> String {
    let mut chars = login.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `bytes` random bytes, base64url without padding: codes, access and refresh tokens.
pub(super) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

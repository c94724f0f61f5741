//! The three provider dialects the test provider speaks, and what differs between them.

/// Which real provider a request imitates. Codes and access tokens remember the flavour that issued them and are
/// refused by the others, like a GitHub token is worthless at Discord.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavour {
    /// github.com and api.github.com: plain OAuth 2.0, comma-separated scopes, `gho_` tokens.
    GitHub,
    /// discord.com: OAuth 2.0 with `response_type` required and a refresh token in the token response.
    Discord,
    /// accounts.google.com: OpenID Connect with discovery, a `nonce` and an ID token.
    Google,
}

impl Flavour {
    /// The provider's name as the sign-in page shows it.
    pub(super) fn display_name(self) -> &'static str {
        match self {
            Flavour::GitHub => "GitHub",
            Flavour::Discord => "Discord",
            Flavour::Google => "Google",
        }
    }

    /// The path prefix every route of this flavour lives under.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Flavour::GitHub => "/github",
            Flavour::Discord => "/discord",
            Flavour::Google => "/google",
        }
    }

    /// The authorization endpoint's path relative to [`Flavour::prefix`]; the sign-in form posts back to it.
    pub(super) fn authorize_path(self) -> &'static str {
        match self {
            Flavour::GitHub => "/login/oauth/authorize",
            Flavour::Discord => "/oauth2/authorize",
            Flavour::Google => "/authorize",
        }
    }

    /// GitHub ignores `response_type`; Discord and Google insist on `response_type=code`.
    pub(super) fn requires_response_type(self) -> bool {
        !matches!(self, Flavour::GitHub)
    }

    /// Splits a requested `scope` the way this provider does. GitHub also accepts commas between scopes.
    pub(super) fn parse_scopes(self, scope: &str) -> Vec<String> {
        let is_separator = |c: char| c.is_whitespace() || (self == Flavour::GitHub && c == ',');
        scope.split(is_separator).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// Joins granted scopes for the token response: GitHub answers `read:user,user:email`, the others use spaces.
    pub(super) fn join_scopes(self, scopes: &[String]) -> String {
        scopes.join(if self == Flavour::GitHub { "," } else { " " })
    }
}

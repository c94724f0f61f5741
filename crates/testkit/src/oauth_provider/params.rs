//! OAuth request parameters read the way RFC 6749 §3.1 says: an empty value counts as absent, and a parameter sent
//! twice makes the request invalid.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

/// The parameters of one request (query string or form body), in the order they were sent.
#[derive(Clone, Debug, Default)]
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text. Fails on a repeated parameter.
    pub(super) fn parse(input: &[u8]) -> Result<Self, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if pairs.iter().any(|(seen, _)| *seen == name) {
                return Err(format!("parameter `{name}` was sent more than once"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// Parses a form body, insisting on the form content type like real token endpoints do.
    pub(super) fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, String> {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(format!(
                "the body must be application/x-www-form-urlencoded, not `{}`",
                if mime.is_empty() { "(none)" } else { mime }
            ));
        }
        Self::parse(body)
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(super) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// These parameters minus `names` (the sign-in form's own fields).
    pub(super) fn without(&self, names: &[&str]) -> Self {
        Self(self.0.iter().filter(|(n, _)| !names.contains(&n.as_str())).cloned().collect())
    }
}

//! Outbound HTTP with an SSRF guard: every request the server makes to a URL someone else chose (feeds now,
//! webhooks later) goes through [`OutboundClient`].
//!
//! The guard refuses addresses that reach into our own network: loopback, private (RFC 1918), link-local
//! (169.254/16, where cloud metadata services live), CGNAT (100.64/10), multicast, broadcast, unspecified and
//! reserved ranges, and their IPv6 equivalents (`::1`, `fc00::/7`, `fe80::/10`, `ff00::/8`, and IPv4 addresses
//! mapped or translated into IPv6). It checks:
//!
//! * IP-literal hosts before the request (`http://10.0.0.1/`, `http://[::1]/`);
//! * host names at connect time, on the addresses the resolver returned — the connection goes to the checked
//!   addresses only, so a name that resolves to a public address when saved and a private one later (DNS
//!   rebinding) is refused when it matters;
//! * every redirect target, the same way, and at most [`OutboundSettings::max_redirects`] of them.
//!
//! Private ranges can be allowed explicitly ([`OutboundSettings::allow`], `OUTBOUND_ALLOW_CIDRS`): tests allow
//! loopback to reach their local servers. Proxies from the environment are ignored (a proxy would make the check
//! meaningless). Bodies are read with a size cap ([`OutboundClient::read_capped`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Why an outbound request was not made or did not complete.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not http(s), has no host, or cannot be parsed.
    #[error("not an http(s) URL: {0}")]
    InvalidUrl(String),
    /// The host is or resolves to an address the guard refuses.
    #[error("{host} is not allowed: {address} is a {range} address")]
    Refused {
        /// The host as written in the URL.
        host: String,
        /// The refused address.
        address: IpAddr,
        /// What kind of range it is in (loopback, private, link-local, …).
        range: &'static str,
    },
    /// The host name did not resolve.
    #[error("{host} did not resolve: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// More redirects than allowed, or a redirect loop.
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    /// The body was larger than the cap.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// The request took longer than the timeout.
    #[error("timed out")]
    Timeout,
    /// Another transport error (connection refused, TLS, protocol).
    #[error("{0}")]
    Transport(String),
}

impl OutboundError {
    fn from_reqwest(error: reqwest::Error, max_redirects: usize) -> Self {
        if error.is_timeout() {
            return Self::Timeout;
        }
        if error.is_redirect() {
            return Self::TooManyRedirects(max_redirects);
        }
        // Our resolver's and redirect policy's own errors travel inside reqwest's; surface them as themselves.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = source {
            if let Some(refused) = current.downcast_ref::<GuardRefusal>() {
                return refused.0.clone_shallow();
            }
            source = current.source();
        }
        Self::Transport(error_chain(&error))
    }

    fn clone_shallow(&self) -> Self {
        match self {
            Self::Refused { host, address, range } => Self::Refused { host: host.clone(), address: *address, range },
            Self::Resolve { host, reason } => Self::Resolve { host: host.clone(), reason: reason.clone() },
            Self::TooManyRedirects(n) => Self::TooManyRedirects(*n),
            other => Self::Transport(other.to_string()),
        }
    }
}

/// An [`OutboundError`] carried through reqwest's boxed errors.
#[derive(Debug)]
struct GuardRefusal(OutboundError);

impl std::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GuardRefusal {}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// Settings of the outbound client.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// Ranges allowed although the guard would refuse them (`OUTBOUND_ALLOW_CIDRS`); empty in production.
    pub allow: Vec<IpNet>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 3,
            user_agent: concat!("Omnisonic/", env!("CARGO_PKG_VERSION"), " (+feed reader)").to_owned(),
        }
    }
}

/// Parses a comma-separated list of CIDRs or single addresses (`127.0.0.0/8, ::1`).
pub fn parse_allow_list(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not an IP range: {part}"))
        })
        .collect()
}

/// The address check, shared by the resolver, the redirect policy and save-time checks.
#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    allow: Arc<Vec<IpNet>>,
}

impl AddressGuard {
    /// A guard that also allows `allow`.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow: Arc::new(allow) }
    }

    /// `Err(range)` when `address` is refused.
    pub fn check(&self, address: IpAddr) -> Result<(), &'static str> {
        if self.allow.iter().any(|net| net.contains(&address)) {
            return Ok(());
        }
        match refused_range(address) {
            Some(range) => Err(range),
            None => Ok(()),
        }
    }

    /// Checks a URL's scheme and, for an IP-literal host, its address; returns the host.
    pub fn check_url_literal(&self, url: &Url) -> Result<String, OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl(format!("{url} (scheme {})", url.scheme())));
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => return self.literal(url, IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => return self.literal(url, IpAddr::V6(ip)),
            Some(url::Host::Domain(domain)) => domain.to_owned(),
            None => return Err(OutboundError::InvalidUrl(format!("{url} (no host)"))),
        };
        Ok(host)
    }

    fn literal(&self, url: &Url, address: IpAddr) -> Result<String, OutboundError> {
        self.check(address).map_err(|range| OutboundError::Refused {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
            range,
        })?;
        Ok(address.to_string())
    }

    /// The full check done when a URL is saved: scheme, literal address, and every address the name resolves to
    /// now. (Connections are checked again when made.)
    pub async fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        let host = self.check_url_literal(url)?;
        if host.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        self.resolve_checked(&host, url.port_or_known_default().unwrap_or(80)).await.map(|_| ())
    }

    async fn resolve_checked(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| OutboundError::Resolve { host: host.to_owned(), reason: e.to_string() })?
            .collect();
        if addresses.is_empty() {
            return Err(OutboundError::Resolve { host: host.to_owned(), reason: "no addresses".to_owned() });
        }
        // Any refused address refuses the name: connecting to "the allowed ones" would let an attacker's DNS
        // pick which one we use.
        for address in &addresses {
            self.check(address.ip()).map_err(|range| OutboundError::Refused {
                host: host.to_owned(),
                address: address.ip(),
                range,
            })?;
        }
        Ok(addresses)
    }
}

impl Resolve for AddressGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let addresses = guard
                .resolve_checked(name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(GuardRefusal(e)) })?;
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// The kind of range `address` falls in when the guard refuses it.
fn refused_range(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) || (a == 198 && (b == 18 || b == 19)) {
        Some("reserved")
    } else if (a == 192 && b == 0 && c == 2) || (a == 198 && b == 51 && c == 100) || (a == 203 && b == 0 && c == 113) {
        Some("documentation")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that the packet ends up at.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 =
            Ipv4Addr::new((segments[6] >> 8) as u8, segments[6] as u8, (segments[7] >> 8) as u8, segments[7] as u8);
        return refused_v4(v4);
    }
    if segments[0] == 0x2002 {
        let v4 =
            Ipv4Addr::new((segments[1] >> 8) as u8, segments[1] as u8, (segments[2] >> 8) as u8, segments[2] as u8);
        return refused_v4(v4);
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("private")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("documentation")
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) addresses.
        refused_v4(Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        ))
    } else {
        None
    }
}

/// The guarded HTTP client.
#[derive(Debug, Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    guard: AddressGuard,
    max_redirects: usize,
}

impl OutboundClient {
    /// Builds the client; the TLS provider must be installed ([`crate::install_tls_provider`]).
    pub fn new(settings: &OutboundSettings) -> Result<Self, OutboundError> {
        let guard = AddressGuard::new(settings.allow.clone());
        let max_redirects = settings.max_redirects;
        let redirect_guard = guard.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(GuardRefusal(OutboundError::TooManyRedirects(max_redirects)));
            }
            if attempt.previous().iter().any(|seen| seen == attempt.url()) {
                return attempt.error(GuardRefusal(OutboundError::TooManyRedirects(max_redirects)));
            }
            match redirect_guard.check_url_literal(attempt.url()) {
                Ok(_) => attempt.follow(),
                Err(refusal) => attempt.error(GuardRefusal(refusal)),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard.clone()))
            .redirect(policy)
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent.clone())
            .build()
            .map_err(|e| OutboundError::Transport(error_chain(&e)))?;
        Ok(Self { client, guard, max_redirects })
    }

    /// The address guard, for save-time checks.
    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// Sends a GET with extra headers given as (name, value) pairs; a pair that is not a valid header is an
    /// [`OutboundError::InvalidUrl`]-style refusal rather than a silent drop.
    pub async fn get_with(&self, url: &Url, headers: &[(&str, String)]) -> Result<reqwest::Response, OutboundError> {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| OutboundError::Transport(format!("bad header name {name}")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| OutboundError::Transport(format!("bad value for header {name}")))?;
            map.insert(name, value);
        }
        self.get(url, map).await
    }

    /// Sends a GET with extra headers, after checking the URL.
    pub async fn get(
        &self,
        url: &Url,
        headers: reqwest::header::HeaderMap,
    ) -> Result<reqwest::Response, OutboundError> {
        self.guard.check_url_literal(url)?;
        self.client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| OutboundError::from_reqwest(e, self.max_redirects))
    }

    /// Reads a response body, failing as soon as it exceeds `cap` bytes (a declared `Content-Length` over the
    /// cap fails before reading).
    pub async fn read_capped(&self, mut response: reqwest::Response, cap: u64) -> Result<Vec<u8>, OutboundError> {
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(OutboundError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| OutboundError::from_reqwest(e, self.max_redirects))?
        {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(OutboundError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<&'static str> {
        AddressGuard::default().check(text.parse().expect("address")).err()
    }

    #[test]
    fn refuses_internal_ranges_of_both_families() {
        for (address, range) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "unspecified"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::a00:1", "private"),
            ("2002:7f00:1::", "loopback"),
        ] {
            assert_eq!(refused(address), Some(range), "{address}");
        }
        for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert_eq!(refused(address), None, "{address}");
        }
    }

    #[test]
    fn the_allow_list_opens_only_its_ranges() {
        let guard = AddressGuard::new(parse_allow_list("127.0.0.0/8, ::1").expect("list"));
        assert!(guard.check("127.0.0.1".parse().expect("ip")).is_ok());
        assert!(guard.check("::1".parse().expect("ip")).is_ok());
        assert!(guard.check("10.0.0.1".parse().expect("ip")).is_err());
        assert!(parse_allow_list("not-a-range").is_err());
    }

    #[test]
    fn literal_hosts_and_schemes_are_checked_before_any_request() {
        let guard = AddressGuard::default();
        for url in [
            "http://127.0.0.1/feed",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(matches!(guard.check_url_literal(&url), Err(OutboundError::Refused { .. })), "{url}");
        }
        let file = Url::parse("file:///etc/passwd").expect("url");
        assert!(matches!(guard.check_url_literal(&file), Err(OutboundError::InvalidUrl(_))));
        let public = Url::parse("https://example.com/feed.xml").expect("url");
        assert_eq!(guard.check_url_literal(&public).expect("allowed"), "example.com");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let guard = AddressGuard::default();
        let url = Url::parse("http://localhost:9/feed").expect("url");
        let error = guard.check_url(&url).await.expect_err("refused");
        assert!(matches!(error, OutboundError::Refused { range: "loopback", .. }), "{error}");
    }

    #[tokio::test]
    async fn the_client_refuses_at_connect_time() {
        crate::install_tls_provider();
        let client = OutboundClient::new(&OutboundSettings::default()).expect("client");
        let url = Url::parse("http://localhost:9/feed").expect("url");
        let error = client.get(&url, Default::default()).await.expect_err("refused");
        assert!(matches!(error, OutboundError::Refused { .. }), "{error}");
    }
}

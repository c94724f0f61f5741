//! A loopback HTTP server for feed tests: each path answers as told (a feed with an ETag, a status, a redirect,
//! a slow answer, a huge body), and every request is recorded with its headers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a path answers.
#[derive(Clone)]
pub enum Route {
    /// 200 with the body; with an ETag, a matching `If-None-Match` gets 304.
    Feed { body: Vec<u8>, content_type: &'static str, etag: Option<String> },
    /// This status, with these headers and an empty body.
    Status(u16, Vec<(&'static str, String)>),
    /// 302 to another path.
    Redirect(String),
    /// Waits this long before answering 200.
    Slow(Duration),
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// The server.
pub struct FeedServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl FeedServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (routes, hits) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let mut lines = text.split("\r\n");
                    let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or("/").to_owned();
                    let headers: HashMap<String, String> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    hits.lock().expect("hits").push(Hit { path: path.clone(), headers: headers.clone() });
                    let route = routes.lock().expect("routes").get(&path).cloned();
                    let (status, extra, body, content_type): (u16, Vec<(&str, String)>, Vec<u8>, &str) = match route {
                        None => (404, vec![], b"not found".to_vec(), "text/plain"),
                        Some(Route::Feed { body, content_type, etag }) => match etag {
                            Some(tag) if headers.get("if-none-match") == Some(&tag) => {
                                (304, vec![("etag", tag)], vec![], content_type)
                            }
                            Some(tag) => (200, vec![("etag", tag)], body, content_type),
                            None => (200, vec![], body, content_type),
                        },
                        Some(Route::Status(code, extra)) => (code, extra, vec![], "text/plain"),
                        Some(Route::Redirect(to)) => (302, vec![("location", to)], vec![], "text/plain"),
                        Some(Route::Slow(delay)) => {
                            tokio::time::sleep(delay).await;
                            (200, vec![], b"<rss/>".to_vec(), "application/rss+xml")
                        }
                    };
                    let mut response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    for (name, value) in extra {
                        response.push_str(&format!("{name}: {value}\r\n"));
                    }
                    response.push_str("\r\n");
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { addr, routes, hits }
    }

    pub fn route(&self, path: &str, route: Route) {
        self.routes.lock().expect("routes").insert(path.to_owned(), route);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits.lock().expect("hits").iter().filter(|h| h.path == path).cloned().collect()
    }
}

/// A feed file from the shared test data (`OMNISONIC_SHARED_DATA`, or ../shared/data beside the checkout).
pub fn shared_feed(relative: &str) -> Vec<u8> {
    let base = std::env::var("OMNISONIC_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = base.join("feeds").join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A small RSS 2.0 feed of (guid, link, title, description) items.
pub fn rss(items: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Music News</title><link>https://news.example/</link><description>x</description>",
    );
    for (guid, link, title, description) in items {
        out.push_str(&format!(
            "<item><guid>{guid}</guid><link>{link}</link><title>{title}</title><description>{description}</description><pubDate>Thu, 03 Dec 2026 10:00:00 GMT</pubDate></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out.into_bytes()
}

//! Prometheus metrics: request counts and latencies per route, rendered at `/metrics`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Installs the process-wide metrics recorder (once) and returns its handle.
///
/// The `metrics` facade has one global recorder per process by design; tests that start several apps in one
/// process share it, which is why this is idempotent rather than an error on the second call.
pub fn install_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder already installed (only possible in odd embeddings): keep ours for rendering.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The `method` label: one of the methods HTTP defines, or `other`. A client may send any token as a method
/// (`FOO`, a random string per request); labelling each would grow `/metrics` without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware recording `http_requests_total` and `http_request_duration_seconds` by method, route and status.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // The matched route template, not the raw path, so ids in URLs do not explode the label set.
    // (This runs as a route layer, so a route always matched.)
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = method_label(req.method());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method.to_owned()), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn only_known_methods_become_labels() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for odd in ["FOO", "get", "X-RANDOM-1234"] {
            assert_eq!(method_label(&Method::from_bytes(odd.as_bytes()).expect("token")), "other");
        }
    }
}

//! Fan-out load generator for GraphQL subscriptions: N `graphql-transport-ws` subscribers to one work's
//! `workUpdated`, one mutation, and how long until each subscriber has the event.
//!
//! Written in Rust (not only as the Node tool in e2e/graphql/) because on a two-core machine the load generator's
//! own cost per message is part of what is measured: Node spends tens of microseconds per message, which alone
//! adds hundreds of milliseconds at 10,000 subscribers. This client reads a message in a few microseconds on one
//! thread, so the figures are mostly the server's.
//!
//! ```text
//! bench-subscribers --ws ws://127.0.0.1:8080/graphql/ws --http http://127.0.0.1:8080/graphql \
//!   --work-id ID --cookie 'id=…' --csrf TOKEN --origin http://127.0.0.1:8080 [--subscribers 10000] \
//!   [--rate 2000] [--server-pid PID]
//! ```
//!
//! Prints one JSON line: subscribers, connected, received, p50/p90/p99/max latency in ms (from just before the
//! mutation is sent), connect seconds, the mutation's own time, and with `--server-pid` the CPU time the server
//! spent from the mutation until the last subscriber had the event. Exits 1 unless every subscriber got it.

use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Debug, Default)]
struct Options {
    ws: String,
    http: String,
    work_id: String,
    cookie: String,
    csrf: String,
    origin: String,
    subscribers: usize,
    rate: usize,
    server_pid: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut o = Options { subscribers: 10_000, rate: 2_000, ..Options::default() };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ws" => o.ws = value()?,
            "--http" => o.http = value()?,
            "--work-id" => o.work_id = value()?,
            "--cookie" => o.cookie = value()?,
            "--csrf" => o.csrf = value()?,
            "--origin" => o.origin = value()?,
            "--subscribers" => o.subscribers = value()?.parse().map_err(|e| format!("--subscribers: {e}"))?,
            "--rate" => o.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--server-pid" => o.server_pid = Some(value()?.parse().map_err(|e| format!("--server-pid: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.ws.is_empty() || o.http.is_empty() || o.work_id.is_empty() {
        return Err("--ws, --http and --work-id are required".into());
    }
    Ok(o)
}

/// Shared tallies: who is subscribed, who received, and when (nanoseconds after `start`, 0 = not yet).
struct Tally {
    start: Instant,
    subscribed: AtomicUsize,
    failed: AtomicUsize,
    received: AtomicUsize,
    /// Nanoseconds after `start` at which the mutation was sent; 0 until then.
    t0: AtomicU64,
    first_next: Vec<AtomicU64>,
}

async fn subscriber(i: usize, o: Arc<Options>, tally: Arc<Tally>) {
    let fail = || {
        tally.failed.fetch_add(1, Ordering::Relaxed);
    };
    let Ok(mut request) = o.ws.as_str().into_client_request() else { return fail() };
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("static header"));
    for (name, value) in [("cookie", &o.cookie), ("origin", &o.origin)] {
        if !value.is_empty()
            && let Ok(value) = value.parse()
        {
            headers.insert(name, value);
        }
    }
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else { return fail() };
    let init = serde_json::json!({"type": "connection_init", "payload": {"csrfToken": o.csrf}}).to_string();
    if socket.send(Message::Text(init.into())).await.is_err() {
        return fail();
    }
    let subscribe = serde_json::json!({"type": "subscribe", "id": "1", "payload": {
        "query": "subscription($id: ID!) { workUpdated(workId: $id) { id title updatedAt } }",
        "variables": {"id": o.work_id},
    }})
    .to_string();
    let mut acked = false;
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else { continue };
        // Match on the raw text: parsing JSON here would be the client's cost, not the server's.
        if !acked && text.contains("\"connection_ack\"") {
            acked = true;
            if socket.send(Message::Text(subscribe.clone().into())).await.is_err() {
                return fail();
            }
            tally.subscribed.fetch_add(1, Ordering::Relaxed);
        } else if text.contains("\"type\":\"next\"") {
            let now = tally.start.elapsed().as_nanos() as u64;
            if tally.t0.load(Ordering::Relaxed) != 0 && tally.first_next[i].load(Ordering::Relaxed) == 0 {
                tally.first_next[i].store(now, Ordering::Relaxed);
                tally.received.fetch_add(1, Ordering::Relaxed);
            }
        } else if text.contains("\"type\":\"ping\"") {
            let _ = socket.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
        } else if text.contains("\"type\":\"error\"") {
            return fail();
        }
    }
}

/// POSTs the mutation over a plain HTTP/1.1 connection; returns the status and the body.
async fn mutate(o: &Options) -> std::io::Result<(u16, String)> {
    let rest = o.http.strip_prefix("http://").unwrap_or(&o.http);
    let (host, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
    let body = serde_json::json!({
        "query": "mutation($id: ID!, $t: String!) { updateWork(id: $id, input: {title: $t}) { id } }",
        "variables": {"id": o.work_id, "t": "Fan-out, renamed"},
    })
    .to_string();
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cookie: {}\r\nX-CSRF-Token: {}\r\nOrigin: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        o.cookie,
        o.csrf,
        o.origin
    );
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// The server's CPU time so far (user + system), in milliseconds.
fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 1000.0 / 100.0) // USER_HZ is 100 on Linux
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn main() {
    let o = match options() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("bench-subscribers: {e}");
            std::process::exit(2);
        }
    };
    // One thread: the client takes one core, the server the rest.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let ok = runtime.block_on(run(o));
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run(o: Arc<Options>) -> bool {
    let n = o.subscribers;
    let tally = Arc::new(Tally {
        start: Instant::now(),
        subscribed: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        received: AtomicUsize::new(0),
        t0: AtomicU64::new(0),
        first_next: (0..n).map(|_| AtomicU64::new(0)).collect(),
    });
    let connect_start = Instant::now();
    let per_connection = Duration::from_secs_f64(1.0 / o.rate.max(1) as f64);
    for i in 0..n {
        tokio::spawn(subscriber(i, o.clone(), tally.clone()));
        if i % 100 == 99 {
            tokio::time::sleep(per_connection * 100).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.subscribed.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < n
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    // Let the server finish registering the last subscriptions.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let connected = tally.subscribed.load(Ordering::Relaxed);

    let cpu_before = o.server_pid.and_then(cpu_ms);
    let t0 = tally.start.elapsed().as_nanos() as u64;
    tally.t0.store(t0, Ordering::Relaxed);
    let mutation = {
        let o = o.clone();
        let tally = tally.clone();
        tokio::spawn(async move {
            let result = mutate(&o).await;
            (result, (tally.start.elapsed().as_nanos() as u64 - t0) as f64 / 1e6)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tally.received.load(Ordering::Relaxed) < connected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let cpu_after = o.server_pid.and_then(cpu_ms);
    let (result, mutation_ms) = mutation.await.unwrap_or((Err(std::io::Error::other("mutation task failed")), 0.0));
    let (status, body) = result.unwrap_or((0, String::new()));

    let mut latencies: Vec<f64> = tally
        .first_next
        .iter()
        .map(|t| t.load(Ordering::Relaxed))
        .filter(|&t| t != 0)
        .map(|t| (t - t0) as f64 / 1e6)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let received = latencies.len();
    let summary = serde_json::json!({
        "subscribers": n,
        "connected": connected,
        "received": received,
        "p50_ms": percentile(&latencies, 50.0),
        "p90_ms": percentile(&latencies, 90.0),
        "p99_ms": percentile(&latencies, 99.0),
        "max_ms": latencies.last(),
        "connect_seconds": connect_seconds,
        "mutation_ms": mutation_ms,
        "mutation_status": status,
        "server_cpu_ms_during_fanout": cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    });
    println!("{summary}");
    let errors = body.contains("\"errors\"");
    if errors {
        eprintln!("bench-subscribers: the mutation failed: {body}");
    }
    connected == n && received == n && status == 200 && !errors
}

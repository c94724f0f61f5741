//! What everyone else gets while hostile clients hammer GraphQL (issue 14, finding 3: 1,250 aliased searches in
//! one request held the whole database pool, `/readyz` answered 503 and signed-in pages 500).
//!
//! Runs `--loops` clients that send `--query-file` to `/graphql` back to back, and beside them a health prober
//! (`GET /readyz` every 100 ms) and a signed-in reader (`GET --page` with `--cookie` every 250 ms), for
//! `--seconds`. Each request is its own connection (`Connection: close`), as a prober's would be.
//!
//! ```text
//! bench-hostile --addr 127.0.0.1:8080 --query-file hostile.graphql [--loops 2] [--seconds 30] \
//!   [--page /studio --cookie 'omnisonic_session=…']
//! ```
//!
//! Prints one JSON line: the hostile requests (count, statuses, mean seconds), the readiness probes (count, share
//! answered 200) and the page reads (count, non-200 answers, p50/p95/max seconds). Exits 1 when `/readyz` was 200
//! on fewer than 99 % of probes or the page's p95 exceeded one second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Default)]
struct Options {
    addr: String,
    query_file: String,
    loops: usize,
    seconds: u64,
    page: String,
    cookie: String,
}

fn options() -> Result<Options, String> {
    let mut o = Options { loops: 2, seconds: 30, page: "/studio".into(), ..Options::default() };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => o.addr = value()?,
            "--query-file" => o.query_file = value()?,
            "--loops" => o.loops = value()?.parse().map_err(|e| format!("--loops: {e}"))?,
            "--seconds" => o.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--page" => o.page = value()?,
            "--cookie" => o.cookie = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.addr.is_empty() || o.query_file.is_empty() {
        return Err("--addr and --query-file are required".into());
    }
    Ok(o)
}

/// One request on its own connection: the status (0 when the connection failed) and how long it took.
async fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Duration) {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let status = answer.get(9..12).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.parse().ok());
        Ok::<u16, std::io::Error>(status.unwrap_or(0))
    };
    let status = tokio::time::timeout(Duration::from_secs(30), exchange).await.ok().and_then(Result::ok).unwrap_or(0);
    (status, started.elapsed())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(err) => {
            eprintln!("bench-hostile: {err}");
            std::process::exit(2);
        }
    };
    let query = match std::fs::read_to_string(&o.query_file) {
        Ok(query) => query,
        Err(err) => {
            eprintln!("bench-hostile: read {}: {err}", o.query_file);
            std::process::exit(2);
        }
    };
    let body = serde_json::json!({ "query": query }).to_string().into_bytes();
    let deadline = Instant::now() + Duration::from_secs(o.seconds);

    let mut hostile = Vec::new();
    for _ in 0..o.loops {
        let (addr, body) = (o.addr.clone(), body.clone());
        hostile.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while Instant::now() < deadline {
                seen.push(request(&addr, "POST", "/graphql", &[("Content-Type", "application/json")], &body).await);
            }
            seen
        }));
    }
    let readiness = {
        let addr = o.addr.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut every = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < deadline {
                every.tick().await;
                seen.push(request(&addr, "GET", "/readyz", &[], b"").await);
            }
            seen
        })
    };
    let reader = {
        let (addr, page, cookie) = (o.addr.clone(), o.page.clone(), o.cookie.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut every = tokio::time::interval(Duration::from_millis(250));
            while Instant::now() < deadline {
                every.tick().await;
                let headers: Vec<(&str, &str)> =
                    if cookie.is_empty() { Vec::new() } else { vec![("Cookie", cookie.as_str())] };
                seen.push(request(&addr, "GET", &page, &headers, b"").await);
            }
            seen
        })
    };

    let mut attacks: Vec<(u16, Duration)> = Vec::new();
    for task in hostile {
        attacks.extend(task.await.unwrap_or_default());
    }
    let probes = readiness.await.unwrap_or_default();
    let reads = reader.await.unwrap_or_default();

    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, _) in &attacks {
        *statuses.entry(*status).or_default() += 1;
    }
    let attack_mean = attacks.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>() / attacks.len().max(1) as f64;
    let ready_ok = probes.iter().filter(|(status, _)| *status == 200).count();
    let ready_share = ready_ok as f64 / probes.len().max(1) as f64;
    let mut page: Vec<f64> = reads.iter().map(|(_, d)| d.as_secs_f64()).collect();
    page.sort_by(f64::total_cmp);
    let page_errors = reads.iter().filter(|(status, _)| *status != 200).count();
    let p95 = percentile(&page, 95.0);
    let report = serde_json::json!({
        "seconds": o.seconds,
        "hostile": {
            "loops": o.loops,
            "requests": attacks.len(),
            "statuses": statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "mean_seconds": attack_mean,
            "bytes_per_request": body.len(),
        },
        "readyz": { "probes": probes.len(), "ok_share": ready_share },
        "page": {
            "path": o.page,
            "reads": reads.len(),
            "non_200": page_errors,
            "p50_seconds": percentile(&page, 50.0),
            "p95_seconds": p95,
            "max_seconds": page.last().copied().unwrap_or(0.0),
        },
    });
    println!("{report}");
    if ready_share < 0.99 || p95 > 1.0 || page_errors > 0 {
        std::process::exit(1);
    }
}

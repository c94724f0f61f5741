#!/usr/bin/env bash
# Fan-out benchmark for GraphQL subscriptions (issue 6): N graphql-transport-ws subscribers to one work on one
# node, one mutation, and the time until every subscriber has the event (p50/p90/p99/max), plus the server's RSS
# with all N subscribed. Embedded defaults (SQLite, in-process pub/sub) unless DATABASE_URL/REDIS_URL are set.
#
#   scripts/bench-subscriptions.sh [N]          # N defaults to 10000; builds release binaries first
#
# The load generator is crates/testkit's `bench-subscribers` (Rust, one thread): a Node client's own cost per
# message would otherwise dominate the figure at 10,000 subscribers. With BENCH_PIN=1 (the default) the server
# runs on CPU 0 and the load generator on CPU 1 (taskset), so the client's reading of N messages does not steal
# the server's core; the latencies still include that reading time. BENCH_PIN=0 lets both float.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-10000}"
if [ -z "${OMNISONIC_BIN:-}" ]; then
  cargo build --release -q -p omnisonic -p omnisonic-testkit --bin omnisonic --bin bench-subscribers
fi
BIN="${OMNISONIC_BIN:-target/release/omnisonic}"
LOADGEN="${BENCH_SUBSCRIBERS_BIN:-target/release/bench-subscribers}"
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 2; }
[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN not built" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

DIR="$(mktemp -d)"
PORT="${BENCH_PORT:-18431}"
URL="http://127.0.0.1:$PORT"
EMAIL=bench@example.com
PASSWORD='bench password 1234'
JAR="$DIR/cookies"
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

common=(--data-dir "$DIR" --auth-credentials true)
printf '%s\n' "$PASSWORD" | "$BIN" "${common[@]}" user create --email "$EMAIL" --name Bench --password-stdin >/dev/null
"$BIN" "${common[@]}" user grant "$EMAIL" editor >/dev/null
SERVER_CPU=(); CLIENT_CPU=()
if [ "${BENCH_PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1)
fi
RUST_LOG=warn "${SERVER_CPU[@]}" "$BIN" "${common[@]}" --bind "127.0.0.1:$PORT" serve >"$DIR/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

csrf() { curl -fs -b "$JAR" -c "$JAR" "$URL/api/auth/csrf" | sed -E 's/.*"csrfToken":"([^"]+)".*/\1/'; }
TOKEN="$(csrf)"
curl -fs -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "csrf_token=$TOKEN" --data-urlencode "email=$EMAIL" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "callbackUrl=/studio" "$URL/auth/callback/credentials"
TOKEN="$(csrf)"
COOKIE="$(sed 's/^#HttpOnly_//' "$JAR" | awk '!/^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 }')"
WORK="$(curl -fs -b "$JAR" -H "X-CSRF-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"query":"mutation { createWork(input: {title: \"Fan-out\"}) { id } }"}' "$URL/graphql" \
  | sed -E 's/.*"id":"([^"]+)".*/\1/')"

# Sample the server's RSS while the benchmark runs; the peak is the figure with every subscriber connected.
( peak=0; while kill -0 "$SERVER" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" >"$DIR/peak_kib"
    sleep 0.2
  done ) &

"${CLIENT_CPU[@]}" "$LOADGEN" --ws "ws://127.0.0.1:$PORT/graphql/ws" --http "$URL/graphql" --subscribers "$N" \
  --work-id "$WORK" --cookie "$COOKIE" --csrf "$TOKEN" --origin "$URL" --server-pid "$SERVER"
echo "server peak RSS: $(( $(cat "$DIR/peak_kib" 2>/dev/null || echo 0) / 1024 )) MiB with $N subscribers ($BIN)"

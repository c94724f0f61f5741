#!/usr/bin/env bash
# Benchmarks of the release binary. Not part of the test suite: numbers depend on the
# machine, so they are for comparing commits on the same machine, not for pass/fail.
#
# SQLite (the default backend):
#   a. start-up time: spawn `omnisonic serve` until /readyz answers 200, median of N runs,
#      once with a fresh data dir (creates the database and runs every migration) and once
#      with an existing, already migrated one (the common restart case);
#   b. idle memory: VmRSS (and peak VmHWM) 2 s after /readyz;
#   c. throughput: `seed --synthetic 50000`, then wrk POSTing a recordings(first: 50)
#      GraphQL query (scripts/bench/recordings.lua) for 15 s: requests/s and p99 latency.
# PostgreSQL: (c) again against a fresh database omnisonic_bench on 127.0.0.1:5432.
#
# On a 2-core machine wrk and the server share the cores, so throughput is a lower bound.
#
# Environment (all optional):
#   BENCH_RUNS=10             start-up runs per case
#   BENCH_DURATION=15s        wrk duration
#   BENCH_SYNTHETIC=50000     recordings to seed
#   BENCH_PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   where omnisonic_bench is made
#   RUST_LOG=warn             server log level (request logging would otherwise be measured too)
#
# Usage: bash scripts/bench.sh        (results also go to target/bench/summary.txt)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

runs="${BENCH_RUNS:-10}"
duration="${BENCH_DURATION:-15s}"
synthetic="${BENCH_SYNTHETIC:-50000}"
pg_admin_url="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_bench_db="omnisonic_bench"
pg_bench_url="${pg_admin_url%/*}/$pg_bench_db"
export RUST_LOG="${RUST_LOG:-warn}"
# The bench chooses every backend itself; an inherited DATABASE_URL would silently win.
unset DATABASE_URL

bin="$repo/target/release/omnisonic"
out_dir="$repo/target/bench"
lua="$repo/scripts/bench/recordings.lua"
mkdir -p "$out_dir"
work="$(mktemp -d "${TMPDIR:-/tmp}/omnisonic-bench.XXXXXX")"

log() { printf 'bench: %s\n' "$*" >&2; }
# Also stops the server: die may run in a subshell (a pipeline), where the EXIT trap is not set.
die() { printf 'bench: ERROR: %s\n' "$*" >&2; stop_server; exit 1; }

server_pid=""
cleanup() {
    stop_server
    rm -rf "$work"
    if [ "${pg_db_created:-0}" = 1 ]; then
        psql -X -q "$pg_admin_url" -c "drop database if exists $pg_bench_db with (force)" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo "$@"; }; fi

# --- Tools ----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    candidate="$(apt-cache policy wrk 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk
fi
for tool in curl python3 psql; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done

log "cargo build --release -p omnisonic"
cargo build --release -p omnisonic

# --- Helpers --------------------------------------------------------------------------------
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The kernel picks an unused port; there is a small window before the server binds it,
# harmless on a quiet machine.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server DATA_DIR [DATABASE_URL]: spawns `omnisonic serve` in the background and sets
# server_pid and base_url. The pid is omnisonic's own (no wrapper), so /proc/PID is its memory.
start_server() {
    local data_dir="$1" db_url="${2:-}" port
    port="$(free_port)"
    base_url="http://127.0.0.1:$port"
    if [ -n "$db_url" ]; then
        DATABASE_URL="$db_url" OMNISONIC_DATA_DIR="$data_dir" OMNISONIC_BIND="127.0.0.1:$port" \
            "$bin" serve >"$out_dir/server.log" 2>&1 &
    else
        OMNISONIC_DATA_DIR="$data_dir" OMNISONIC_BIND="127.0.0.1:$port" \
            "$bin" serve >"$out_dir/server.log" 2>&1 &
    fi
    server_pid=$!
}

stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

# Polls /readyz every 5 ms until it returns 200 (60 s deadline). Each curl is a process
# spawn of a few ms, so start-up times have a resolution of roughly 5-10 ms.
wait_ready() {
    local deadline=$(($(now_ms) + 60000))
    until curl -fs -o /dev/null --max-time 1 "$base_url/readyz"; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            cat "$out_dir/server.log" >&2
            die "omnisonic serve exited before /readyz answered (log above)"
        fi
        [ "$(now_ms)" -lt "$deadline" ] || die "/readyz did not answer 200 within 60 s (see $out_dir/server.log)"
        sleep 0.005
    done
}

# Milliseconds from spawn to the first 200 from /readyz.
startup_ms() { # data dir
    local t0
    t0="$(now_ms)"
    start_server "$1"
    wait_ready
    echo $(($(now_ms) - t0))
    stop_server
}

# "median (min..max)" of the numbers on stdin.
stats() {
    sort -n | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%g ms (min %g, max %g, n=%d)", m, v[1], v[NR], NR }'
}

# Runs wrk against /graphql of the running server and prints "REQ_PER_S P99_MS NON_2XX".
run_wrk() { # label
    local label="$1" report="$out_dir/wrk-$1.txt" body
    # One request first: a GraphQL error still comes back as 200, so check the body, or
    # wrk would happily measure how fast we return errors.
    body="$(curl -fsS -H 'Content-Type: application/json' --data-binary @<(lua_body) "$base_url/graphql")" ||
        die "$label: POST /graphql failed"
    case "$body" in
        *'"errors"'*) die "$label: the query returned errors: ${body:0:500}" ;;
        *'"edges"'*) ;;
        *) die "$label: unexpected response: ${body:0:500}" ;;
    esac
    # A short warm-up, not reported, so the measured run sees warm caches and pools.
    wrk -t2 -c32 -d3s -s "$lua" "$base_url/graphql" >/dev/null
    wrk -t2 -c32 -d"$duration" --latency -s "$lua" "$base_url/graphql" >"$report"
    awk '
        function ms(v) {   # wrk prints 850.00us, 12.34ms or 1.02s
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /s$/) return v * 1000
            return v
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        END { printf "%s %s %s\n", rps, p99, bad + 0 }' "$report"
}

# The request body, taken from the lua script so the two can never disagree.
lua_body() {
    sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$lua"
}

results=()
row() { results+=("$(printf '%-9s %-40s %s' "$1" "$2" "$3")"); }

# --- SQLite: start-up time -------------------------------------------------------------------
log "sqlite: start-up, fresh data dir x$runs"
for i in $(seq "$runs"); do
    startup_ms "$work/fresh-$i"
done | stats >"$work/fresh.txt"
row sqlite "start-up to /readyz, fresh db" "$(cat "$work/fresh.txt")"

log "sqlite: start-up, existing data dir x$runs"
existing="$work/existing"
startup_ms "$existing" >/dev/null # creates and migrates it; not counted
for i in $(seq "$runs"); do
    startup_ms "$existing"
done | stats >"$work/existing.txt"
row sqlite "start-up to /readyz, existing db" "$(cat "$work/existing.txt")"

# --- SQLite: idle memory -----------------------------------------------------------------------
log "sqlite: idle RSS"
start_server "$existing"
wait_ready
sleep 2
rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")"
hwm_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")"
stop_server
row sqlite "idle RSS 2 s after ready" "$(awk -v r="$rss_kb" -v h="$hwm_kb" 'BEGIN { printf "%.1f MiB (peak %.1f MiB)", r / 1024, h / 1024 }')"

# --- Throughput ------------------------------------------------------------------------------
# throughput LABEL DATA_DIR [DATABASE_URL]: seed, serve, wrk; adds the rows.
throughput() {
    local label="$1" data_dir="$2" db_url="${3:-}" t0 seed_ms result rps p99 bad
    log "$label: seed --synthetic $synthetic"
    mkdir -p "$data_dir"
    t0="$(now_ms)"
    if [ -n "$db_url" ]; then
        DATABASE_URL="$db_url" OMNISONIC_DATA_DIR="$data_dir" "$bin" seed --synthetic "$synthetic" >"$out_dir/seed-$label.log" 2>&1
    else
        OMNISONIC_DATA_DIR="$data_dir" "$bin" seed --synthetic "$synthetic" >"$out_dir/seed-$label.log" 2>&1
    fi || { cat "$out_dir/seed-$label.log" >&2; die "$label: seed failed"; }
    seed_ms=$(($(now_ms) - t0))
    row "$label" "seed --synthetic $synthetic" "$(awk -v m="$seed_ms" 'BEGIN { printf "%.1f s", m / 1000 }')"

    log "$label: wrk -t2 -c32 -d$duration recordings(first: 50)"
    start_server "$data_dir" "$db_url"
    wait_ready
    result="$(run_wrk "$label")"
    read -r rps p99 bad <<<"$result"
    stop_server
    row "$label" "recordings(first: 50) throughput" "$rps req/s"
    row "$label" "recordings(first: 50) p99 latency" "$p99 ms"
    if [ "$bad" != 0 ]; then
        row "$label" "non-2xx responses (!)" "$bad"
    fi
}

throughput sqlite "$work/seeded"

# --- PostgreSQL ------------------------------------------------------------------------------
log "postgres: fresh database $pg_bench_db"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$pg_admin_url" \
    -c "drop database if exists $pg_bench_db with (force)" \
    -c "create database $pg_bench_db" ||
    die "cannot (re)create $pg_bench_db via $pg_admin_url"
pg_db_created=1
throughput postgres "$work/pg-data" "$pg_bench_url"

# --- Summary ---------------------------------------------------------------------------------
{
    echo
    echo "omnisonic benchmark  $(git rev-parse --short HEAD 2>/dev/null || echo '?')  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  RUST_LOG=$RUST_LOG"
    printf '%-9s %-40s %s\n' backend metric value
    printf '%s\n' "${results[@]}"
} | tee "$out_dir/summary.txt"

#!/usr/bin/env bash
# Bulk import benchmark (issue 7): a generated CSV of N rows (default 1,000,000, ~100 MB) uploaded to
# POST /ingest/isrc/bulk with an API token, timed from the first byte of the upload to the job's completion, on
# PostgreSQL and on SQLite; the server's peak RSS (VmHWM) for each; and, on PostgreSQL, `psql \copy` of the same
# rows into an equivalent table (same columns, same indexes) in the same database, the physical limit.
#
#   scripts/bench-import.sh [N]           # builds the release binary first (OMNISONIC_BIN skips that)
#
# Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created
# and dropped), BULK_IMPORT_BATCH_SIZE / BULK_IMPORT_CONCURRENCY (the defaults are the spec's 100 and 10),
# BENCH_BACKENDS (default "postgres sqlite").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-1000000}"
if [ -z "${OMNISONIC_BIN:-}" ]; then
  cargo build --release -q -p omnisonic --bin omnisonic
fi
BIN="$(realpath "${OMNISONIC_BIN:-target/release/omnisonic}")"
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BACKENDS="${BENCH_BACKENDS:-postgres sqlite}"
PORT="${BENCH_PORT:-18432}"
URL="http://127.0.0.1:$PORT"
DIR="$(mktemp -d)"
DB="omnisonic_bench_import_$$"
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null
  wait 2>/dev/null || true
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

CSV="$DIR/recordings.csv"
python3 - "$N" "$CSV" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
genres = ["pop", "rock", "hip hop", "r&b", "electronic", "jazz", "classical", "country", "latin", "k-pop"]
with open(path, "w", buffering=1 << 20) as f:
    f.write("isrc,title,artist,duration,released_at,genre\n")
    for i in range(n):
        isrc = "QZ%s%02d%05d" % ("ABCDEFGHIJ"[i // 10_000_000 % 10] + "BN", i // 100_000 % 100, i % 100_000)
        f.write('%s,"Generated recording number %07d, take %d",Benchmark Artist %05d,%d,%04d-%02d-%02d,%s\n' % (
            isrc, i, i % 7, i % 50_000, 90 + i % 400, 1960 + i % 65, 1 + i % 12, 1 + i % 28, genres[i % 10]))
PY
SIZE=$(stat -c %s "$CSV")
echo "file: $N rows, $SIZE bytes ($((SIZE / 1000000)) MB)"

run_import() {  # $1 = backend label; DATABASE_URL set or not
  local label="$1" data="$DIR/data-$1"
  mkdir -p "$data"
  local common=(--data-dir "$data")
  printf '%s\n' 'bench password 1234' | "$BIN" "${common[@]}" user create --email bench@example.com --password-stdin >/dev/null
  local token
  token="$("$BIN" "${common[@]}" token create --user bench@example.com --name bench 2>/dev/null)"
  RUST_LOG=warn "$BIN" "${common[@]}" --bind "127.0.0.1:$PORT" serve >"$DIR/server-$label.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local start end id status body
  start=$(date +%s.%N)
  body="$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' --data-binary @"$CSV" "$URL/ingest/isrc/bulk")"
  local uploaded; uploaded=$(date +%s.%N)
  id="$(printf '%s' "$body" | sed -E 's/.*"id":"([^"]+)".*/\1/')"
  # The job's progress events end with its completion: waiting on them costs no polling.
  curl -fsS -N -o /dev/null -H "Authorization: Bearer $token" "$URL/ingest/isrc/bulk/$id/events"
  end=$(date +%s.%N)
  body="$(curl -fsS -H "Authorization: Bearer $token" "$URL/ingest/isrc/bulk/$id")"
  status="$(printf '%s' "$body" | sed -E 's/.*"status":"([a-z]+)".*/\1/')"
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
  # The server's own CPU time (user + system), to tell its share from the database's.
  local cpu; cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$SERVER/stat")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
  local accepted; accepted="$(printf '%s' "$body" | sed -E 's/.*"acceptedRecords":([0-9]+).*/\1/')"
  python3 - "$label" "$N" "$start" "$uploaded" "$end" "$hwm" "$status" "$accepted" "$cpu" <<'PY'
import sys
label, n, start, up, end, hwm, status, accepted, cpu = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6]), int(sys.argv[6]), sys.argv[7], int(sys.argv[8]), float(sys.argv[9])
total = end - start
print(f"{label:9} {status}: {accepted} accepted; upload {up - start:.2f} s, upload→completed {total:.2f} s = {n / total:,.0f} rows/s; peak RSS {hwm / 1024:.0f} MiB; server CPU {cpu:.1f} s")
PY
  echo "$end $start" >"$DIR/time-$label"
}

for backend in $BACKENDS; do
  case "$backend" in
    postgres)
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
      export DATABASE_URL="${PG_ADMIN%/*}/$DB${BENCH_PG_URL_SUFFIX:-}"
      run_import postgres
      # The physical limit: the same rows with psql \copy into a table with the same columns and indexes.
      psql -q "$DATABASE_URL" <<'SQL'
CREATE TABLE copy_target (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), isrc varchar(12) NOT NULL UNIQUE, title varchar(500) NOT NULL,
  artist varchar(500) NOT NULL, duration_seconds integer, released_at date, genre varchar(100),
  work_id uuid, title_folded varchar(500) NOT NULL DEFAULT '', artist_folded varchar(500) NOT NULL DEFAULT '',
  genre_folded varchar(100), created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON copy_target (artist_folded); CREATE INDEX ON copy_target (genre_folded); CREATE INDEX ON copy_target (work_id);
SQL
      cstart=$(date +%s.%N)
      psql -q "$DATABASE_URL" -c "\\copy copy_target (isrc, title, artist, duration_seconds, released_at, genre) FROM '$CSV' WITH (FORMAT csv, HEADER true)"
      cend=$(date +%s.%N)
      python3 - "$N" "$cstart" "$cend" $(cat "$DIR/time-postgres") <<'PY'
import sys
n, cs, ce, end, start = int(sys.argv[1]), *map(float, sys.argv[2:6])
copy, ours = ce - cs, end - start
print(f"psql \\copy {copy:.2f} s = {n / copy:,.0f} rows/s; the import takes {ours / copy:.2f}x as long as \\copy")
PY
      unset DATABASE_URL
      ;;
    sqlite)
      run_import sqlite
      ;;
  esac
done

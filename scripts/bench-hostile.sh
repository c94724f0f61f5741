#!/usr/bin/env bash
# Hostile GraphQL loops against a release build (issue 14, finding 3), and what everyone else gets meanwhile:
# `/readyz` must stay 200 on at least 99 % of probes and a signed-in page must answer within 1 s at p95.
#
#   scripts/bench-hostile.sh [SECONDS] [RECORDINGS]    # defaults: 30 s, 100000 synthetic recordings
#
# Embedded defaults (SQLite) unless DATABASE_URL is set (e.g. a fresh PostgreSQL database). Two loads run one
# after the other, each as two concurrent loops (crates/testkit's `bench-hostile`):
#   - "probe": the request the review found, 1,250 aliased `recordings(first:1, search:"zq")` (62 KB);
#   - "heaviest": the most search work one accepted request may ask for (4 aliased searches, at the
#     complexity limit), which each scan the table.
# Each prints a JSON line; the script fails when either load breaks the targets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_RUN="${1:-30}"
RECORDINGS="${2:-100000}"
if [ -z "${OMNISONIC_BIN:-}" ]; then
  cargo build --release -q -p omnisonic -p omnisonic-testkit --bin omnisonic --bin bench-hostile
fi
BIN="${OMNISONIC_BIN:-target/release/omnisonic}"
LOADGEN="${BENCH_HOSTILE_BIN:-target/release/bench-hostile}"
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 2; }
[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN not built" >&2; exit 2; }

DIR="$(mktemp -d)"
PORT="${BENCH_PORT:-18432}"
URL="http://127.0.0.1:$PORT"
EMAIL=reader@example.com
PASSWORD='bench password 1234'
JAR="$DIR/cookies"
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

common=(--data-dir "$DIR" --auth-credentials true)
echo "seeding $RECORDINGS synthetic recordings…" >&2
"$BIN" "${common[@]}" seed --synthetic "$RECORDINGS" >/dev/null
printf '%s\n' "$PASSWORD" | "$BIN" "${common[@]}" user create --email "$EMAIL" --name Reader --password-stdin >/dev/null
RUST_LOG=warn "$BIN" "${common[@]}" --bind "127.0.0.1:$PORT" serve >"$DIR/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

csrf() { curl -fs -b "$JAR" -c "$JAR" "$URL/api/auth/csrf" | sed -E 's/.*"csrfToken":"([^"]+)".*/\1/'; }
TOKEN="$(csrf)"
curl -fs -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "csrf_token=$TOKEN" --data-urlencode "email=$EMAIL" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "callbackUrl=/studio" "$URL/auth/callback/credentials"
COOKIE="$(sed 's/^#HttpOnly_//' "$JAR" | awk '!/^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 }')"

python3 - "$DIR" <<'PY'
import sys
d = sys.argv[1]
alias = lambda n: "{ " + " ".join(f'a{i}:recordings(first:1,search:"zq"){{__typename}}' for i in range(n)) + " }"
open(f"{d}/probe.graphql", "w").write(alias(1250))
open(f"{d}/heaviest.graphql", "w").write(alias(4))
PY

status=0
for load in probe heaviest; do
  echo "== $load: 2 loops for ${SECONDS_RUN}s" >&2
  "$LOADGEN" --addr "127.0.0.1:$PORT" --query-file "$DIR/$load.graphql" --loops 2 --seconds "$SECONDS_RUN" \
    --page /studio --cookie "$COOKIE" || status=1
done
exit "$status"

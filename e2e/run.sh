#!/usr/bin/env bash
# Run the Playwright end-to-end tests against a freshly started `omnisonic serve`.
# Builds nothing: uses ${OMNISONIC_BIN:-target/debug/omnisonic} (relative to the repo root).
# Needs Debian's chromium (/usr/bin/chromium, or set CHROMIUM_PATH). Never downloads a browser.
# Extra arguments are passed to `playwright test` (e.g. a spec file or --grep).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

BIN="${OMNISONIC_BIN:-target/debug/omnisonic}"
case "$BIN" in /*) ;; *) BIN="$REPO_ROOT/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
  echo "e2e: omnisonic binary not found or not executable: $BIN (build it first, or set OMNISONIC_BIN)" >&2
  exit 2
fi

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "e2e: chromium not found at $CHROMIUM (apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)" >&2
  exit 2
fi

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/omnisonic-e2e.XXXXXX")"
SERVER_LOG="$TMP_DIR/server.log"
SERVER_PID=""

cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE_URL="http://127.0.0.1:$PORT"

mkdir -p "$TMP_DIR/data"
echo "e2e: starting $BIN serve on $BASE_URL (data dir $TMP_DIR/data)"
# A test must never pick up a developer's DATABASE_URL: the server uses sqlite in the temp dir.
env -u DATABASE_URL \
  OMNISONIC_DATA_DIR="$TMP_DIR/data" \
  OMNISONIC_BIND="127.0.0.1:$PORT" \
  RUST_LOG="${RUST_LOG:-info}" \
  "$BIN" serve >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$BASE_URL/readyz" 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "e2e: server exited before it was ready; its log:" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "e2e: server not ready at $BASE_URL/readyz within 30 s; its log:" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  sleep 0.2
done
echo "e2e: server ready"

cd "$REPO_ROOT/e2e"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

set +e
OMNISONIC_BASE_URL="$BASE_URL" CHROMIUM_PATH="$CHROMIUM" npx --no-install playwright test "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "e2e: playwright failed (exit $status); server log:" >&2
  cat "$SERVER_LOG" >&2
fi
exit "$status"

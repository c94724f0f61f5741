#!/usr/bin/env bash
# Run the Playwright end-to-end tests against a freshly started `omnisonic serve`, signed in through a
# freshly started loopback OAuth provider that emulates GitHub.
# Builds nothing: uses ${OMNISONIC_BIN:-target/debug/omnisonic} and
# ${OAUTH_PROVIDER_BIN:-target/debug/oauth-provider} (relative to the repo root).
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

PROVIDER_BIN="${OAUTH_PROVIDER_BIN:-target/debug/oauth-provider}"
case "$PROVIDER_BIN" in /*) ;; *) PROVIDER_BIN="$REPO_ROOT/$PROVIDER_BIN" ;; esac
if [ ! -x "$PROVIDER_BIN" ]; then
  echo "e2e: oauth-provider binary not found or not executable: $PROVIDER_BIN (build it first, or set OAUTH_PROVIDER_BIN)" >&2
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
PROVIDER_OUT="$TMP_DIR/oauth-provider.out"
PROVIDER_LOG="$TMP_DIR/oauth-provider.log"
PROVIDER_PID=""
# The app's OAuth client registration at the loopback provider.
OAUTH_CLIENT_ID="e2e-client"
OAUTH_CLIENT_SECRET="e2e-secret"

# Stop a child process we started: SIGTERM, up to 5 s to exit, then SIGKILL; always reaped.
stop_process() {
  local pid="$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -n "$pid" ]; then
    wait "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local status=$?
  stop_process "$SERVER_PID"
  stop_process "$PROVIDER_PID"
  rm -rf "$TMP_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_provider_output() {
  echo "--- oauth-provider stdout:" >&2
  cat "$PROVIDER_OUT" >&2 2>/dev/null || true
  echo "--- oauth-provider stderr:" >&2
  cat "$PROVIDER_LOG" >&2 2>/dev/null || true
}

echo "e2e: starting $PROVIDER_BIN on a free loopback port"
: >"$PROVIDER_OUT"
"$PROVIDER_BIN" --port 0 --client-id "$OAUTH_CLIENT_ID" --client-secret "$OAUTH_CLIENT_SECRET" \
  >"$PROVIDER_OUT" 2>"$PROVIDER_LOG" &
PROVIDER_PID=$!

# It prints exactly one line, `oauth provider listening on http://127.0.0.1:PORT`, once it is listening.
PROVIDER_URL=""
deadline=$((SECONDS + 15))
while :; do
  # Only a complete (newline-terminated) line counts, so a half-written URL is never picked up.
  if [ "$(wc -l <"$PROVIDER_OUT")" -ge 1 ]; then
    line="$(head -n 1 "$PROVIDER_OUT")"
    case "$line" in
      "oauth provider listening on http://"*)
        PROVIDER_URL="${line#oauth provider listening on }"
        PROVIDER_URL="${PROVIDER_URL%/}"
        break
        ;;
      *)
        echo "e2e: unexpected first line from oauth-provider: $line" >&2
        show_provider_output
        exit 1
        ;;
    esac
  fi
  if ! kill -0 "$PROVIDER_PID" 2>/dev/null; then
    echo "e2e: oauth-provider exited before it printed its URL" >&2
    show_provider_output
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "e2e: oauth-provider did not print its URL within 15 s" >&2
    show_provider_output
    exit 1
  fi
  sleep 0.1
done
echo "e2e: oauth provider ready at $PROVIDER_URL"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE_URL="http://127.0.0.1:$PORT"

mkdir -p "$TMP_DIR/data"
echo "e2e: starting $BIN serve on $BASE_URL (data dir $TMP_DIR/data)"
# A test must never pick up a developer's DATABASE_URL (the server uses sqlite in the temp dir), nor their
# sign-in settings: only GitHub is configured, pointed at the loopback provider. Outbound requests may reach
# loopback, where the Insight test serves its feed.
unset_args=(-u DATABASE_URL)
while IFS= read -r name; do
  case "$name" in
    GOOGLE_* | DISCORD_* | GITHUB_* | AUTH_*) unset_args+=(-u "$name") ;;
  esac
done < <(compgen -e)
env "${unset_args[@]}" \
  OMNISONIC_DATA_DIR="$TMP_DIR/data" \
  OMNISONIC_BIND="127.0.0.1:$PORT" \
  GITHUB_CLIENT_ID="$OAUTH_CLIENT_ID" \
  GITHUB_CLIENT_SECRET="$OAUTH_CLIENT_SECRET" \
  GITHUB_BASE_URL="$PROVIDER_URL/github" \
  GITHUB_API_URL="$PROVIDER_URL/github/api" \
  AUTH_URL="$BASE_URL" \
  OUTBOUND_ALLOW_CIDRS="127.0.0.0/8,::1" \
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
OMNISONIC_BASE_URL="$BASE_URL" OMNISONIC_OAUTH_PROVIDER_URL="$PROVIDER_URL" CHROMIUM_PATH="$CHROMIUM" \
  OMNISONIC_E2E_BIN="$BIN" OMNISONIC_E2E_DATA_DIR="$TMP_DIR/data" npx --no-install playwright test "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "e2e: playwright failed (exit $status); server log:" >&2
  cat "$SERVER_LOG" >&2
  show_provider_output
fi
exit "$status"

#!/usr/bin/env bash
# The whole test suite, the same way locally and in CI (.ci/run calls this):
#
#   install deps -> start services -> fmt -> clippy -> cargo test (SQLite + PostgreSQL)
#   -> schema.graphql drift -> fuzz targets (a short run each) -> build the binary -> Playwright end-to-end tests
#
# Each step is announced and the first failure stops the run. The services this script
# starts are stopped again on exit, pass or fail.
#
# Environment:
#   OMNISONIC_REQUIRE_SERVICES=1   a missing PostgreSQL/Redis fails the run instead of
#                                  skipping those tests (CI sets it)
#   OMNISONIC_TEST_DATABASE_URL    PostgreSQL for the Rust tests
#                                  (default postgres://postgres@127.0.0.1:5432/postgres)
#   OMNISONIC_TEST_REDIS_URL       Redis for the queue, pub/sub and two-process export tests
#                                  (default redis://127.0.0.1:6379)
#   OMNISONIC_TEST_MODEL_PATH      the tagger's sentence model (default: scripts/fetch-model.sh's folder)
#
# Usage: bash scripts/test-all.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

total_steps=9
step_no=0
run_start=$SECONDS
step() {
    step_no=$((step_no + 1))
    printf '\n==> [%d/%d] %s   (%ds elapsed)\n' "$step_no" "$total_steps" "$*" "$((SECONDS - run_start))"
}

step "install missing dependencies (chromium, e2e npm packages, the tagger's model)"
bash scripts/install-deps.sh

step "start services (PostgreSQL, Redis, primary + read replica)"
# Stop what we started however the run ends; `|| true` so a failing stop never hides
# the real exit status of the run.
trap 'echo; echo "==> stopping services"; bash scripts/services.sh stop || true' EXIT
bash scripts/services.sh start

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (SQLite, and PostgreSQL at OMNISONIC_TEST_DATABASE_URL)"
# Real third-party test data lives in ../shared/data beside the checkout; a clone made elsewhere
# (CI) finds it through OMNISONIC_SHARED_DATA, which we fill in from the usual places if unset.
if [ -z "${OMNISONIC_SHARED_DATA:-}" ]; then
    for candidate in "$repo/../shared/data" /work/shared/data; do
        if [ -f "$candidate/isrc/tracks_updated.csv" ]; then
            OMNISONIC_SHARED_DATA="$(cd "$candidate" && pwd)"
            export OMNISONIC_SHARED_DATA
            break
        fi
    done
fi
if [ -z "${OMNISONIC_SHARED_DATA:-}" ]; then
    echo "test data not found: set OMNISONIC_SHARED_DATA to the shared/data folder" >&2
    exit 1
fi
echo "test data: $OMNISONIC_SHARED_DATA"
export OMNISONIC_TEST_DATABASE_URL="${OMNISONIC_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export OMNISONIC_TEST_REDIS_URL="${OMNISONIC_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export OMNISONIC_TEST_SMTP_URL="${OMNISONIC_TEST_SMTP_URL:-smtp://127.0.0.1:${OMNISONIC_SMTP_PORT:-2525}}"
export OMNISONIC_TEST_SMTP_MAILDIR="${OMNISONIC_TEST_SMTP_MAILDIR:-$(bash scripts/services.sh mail-dir)}"
while IFS= read -r line; do export "${line?}"; done < <(bash scripts/services.sh s3-env)
# The tagger's sentence model (fetched once by install-deps.sh, outside the repository).
export OMNISONIC_TEST_MODEL_PATH="${OMNISONIC_TEST_MODEL_PATH:-$(bash scripts/fetch-model.sh)}"
cargo test --workspace

step "schema.graphql is up to date"
# schema.graphql is committed so API changes show up in review; it must match the code.
if ! cargo run -q -p omnisonic -- schema | diff -u schema.graphql -; then
    echo "schema.graphql is stale: run cargo run -p omnisonic -- schema > schema.graphql" >&2
    exit 1
fi

step "fuzz targets: the GraphQL request path, bulk import files, DDEX messages, feeds, the tagger (0 crashes)"
# Installs cargo-fuzz when missing; FUZZ_SECONDS per target (GraphQL twice as long).
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" bash scripts/fuzz.sh

step "build the omnisonic binary and the loopback OAuth provider for the end-to-end tests"
cargo build -p omnisonic -p omnisonic-testkit --bins

step "end-to-end tests (Playwright + Debian chromium against target/debug/omnisonic)"
if [ ! -f e2e/run.sh ]; then
    echo "e2e/run.sh is missing" >&2
    exit 1
fi
bash e2e/run.sh

printf '\n==> all %d steps passed in %ds\n' "$total_steps" "$((SECONDS - run_start))"

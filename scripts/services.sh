#!/usr/bin/env bash
# Starts, stops and reports the services the test suite talks to.
#
# Two kinds of service:
#   - PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are started by the machine
#     itself before every session and CI run; we only check that they answer.
#   - A PostgreSQL primary (127.0.0.1:5433) with a streaming read replica (127.0.0.1:5434),
#     for the read/write-split tests (spec 4.4). Nothing starts these for us, so this script
#     creates them (initdb + pg_basebackup) under $OMNISONIC_SERVICES_DIR and starts them.
#   - An SMTP server (aiosmtpd, Debian's python3-aiosmtpd) on 127.0.0.1:2525 that delivers
#     every message into a Maildir ($OMNISONIC_SERVICES_DIR/mail), for the mail tests.
#     `services.sh mail-dir` prints that Maildir's path.
#   - An S3 server (s3s-fs, `cargo install`ed by install-deps.sh) on 127.0.0.1:9002 storing under
#     $OMNISONIC_SERVICES_DIR/s3 (a folder is a bucket). `services.sh s3-env` prints its settings.
#
# Every command is idempotent: existing data directories are reused, running servers are left
# running, stopped ones are not stopped again.
#
# With OMNISONIC_REQUIRE_SERVICES=1 (set by .ci/run) anything missing is an error (exit 1),
# so CI cannot pass by silently skipping database tests; otherwise it is only a warning.
#
# Usage: bash scripts/services.sh start|stop|status|mail-dir|s3-env
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
require="${OMNISONIC_REQUIRE_SERVICES:-0}"

primary_port="${OMNISONIC_PG_PRIMARY_PORT:-5433}"
replica_port="${OMNISONIC_PG_REPLICA_PORT:-5434}"
primary_url="postgres://postgres@127.0.0.1:${primary_port}/postgres"
replica_url="postgres://postgres@127.0.0.1:${replica_port}/postgres"

log() { printf 'services: %s\n' "$*"; }
warn() { printf 'services: WARNING: %s\n' "$*" >&2; }
err() { printf 'services: ERROR: %s\n' "$*" >&2; }

# A missing service is fatal only when the caller asked for it (CI).
missing() {
    if [ "$require" = "1" ]; then
        err "$* (OMNISONIC_REQUIRE_SERVICES=1)"
        exit 1
    fi
    warn "$* -- the tests that need it will be skipped"
}

# --- PostgreSQL binaries and the user that runs them ---------------------------------------
# Debian installs server binaries per major version, outside PATH; take the newest.
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && pg_bin="$d"
done
if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1; then
    pg_bin="$(dirname "$(command -v initdb)")"
fi

# initdb and postgres refuse to run as root. As root (sessions, CI) we run them as the
# `postgres` user; as anyone else, as ourselves.
if [ "$(id -u)" -eq 0 ]; then
    pg_user="postgres"
    as_pg() { runuser -u postgres -- "$@"; }
else
    pg_user="$(id -un)"
    as_pg() { "$@"; }
fi

# --- Where the primary and replica keep their data -----------------------------------------
services_dir="${OMNISONIC_SERVICES_DIR:-$repo/target/services}"

# The postgres user must be able to reach the directory. If some parent of the work tree is
# closed to it (a clone under a private home, say), fall back to a per-repo directory in /tmp
# so the suite still runs; the name is derived from the repo path so stop/status find it too.
pg_can_use_dir() {
    mkdir -p "$services_dir"
    if [ "$(id -u)" -eq 0 ]; then chown "$pg_user:" "$services_dir"; fi
    as_pg test -w "$services_dir" -a -x "$services_dir"
}
if ! pg_can_use_dir 2>/dev/null; then
    fallback="${TMPDIR:-/tmp}/omnisonic-services-$(printf '%s' "$repo" | cksum | cut -d' ' -f1)"
    warn "$pg_user cannot write $services_dir; using $fallback"
    services_dir="$fallback"
    pg_can_use_dir
fi
primary_dir="$services_dir/pg-primary"
replica_dir="$services_dir/pg-replica"
# Sockets live beside the data, so we need no write access to /var/run/postgresql.
socket_dir="$services_dir/sock"

s3_port="${OMNISONIC_S3_PORT:-9002}"
s3_dir="$services_dir/s3"
s3_pidfile="$services_dir/s3s.pid"
# The test server's fixed credentials (loopback only).
s3_access_key="omnisonic"
s3_secret_key="omnisonic-test-secret"

smtp_port="${OMNISONIC_SMTP_PORT:-2525}"
mail_dir="$services_dir/mail"
smtp_pidfile="$services_dir/smtp.pid"
# Debian's python3 carries python3-aiosmtpd; a pyenv or venv python3 earlier on PATH does not.
smtp_python="/usr/bin/python3"

# --- Probes ---------------------------------------------------------------------------------
pg_ready() { # port
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1" -t 2
}

redis_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
    else
        # No client installed: speak the protocol over bash's /dev/tcp.
        local reply
        exec 3<>/dev/tcp/127.0.0.1/6379 || return 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 reply <&3 || reply=""
        exec 3<&- 3>&-
        [ "${reply%$'\r'}" = "+PONG" ]
    fi
}

pg_running() { # data dir
    [ -f "$1/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$1" status >/dev/null 2>&1
}

psql_at() { # port sql
    "$pg_bin/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

check_base_services() {
    if pg_ready 5432 2>/dev/null; then
        log "PostgreSQL 127.0.0.1:5432 ok"
    else
        missing "PostgreSQL is not answering on 127.0.0.1:5432 (start: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)"
    fi
    if redis_ready 2>/dev/null; then
        log "Redis 127.0.0.1:6379 ok"
    else
        missing "Redis is not answering on 127.0.0.1:6379 (start: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no)"
    fi
}

# --- Primary + replica ----------------------------------------------------------------------
# Runs in its own bash process (see `_start-pg` below) so that `set -e` really aborts it on the
# first failed step; the caller then decides whether that failure is fatal.
start_pg_pair() {
    [ -n "$pg_bin" ] || { err "no PostgreSQL server binaries (initdb) found"; return 1; }
    mkdir -p "$socket_dir"
    if [ "$(id -u)" -eq 0 ]; then chown "$pg_user:" "$socket_dir"; fi

    local fresh_primary=0
    if [ ! -f "$primary_dir/PG_VERSION" ]; then
        log "initdb primary in $primary_dir"
        rm -rf "$primary_dir"
        # Trust auth and C locale: a throwaway loopback test cluster, independent of the
        # machine's locales. The superuser is `postgres` whoever runs it, to match the URLs.
        as_pg "$pg_bin/initdb" -D "$primary_dir" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C >"$services_dir/initdb.log"
        # Appended lines win over the defaults above them. The replica inherits this file
        # through pg_basebackup and appends its own port after it.
        as_pg tee -a "$primary_dir/postgresql.conf" >/dev/null <<CONF

# --- omnisonic test primary (scripts/services.sh) ---
listen_addresses = '127.0.0.1'
port = ${primary_port}
unix_socket_directories = '${socket_dir}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
# A test cluster: losing it in a crash costs nothing, waiting for the disk costs time.
fsync = off
synchronous_commit = off
CONF
        as_pg tee -a "$primary_dir/pg_hba.conf" >/dev/null <<HBA

# omnisonic: the replica streams WAL over loopback
host    replication     all     127.0.0.1/32    trust
HBA
        fresh_primary=1
    fi

    if pg_running "$primary_dir"; then
        log "primary already running"
    else
        # Something else on the port would make pg_ctl fail with a confusing log; say so.
        if pg_ready "$primary_port" 2>/dev/null; then
            err "127.0.0.1:$primary_port is taken by another server"
            return 1
        fi
        log "starting primary on 127.0.0.1:$primary_port"
        as_pg "$pg_bin/pg_ctl" -D "$primary_dir" -l "$services_dir/primary.log" -w -t 60 start >/dev/null ||
            { err "primary failed to start; last log lines:"; tail -n 20 "$services_dir/primary.log" >&2; return 1; }
    fi

    # A replica cloned from an earlier primary cannot follow a new one (different system id).
    if [ "$fresh_primary" = 1 ] && [ -e "$replica_dir" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$replica_dir" stop -m immediate >/dev/null 2>&1 || true
        rm -rf "$replica_dir"
    fi

    if [ ! -f "$replica_dir/standby.signal" ]; then
        log "pg_basebackup replica into $replica_dir"
        # Clone into a temporary directory and rename, so an interrupted clone is never
        # mistaken for a usable replica on the next run. -R writes standby.signal and
        # primary_conninfo; -X stream copies the WAL needed to reach consistency.
        rm -rf "$replica_dir" "$replica_dir.tmp"
        as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
            -D "$replica_dir.tmp" -R -X stream -c fast
        printf '\n# omnisonic test replica\nport = %s\n' "$replica_port" |
            as_pg tee -a "$replica_dir.tmp/postgresql.conf" >/dev/null
        mv "$replica_dir.tmp" "$replica_dir"
    fi

    if pg_running "$replica_dir"; then
        log "replica already running"
    else
        if pg_ready "$replica_port" 2>/dev/null; then
            err "127.0.0.1:$replica_port is taken by another server"
            return 1
        fi
        log "starting replica on 127.0.0.1:$replica_port"
        as_pg "$pg_bin/pg_ctl" -D "$replica_dir" -l "$services_dir/replica.log" -w -t 60 start >/dev/null ||
            { err "replica failed to start; last log lines:"; tail -n 20 "$services_dir/replica.log" >&2; return 1; }
    fi

    verify_replica
}

# The replica must be a standby (read-only) and actually streaming from the primary; a
# standby that only replayed its base backup would pass the first check but go stale.
verify_replica() {
    local in_recovery status="" deadline=$((SECONDS + 30))
    in_recovery="$(psql_at "$replica_port" 'select pg_is_in_recovery()')"
    if [ "$in_recovery" != "t" ]; then
        err "127.0.0.1:$replica_port is not in recovery (pg_is_in_recovery = '$in_recovery')"
        return 1
    fi
    while [ "$SECONDS" -lt "$deadline" ]; do
        status="$(psql_at "$replica_port" 'select status from pg_stat_wal_receiver' 2>/dev/null || true)"
        [ "$status" = "streaming" ] && break
        sleep 0.2
    done
    if [ "$status" != "streaming" ]; then
        err "replica is not streaming from the primary (wal receiver status: '${status:-none}')"
        return 1
    fi
    log "replica ok: in recovery, streaming from the primary"
}

print_urls() {
    log "primary: $primary_url"
    log "replica: $replica_url"
    log "  e.g. DATABASE_URL=$primary_url DATABASE_READ_URL=$replica_url"
}

smtp_ready() {
    local banner
    exec 3<>"/dev/tcp/127.0.0.1/$smtp_port" || return 1
    IFS= read -r -t 2 banner <&3 || banner=""
    exec 3<&- 3>&-
    [ "${banner:0:3}" = "220" ]
}

start_smtp() {
    if smtp_ready 2>/dev/null; then
        log "SMTP 127.0.0.1:$smtp_port already running (Maildir $mail_dir)"
        return 0
    fi
    if ! "$smtp_python" -c 'import aiosmtpd' 2>/dev/null; then
        missing "aiosmtpd is not installed for $smtp_python (bash scripts/install-deps.sh)"
        return 0
    fi
    # aiosmtpd's Mailbox handler expects an existing Maildir.
    mkdir -p "$mail_dir/tmp" "$mail_dir/new" "$mail_dir/cur"
    log "starting SMTP (aiosmtpd) on 127.0.0.1:$smtp_port, delivering to $mail_dir"
    nohup "$smtp_python" -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$mail_dir" \
        >"$services_dir/smtp.log" 2>&1 &
    echo $! >"$smtp_pidfile"
    local deadline=$((SECONDS + 15))
    until smtp_ready 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$(cat "$smtp_pidfile")" 2>/dev/null; then
            err "SMTP did not start; its log:"
            cat "$services_dir/smtp.log" >&2
            missing "the SMTP server did not start"
            return 0
        fi
        sleep 0.2
    done
    log "SMTP ok"
}

s3_ready() {
    (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null
}

start_s3() {
    if s3_ready; then
        log "S3 (s3s-fs) 127.0.0.1:$s3_port already running ($s3_dir)"
        return 0
    fi
    local bin
    bin="$(command -v s3s-fs || true)"
    [ -n "$bin" ] || bin="$HOME/.cargo/bin/s3s-fs"
    if [ ! -x "$bin" ]; then
        missing "s3s-fs is not installed (bash scripts/install-deps.sh)"
        return 0
    fi
    mkdir -p "$s3_dir"
    log "starting S3 (s3s-fs) on 127.0.0.1:$s3_port, storing under $s3_dir"
    nohup "$bin" --host 127.0.0.1 --port "$s3_port" --access-key "$s3_access_key" --secret-key "$s3_secret_key" \
        "$s3_dir" >"$services_dir/s3s.log" 2>&1 &
    echo $! >"$s3_pidfile"
    local deadline=$((SECONDS + 15))
    until s3_ready; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$(cat "$s3_pidfile")" 2>/dev/null; then
            err "s3s-fs did not start; its log:"
            cat "$services_dir/s3s.log" >&2
            missing "the S3 server did not start"
            return 0
        fi
        sleep 0.2
    done
    log "S3 ok"
}

stop_s3() {
    if [ -f "$s3_pidfile" ] && kill -0 "$(cat "$s3_pidfile")" 2>/dev/null; then
        log "stopping S3"
        kill "$(cat "$s3_pidfile")" 2>/dev/null || true
    else
        log "S3 not running"
    fi
    rm -f "$s3_pidfile"
}

stop_smtp() {
    if [ -f "$smtp_pidfile" ] && kill -0 "$(cat "$smtp_pidfile")" 2>/dev/null; then
        log "stopping SMTP"
        kill "$(cat "$smtp_pidfile")" 2>/dev/null || true
    else
        log "SMTP not running"
    fi
    rm -f "$smtp_pidfile"
}

stop_pg() { # name data dir
    if pg_running "$2"; then
        log "stopping $1"
        as_pg "$pg_bin/pg_ctl" -D "$2" -w -t 60 stop -m fast >/dev/null
    else
        log "$1 not running"
    fi
}

cmd="${1:-}"
case "$cmd" in
start)
    check_base_services
    # A separate process, so its `set -e` aborts at the first failing step (inside an `if`,
    # bash would ignore errexit in the function and carry on past errors).
    if "$BASH" "${BASH_SOURCE[0]}" _start-pg; then
        print_urls
    else
        missing "the PostgreSQL primary/replica pair did not start (logs in $services_dir)"
    fi
    start_smtp
    start_s3
    ;;
mail-dir)
    echo "$mail_dir"
    ;;
s3-env)
    # For the test suite: where the S3 test server is and how to reach it.
    echo "OMNISONIC_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port"
    echo "OMNISONIC_TEST_S3_ROOT=$s3_dir"
    echo "OMNISONIC_TEST_S3_ACCESS_KEY=$s3_access_key"
    echo "OMNISONIC_TEST_S3_SECRET_KEY=$s3_secret_key"
    ;;
_start-pg) # internal: see `start`
    start_pg_pair
    ;;
stop)
    stop_smtp
    stop_s3
    # The replica first, so it does not log a lost primary on its way down.
    [ -n "$pg_bin" ] || exit 0
    stop_pg replica "$replica_dir"
    stop_pg primary "$primary_dir"
    ;;
status)
    ok=1
    if pg_ready 5432 2>/dev/null; then
        log "PostgreSQL 127.0.0.1:5432 up"
    else
        log "PostgreSQL 127.0.0.1:5432 DOWN"; ok=0
    fi
    if redis_ready 2>/dev/null; then
        log "Redis 127.0.0.1:6379 up"
    else
        log "Redis 127.0.0.1:6379 DOWN"; ok=0
    fi
    if [ -n "$pg_bin" ] && pg_running "$primary_dir"; then
        log "primary up: $primary_url"
    else
        log "primary DOWN ($primary_dir)"; ok=0
    fi
    if [ -n "$pg_bin" ] && pg_running "$replica_dir"; then
        log "replica up: $replica_url (in recovery: $(psql_at "$replica_port" 'select pg_is_in_recovery()' 2>/dev/null || echo '?'))"
    else
        log "replica DOWN ($replica_dir)"; ok=0
    fi
    if s3_ready; then
        log "S3 127.0.0.1:$s3_port up ($s3_dir)"
    else
        log "S3 127.0.0.1:$s3_port DOWN"; ok=0
    fi
    if smtp_ready 2>/dev/null; then
        log "SMTP 127.0.0.1:$smtp_port up (Maildir $mail_dir)"
    else
        log "SMTP 127.0.0.1:$smtp_port DOWN"; ok=0
    fi
    # Exit status tells scripts whether everything is up.
    [ "$ok" = 1 ]
    ;;
*)
    echo "usage: $0 start|stop|status|mail-dir|s3-env" >&2
    exit 2
    ;;
esac

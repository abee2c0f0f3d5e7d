# shellcheck shell=bash
# PostgreSQL (Debian's, /usr/lib/postgresql/<major>/bin) for scripts/stack.sh. Sourced.
#
# The cluster lives in STACK_DIR/postgres/data, its unix socket in STACK_DIR/postgres/run.
# initdb refuses to run as root, so under root the server runs as the 'postgres' system user
# (TRADESTREAM_POSTGRES_OS_USER), which then owns STACK_DIR/postgres. TCP connections need a
# password (scram-sha-256); the socket is trusted (it is only reachable by that user and root).

POSTGRES_PORT=${TRADESTREAM_POSTGRES_PORT:-5432}
POSTGRES_DIR=$STACK_DIR/postgres
POSTGRES_DATA=$POSTGRES_DIR/data
POSTGRES_RUN=$POSTGRES_DIR/run
POSTGRES_LOG=$POSTGRES_DIR/log/postgres.log
POSTGRES_DB=tradestream
POSTGRES_ROLE=tradestream
POSTGRES_PASSWORD=tradestream

postgres_os_user() {
    if [[ $EUID -eq 0 ]]; then
        echo "${TRADESTREAM_POSTGRES_OS_USER:-postgres}"
    else
        id -un
    fi
}

# Directory of the newest installed PostgreSQL server binaries (installs postgresql if none).
postgres_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z $dir || ! -x $dir/initdb ]]; then
        apt_install postgresql
        dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    fi
    [[ -n $dir && -x $dir/initdb ]] || die "postgres: no PostgreSQL server binaries in /usr/lib/postgresql"
    echo "$dir"
}

postgres_pid() {
    local pid
    pid=$(read_pidfile "$POSTGRES_DATA/postmaster.pid")
    pid_is_ours "$pid" && echo "$pid"
    return 0
}

# A real query as the application role over TCP with its password.
postgres_answers() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 2 &&
        [[ $(PGPASSWORD=$POSTGRES_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -At \
            -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_ROLE" -d "$POSTGRES_DB" \
            -c 'SELECT 1' 2>/dev/null) == 1 ]]
}

# Create the data directory (once) and (re)write our settings and pg_hba.conf.
postgres_prepare() {
    local user=$1 sock_len
    mkdir -p "$POSTGRES_DIR/log" "$POSTGRES_RUN"
    if [[ $EUID -eq 0 ]]; then
        id "$user" >/dev/null 2>&1 || die "postgres: system user '$user' does not exist" \
            "(set TRADESTREAM_POSTGRES_OS_USER to an unprivileged user)"
        chown -R "$user:" "$POSTGRES_DIR"
        run_as "$user" test -w "$POSTGRES_DIR" || die "postgres: user '$user' cannot reach" \
            "$POSTGRES_DIR (a parent directory is not traversable); use a TRADESTREAM_STACK_DIR" \
            "that '$user' can reach."
    fi
    chmod 700 "$POSTGRES_RUN"
    sock_len=$((${#POSTGRES_RUN} + 20))
    ((sock_len <= 107)) || die "postgres: socket path $POSTGRES_RUN is too long for a unix" \
        "socket; use a shorter TRADESTREAM_STACK_DIR."
    if [[ ! -f $POSTGRES_DATA/PG_VERSION ]]; then
        log "postgres: initdb $POSTGRES_DATA (as $user)"
        rm -rf "$POSTGRES_DATA"
        run_as "$user" "$PG_BIN/initdb" -D "$POSTGRES_DATA" -U postgres -E UTF8 --no-locale \
            --auth-local=trust --auth-host=scram-sha-256 >"$POSTGRES_DIR/log/initdb.log" 2>&1 || {
            show_log_tail "$POSTGRES_DIR/log/initdb.log"
            die "postgres: initdb failed; see $POSTGRES_DIR/log/initdb.log"
        }
        echo "include_if_exists = 'tradestream.conf'" >>"$POSTGRES_DATA/postgresql.conf"
    fi
    local have want
    have=$(<"$POSTGRES_DATA/PG_VERSION")
    want=$(basename "$(dirname "$PG_BIN")")
    [[ $have == "$want" ]] || die "postgres: $POSTGRES_DATA was created by PostgreSQL $have but" \
        "the binaries are $want; install postgresql-$have or move that directory away."
    run_as "$user" tee "$POSTGRES_DATA/tradestream.conf" >/dev/null <<EOF
# Written by scripts/stack.sh on every 'up'; edits are lost.
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$POSTGRES_RUN'
password_encryption = 'scram-sha-256'
max_connections = 200
shared_buffers = 128MB
EOF
    run_as "$user" tee "$POSTGRES_DATA/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/stack.sh on every 'up'; edits are lost.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
EOF
}

# Create the application role and database if missing (idempotent).
postgres_bootstrap() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_RUN" -p "$POSTGRES_PORT" -U postgres \
        -d postgres >>"$POSTGRES_DIR/log/bootstrap.log" 2>&1 <<EOF || {
SELECT 'CREATE ROLE $POSTGRES_ROLE LOGIN' WHERE NOT EXISTS
    (SELECT FROM pg_roles WHERE rolname = '$POSTGRES_ROLE') \gexec
ALTER ROLE $POSTGRES_ROLE WITH LOGIN PASSWORD '$POSTGRES_PASSWORD';
SELECT 'CREATE DATABASE $POSTGRES_DB OWNER $POSTGRES_ROLE' WHERE NOT EXISTS
    (SELECT FROM pg_database WHERE datname = '$POSTGRES_DB') \gexec
EOF
        show_log_tail "$POSTGRES_DIR/log/bootstrap.log"
        die "postgres: creating role/database $POSTGRES_ROLE failed; see $POSTGRES_DIR/log/bootstrap.log"
    }
}

postgres_up() {
    local t0 pid user
    t0=$(now_ms)
    PG_BIN=$(postgres_bindir) || exit 1
    if pid=$(postgres_pid) && [[ -n $pid ]]; then
        wait_ready postgres "$pid" "$POSTGRES_LOG" postgres_answers
        log "postgres: already running (pid $pid) on 127.0.0.1:$POSTGRES_PORT"
        return 0
    fi
    user=$(postgres_os_user)
    require_port_free postgres "$POSTGRES_PORT" TRADESTREAM_POSTGRES_PORT
    postgres_prepare "$user"
    # A postmaster.pid left by a crash (its PID now unused or recycled) would block the start.
    if [[ -f $POSTGRES_DATA/postmaster.pid ]]; then
        warn "postgres: removing stale $POSTGRES_DATA/postmaster.pid (unclean shutdown?)"
        rm -f "$POSTGRES_DATA/postmaster.pid"
    fi
    log "postgres: starting $("$PG_BIN/postgres" --version | grep -o '[0-9][0-9.]*' | head -n 1)"
    # pg_ctl detaches the postmaster (own session) and waits until it accepts connections.
    if ! run_as "$user" "$PG_BIN/pg_ctl" -D "$POSTGRES_DATA" -l "$POSTGRES_LOG" -w \
        -t "$STACK_TIMEOUT" -s start </dev/null >>"$POSTGRES_DIR/log/pg_ctl.log" 2>&1 8>&- 9>&-; then
        show_log_tail "$POSTGRES_LOG"
        die "postgres: the server did not start; see $POSTGRES_LOG"
    fi
    pid=$(read_pidfile "$POSTGRES_DATA/postmaster.pid")
    postgres_bootstrap
    wait_ready postgres "$pid" "$POSTGRES_LOG" postgres_answers
    log "postgres: up on 127.0.0.1:$POSTGRES_PORT (pid $pid, $(elapsed_since "$t0"))"
}

postgres_down() {
    local pid
    pid=$(postgres_pid)
    if [[ -z $pid ]]; then
        log "postgres: not running"
        return 0
    fi
    PG_BIN=$(postgres_bindir) || exit 1
    log "postgres: stopping (pid $pid, fast shutdown)"
    if ! run_as "$(postgres_os_user)" "$PG_BIN/pg_ctl" -D "$POSTGRES_DATA" -m fast -w -t 60 -s \
        stop </dev/null >>"$POSTGRES_DIR/log/pg_ctl.log" 2>&1; then
        warn "postgres: pg_ctl stop failed; sending SIGTERM (see $POSTGRES_LOG)"
        stop_pid postgres "$pid" 60
    fi
    log "postgres: stopped"
}

postgres_status() {
    service_status_line postgres "$(postgres_pid)" "127.0.0.1:$POSTGRES_PORT" "$POSTGRES_PORT"
}

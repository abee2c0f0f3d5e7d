# shellcheck shell=bash
# Redis (Debian's redis-server) for scripts/stack.sh. Sourced.
#
# Project-local redis.conf: bound to 127.0.0.1, data (RDB + AOF, appendonly yes) in
# STACK_DIR/redis/data, daemonized with a PID file in STACK_DIR/redis.

REDIS_PORT=${TRADESTREAM_REDIS_PORT:-6379}
REDIS_STOP_TIMEOUT=${TRADESTREAM_REDIS_STOP_TIMEOUT:-60}
REDIS_DIR=$STACK_DIR/redis
REDIS_PIDFILE=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/log/redis.log

redis_write_config() {
    mkdir -p "$REDIS_DIR/data" "$REDIS_DIR/log"
    cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by scripts/stack.sh on every 'up'; edits are lost.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile $REDIS_PIDFILE
logfile $REDIS_LOG
loglevel notice
dir $REDIS_DIR/data
dbfilename dump.rdb
save 3600 1 300 100 60 10000
appendonly yes
appendfsync everysec
EOF
}

redis_pid() {
    local pid
    pid=$(read_pidfile "$REDIS_PIDFILE")
    pid_is_ours "$pid" && echo "$pid"
    return 0
}

redis_answers() {
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_up() {
    local t0 pid bin
    t0=$(now_ms)
    if pid=$(redis_pid) && [[ -n $pid ]]; then
        wait_ready redis "$pid" "$REDIS_LOG" redis_answers
        log "redis: already running (pid $pid) on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    bin=$(ensure_bin redis-server redis-server) || exit 1
    find_bin redis-cli >/dev/null || apt_install redis-tools
    require_port_free redis "$REDIS_PORT" TRADESTREAM_REDIS_PORT
    redis_write_config
    rm -f "$REDIS_PIDFILE"
    log "redis: starting $("$bin" --version | grep -o 'v=[0-9.]*' | cut -c3-)"
    # Daemonizes: the parent returns once the child has forked; the child writes the PID file.
    "$bin" "$REDIS_DIR/redis.conf" </dev/null >"$REDIS_DIR/log/stdout.log" 2>&1 8>&- 9>&- || {
        show_log_tail "$REDIS_LOG"
        die "redis: redis-server failed to start; see $REDIS_LOG"
    }
    for _ in {1..50}; do
        pid=$(read_pidfile "$REDIS_PIDFILE")
        [[ -n $pid ]] && break
        sleep 0.1
    done
    [[ -n $pid ]] || {
        show_log_tail "$REDIS_LOG"
        die "redis: no PID file $REDIS_PIDFILE after 5s; see $REDIS_LOG"
    }
    wait_ready redis "$pid" "$REDIS_LOG|$REDIS_DIR/log/stdout.log" redis_answers
    log "redis: up on 127.0.0.1:$REDIS_PORT (pid $pid, $(elapsed_since "$t0"))"
}

redis_down() {
    local pid
    pid=$(redis_pid)
    if [[ -z $pid ]]; then
        rm -f "$REDIS_PIDFILE"
        log "redis: not running"
        return 0
    fi
    log "redis: stopping (pid $pid)"
    # SIGTERM makes Redis fsync the AOF, write a final RDB snapshot and exit.
    stop_pid redis "$pid" "$REDIS_STOP_TIMEOUT"
    rm -f "$REDIS_PIDFILE"
    log "redis: stopped"
}

redis_status() {
    service_status_line redis "$(redis_pid)" "127.0.0.1:$REDIS_PORT" "$REDIS_PORT"
}

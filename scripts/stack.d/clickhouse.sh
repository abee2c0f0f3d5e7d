# shellcheck shell=bash
# ClickHouse (Debian's clickhouse-server, 18.16 on bookworm) for scripts/stack.sh. Sourced.
#
# Runs as the invoking user (ClickHouse 18.16 does not refuse root) with a project-local
# config: only the HTTP and native ports are opened (no interserver/HTTPS/secure ports), all
# paths live in STACK_DIR/clickhouse, server time zone UTC, user 'default' without password.

CLICKHOUSE_HTTP_PORT=${TRADESTREAM_CLICKHOUSE_HTTP_PORT:-8123}
CLICKHOUSE_TCP_PORT=${TRADESTREAM_CLICKHOUSE_TCP_PORT:-9000}
CLICKHOUSE_STOP_TIMEOUT=${TRADESTREAM_CLICKHOUSE_STOP_TIMEOUT:-60}
CLICKHOUSE_DIR=$STACK_DIR/clickhouse
CLICKHOUSE_PIDFILE=$CLICKHOUSE_DIR/clickhouse.pid
CLICKHOUSE_LOG=$CLICKHOUSE_DIR/log/clickhouse-server.log

clickhouse_write_config() {
    local d=$CLICKHOUSE_DIR
    mkdir -p "$d/data" "$d/log"
    cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by scripts/stack.sh on every 'up'; edits are lost. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$d/log/clickhouse-server.log</log>
        <errorlog>$d/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>5</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
    <!-- No interserver_http_port, https_port or tcp_port_secure: those servers stay off. -->
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>536870912</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/data/tmp/</tmp_path>
    <user_files_path>$d/data/user_files/</user_files_path>
    <format_schema_path>$d/data/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
</yandex>
EOF
    cat >"$d/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Written by scripts/stack.sh on every 'up'; edits are lost. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

clickhouse_pid() {
    local pid
    pid=$(read_pidfile "$CLICKHOUSE_PIDFILE")
    pid_is_ours "$pid" && echo "$pid"
    return 0
}

clickhouse_answers() {
    [[ $(http_get "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%201") == 1 ]]
}

clickhouse_version() {
    http_get "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%20version()" 2>/dev/null || echo '?'
}

clickhouse_up() {
    local t0 pid bin
    t0=$(now_ms)
    if pid=$(clickhouse_pid) && [[ -n $pid ]]; then
        wait_ready clickhouse "$pid" "$CLICKHOUSE_LOG" clickhouse_answers
        log "clickhouse: already running (pid $pid) on 127.0.0.1:$CLICKHOUSE_HTTP_PORT"
        return 0
    fi
    bin=$(ensure_bin clickhouse-server clickhouse-server clickhouse-client) || exit 1
    find_bin clickhouse-client >/dev/null || apt_install clickhouse-client
    require_port_free clickhouse "$CLICKHOUSE_HTTP_PORT" TRADESTREAM_CLICKHOUSE_HTTP_PORT
    require_port_free clickhouse "$CLICKHOUSE_TCP_PORT" TRADESTREAM_CLICKHOUSE_TCP_PORT
    clickhouse_write_config
    log "clickhouse: starting"
    pid=$(spawn_detached "$CLICKHOUSE_DIR/log/stdout.log" \
        "$bin" --config-file="$CLICKHOUSE_DIR/config.xml")
    echo "$pid" >"$CLICKHOUSE_PIDFILE"
    wait_ready clickhouse "$pid" "$CLICKHOUSE_LOG|$CLICKHOUSE_DIR/log/stdout.log" clickhouse_answers
    log "clickhouse: up on 127.0.0.1:$CLICKHOUSE_HTTP_PORT (http), :$CLICKHOUSE_TCP_PORT (native)" \
        "(version $(clickhouse_version), pid $pid, $(elapsed_since "$t0"))"
}

clickhouse_down() {
    local pid
    pid=$(clickhouse_pid)
    if [[ -z $pid ]]; then
        rm -f "$CLICKHOUSE_PIDFILE"
        log "clickhouse: not running"
        return 0
    fi
    log "clickhouse: stopping (pid $pid)"
    stop_pid clickhouse "$pid" "$CLICKHOUSE_STOP_TIMEOUT"
    rm -f "$CLICKHOUSE_PIDFILE"
    log "clickhouse: stopped"
}

clickhouse_status() {
    service_status_line clickhouse "$(clickhouse_pid)" \
        "127.0.0.1:$CLICKHOUSE_HTTP_PORT (http), :$CLICKHOUSE_TCP_PORT (native)" \
        "$CLICKHOUSE_HTTP_PORT"
}

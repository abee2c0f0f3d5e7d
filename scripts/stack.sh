#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local development stack without Docker: Kafka (KRaft), ClickHouse, PostgreSQL and Redis as
# plain background processes on 127.0.0.1, all state under one project-local directory.
#
#   scripts/stack.sh up     [service...]   start (idempotent) and wait until each answers
#   scripts/stack.sh down   [service...]   stop what this stack started (data is kept)
#   scripts/stack.sh status [service...]   one line per service; exit 0 only if all are up
#   scripts/stack.sh env                   print the TRADESTREAM_* settings for this stack
#   scripts/stack.sh kafka-cli TOOL [ARGS] run a Kafka CLI tool against this stack's broker
#       TOOL: topics, consumer-groups, console-consumer, console-producer, get-offsets,
#       api-versions, metadata-quorum, or a main class name
#
# Services: kafka clickhouse postgres redis (default: all).
#
# Environment (all optional; also read from <repo>/.env, the environment wins):
#   TRADESTREAM_STACK_DIR      state directory (default: .stack; relative to the repo root)
#   TRADESTREAM_CACHE_DIR      per-user download cache (default: ~/.cache/tradestream)
#   TRADESTREAM_STACK_TIMEOUT  seconds to wait for a service to answer (default: 120)
#   TRADESTREAM_KAFKA_PORT (9092), TRADESTREAM_KAFKA_CONTROLLER_PORT (9093),
#   TRADESTREAM_CLICKHOUSE_HTTP_PORT (8123), TRADESTREAM_CLICKHOUSE_TCP_PORT (9000),
#   TRADESTREAM_POSTGRES_PORT (5432), TRADESTREAM_REDIS_PORT (6379),
#   TRADESTREAM_KAFKA_HEAP ("-Xms256m -Xmx512m")
#
# Missing Debian packages (clickhouse-server, redis-server, postgresql) are installed with
# apt-get; Kafka jars come from Maven Central through scripts/kafka/pom.xml (needs java, and
# mvn on the first run only). Logs: <stack dir>/<service>/log(s)/.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# Take TRADESTREAM_* settings from <repo>/.env as well (the environment wins), like the
# Python settings do. The file is parsed, never sourced.
load_dotenv() {
    local file=$ROOT_DIR/.env line key value
    [[ -f $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?(TRADESTREAM_[A-Z0-9_]+)=(.*)$ ]] || continue
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]%$'\r'}
        if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
            value=${BASH_REMATCH[1]}
        else
            value=${value%%[[:space:]]#*}
            value=${value%"${value##*[![:space:]]}"}
        fi
        [[ -n ${!key+set} ]] || printf -v "$key" '%s' "$value"
    done <"$file"
}
load_dotenv

STACK_DIR=${TRADESTREAM_STACK_DIR:-.stack}
CACHE_DIR=${TRADESTREAM_CACHE_DIR:-${HOME:-/root}/.cache/tradestream}
STACK_TIMEOUT=${TRADESTREAM_STACK_TIMEOUT:-120}
ALL_SERVICES=(kafka clickhouse postgres redis)
export LC_ALL=C

# Relative directories are taken from the repository root, wherever we are run from.
[[ $STACK_DIR == /* ]] || STACK_DIR=$ROOT_DIR/$STACK_DIR
[[ $CACHE_DIR == /* ]] || CACHE_DIR=$ROOT_DIR/$CACHE_DIR
mkdir -p "$STACK_DIR" "$CACHE_DIR"
STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
CACHE_DIR=$(cd "$CACHE_DIR" && pwd -P)

# shellcheck source=stack.d/lib.sh
source "$ROOT_DIR/scripts/stack.d/lib.sh"
for _svc in "${ALL_SERVICES[@]}"; do
    # shellcheck source=/dev/null
    source "$ROOT_DIR/scripts/stack.d/$_svc.sh"
done
unset _svc

usage() {
    sed -n '3,/^# Services/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# service_status_line NAME PID PORTS_TEXT CHECK_PORT: print one status line; return 0 if
# the service runs and accepts connections on CHECK_PORT.
service_status_line() {
    local name=$1 pid=$2 ports=$3 port=$4 state=stopped rc=1
    if [[ -n $pid ]]; then
        if port_open "$port"; then
            state=running
            rc=0
        else
            state=starting
        fi
    elif port_open "$port"; then
        state='port-taken' # by a process this stack did not start
    fi
    printf '%-11s %-9s %-11s %s\n' "$name" "$state" "pid ${pid:--}" "$ports"
    return $rc
}

# Validate the service arguments; print them in start order.
select_services() {
    local svc known k
    if [[ $# -eq 0 ]]; then
        printf '%s\n' "${ALL_SERVICES[@]}"
        return
    fi
    for svc in "$@"; do
        known=0
        for k in "${ALL_SERVICES[@]}"; do [[ $svc == "$k" ]] && known=1; done
        ((known)) || die "unknown service '$svc' (expected: ${ALL_SERVICES[*]})"
    done
    for k in "${ALL_SERVICES[@]}"; do
        for svc in "$@"; do [[ $svc == "$k" ]] && echo "$k" && break; done
    done
}

# Serialize up/down of concurrent invocations on the same stack dir.
take_lock() {
    exec 9>"$STACK_DIR/.lock"
    flock -w 600 9 || die "another stack.sh is still running on $STACK_DIR"
}

cmd_up() {
    local t0 svc
    t0=$(now_ms)
    take_lock
    for svc in "$@"; do "${svc}_up"; done
    log "up: $* ($(elapsed_since "$t0")); state in $STACK_DIR"
}

cmd_down() {
    local i svc services=("$@")
    take_lock
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
        svc=${services[i]}
        "${svc}_down"
    done
}

cmd_status() {
    local svc rc=0
    for svc in "$@"; do "${svc}_status" || rc=1; done
    return $rc
}

cmd_env() {
    cat <<EOF
TRADESTREAM_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
TRADESTREAM_CLICKHOUSE_HOST=127.0.0.1
TRADESTREAM_CLICKHOUSE_PORT=$CLICKHOUSE_TCP_PORT
TRADESTREAM_POSTGRES_DSN=postgresql://$POSTGRES_ROLE:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB
TRADESTREAM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
EOF
}

main() {
    local action=${1:-}
    [[ $# -gt 0 ]] && shift
    case $action in
        up | down | status)
            local services
            mapfile -t services < <(select_services "$@")
            [[ ${#services[@]} -gt 0 ]] || exit 1
            "cmd_$action" "${services[@]}"
            ;;
        env) cmd_env ;;
        kafka-cli) kafka_cli "$@" ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"

# shellcheck shell=bash
# Shared helpers of scripts/stack.sh (sourced, not run). Expects STACK_DIR, STACK_TIMEOUT.

# ---- messages --------------------------------------------------------------------------

log() { printf '[stack] %s\n' "$*" >&2; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
    printf '[stack] error: %s\n' "$*" >&2
    exit 1
}

# Print the last lines of a log file, indented, to help explain a failure.
show_log_tail() {
    local file=$1 lines=${2:-20}
    [[ -s $file ]] || return 0
    printf '[stack] --- last %s lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# elapsed_since START_MS -> "4.2s"
elapsed_since() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---- processes -------------------------------------------------------------------------

# True if PID exists and is not a zombie.
pid_alive() {
    local pid=${1:-} stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# True if PID is alive and belongs to this stack: its command line names STACK_DIR or it
# runs inside STACK_DIR. Guards against a stale PID file pointing at a recycled PID.
pid_is_ours() {
    local pid=${1:-} cmd cwd
    pid_alive "$pid" || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmd=
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || cwd=
    [[ $cmd == *"$STACK_DIR/"* || $cwd == "$STACK_DIR" || $cwd == "$STACK_DIR/"* ]]
}

# Print the PID stored in the first line of FILE, if any.
read_pidfile() {
    local file=$1 pid=
    [[ -r $file ]] && read -r pid <"$file" 2>/dev/null || true
    [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
    return 0
}

# Start a long-running command detached from this shell (own session, stdin closed, output
# to LOGFILE (truncated), our lock descriptors closed) and print its PID. setsid execs in place
# (a background job of a non-interactive shell is never a process-group leader), so the PID
# is the service's.
spawn_detached() {
    local logfile=$1
    shift
    setsid "$@" </dev/null >"$logfile" 2>&1 8>&- 9>&- &
    echo $!
}

# stop_pid NAME PID TIMEOUT_S: SIGTERM, wait up to TIMEOUT_S, then SIGKILL with a warning.
stop_pid() {
    local name=$1 pid=$2 timeout=$3 waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while pid_alive "$pid"; do
        if ((waited >= timeout * 10)); then
            warn "$name: pid $pid still running after ${timeout}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Run a command as USER (when we are root and USER differs), otherwise as ourselves. The
# command runs in / (our cwd may be unreadable to USER) and must use absolute paths.
run_as() {
    local user=$1
    shift
    if [[ $EUID -eq 0 && $user != root ]]; then
        (cd / && exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@")
    else
        "$@"
    fi
}

# ---- ports -----------------------------------------------------------------------------

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Describe who listens on PORT (best effort).
port_owner() {
    local out=
    if command -v ss >/dev/null 2>&1; then
        out=$(ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n 3 | tr '\n' ' ')
    fi
    echo "${out:-unknown process}"
}

# Fail if PORT is taken by something this stack did not start.
require_port_free() {
    local svc=$1 port=$2 var=$3
    if port_open "$port"; then
        die "$svc: port $port on 127.0.0.1 is already in use by something not started by" \
            "this stack ($(port_owner "$port")). Stop it, or pick another port with $var=<port>."
    fi
}

# wait_ready SVC PID LOGS CHECK_FN [ARGS...]: poll CHECK_FN until it succeeds. Fails clearly
# if the process dies or STACK_TIMEOUT passes, showing the logs (LOGS: main log first, then
# optional extra logs such as captured stdout, separated by '|').
wait_ready() {
    local svc=$1 pid=$2 logs=$3 started deadline
    shift 3
    started=$(date +%s)
    deadline=$((started + STACK_TIMEOUT))
    while ! "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            die "$svc: the server exited during startup; see $(show_fresh_logs "$logs" "$started")"
        fi
        if (($(date +%s) >= deadline)); then
            die "$svc: not answering after ${STACK_TIMEOUT}s (pid ${pid:-?} left running;" \
                "raise TRADESTREAM_STACK_TIMEOUT or run '$0 down $svc');" \
                "see $(show_fresh_logs "$logs" "$started")"
        fi
        sleep 0.3
    done
}

# show_fresh_logs 'LOG1|LOG2...' SINCE_EPOCH: show the tail of each log written since the
# service was started (older ones would only mislead) and print their names.
show_fresh_logs() {
    local files f shown=()
    IFS='|' read -r -a files <<<"$1"
    for f in "${files[@]}"; do
        if [[ -s $f ]] && (($(stat -c %Y "$f") >= $2 - 2)); then
            show_log_tail "$f"
            shown+=("$f")
        fi
    done
    ((${#shown[@]})) || shown=("${files[0]}")
    echo "${shown[*]}"
}

# ---- prerequisites ---------------------------------------------------------------------

# Print the path of executable NAME, also looking in sbin directories (often not on a
# non-root PATH). Fails silently if absent.
find_bin() {
    local name=$1 dir
    if command -v "$name" 2>/dev/null; then return 0; fi
    for dir in /usr/sbin /sbin /usr/local/sbin /usr/bin; do
        [[ -x $dir/$name ]] && echo "$dir/$name" && return 0
    done
    return 1
}

# apt_install PKG...: install Debian packages non-interactively (refreshing the package
# lists and retrying once if the first attempt fails). Output goes to $STACK_DIR/logs/apt.log.
apt_install() {
    local aptlog=$STACK_DIR/logs/apt.log sudo=()
    command -v apt-get >/dev/null 2>&1 ||
        die "missing $*, and apt-get is not available here: install $* by hand and retry."
    if [[ $EUID -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "missing $*; installing needs root. Run: sudo apt-get install -y $*"
        fi
    fi
    mkdir -p "$STACK_DIR/logs"
    log "installing Debian packages: $* (log: $aptlog)"
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if ! "${apt[@]}" install --no-install-recommends "$@" </dev/null >>"$aptlog" 2>&1; then
        log "apt-get install failed; refreshing package lists and retrying"
        if ! { "${apt[@]}" update </dev/null >>"$aptlog" 2>&1 &&
            "${apt[@]}" install --no-install-recommends "$@" </dev/null >>"$aptlog" 2>&1; }; then
            show_log_tail "$aptlog"
            die "could not install $* with apt-get; see $aptlog"
        fi
    fi
}

# ensure_bin NAME PKG...: print the path of NAME, installing PKGs with apt-get if missing.
ensure_bin() {
    local name=$1 path
    shift
    if ! path=$(find_bin "$name"); then
        apt_install "$@"
        path=$(find_bin "$name") || die "$name still not found after installing $*"
    fi
    echo "$path"
}

# http_get URL: print the body of a successful HTTP GET (curl if present, else bash).
http_get() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 5 "$1"
        return
    fi
    local rest=${1#http://} hostport path
    hostport=${rest%%/*}
    path=/${rest#*/}
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/${1%:*}/${1#*:}" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$1" >&3
        IFS= read -r status <&3; [[ $status == *" 200 "* ]] || exit 1
        while IFS= read -r line <&3 && [[ $line != $'"'"'\r'"'"' ]]; do :; done
        cat <&3' _ "$hostport" "$path"
}

# shellcheck shell=bash
# Kafka (KRaft, single combined broker+controller) for scripts/stack.sh. Sourced.
#
# The jars are resolved once from Maven Central with scripts/kafka/pom.xml into the per-user
# cache (CACHE_DIR/m2 as the Maven local repository, CACHE_DIR/kafka/<version>-<pom hash>/libs
# as the classpath), so every clone and every later run reuses them without Maven or network.

KAFKA_PORT=${TRADESTREAM_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${TRADESTREAM_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${TRADESTREAM_KAFKA_HEAP:--Xms1g -Xmx1g}
# A broker pause is every in-flight record's latency: G1 with a short pause goal.
KAFKA_GC=${TRADESTREAM_KAFKA_GC:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}
KAFKA_STOP_TIMEOUT=${TRADESTREAM_KAFKA_STOP_TIMEOUT:-90}
KAFKA_POM=$ROOT_DIR/scripts/kafka/pom.xml
KAFKA_DIR=$STACK_DIR/kafka
KAFKA_PIDFILE=$KAFKA_DIR/kafka.pid
KAFKA_LOG=$KAFKA_DIR/logs/server.log

kafka_version() {
    sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n 1
}

# Directory holding the classpath jars for the current pom.xml (may not exist yet).
kafka_libs_dir() {
    local hash
    hash=$(sha256sum "$KAFKA_POM" | cut -c1-12)
    echo "$CACHE_DIR/kafka/$(kafka_version)-$hash/libs"
}

kafka_require_java() {
    command -v java >/dev/null 2>&1 ||
        die "kafka: 'java' not found. Install a JDK/JRE 17 (apt-get install -y openjdk-17-jre-headless)."
    local major
    major=$(java -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java.specification.version = \([0-9.]*\).*/\1/p')
    major=${major#1.}
    major=${major%%.*}
    [[ -n $major && $major -ge 11 ]] ||
        die "kafka: Java ${major:-?} found, but Kafka $(kafka_version) needs Java 11+ (17 recommended)."
}

# Resolve the Kafka jars with Maven unless they are already in the cache.
kafka_resolve() {
    local libs version tmp mvnlog
    libs=$(kafka_libs_dir)
    [[ -f $libs/../.complete ]] && return 0
    version=$(kafka_version)
    command -v mvn >/dev/null 2>&1 ||
        die "kafka: Kafka $version is not in $CACHE_DIR yet and 'mvn' is not installed" \
            "(apt-get install -y maven), needed once to fetch it from Maven Central."
    mkdir -p "$CACHE_DIR/kafka"
    exec 8>"$CACHE_DIR/kafka/.lock"
    flock -w 600 8 || die "kafka: timed out waiting for another resolve (lock $CACHE_DIR/kafka/.lock)"
    if [[ ! -f $libs/../.complete ]]; then
        log "kafka: resolving $version from Maven Central (first run)..."
        mvnlog=$CACHE_DIR/kafka/mvn.log
        tmp=$(mktemp -d "$CACHE_DIR/kafka/.resolve.XXXXXX")
        chmod 755 "$tmp" # mktemp makes it private; the jars need not be
        if ! mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" -Dmaven.repo.local="$CACHE_DIR/m2" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
            </dev/null >"$mvnlog" 2>&1; then
            rm -rf "$tmp"
            show_log_tail "$mvnlog"
            die "kafka: Maven could not resolve Kafka $version (network/proxy? see $mvnlog)"
        fi
        rm -rf "$(dirname "$libs")"
        mkdir -p "$(dirname "$(dirname "$libs")")"
        mv "$tmp" "$(dirname "$libs")"
        touch "$libs/../.complete"
    fi
    exec 8>&-
}

# kafka_java [--timeout SECONDS] CLASS ARGS...: run a short-lived Kafka tool (quiet logging,
# small fast-starting JVM).
kafka_java() {
    local limit=()
    if [[ $1 == --timeout ]]; then
        limit=(timeout "$2")
        shift 2
    fi
    "${limit[@]}" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
        -cp "$(kafka_libs_dir)/*" "$@"
}

kafka_write_config() {
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
    cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by scripts/stack.sh on every 'up'; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=8
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=268435456
EOF
    cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.RollingFileAppender
log4j.appender.server.File=${kafka.logs.dir}/server.log
log4j.appender.server.MaxFileSize=50MB
log4j.appender.server.MaxBackupIndex=5
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.raft=INFO
EOF
    cat >"$KAFKA_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# Format the KRaft storage once, with a cluster id kept in the stack dir.
kafka_format() {
    [[ -f $KAFKA_DIR/data/meta.properties ]] && return 0
    local id
    if [[ ! -s $KAFKA_DIR/cluster.id ]]; then
        kafka_java kafka.tools.StorageTool random-uuid >"$KAFKA_DIR/cluster.id.tmp"
        mv "$KAFKA_DIR/cluster.id.tmp" "$KAFKA_DIR/cluster.id"
    fi
    id=$(<"$KAFKA_DIR/cluster.id")
    log "kafka: formatting storage (cluster id $id)"
    kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" \
        >>"$KAFKA_DIR/logs/format.log" 2>&1 || {
        show_log_tail "$KAFKA_DIR/logs/format.log"
        die "kafka: formatting the storage failed; see $KAFKA_DIR/logs/format.log"
    }
}

kafka_pid() {
    local pid
    pid=$(read_pidfile "$KAFKA_PIDFILE")
    pid_is_ours "$pid" && echo "$pid"
    return 0
}

# A real metadata request: list the topics through the Admin API.
kafka_answers() {
    port_open "$KAFKA_PORT" &&
        kafka_java --timeout 30 org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list
}

kafka_up() {
    local t0 pid libs
    t0=$(now_ms)
    if pid=$(kafka_pid) && [[ -n $pid ]]; then
        wait_ready kafka "$pid" "$KAFKA_LOG" kafka_answers
        log "kafka: already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
        return 0
    fi
    kafka_require_java
    kafka_resolve
    libs=$(kafka_libs_dir)
    require_port_free kafka "$KAFKA_PORT" TRADESTREAM_KAFKA_PORT
    require_port_free kafka "$KAFKA_CONTROLLER_PORT" TRADESTREAM_KAFKA_CONTROLLER_PORT
    kafka_write_config
    kafka_format
    log "kafka: starting $(kafka_version) (KRaft)"
    # shellcheck disable=SC2086 # KAFKA_HEAP and KAFKA_GC hold several JVM options
    pid=$(spawn_detached "$KAFKA_DIR/logs/kafka.out" \
        java $KAFKA_HEAP $KAFKA_GC -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR/logs" \
        -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
        -cp "$libs/*" kafka.Kafka "$KAFKA_DIR/server.properties")
    echo "$pid" >"$KAFKA_PIDFILE"
    wait_ready kafka "$pid" "$KAFKA_LOG|$KAFKA_DIR/logs/kafka.out" kafka_answers
    log "kafka: up on 127.0.0.1:$KAFKA_PORT (pid $pid, $(elapsed_since "$t0"))"
}

kafka_down() {
    local pid
    pid=$(kafka_pid)
    if [[ -z $pid ]]; then
        rm -f "$KAFKA_PIDFILE"
        log "kafka: not running"
        return 0
    fi
    log "kafka: stopping (pid $pid, controlled shutdown)"
    stop_pid kafka "$pid" "$KAFKA_STOP_TIMEOUT"
    rm -f "$KAFKA_PIDFILE"
    log "kafka: stopped"
}

kafka_status() {
    service_status_line kafka "$(kafka_pid)" \
        "127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT, Kafka $(kafka_version))" "$KAFKA_PORT"
}

# Aliases for the Kafka command-line tools, for 'stack.sh kafka-cli TOOL ARGS...'.
kafka_tool_class() {
    case $1 in
        topics) echo org.apache.kafka.tools.TopicCommand ;;
        consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
        console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
        console-producer) echo kafka.tools.ConsoleProducer ;;
        get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
        api-versions) echo kafka.admin.BrokerApiVersionsCommand ;;
        metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
        *.*) echo "$1" ;;
        *) die "kafka-cli: unknown tool '$1' (topics, consumer-groups, console-consumer," \
            "console-producer, get-offsets, api-versions, metadata-quorum, or a class name)" ;;
    esac
}

kafka_cli() {
    [[ $# -ge 1 ]] || die "usage: $0 kafka-cli TOOL [ARGS...]"
    local class args=("${@:2}")
    class=$(kafka_tool_class "$1") || exit 1
    # Aliased tools talk to this stack's broker unless told otherwise.
    if [[ $1 != *.* && " ${args[*]} " != *" --bootstrap-"* ]]; then
        args=(--bootstrap-server "127.0.0.1:$KAFKA_PORT" "${args[@]}")
    fi
    [[ -f $(kafka_libs_dir)/../.complete ]] || { kafka_require_java && kafka_resolve; }
    [[ -f $KAFKA_DIR/tools-log4j.properties ]] || kafka_write_config
    kafka_java "$class" "${args[@]}"
}

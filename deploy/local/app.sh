#!/usr/bin/env bash
# Crashline's own services on the local stack, each a console script of the
# venv, run in the background (setsid) so they outlive `make run`.
#
#   deploy/local/app.sh start|stop|status [collector] [processor] [webapp] [crontabber]
#
#   collector   .venv/bin/crashline-collector    waits for 127.0.0.1:8000/__lbheartbeat__
#   processor   .venv/bin/crashline-processor    CRASHLINE_PROCESSOR_INSTANCES (default 2)
#                                                instances processor-1..N, metrics 9101..
#   webapp      .venv/bin/crashline-webapp       waits for 127.0.0.1:8080/__lbheartbeat__
#   crontabber  .venv/bin/crashline-crontabber   waits for 127.0.0.1:9190/__lbheartbeat__
#                                                (CRASHLINE_CRONTABBER_METRICS_PORT)
#
# A service whose script does not exist yet is skipped with a warning.
# Settings are CRASHLINE_* env vars, passed through from the caller; only the
# storage defaults for the local stack are set here when unset, plus the
# backend URLs when stack.sh was told to use other ports (CRASHLINE_PG_PORT...).
# Collector and webapp listen on CRASHLINE_COLLECTOR_BIND / CRASHLINE_WEBAPP_BIND
# (their settings, default 127.0.0.1:8000 / 127.0.0.1:8080).
set -euo pipefail
LOG_TAG=app
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON_BIN=${CRASHLINE_PYTHON_BIN:-$CRASHLINE_REPO_ROOT/.venv/bin}
COLLECTOR_BIND=${CRASHLINE_COLLECTOR_BIND:-127.0.0.1:8000}
WEBAPP_BIND=${CRASHLINE_WEBAPP_BIND:-127.0.0.1:8080}
COLLECTOR_PORT=${COLLECTOR_BIND##*:}
WEBAPP_PORT=${WEBAPP_BIND##*:}
PROCESSOR_INSTANCES=${CRASHLINE_PROCESSOR_INSTANCES:-2}
PROCESSOR_METRICS_BASE=${CRASHLINE_PROCESSOR_METRICS_PORT_BASE:-9101}
CRONTABBER_METRICS_PORT=${CRASHLINE_CRONTABBER_METRICS_PORT:-9190}
HEARTBEAT_TIMEOUT=${CRASHLINE_APP_START_TIMEOUT:-60}
ALL_SERVICES=(collector processor webapp crontabber)

# Local-stack defaults, only when the caller did not choose.
export CRASHLINE_STORAGE_BACKEND=${CRASHLINE_STORAGE_BACKEND:-local}
export CRASHLINE_STORAGE_PATH=${CRASHLINE_STORAGE_PATH:-$DATA_DIR/crashes}
# Breakpad symbol files (<debug_file>/<debug_id>/<name>.sym) dropped here symbolicate stacks.
export CRASHLINE_SYMBOLS_DIRS=${CRASHLINE_SYMBOLS_DIRS:-$DATA_DIR/symbols}
export CRASHLINE_SYMBOLS_CACHE_DIR=${CRASHLINE_SYMBOLS_CACHE_DIR:-$DATA_DIR/symbols-cache}
# Uploaded symbols (POST /api/UploadSymbols/) reach the processors through the webapp.
export CRASHLINE_SYMBOLS_STORE_URL=${CRASHLINE_SYMBOLS_STORE_URL-http://$WEBAPP_BIND/symbols/}

[[ $PROCESSOR_INSTANCES =~ ^[0-9]+$ ]] || die "processor: CRASHLINE_PROCESSOR_INSTANCES must be a number, got '$PROCESSOR_INSTANCES'"

# script SERVICE: path of its console script
script() { printf '%s/crashline-%s' "$PYTHON_BIN" "$1"; }

# proc_names SERVICE: the pid-file names of its processes
proc_names() {
    local i
    if [[ $1 == processor ]]; then
        for ((i = 1; i <= PROCESSOR_INSTANCES; i++)); do echo "processor-$i"; done
    else
        echo "$1"
    fi
}

# heartbeat_url NAME: URL that proves NAME serves, or nothing
heartbeat_url() {
    case $1 in
        collector) echo "http://127.0.0.1:$COLLECTOR_PORT/__lbheartbeat__" ;;
        webapp) echo "http://127.0.0.1:$WEBAPP_PORT/__lbheartbeat__" ;;
        crontabber) echo "http://127.0.0.1:$CRONTABBER_METRICS_PORT/__lbheartbeat__" ;;
        # (a bind on 0.0.0.0 also answers on 127.0.0.1)
    esac
}

# start_one NAME SCRIPT [ENV=VALUE...]
start_one() {
    local name=$1 bin=$2 pid url logf
    shift 2
    logf=$(log_file "$name")
    url=$(heartbeat_url "$name")
    pid=$(read_pid "$name")
    if [[ -n $pid ]] && { [[ -z $url ]] || url_ok "$url"; }; then
        log "$name: already running (pid $pid)"
        return 0
    fi
    if [[ -n $pid ]]; then
        log "$name: pid $pid is starting, waiting"
    else
        if [[ $name == collector ]] && port_open "$COLLECTOR_PORT"; then
            die "collector: port $COLLECTOR_PORT is taken by another process; set CRASHLINE_COLLECTOR_BIND"
        fi
        if [[ $name == webapp ]] && port_open "$WEBAPP_PORT"; then
            die "webapp: port $WEBAPP_PORT is taken by another process; set CRASHLINE_WEBAPP_BIND"
        fi
        if [[ $name == crontabber ]] && port_open "$CRONTABBER_METRICS_PORT"; then
            die "crontabber: port $CRONTABBER_METRICS_PORT is taken by another process; set CRASHLINE_CRONTABBER_METRICS_PORT"
        fi
        log "$name: starting $bin${*:+ ($*)}"
        start_bg "$name" env "$@" "$bin"
        pid=$STARTED_PID
    fi
    if [[ -n $url ]]; then
        wait_for_url "$name" "$url" "$HEARTBEAT_TIMEOUT" "$logf" "$pid"
        log "$name: ready: ${url%/__lbheartbeat__}"
    else
        # no HTTP API to wait for: checked once all are started (check_started)
        STARTED+=("$name:$pid")
    fi
}

# Services without an HTTP API must at least survive their start-up.
STARTED=()
check_started() {
    ((${#STARTED[@]})) || return 0
    sleep "${CRASHLINE_APP_SETTLE_SECONDS:-2}"
    local entry name pid
    for entry in "${STARTED[@]}"; do
        name=${entry%%:*} pid=${entry#*:}
        pid_alive "$pid" || fail_with_log "$name" "exited right after start" "$(log_file "$name")"
        log "$name: running (pid $pid)"
    done
}

start_service() {
    local svc=$1 bin i
    bin=$(script "$svc")
    if [[ ! -x $bin ]]; then
        warn "$svc: $bin does not exist yet, skipping"
        return 0
    fi
    mkdir -p "$CRASHLINE_STORAGE_PATH" "$DATA_DIR/symbols"
    case $svc in
        processor)
            for ((i = 1; i <= PROCESSOR_INSTANCES; i++)); do
                start_one "processor-$i" "$bin" CRASHLINE_METRICS_PORT=$((PROCESSOR_METRICS_BASE + i - 1))
            done
            ;;
        crontabber) start_one crontabber "$bin" CRASHLINE_METRICS_PORT="$CRONTABBER_METRICS_PORT" ;;
        *) start_one "$svc" "$bin" ;;
    esac
}

stop_service() {
    local svc=$1 f name any=0
    # every instance we have a pid file for, also beyond the current count
    for f in "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc"-*.pid; do
        [[ -f $f ]] || continue
        name=$(basename "$f" .pid)
        [[ -n $(read_pid "$name") ]] && any=1
        stop_pid "$name" 20
    done
    ((any)) || log "$svc: not running"
}

status_service() {
    local svc=$1 name pid url rc=0
    if [[ ! -x $(script "$svc") ]]; then
        printf '%-13s not installed (%s)\n' "$svc:" "$(script "$svc")"
        return 0
    fi
    for name in $(proc_names "$svc"); do
        pid=$(read_pid "$name")
        url=$(heartbeat_url "$name")
        if [[ -n $pid ]] && { [[ -z $url ]] || url_ok "$url"; }; then
            printf '%-13s running  pid %s%s\n' "$name:" "$pid" "${url:+  ${url%/__lbheartbeat__}}"
        else
            printf '%-13s stopped\n' "$name:"
            rc=1
        fi
    done
    return $rc
}

usage() {
    echo "usage: $0 start|stop|status [${ALL_SERVICES[*]}]" >&2
    exit 2
}

main() {
    (($# >= 1)) || usage
    local action=$1 s rc=0
    shift
    local svcs=("$@")
    ((${#svcs[@]})) || svcs=("${ALL_SERVICES[@]}")
    for s in "${svcs[@]}"; do
        case $s in
            collector | processor | webapp | crontabber) ;;
            *) die "unknown service '$s' (expected: ${ALL_SERVICES[*]})" ;;
        esac
    done
    case $action in
        start)
            for s in "${svcs[@]}"; do start_service "$s"; done
            check_started
            ;;
        stop) for s in "${svcs[@]}"; do stop_service "$s"; done ;;
        status)
            for s in "${svcs[@]}"; do status_service "$s" || rc=3; done
            return $rc
            ;;
        *) usage ;;
    esac
}

main "$@"

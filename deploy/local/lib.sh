# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not run it.
#
# Layout of the local state (everything the local stack writes lives here):
#   $CRASHLINE_LOCAL_DIR/run/<name>.pid   line 1: pid, line 2: its start time
#                                         (guards against a reused pid)
#   $CRASHLINE_LOCAL_DIR/log/<name>.log   stdout+stderr of the process
#   $CRASHLINE_LOCAL_DIR/data/<name>/     its data

CRASHLINE_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CRASHLINE_LOCAL_DIR="${CRASHLINE_LOCAL_DIR:-$CRASHLINE_REPO_ROOT/.local}"
export CRASHLINE_LOCAL_DIR
RUN_DIR="$CRASHLINE_LOCAL_DIR/run"
LOG_DIR="$CRASHLINE_LOCAL_DIR/log"
DATA_DIR="$CRASHLINE_LOCAL_DIR/data"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"

# ---------------------------------------------------------------- logging
_ts() { date +%H:%M:%S; }
log()  { printf '%s [%s] %s\n' "$(_ts)" "${LOG_TAG:-local}" "$*"; }
warn() { printf '%s [%s] WARNING: %s\n' "$(_ts)" "${LOG_TAG:-local}" "$*" >&2; }

# die "<component>: <what failed> (see <logfile>)" -- message goes to stderr, exit 1.
die() {
    printf '%s [%s] ERROR: %s\n' "$(_ts)" "${LOG_TAG:-local}" "$*" >&2
    exit 1
}

# fail_with_log COMPONENT WHAT LOGFILE: print the last lines of the log, then die.
fail_with_log() {
    local comp=$1 what=$2 logfile=$3
    if [[ -s $logfile ]]; then
        printf -- '----- last 40 lines of %s -----\n' "$logfile" >&2
        tail -n 40 "$logfile" >&2 || true
        printf -- '----- end of %s -----\n' "$logfile" >&2
    fi
    die "$comp: $what (see $logfile)"
}

log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }
pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# ---------------------------------------------------------------- processes
# Start time of a pid in clock ticks since boot (field 22 of /proc/PID/stat);
# empty when the process does not exist. The command name (field 2) may hold
# spaces, so cut everything up to the last ')' first.
proc_start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    # after "pid (comm) " field 3 is index 0, so field 22 is index 19
    # shellcheck disable=SC2086
    set -- $stat
    printf '%s' "${20:-}"
}

# pid_alive PID: the process exists and is not a zombie (an exited child
# that its parent, e.g. a non-reaping init, has not collected yet).
pid_alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# write_pid NAME PID: record a pid we started, with its start time.
write_pid() {
    printf '%s\n%s\n' "$2" "$(proc_start_time "$2")" >"$(pid_file "$1")"
}

# read_pid NAME: print the pid from our pid file if that very process is still
# alive (same start time), else print nothing and drop the stale pid file.
read_pid() {
    local f pid start now
    f=$(pid_file "$1")
    [[ -f $f ]] || return 0
    { read -r pid || true; read -r start || true; } <"$f"
    if pid_alive "$pid"; then
        now=$(proc_start_time "$pid")
        if [[ -z $start || $start == "$now" ]]; then
            printf '%s' "$pid"
            return 0
        fi
    fi
    rm -f "$f"
}

# wait_pid_gone PID SECONDS: 0 when the pid exited within SECONDS.
wait_pid_gone() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! pid_alive "$pid"
}

# stop_pid NAME [SECONDS]: TERM the process we recorded (and its process group
# when it leads one, i.e. when we started it with setsid), wait, then KILL.
# Only ever signals the pid from our own pid file.
stop_pid() {
    local name=$1 secs=${2:-20} pid target
    pid=$(read_pid "$name")
    if [[ -z $pid ]]; then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    target=$pid
    # setsid made it a group leader: signal the whole group so helpers die too
    if [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]]; then
        target=-$pid
    fi
    log "$name: stopping pid $pid"
    kill -TERM -- "$target" 2>/dev/null || true
    if ! wait_pid_gone "$pid" "$secs"; then
        warn "$name: pid $pid still alive after ${secs}s, sending KILL"
        kill -KILL -- "$target" 2>/dev/null || true
        wait_pid_gone "$pid" 5 || warn "$name: pid $pid did not die"
    fi
    rm -f "$(pid_file "$name")"
}

# start_bg NAME CMD...: run CMD in its own session (setsid) in the background,
# detached from the terminal, stdout+stderr appended to the log file, and
# record its pid (also left in STARTED_PID: a process that dies at once must
# still be waited on by pid, so that the caller fails fast with its log). The process survives the caller (make, a CI step). The
# caller's shell has no job control, so the background child is not a group
# leader and setsid execs in place: $! is the service's own pid.
start_bg() {
    local name=$1
    shift
    local logf
    logf=$(log_file "$name")
    printf '\n===== %s starting %s: %s\n' "$(date '+%F %T')" "$name" "$*" >>"$logf"
    setsid "$@" >>"$logf" 2>&1 </dev/null &
    STARTED_PID=$!
    write_pid "$name" "$STARTED_PID"
}

# ---------------------------------------------------------------- java
# java_major JAVA_HOME: print the feature version (17, 21, 25) or nothing.
java_major() {
    [[ -x $1/bin/java && -x $1/bin/javac ]] || return 0
    "$1/bin/java" -XshowSettings:properties -version 2>&1 |
        awk -F'= ' '/java.specification.version/ {print $2; exit}' || true
}

# find_jdk MIN [MAX]: print a JDK home with MIN <= version <= MAX, preferring the
# explicit overrides (CRASHLINE_OPENSEARCH_JAVA_HOME, CRASHLINE_ELASTICSEARCH_JAVA_HOME),
# then the Temurin 25 that this machine kind ships, then JAVA_HOME, then any JDK
# under /usr/lib/jvm (newest first).
find_jdk() {
    local min=$1 max=${2:-999} cand v
    for cand in ${CRASHLINE_OPENSEARCH_JAVA_HOME:-} ${CRASHLINE_ELASTICSEARCH_JAVA_HOME:-} /usr/lib/jvm/temurin-25-jdk-amd64 ${JAVA_HOME:-} \
        $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
        cand=${cand%/}
        v=$(java_major "$cand")
        if [[ -n $v ]] && ((v >= min && v <= max)); then
            printf '%s' "$cand"
            return 0
        fi
    done
}

# ---------------------------------------------------------------- search user
# Elasticsearch refuses to run as root: as root we run it as this system user
# (install.sh creates it); as anyone else, as ourselves.
SEARCH_USER=${CRASHLINE_SEARCH_USER:-crashline-search}

# AS_SEARCH_USER: the command prefix that runs a program as that user, in /
# (setpriv execs in place, so the pid we record is the server's own).
AS_SEARCH_USER=(env --chdir=/)
((EUID == 0)) && AS_SEARCH_USER=(setpriv --reuid="$SEARCH_USER" --regid="$SEARCH_USER" --clear-groups -- env --chdir=/)

# search_root: the folder under which Elasticsearch's program and state live:
# $CRASHLINE_LOCAL_DIR, unless its user cannot reach it (a checkout under a
# private home, mode 0700), then a folder of ours under /var/tmp.
search_root() {
    if ((EUID == 0)) && id "$SEARCH_USER" >/dev/null 2>&1 &&
        ! "${AS_SEARCH_USER[@]}" test -x "$CRASHLINE_LOCAL_DIR"; then
        printf '/var/tmp/crashline-search-%s' "$(printf '%s' "$CRASHLINE_LOCAL_DIR" | md5sum | cut -c1-8)"
    else
        printf '%s' "$CRASHLINE_LOCAL_DIR"
    fi
}

# es_version COMPONENT: the Elasticsearch version that elasticsearch (the stack's,
# 8.19: the newest 8.x, the major of the Python client we pin) or elasticsearch9
# (the other major, for the contract tests) runs.
es_version() {
    if [[ $1 == elasticsearch9 ]]; then
        echo "${CRASHLINE_ELASTICSEARCH9_VERSION:-9.5.4}"
    else
        echo "${CRASHLINE_ELASTICSEARCH_VERSION:-8.19.21}"
    fi
}

# ---------------------------------------------------------------- network
# port_open PORT [HOST]: something accepts TCP connections there.
port_open() {
    local port=$1 host=${2:-127.0.0.1}
    timeout 2 bash -c ">/dev/tcp/$host/$port" 2>/dev/null
}

# wait_for_port COMPONENT PORT SECONDS LOGFILE [PID]
# Fails fast when PID (the process we just started) dies meanwhile.
wait_for_port() {
    local comp=$1 port=$2 secs=$3 logf=$4 pid=${5:-} deadline
    deadline=$((SECONDS + secs))
    until port_open "$port"; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            fail_with_log "$comp" "process $pid exited before port $port answered" "$logf"
        fi
        ((SECONDS < deadline)) || fail_with_log "$comp" "port 127.0.0.1:$port did not answer within ${secs}s" "$logf"
        sleep 0.5
    done
}

# wait_for_url COMPONENT URL SECONDS LOGFILE [PID]: until an HTTP 2xx answer.
wait_for_url() {
    local comp=$1 url=$2 secs=$3 logf=$4 pid=${5:-} deadline
    deadline=$((SECONDS + secs))
    until curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            fail_with_log "$comp" "process $pid exited before $url answered" "$logf"
        fi
        ((SECONDS < deadline)) || fail_with_log "$comp" "$url did not answer within ${secs}s" "$logf"
        sleep 1
    done
}

# url_ok URL: one quick probe.
url_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

# elapsed since START (bash SECONDS) for log lines
since() { printf '%ss' "$((SECONDS - $1))"; }

# Which search engine runs, on which ports, and the backend URLs: shared with `make`.
# shellcheck source=env.sh
source "$CRASHLINE_REPO_ROOT/deploy/local/env.sh"

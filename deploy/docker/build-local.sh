#!/usr/bin/env bash
# Build Crashline's images on a Debian machine without Docker or a reachable image
# registry, then smoke-test them. Not part of CI (it takes many minutes and root).
#
#   deploy/docker/build-local.sh [--run] [collector] [processor] [webapp] [crontabber]
#
# - podman (Debian's package) builds deploy/docker/Dockerfile unchanged, with its own
#   storage under $CRASHLINE_LOCAL_DIR/podman (the machine's other containers, if any,
#   are left alone);
# - the base images are made here from Debian packages (debootstrap bookworm), since
#   python:*-slim and rust:*-slim cannot be pulled: a Python base (Debian's python3 3.11,
#   the minor version the images pin) and a Rust base (Debian's compiler and linker plus
#   this machine's rustup toolchain, as Debian's rustc is too old for minidump-stackwalk);
#   they are passed as PYTHON_IMAGE and RUST_IMAGE, the Dockerfile's build arguments, and
#   trust the certificate authorities this machine adds (an intercepting egress proxy), so
#   that pip and cargo reach PyPI and crates.io from inside the builds;
# - each image is then run: its user, its console script, what `crashline help` lists,
#   its health check (built in Docker's format, which keeps HEALTHCHECK), and the
#   processor's minidump-stackwalk;
# - with --run, the collector, processor and webapp images then run as the pipeline, on
#   the local stack's backends (deploy/local, already started) in a namespace of their own
#   (queues, index, the test database, local storage in a folder they share), each
#   image's HEALTHCHECK is run against its service, then a corpus
#   crash is submitted with the collector image's `crashline submit` and looked for
#   through the webapp's API; queues and index are deleted afterwards.
#
# Env: CRASHLINE_DEBIAN_MIRROR (http://deb.debian.org/debian).
set -euo pipefail
LOG_TAG=images
# shellcheck source=../local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../local/lib.sh"

MIRROR=${CRASHLINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
STATE="$CRASHLINE_LOCAL_DIR/podman"
PYTHON_BASE=localhost/crashline-base-python:bookworm
RUST_BASE=localhost/crashline-base-rust:bookworm
RUN=0
if [[ ${1:-} == --run ]]; then
    RUN=1
    shift
fi
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(collector processor webapp crontabber)

((EUID == 0)) || die "run as root (debootstrap, and podman's own storage)"
for tool in podman debootstrap; do
    command -v $tool >/dev/null ||
        die "$tool not found: apt-get install podman buildah debootstrap crun uidmap"
done
mkdir -p "$STATE"
pod() { podman --root "$STATE/storage" --runroot "$STATE/run" --storage-driver overlay "$@" 2> >(grep -v CNI >&2); }
bud() { buildah --root "$STATE/storage" --runroot "$STATE/run" --storage-driver overlay "$@"; }

# base_image NAME PACKAGES [SETUP]: a Debian bookworm root file system with PACKAGES,
# imported as NAME (once). SETUP, a function, adds to the root before the import.
base_image() {
    local name=$1 packages=$2 setup=${3:-} root logf start=$SECONDS
    if pod image exists "$name"; then
        log "$name: already built"
        return 0
    fi
    root=$(mktemp -d "$STATE/rootfs-XXXXXX")
    logf=$(log_file images-debootstrap)
    log "$name: debootstrap bookworm with $packages (log $logf)"
    debootstrap --variant=minbase --include="$packages" bookworm "$root" "$MIRROR" >>"$logf" 2>&1 ||
        fail_with_log images "debootstrap failed" "$logf"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    host_trust "$root"
    [[ -z $setup ]] || "$setup" "$root"
    tar -C "$root" -c . | pod import \
        --change 'ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "ENV PIP_CERT=$BUNDLE" --change "ENV CARGO_HTTP_CAINFO=$BUNDLE" \
        --change "ENV SSL_CERT_FILE=$BUNDLE" \
        --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
    rm -rf "$root"
    log "$name: imported in $(since "$start")"
}

BUNDLE=/etc/ssl/certs/ca-certificates.crt
host_trust() { # ROOT: the certificate authorities this machine adds to Debian's
    local crt
    for crt in /usr/local/share/ca-certificates/*.crt; do
        [[ -e $crt ]] && cp "$crt" "$1/usr/local/share/ca-certificates/"
    done
    chroot "$1" update-ca-certificates >/dev/null
}

rust_toolchain() { # ROOT: this machine's Rust toolchain, its docs left out
    local sysroot
    sysroot=$(rustc --print sysroot) || die "rustc not found (the Rust base copies its toolchain)"
    mkdir -p "$1/usr/local/rust"
    tar -C "$sysroot" --exclude=share/doc -c bin lib | tar -C "$1/usr/local/rust" -x
}

base_image "$PYTHON_BASE" python3,python3-venv,ca-certificates
base_image "$RUST_BASE" gcc,libc6-dev,ca-certificates rust_toolchain

for target in "${TARGETS[@]}"; do
    logf=$(log_file "images-$target")
    start=$SECONDS
    log "$target: podman build --target $target (log $logf)"
    # Docker's image format: OCI's has no HEALTHCHECK, which podman would drop.
    pod build --isolation chroot --network host --layers --format docker \
        -f "$CRASHLINE_REPO_ROOT/deploy/docker/Dockerfile" --target "$target" \
        --build-arg PYTHON_IMAGE="$PYTHON_BASE" --build-arg RUST_IMAGE="$RUST_BASE" \
        --build-arg GIT_SHA="$(git -C "$CRASHLINE_REPO_ROOT" rev-parse HEAD)" \
        -t "localhost/crashline-$target" "$CRASHLINE_REPO_ROOT" >>"$logf" 2>&1 ||
        fail_with_log "$target" "podman build failed" "$logf"
    log "$target: built in $(since "$start"), $(pod image inspect --format '{{.Size}}' \
        "localhost/crashline-$target" | numfmt --to=iec)"
done

# Smoke test: who each image runs as, what it runs, what it can run. Containers run with
# buildah's chroot isolation, as the builds do (this machine refuses the resource limits
# podman's runtime sets).
RUN_ARGS=()  # more `buildah run` options (environment, mounts) for in_image and start_image
in_image() { # IMAGE COMMAND...: run COMMAND in a fresh container of IMAGE, as its user
    local image=$1 container rc=0
    shift
    container=$(bud from "$image")
    bud run --isolation chroot --network host "${RUN_ARGS[@]}" "$container" -- "$@" || rc=$?
    bud rm "$container" >/dev/null
    return $rc
}
for target in "${TARGETS[@]}"; do
    image="localhost/crashline-$target"
    user=$(in_image "$image" id -u)
    script=$(in_image "$image" sh -c "command -v crashline-$target")
    commands=$(in_image "$image" crashline help 2>&1 | tail -n +4 | tr -s ' \n' ' ')
    labels=$(pod image inspect --format '{{json .Labels}}' "$image")
    log "$target: uid $user, $script; crashline commands:$commands"
    health=$(pod image inspect --format '{{json .HealthCheck.Test}}' "$image")
    log "$target: labels $labels"
    log "$target: health check $health"
    [[ $user == 10001 ]] || die "$target runs as uid $user"
    [[ $health == *__lbheartbeat__* ]] || die "$target has no health check"
done
if [[ " ${TARGETS[*]} " == *" processor "* ]]; then
    log "processor: $(in_image localhost/crashline-processor minidump-stackwalk --version)"
fi
log "images: $(pod images --format '{{.Repository}} {{.Size}}' | grep crashline- | tr '\n' ';')"

((RUN)) || exit 0

# -- the images as the pipeline, on the local stack's backends -----------------------------
for target in collector processor webapp; do
    pod image exists "localhost/crashline-$target" || die "--run needs the $target image"
done
corpus="$CRASHLINE_REPO_ROOT/../shared/corpus/minidumps"
[[ -f $corpus/linux-x86_64-mini.dmp ]] || die "--run needs the shared corpus ($corpus)"
rid=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
work="$STATE/run-$rid"
mkdir -p "$work/crashes"
chown -R 10001:10001 "$work/crashes"
RUN_ARGS=(-e CRASHLINE_STORAGE_BACKEND=local -e CRASHLINE_STORAGE_PATH=/data/crashes
    -v "$work/crashes:/data/crashes" -v "$corpus:/corpus:ro"
    -e "CRASHLINE_QUEUE_PREFIX=crashline-images-$rid"
    -e "CRASHLINE_SEARCH_INDEX_TEMPLATE=crashline-images-$rid-%Y%W"
    -e "CRASHLINE_SEARCH_ENGINE=$CRASHLINE_SEARCH_ENGINE" -e "CRASHLINE_SEARCH_URL=$CRASHLINE_SEARCH_URL"
    -e "CRASHLINE_RABBITMQ_URL=${CRASHLINE_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}"
    -e "CRASHLINE_DATABASE_URL=${CRASHLINE_TEST_DATABASE_URL:-postgresql://crashline:crashline@127.0.0.1:5432/crashline_test}"
    -e CRASHLINE_LOG_FORMAT=text)
COLLECTOR_PORT=18411 PROCESSOR_PORT=18412 WEBAPP_PORT=18413
STARTED=()
declare -A PIDS  # name: the pid of its `buildah run`, to fail fast if it exits
start_image() { # NAME IMAGE SETTING...: start the image's own command in the background
    local name=$1 image=$2 container settings=() setting command
    shift 2
    for setting in "$@"; do settings+=(-e "$setting"); done
    # `buildah run` needs the command spelt out: the image's CMD, read from its config.
    mapfile -t command < <(pod image inspect --format '{{range .Config.Cmd}}{{println .}}{{end}}' "$image" | sed '/^$/d')
    ((${#command[@]})) || die "$image has no CMD"
    container=$(bud from "$image")
    setsid buildah --root "$STATE/storage" --runroot "$STATE/run" --storage-driver overlay \
        run --isolation chroot --network host "${RUN_ARGS[@]}" "${settings[@]}" "$container" \
        -- "${command[@]}" >"$(log_file "images-run-$name")" 2>&1 &
    STARTED+=("$!:$container")
    PIDS[$name]=$!
}
stop_images() {
    local entry
    for entry in "${STARTED[@]}"; do
        kill -TERM -- "-${entry%%:*}" 2>/dev/null || true
    done
    sleep 5
    for entry in "${STARTED[@]}"; do
        kill -KILL -- "-${entry%%:*}" 2>/dev/null || true
        bud rm "${entry#*:}" >/dev/null 2>&1 || true
    done
    # The namespace's queues and index go; the test database keeps its rows, as tests do.
    "$CRASHLINE_REPO_ROOT/.venv/bin/python" - "$rid" <<'PY' || warn "could not delete the namespace's queues and index"
import sys
from crashline.common.queue import queue_from_settings
from crashline.common.search import search_from_settings
from crashline.common.settings import CommonSettings
prefix = f"crashline-images-{sys.argv[1]}"
settings = CommonSettings(queue_prefix=prefix, search_index_template=prefix + "-%Y%W")
queue = queue_from_settings(settings)
queue.connect()
for name in queue.names.all:
    queue.channel.queue_delete(queue=name)
queue.close()
search = search_from_settings(settings)
for name in search.existing_indices():
    search.delete_index(name)
PY
    rm -rf "$work"
}
trap stop_images EXIT

in_image localhost/crashline-collector crashline migrate
# Each image's own settings here: its port (the local stack's are taken) and one worker.
COLLECTOR_ENV=("CRASHLINE_COLLECTOR_BIND=0.0.0.0:$COLLECTOR_PORT" CRASHLINE_COLLECTOR_WORKERS=1)
PROCESSOR_ENV=("CRASHLINE_METRICS_PORT=$PROCESSOR_PORT"
    "CRASHLINE_SYMBOLS_STORE_URL=http://127.0.0.1:$WEBAPP_PORT/symbols/")
WEBAPP_ENV=("CRASHLINE_WEBAPP_BIND=0.0.0.0:$WEBAPP_PORT" CRASHLINE_WEBAPP_WORKERS=1)
start_image collector localhost/crashline-collector "${COLLECTOR_ENV[@]}"
start_image processor localhost/crashline-processor "${PROCESSOR_ENV[@]}"
start_image webapp localhost/crashline-webapp "${WEBAPP_ENV[@]}"
check_health() { # NAME SETTING...: the image's HEALTHCHECK command, with its settings, in a
    # fresh container of it beside the running one (Docker runs it in the same container;
    # with the host's network the address is the same)
    local name=$1 setting test
    shift
    test=$(pod image inspect --format '{{index .HealthCheck.Test 1}}' "localhost/crashline-$name")
    for setting in "$@"; do RUN_ARGS+=(-e "$setting"); done
    in_image "localhost/crashline-$name" sh -c "$test" || die "$name: its HEALTHCHECK fails: $test"
    log "$name: its HEALTHCHECK passes"
}
for entry in collector:$COLLECTOR_PORT processor:$PROCESSOR_PORT webapp:$WEBAPP_PORT; do
    wait_for_url "${entry%%:*}" "http://127.0.0.1:${entry#*:}/__heartbeat__" 120 \
        "$(log_file "images-run-${entry%%:*}")" "${PIDS[${entry%%:*}]}"
    log "${entry%%:*}: $(curl -fsS "http://127.0.0.1:${entry#*:}/__heartbeat__")"
done
(check_health collector "${COLLECTOR_ENV[@]}")
(check_health processor "${PROCESSOR_ENV[@]}")
(check_health webapp "${WEBAPP_ENV[@]}")
answer=$(in_image localhost/crashline-collector crashline submit \
    --url "http://127.0.0.1:$COLLECTOR_PORT/submit" --dump /corpus/linux-x86_64-mini.dmp \
    -a ProductName=ImageTest -a Version=1.0 --gzip)
crash_id=$(grep -oE '[0-9a-f]{8}-[0-9a-f-]{27}' <<<"$answer" | head -1)
[[ -n $crash_id ]] || die "the collector image did not accept the crash: $answer"
log "collector image accepted $crash_id"
start=$SECONDS
until hit=$(curl -fsS "http://127.0.0.1:$WEBAPP_PORT/api/SuperSearch/?uuid=$crash_id&_columns=uuid&_columns=signature&_columns=platform") &&
    grep -q "$crash_id" <<<"$hit"; do
    ((SECONDS - start < 120)) || fail_with_log processor "the crash was not searchable within 120 s" \
        "$(log_file images-run-processor)"
    sleep 1
done
log "searchable through the webapp image after $(since "$start"): $hit"

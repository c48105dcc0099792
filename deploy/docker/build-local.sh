#!/usr/bin/env bash
# Build Crashline's images on a Debian machine without Docker or a reachable image
# registry, then smoke-test them. Not part of CI (it takes many minutes and root).
#
#   deploy/docker/build-local.sh [collector] [processor] [webapp] [crontabber]
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
#   and the processor's minidump-stackwalk.
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
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(collector processor webapp crontabber)

((EUID == 0)) || die "run as root (debootstrap, and podman's own storage)"
for tool in podman debootstrap; do
    command -v $tool >/dev/null ||
        die "$tool not found: apt-get install podman buildah debootstrap crun uidmap"
done
mkdir -p "$STATE"
pod() { podman --root "$STATE/storage" --runroot "$STATE/run" --storage-driver overlay "$@"; }

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
    pod build --isolation chroot --network host --layers \
        -f "$CRASHLINE_REPO_ROOT/deploy/docker/Dockerfile" --target "$target" \
        --build-arg PYTHON_IMAGE="$PYTHON_BASE" --build-arg RUST_IMAGE="$RUST_BASE" \
        --build-arg GIT_SHA="$(git -C "$CRASHLINE_REPO_ROOT" rev-parse HEAD)" \
        -t "localhost/crashline-$target" "$CRASHLINE_REPO_ROOT" >>"$logf" 2>&1 ||
        fail_with_log "$target" "podman build failed" "$logf"
    log "$target: built in $(since "$start"), $(pod image inspect --format '{{.Size}}' \
        "localhost/crashline-$target" | numfmt --to=iec)"
done

# Smoke test: who each image runs as, what it runs, what it can run.
for target in "${TARGETS[@]}"; do
    image="localhost/crashline-$target"
    user=$(pod run --rm --network none "$image" id -u)
    script=$(pod run --rm --network none "$image" sh -c "command -v crashline-$target")
    commands=$(pod run --rm --network none "$image" crashline help 2>&1 | tr -s ' \n' ' ')
    labels=$(pod image inspect --format '{{json .Labels}}' "$image")
    log "$target: uid $user, $script; crashline help: $commands"
    log "$target: labels $labels"
    [[ $user == 10001 ]] || die "$target runs as uid $user"
done
if [[ " ${TARGETS[*]} " == *" processor "* ]]; then
    log "processor: $(pod run --rm --network none localhost/crashline-processor minidump-stackwalk --version)"
fi
log "images: $(pod images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep crashline- | tr '\n' ';')"

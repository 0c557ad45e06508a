#!/usr/bin/env bash
# The project's reproducible benchmark: mod_wsgi_rs against mod_wsgi 4.9.4
# (Debian) and mod_wsgi 6.1.1 (PyPI), each in its own Apache on loopback.
#
#   scripts/bench.sh            full run (about 15 minutes), writes docs/benchmarks.md
#   scripts/bench.sh --quick    smoke run (about a minute, no callgrind), writes
#                               $BENCH_ROOT/results/benchmarks.md
#   scripts/bench.sh [--rounds N] [--duration S] [--warmup S] [--memory-requests N]
#                    [--no-callgrind] [--output FILE]
#
# Installs what is missing (Debian packages, and the mod_wsgi 6.1.1 venv in
# $BENCH_VENV), builds the module in release mode, then runs
# scripts/bench/run.py. Needs root (apt-get, User www-data) and two CPUs.
# Servers run under $BENCH_ROOT (default /tmp/mod_wsgi_rs-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1
export BENCH_ROOT="${BENCH_ROOT:-/tmp/mod_wsgi_rs-bench}"
# Readable by www-data (so not under /root).
BENCH_VENV="${BENCH_VENV:-/opt/mod_wsgi_rs-bench/venv-mod_wsgi-6.1.1}"
PYTHON=/usr/bin/python3.11

APT_PACKAGES=(apache2 apache2-dev apache2-utils libapache2-mod-wsgi-py3 python3.11 python3.11-dev
              python3.11-venv python3-dev libclang-dev build-essential wrk valgrind util-linux)

. scripts/apt.sh  # the working directory is the repository root
. scripts/mod_wsgi_reference.sh


if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/bench.sh needs root (apt-get, and Apache's User www-data)" >&2
    exit 2
fi
output=(--output docs/benchmarks.md)
for arg in "$@"; do
    case "$arg" in
        --quick) output=() ;;
        --output|--output=*) output=() ;;
    esac
done

install_missing "${APT_PACKAGES[@]}"
install_mod_wsgi_611
echo "==> building the module (release, against $PYO3_PYTHON)"
cargo build --release </dev/null
exec "$PYTHON" scripts/bench/run.py --venv "$BENCH_VENV" --module target/release/libmod_wsgi_rs.so "${output[@]}" "$@"

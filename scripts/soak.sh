#!/usr/bin/env bash
# The soak: mod_wsgi_rs and Debian's mod_wsgi 4.9.4, each embedded and in
# daemon mode, four Apaches side by side, driven with the same mixed workload
# (hello, 64 KiB, streaming, uploads, wsgi.file_wrapper, 1% exceptions, 3%
# clients leaving mid-response) while graceful restarts and recycling go on.
#
#   scripts/soak.sh                     1,000,000 requests per server
#   scripts/soak.sh --requests 20000    a shorter run
#   scripts/soak.sh [--max-minutes M] [--mpm event|prefork] [--connections N] [--restart-every N]
#                   [--maximum-requests N] [--servers rs,rsd,m494,m494d] [--output FILE]
#
# Writes $SOAK_ROOT/results/soak.md (the markdown of docs/reliability.md's
# soak section) and soak.json; exits 1 if any answer of mod_wsgi_rs was
# unexpected (mod_wsgi 4.9.4's are reported, for comparison).
# Needs root (apt-get, and Apache's User www-data). Servers run under
# $SOAK_ROOT (default /tmp/mod_wsgi_rs-soak).
set -euo pipefail
cd "$(dirname "$0")/.."

export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1
export BENCH_ROOT="${SOAK_ROOT:-/tmp/mod_wsgi_rs-soak}"

APT_PACKAGES=(apache2 apache2-dev libapache2-mod-wsgi-py3 python3.11 python3.11-dev python3-dev
              libclang-dev build-essential)

. scripts/apt.sh  # the working directory is the repository root

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/soak.sh needs root (apt-get, and Apache's User www-data)" >&2
    exit 2
fi
install_missing "${APT_PACKAGES[@]}"
echo "==> building the module (release, against $PYO3_PYTHON)"
cargo build --release </dev/null
exec /usr/bin/python3.11 scripts/soak/soak.py --module target/release/libmod_wsgi_rs.so "$@"

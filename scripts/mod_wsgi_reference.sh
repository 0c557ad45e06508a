# Sourced by scripts/dev.sh and scripts/bench.sh (after scripts/apt.sh).
# install_mod_wsgi_611: mod_wsgi 6.1.1, the reference for behaviour, built by
# pip against the local apxs in a venv of Debian's Python 3.11. The benchmark
# compares against its module; tests/express_config.rs runs the httpd.conf
# its mod_wsgi-express writes. The venv is under /opt, readable by www-data
# (not under /root).
MOD_WSGI_611_VENV="${BENCH_VENV:-/opt/mod_wsgi_rs-bench/venv-mod_wsgi-6.1.1}"

install_mod_wsgi_611() {
    if [ "$("$MOD_WSGI_611_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mod-wsgi"))' 2>/dev/null)" = 6.1.1 ]; then
        return
    fi
    install_missing apache2-dev python3.11 python3.11-dev python3.11-venv build-essential
    echo "==> installing mod_wsgi 6.1.1 into $MOD_WSGI_611_VENV (compiles against $(command -v apxs))"
    rm -rf "$MOD_WSGI_611_VENV"
    mkdir -p "$(dirname "$MOD_WSGI_611_VENV")"
    /usr/bin/python3.11 -m venv "$MOD_WSGI_611_VENV"
    "$MOD_WSGI_611_VENV/bin/pip" install -q --disable-pip-version-check mod-wsgi==6.1.1
    chmod -R a+rX "$(dirname "$MOD_WSGI_611_VENV")"
}

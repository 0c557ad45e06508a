# Sourced by scripts/dev.sh (after scripts/apt.sh).
# install_pastedeploy: PasteDeploy from PyPI (pure Python), which
# mod_wsgi_rs-express's `--application-type paste` loads .ini files with:
# tests/express_apps.rs serves a real one. Installed into a venv of Debian's
# Python 3.11 under /opt, readable by www-data.
PASTEDEPLOY_VENV="${PASTEDEPLOY_VENV:-/opt/mod_wsgi_rs-test/venv-pastedeploy}"
PASTEDEPLOY_VERSION=3.1.0

install_pastedeploy() {
    if "$PASTEDEPLOY_VENV/bin/python" -c 'import paste.deploy' 2>/dev/null; then
        return
    fi
    install_missing python3-venv
    echo "==> installing PasteDeploy $PASTEDEPLOY_VERSION into $PASTEDEPLOY_VENV"
    rm -rf "$PASTEDEPLOY_VENV"
    mkdir -p "$(dirname "$PASTEDEPLOY_VENV")"
    /usr/bin/python3 -m venv "$PASTEDEPLOY_VENV"
    "$PASTEDEPLOY_VENV/bin/pip" install -q --disable-pip-version-check \
        "PasteDeploy==$PASTEDEPLOY_VERSION"
    chmod -R a+rX "$(dirname "$PASTEDEPLOY_VENV")"
}

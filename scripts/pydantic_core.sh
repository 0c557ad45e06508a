# Sourced by scripts/dev.sh (after scripts/apt.sh).
# install_pydantic_core: the real pydantic-core wheel from PyPI (a pyo3
# extension module, cp311 manylinux), which refuses sub-interpreters:
# tests/subinterpreters.rs checks the log line that says so. Installed into
# a venv of Debian's Python 3.11 under /opt, readable by www-data.
PYDANTIC_CORE_VENV="${PYDANTIC_CORE_VENV:-/opt/mod_wsgi_rs-test/venv-pydantic-core}"
PYDANTIC_CORE_VERSION=2.41.5

install_pydantic_core() {
    if "$PYDANTIC_CORE_VENV/bin/python" -c 'import pydantic_core' 2>/dev/null; then
        return
    fi
    install_missing python3-venv
    echo "==> installing pydantic-core $PYDANTIC_CORE_VERSION into $PYDANTIC_CORE_VENV"
    rm -rf "$PYDANTIC_CORE_VENV"
    mkdir -p "$(dirname "$PYDANTIC_CORE_VENV")"
    /usr/bin/python3 -m venv "$PYDANTIC_CORE_VENV"
    "$PYDANTIC_CORE_VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: \
        "pydantic-core==$PYDANTIC_CORE_VERSION"
    chmod -R a+rX "$(dirname "$PYDANTIC_CORE_VENV")"
}

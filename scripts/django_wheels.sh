# Sourced by scripts/dev.sh (after scripts/apt.sh).
# install_django_wheels: Django's wheels from PyPI (with what it depends on)
# in a directory, so that tests/apache_conf.rs can run apache-conf/daemon/
# site.conf's walk-through as written, `pip install django` included,
# without the network: it points pip there with PIP_NO_INDEX and
# PIP_FIND_LINKS.
DJANGO_WHEELS="${DJANGO_WHEELS:-/opt/mod_wsgi_rs-test/wheels-django}"
DJANGO_VERSION=5.2.8

install_django_wheels() {
    if ls "$DJANGO_WHEELS"/Django-"$DJANGO_VERSION"-*.whl "$DJANGO_WHEELS"/django-"$DJANGO_VERSION"-*.whl \
        >/dev/null 2>&1; then
        return
    fi
    install_missing python3-venv
    echo "==> downloading Django $DJANGO_VERSION's wheels into $DJANGO_WHEELS"
    local tmp
    tmp="$(mktemp -d)"
    /usr/bin/python3 -m venv "$tmp/venv"
    rm -rf "$DJANGO_WHEELS"
    mkdir -p "$DJANGO_WHEELS"
    "$tmp/venv/bin/pip" download -q --disable-pip-version-check --only-binary :all: \
        -d "$DJANGO_WHEELS" "django==$DJANGO_VERSION"
    rm -rf "$tmp"
    chmod -R a+rX "$(dirname "$DJANGO_WHEELS")"
}

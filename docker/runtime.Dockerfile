# Runtime image for mod_wsgi_rs: Debian 12 slim with Apache, the module and the
# mod_wsgi_rs package (mod_wsgi_rs-express) in a virtual environment.
#
# Build from the repository root (the build context must be the repository):
#     docker build -f docker/runtime.Dockerfile -t mod_wsgi_rs .
# (podman: add `--format docker`, or the ONBUILD steps below are dropped;
# Docker: 23 or newer, whose BuildKit has RUN --mount=type=cache.)
# Serve the application in the current directory on http://127.0.0.1:8000/:
#     docker run --rm -v "$PWD":/app -p 8000:8000 mod_wsgi_rs app.wsgi
# Arguments after the image name go to `mod_wsgi_rs-express start-server`
# (e.g. `app.wsgi --processes 2 --threads 10`). Apache runs in the foreground
# as the user `app` (uid 1000), in daemon mode, logging to the terminal;
# `docker stop` stops it (tini, PID 1, passes SIGTERM on to Apache).
#
# An image of your application, with its requirements.txt installed at build
# time, is the one-line Dockerfile
#     FROM mod_wsgi_rs
# in the application's directory (see the last stage, and README.md).
#
# docker/runtime-image.sh builds this with podman and checks all of that.

# ---------------------------------------------------------------------------
# Builder: Debian's Rust (rustc-web, 1.85) and Apache's headers.
# The ENV, the apt-get RUN and the two host-config steps are the same lines as
# docker/Dockerfile's (the test image's), so that where the test image was
# built (CI builds it first) these layers come from the cache. Keep them equal;
# if they drift, only that saving is lost.
# ---------------------------------------------------------------------------
FROM debian:bookworm AS builder

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYO3_PYTHON=/usr/bin/python3 \
    CARGO_HOME=/root/.cargo \
    CARGO_TERM_COLOR=never

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        apache2 apache2-dev \
        python3-dev python3-venv \
        libapache2-mod-wsgi-py3 python3-flask python3-django libfaketime \
        libclang-dev build-essential pkg-config \
        rustc-web cargo-web \
        curl ca-certificates git procps tini \
 && apt-get clean \
 && rustc --version && cargo --version && apache2 -v && python3 --version

COPY docker/host-config/ /tmp/host-config/
RUN set -eu; d=/tmp/host-config; \
    if ls "$d"/ca/*.crt >/dev/null 2>&1; then \
        mkdir -p /usr/local/share/ca-certificates/host-config; \
        cp "$d"/ca/*.crt /usr/local/share/ca-certificates/host-config/; \
        update-ca-certificates; \
    fi; \
    if [ -f "$d/cargo-config.toml" ]; then \
        mkdir -p "$CARGO_HOME"; cp "$d/cargo-config.toml" "$CARGO_HOME/config.toml"; \
    fi; \
    if [ -f "$d/pip.conf" ]; then cp "$d/pip.conf" /etc/pip.conf; fi; \
    if [ -f "$d/env" ]; then cp "$d/env" /etc/host-config.env; else : >/etc/host-config.env; fi; \
    rm -rf "$d"

WORKDIR /src
COPY . /src

# The virtual environment the runtime image runs from, at the same path there
# (its python is a link to /usr/bin/python3, which the runtime image has too),
# and `pip install .` into it: setup.py builds the module with cargo
# (setuptools-rust) against Debian's python3 and this Apache's apxs, and
# installs it beside the package, with the console script mod_wsgi_rs-express.
# The cache mounts keep the crates, the compiled dependencies and pip's
# downloads between builds, so a change to the source recompiles only this
# project's crates. The module loses the debug information the release
# profile keeps (18 of its 19 MB).
RUN --mount=type=cache,id=mod_wsgi_rs-cargo-registry,target=/root/.cargo/registry \
    --mount=type=cache,id=mod_wsgi_rs-runtime-target,target=/cargo-target \
    --mount=type=cache,id=mod_wsgi_rs-pip,target=/root/.cache/pip \
    set -eu; set -a; . /etc/host-config.env; set +a; \
    python3 -m venv /opt/mod_wsgi_rs; \
    CARGO_TARGET_DIR=/cargo-target /opt/mod_wsgi_rs/bin/pip install /src; \
    module=$(/opt/mod_wsgi_rs/bin/mod_wsgi_rs-express module-location); \
    strip --strip-debug "$module"; \
    ls -l "$module"; \
    /opt/mod_wsgi_rs/bin/mod_wsgi_rs-express module-config

# ---------------------------------------------------------------------------
# Runtime: Apache (apache2-bin: the server and its modules, without Debian's
# site layout and scripts; mod_wsgi_rs-express writes its own httpd.conf),
# Python's runtime and the shared libpython the module links to, tini as
# PID 1, and the venv from the builder.
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PATH=/opt/mod_wsgi_rs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        apache2-bin media-types python3 libpython3.11 ca-certificates tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && apache2 -v && python3 --version

# The build machine's CA certificates and pip configuration (staged by
# docker/runtime-image.sh; only a README when built by hand), so that pip can
# install requirements at build time behind a TLS-inspecting egress too.
COPY docker/host-config/ /tmp/host-config/
RUN set -eu; d=/tmp/host-config; \
    if ls "$d"/ca/*.crt >/dev/null 2>&1; then \
        mkdir -p /usr/local/share/ca-certificates/host-config; \
        cp "$d"/ca/*.crt /usr/local/share/ca-certificates/host-config/; \
        update-ca-certificates; \
    fi; \
    if [ -f "$d/pip.conf" ]; then cp "$d/pip.conf" /etc/pip.conf; fi; \
    rm -rf "$d"

# uid 1000: the usual first user of a Linux machine, so a mounted directory
# of that user's is the container user's own.
RUN useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin app \
 && mkdir -p /app && chown app:app /app

COPY --from=builder /opt/mod_wsgi_rs /opt/mod_wsgi_rs

WORKDIR /app
USER app
EXPOSE 8000
STOPSIGNAL SIGTERM

# tini reaps every orphan and passes SIGTERM/SIGINT on to Apache, which
# start-server exec's in the foreground.
ENTRYPOINT ["/usr/bin/tini", "--", "mod_wsgi_rs-express", "start-server", \
            "--port", "8000", "--log-to-terminal"]
CMD []

# ---------------------------------------------------------------------------
# The image itself: the runtime stage with the steps that make the one-line
# `FROM mod_wsgi_rs` Dockerfile work: the application's directory is copied to
# /app and its requirements.txt, if there is one, installed into the venv (as
# root: the venv is not the app user's to change). `--target runtime` builds
# the image without them, for Dockerfiles that order their own steps.
# ---------------------------------------------------------------------------
FROM runtime

ONBUILD USER root
ONBUILD COPY --chown=app:app . /app
ONBUILD RUN if [ -f /app/requirements.txt ]; then \
                pip install --no-cache-dir --root-user-action=ignore -r /app/requirements.txt; \
            else \
                echo "no requirements.txt in the build context: nothing to install"; \
            fi
ONBUILD USER app

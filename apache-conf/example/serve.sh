#!/usr/bin/env bash
# Serves the bundled example on http://127.0.0.1:8000/ in the foreground
# (Ctrl-C stops it). Run through `scripts/dev.sh serve`, which builds first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root=/tmp/mod_wsgi_rs-example
mkdir -p "$root"
cp "$repo/target/release/libmod_wsgi_rs.so" "$root/mod_wsgi_rs.so"
cp "$here/app.wsgi" "$root/app.wsgi"
sed -e "s|@ROOT@|$root|g" -e "s|@MODULES@|$(apxs -q LIBEXECDIR)|g" "$here/httpd.conf" > "$root/httpd.conf"
chmod -R a+rX "$root"
apache="$(apxs -q SBINDIR)/$(apxs -q TARGET)"
echo "==> serving the example on http://127.0.0.1:8000/ (Ctrl-C to stop)"
# Own session, so Apache's signals to its process group stay among its own.
exec setsid --wait "$apache" -f "$root/httpd.conf" -DFOREGROUND

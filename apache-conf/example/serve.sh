#!/usr/bin/env bash
# Serves the bundled example with httpd.conf (embedded mode, no runner) on
# http://127.0.0.1:${PORT:-8000}/ in the foreground; Ctrl-C stops it.
# Run it after `cargo build --release` (or scripts/dev.sh build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${PORT:-8000}"
# Somewhere Apache's worker user can read (a checkout under /root is not).
root="${TMPDIR:-/tmp}/mod_wsgi_rs-example-$port"
mkdir -p "$root"
cp "${MOD_WSGI_RS_MODULE:-$repo/target/release/libmod_wsgi_rs.so}" "$root/mod_wsgi_rs.so"
cp "$here/app.wsgi" "$root/app.wsgi"
sed -e "s|@ROOT@|$root|g" -e "s|@MODULES@|$(apxs -q LIBEXECDIR)|g" -e "s|@PORT@|$port|g" \
    "$here/httpd.conf" > "$root/httpd.conf"
chmod -R a+rX "$root"
apache="$(apxs -q SBINDIR)/$(apxs -q TARGET)"
echo "==> serving the example on http://127.0.0.1:$port/ (Ctrl-C to stop)"
# Apache signals its whole process group when it restarts or stops. Run
# from a terminal, this script leads a group of its own (the shell's job),
# and Apache takes this pid, so Ctrl-C reaches it. Otherwise Apache gets
# a session of its own, so that its signals stay among its own processes.
# (`setsid --wait` would fork there and leave Apache running on Ctrl-C.)
if [ "$(cut -d' ' -f5 "/proc/$$/stat")" = "$$" ]; then
    exec "$apache" -f "$root/httpd.conf" -DFOREGROUND
fi
exec setsid "$apache" -f "$root/httpd.conf" -DFOREGROUND

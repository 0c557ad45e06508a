# Fails at import, for tests/daemon_faults.rs: preloaded at daemon start
# (WSGIScriptAlias with process-group= and application-group=), the
# failure is logged and the daemon keeps running; each request tries again.

raise RuntimeError("daemon_preload_fail.wsgi fails at import on purpose")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never"]

# The access script of tests/auth_scripts.rs: refuses the loopback address
# under /blocked, lets Apache decide (None) under /undecided, and allows
# the rest; under /access-* it fails in the ways the URL names.
def allow_access(environ, host):
    uri = environ["REQUEST_URI"]
    print(
        "access-note host=%s remote_addr=%s group=%r uri=%s"
        % (host, environ["REMOTE_ADDR"], environ["mod_wsgi.application_group"], uri),
        file=environ["wsgi.errors"],
    )
    if uri.startswith("/blocked"):
        return environ["REMOTE_ADDR"] != "127.0.0.1"
    if uri.startswith("/undecided"):
        return None
    if uri.startswith("/access-raises"):
        raise RuntimeError("allow_access fails on purpose")
    if uri.startswith("/access-wrongtype"):
        return "yes"
    return True

# For tests/dispatch_script.rs: a WSGIDispatchScript for a multi-tenant
# site. The Host header picks the tenant's daemon group and interpreter,
# the query string a callable; ?fail=... each way a dispatch can fail, and
# ?probe=NAME writes the environ the script saw to run/probe-NAME.
import os

TENANTS = {
    "a.test": ("tenant-a", "site-a"),
    # bytes are accepted as mod_wsgi's C strings are.
    "b.test": (b"tenant-b", b"site-b"),
}


def _host(environ):
    return environ.get("HTTP_HOST", "").split(":")[0]


def _query(environ):
    return dict(
        part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part
    )


def process_group(environ):
    query = _query(environ)
    if "probe" in query:
        keys = [
            "mod_wsgi.process_group",
            "mod_wsgi.application_group",
            "REQUEST_URI",
            "HTTP_HOST",
            "SCRIPT_FILENAME",
            "REMOTE_ADDR",
        ]
        lines = ["%s=%s" % (k, environ.get(k, "<absent>")) for k in keys]
        lines.append("callable_absent=%s" % ("mod_wsgi.callable_object" not in environ))
        lines.append("errors=%s" % (environ.get("wsgi.errors") is not None))
        functions = ("wsgi.errors", "mod_ssl.is_https", "mod_ssl.var_lookup")
        lines.append("types=%s" % sorted({type(v).__name__ for k, v in environ.items() if k not in functions}))
        # Plain HTTP, no mod_ssl loaded.
        lines.append("mod_ssl=%r,%r" % (environ["mod_ssl.is_https"](), environ["mod_ssl.var_lookup"]("HTTPS")))
        lines.append("pid=%d" % os.getpid())
        path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "run", "probe-" + query["probe"])
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(path + ".tmp", path)
        environ["probe.seen"] = "yes"
    fail = query.get("fail")
    if fail == "raise":
        raise ValueError("dispatch refused this tenant")
    if fail == "nogroup":
        return "no-such-group"
    tenant = TENANTS.get(_host(environ))
    return tenant[0] if tenant else None


def application_group(environ):
    query = _query(environ)
    if query.get("fail") == "type":
        return 42
    if "probe" in query and environ.get("probe.seen") != "yes":
        # The three functions share one environ, as in mod_wsgi.
        raise RuntimeError("environ not shared")
    tenant = TENANTS.get(_host(environ))
    return tenant[1] if tenant else "%{GLOBAL}"


def callable_object(environ):
    query = _query(environ)
    if query.get("fail") == "latin1":
        return "app\u20ac"
    return query.get("callable")

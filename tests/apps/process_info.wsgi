# For tests/process_directives.rs: what WSGIRestrictStdin/Stdout,
# WSGICaseSensitivity and <WSGIInterpreterOptions> did to this process.
# One "key=value" line per fact.
import os
import sys


def _try(action):
    try:
        return "ok %r" % (action(),)
    except Exception as e:
        return "raised %s: %s" % (type(e).__name__, e)


# At import, as a script's top-level print() would.
PRINT_AT_IMPORT = _try(lambda: print("process_info imported"))


def application(environ, start_response):
    facts = {
        "pid": os.getpid(),
        "stdout_type": type(sys.stdout).__name__,
        "stdin_type": type(sys.stdin).__name__,
        "print_at_import": PRINT_AT_IMPORT,
        "print": _try(lambda: print("process_info request")),
        "stdin_read": _try(lambda: sys.stdin.readline),
        "stderr": _try(lambda: sys.stderr.write("")),
        "switchinterval": sys.getswitchinterval(),
        "layers": ",".join(p for p in sys.path if "/layer-" in p),
        "module": __name__,
        "application_group": environ.get("mod_wsgi.application_group"),
    }
    body = "".join("%s=%s\n" % item for item in facts.items()).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

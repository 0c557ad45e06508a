# Script reloading as mod_wsgi 6, for tests/script_reloading.rs. The
# module's reload_required(resource) hook answers from hook.txt beside the
# script ("yes", "no", "raise"); "?spoil" replaces the module's __mtime__,
# which must force a reload. Each load has its own LOAD id.

import os
import time

LOAD = time.monotonic_ns()
SEEN = []


def reload_required(resource):
    SEEN.append(resource)
    with open(os.path.join(os.path.dirname(resource), "hook.txt")) as f:
        answer = f.read().strip()
    if answer == "raise":
        raise RuntimeError("the hook failed on purpose")
    return answer == "yes"


def application(environ, start_response):
    mtime = globals().get("__mtime__")
    if environ.get("QUERY_STRING") == "spoil":
        globals()["__mtime__"] = "spoiled"
    body = "load=%d pid=%d mtime=%r seen=%s\n" % (LOAD, os.getpid(), mtime, ascii(SEEN[-1:]))
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

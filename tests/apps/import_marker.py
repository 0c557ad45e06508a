# For tests/import_script.rs: loaded by WSGIImportScript at process start.
# It leaves a file run/imported-PID (so a test sees the import happen before
# any request) and counts its loads in builtins, which the application
# reports: a request to the same script must reuse the imported module.
import builtins
import os
import time

builtins.IMPORT_LOADS = getattr(builtins, "IMPORT_LOADS", 0) + 1
IMPORTED_AT = time.time()

_run = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
with open(os.path.join(_run, "imported-%d" % os.getpid()), "w") as f:
    f.write("%d\n" % os.getpid())


def application(environ, start_response):
    body = "pid=%d\nloads=%d\nimported_at=%f\n" % (
        os.getpid(),
        builtins.IMPORT_LOADS,
        IMPORTED_AT,
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]

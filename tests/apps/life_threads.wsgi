# Per-thread identity for tests/lifecycle.rs. A threading.local lives in the
# Python thread state: its counter keeps growing across requests only if each
# Apache worker thread keeps one thread state for its whole life.
import os
import threading
import time

_local = threading.local()


def application(environ, start_response):
    _local.count = getattr(_local, "count", 0) + 1
    # Let concurrent requests overlap (the GIL is released while sleeping).
    time.sleep(0.02)
    body = ("%d %d %s %d" % (os.getpid(), threading.get_ident(), threading.current_thread().name, _local.count)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

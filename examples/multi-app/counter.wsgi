"""One script mounted twice (/a and /b) in two application groups of one
daemon process group: each group is an interpreter of its own in the same
process, with its own copy of this module, so each mount counts only its
own requests."""

import os
import threading

lock = threading.Lock()
requests = 0


def application(environ, start_response):
    global requests
    with lock:
        requests += 1
        seen = requests
    lines = [
        f"process_group={environ['mod_wsgi.process_group']}",
        f"application_group={environ['mod_wsgi.application_group']}",
        f"pid={os.getpid()}",
        f"requests={seen}",
        "",
    ]
    body = "\n".join(lines).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

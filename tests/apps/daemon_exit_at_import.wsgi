# Ends its process at import, for tests/daemon_faults.rs: preloaded at
# daemon start, every daemon of its group dies young, which the Apache
# parent must answer with a back-off rather than a fork storm.

import os

os._exit(7)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never"]

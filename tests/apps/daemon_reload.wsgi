# Script reloading in daemon mode, for tests/daemon_faults.rs: the test
# rewrites VERSION and the file's mtime; the daemon must restart and serve
# the new code.

import os

VERSION = 1


def application(environ, start_response):
    body = ("version %d from %d" % (VERSION, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

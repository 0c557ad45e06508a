# For tests/daemon_secret.rs: leaves a mark in the stage's run/ directory
# when a daemon imports it and when it runs a request, so that the test can
# tell whether a connection that is not an Apache child's got it run.

import os

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")


def mark(what):
    with open(os.path.join(RUN, "secret-probe-" + what), "a") as f:
        f.write("%d\n" % os.getpid())


mark("imported")


def application(environ, start_response):
    mark("ran")
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

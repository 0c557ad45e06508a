# request-timeout and mod_wsgi.RequestTimeout, for tests/request_timeout.rs:
# one case per PATH_INFO. What the application saw is written to the
# stage's run/ directory.

import os
import threading
import time

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


def text(start_response, body):
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def busy_loop(seconds):
    # Python bytecode all along, so that an exception raised in this thread
    # from outside fires at once. Bounded: a broken daemon does not spin for
    # ever.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def describe(e):
    return "%s.%s except-Exception=%s thread=%d" % (
        type(e).__module__, type(e).__name__, isinstance(e, Exception), threading.get_ident())


def spin(environ, start_response):
    record("spin-started", str(os.getpid()))
    try:
        busy_loop(60)
    except BaseException as e:
        record("spin-raised", describe(e))
        raise
    return text(start_response, "the loop ended")


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first;"
    busy_loop(60)
    yield b"the loop ended"


def stubborn(environ, start_response):
    # Catches RequestTimeout and carries on: only recycling ends it.
    record("stubborn-started", str(os.getpid()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            busy_loop(deadline - time.monotonic())
        except BaseException as e:
            record("stubborn-caught", describe(e))
    return text(start_response, "the loop ended")


def sleep(environ, start_response):
    seconds = float(environ["QUERY_STRING"])
    time.sleep(seconds)
    return text(start_response, "slept %s in %d" % (seconds, os.getpid()))


def raise_itself(environ, start_response):
    import mod_wsgi
    raise mod_wsgi.RequestTimeout()


def pid(environ, start_response):
    return text(start_response, str(os.getpid()))


def group(environ, start_response):
    return text(start_response, environ["mod_wsgi.application_group"])


ROUTES = {
    "/spin": spin,
    "/stream": stream,
    "/stubborn": stubborn,
    "/sleep": sleep,
    "/raise": raise_itself,
    "/pid": pid,
    "/group": group,
}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)

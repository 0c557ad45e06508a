# Application errors and close(), for tests/app_errors.rs: one case per
# PATH_INFO. close() calls are recorded in the stage's run/ directory
# (writable by Apache's user) as run/close-<QUERY_STRING>, one line a call.

import os
import time

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
TEXT = [("Content-Type", "text/plain")]


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


class Recorded:
    """A response iterable that records its close() calls."""

    def __init__(self, environ, chunks):
        self.name = "close-" + environ["QUERY_STRING"]
        self.chunks = chunks
        self.produced = 0

    def __iter__(self):
        for chunk in self.chunks():
            self.produced += 1
            yield chunk

    def close(self):
        record(self.name, "closed after %d chunks" % self.produced)


def raise_before_start(environ, start_response):
    raise ValueError("SECRET-before-start_response")


def raise_after_start(environ, start_response):
    start_response("200 OK", TEXT)
    raise ValueError("SECRET-after-start_response")


def raise_in_generator(environ, start_response):
    start_response("200 OK", TEXT)
    raise ValueError("SECRET-in-generator")
    yield b"never"


def no_start_response(environ, start_response):
    return [b"body without start_response"]


def return_none(environ, start_response):
    start_response("200 OK", TEXT)
    return None


def close_ok(environ, start_response):
    start_response("200 OK", TEXT)

    def chunks():
        yield b"one;"
        yield b"two;"

    return Recorded(environ, chunks)


def close_raise(environ, start_response):
    start_response("200 OK", TEXT)

    def chunks():
        yield b"one;"
        raise ValueError("SECRET-during-iteration")

    return Recorded(environ, chunks)


def close_raise_first(environ, start_response):
    start_response("200 OK", TEXT)

    def chunks():
        raise ValueError("SECRET-before-the-first-chunk")
        yield b"never"

    return Recorded(environ, chunks)


def close_disconnect(environ, start_response):
    # Streams (bounded) until the client goes away.
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def chunks():
        for _ in range(2000):
            yield b"x" * 65536
            time.sleep(0.005)

    return Recorded(environ, chunks)


def close_fails(environ, start_response):
    start_response("200 OK", TEXT)

    class Failing:
        def __iter__(self):
            yield b"complete body"

        def close(self):
            raise RuntimeError("close() failed")

    return Failing()


def ok(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"ok"]


ROUTES = {
    "/raise-before-start": raise_before_start,
    "/raise-after-start": raise_after_start,
    "/raise-in-generator": raise_in_generator,
    "/no-start-response": no_start_response,
    "/return-none": return_none,
    "/close-ok": close_ok,
    "/close-raise": close_raise,
    "/close-raise-first": close_raise_first,
    "/close-disconnect": close_disconnect,
    "/close-fails": close_fails,
    "/ok": ok,
}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)

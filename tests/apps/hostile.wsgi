# For tests/hostile_clients.rs, in embedded and daemon mode: one case per
# PATH_INFO; what the application saw of a hostile client is recorded in
# the stage's run/ directory, where the test reads it.

import os

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
BLOCK = 65536


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


def text(start_response, body):
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def echo(environ, start_response):
    # "QUERY_STRING PID": which request this answer is, and who ran it.
    return text(start_response, "%s %d" % (environ["QUERY_STRING"], os.getpid()))


class Big:
    """QUERY_STRING "<blocks>-<name>": that many 64 KiB blocks, each
    starting with its index; close() records how many went out."""

    def __init__(self, blocks, name):
        self.blocks = blocks
        self.name = name
        self.sent = 0

    def __iter__(self):
        filler = b"x" * (BLOCK - 8)
        for i in range(self.blocks):
            yield i.to_bytes(8, "little") + filler
            self.sent += 1

    def close(self):
        record("closed-" + self.name, "%d of %d in %d" % (self.sent, self.blocks, os.getpid()))


def big(environ, start_response):
    blocks, _, name = environ["QUERY_STRING"].partition("-")
    blocks = int(blocks)
    record("started-" + name, str(os.getpid()))
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(blocks * BLOCK))],
    )
    return Big(blocks, name)


def upload(environ, start_response):
    # Reads the body to its end, recording what read() did: "read N" or
    # the exception; QUERY_STRING names the record.
    name = environ["QUERY_STRING"]
    record("started-" + name, str(os.getpid()))
    total = 0
    try:
        while True:
            chunk = environ["wsgi.input"].read(65536)
            if not chunk:
                break
            total += len(chunk)
        outcome = "read %d" % total
    except Exception as e:
        outcome = "%s after %d: %s" % (type(e).__name__, total, e)
    record("upload-" + name, outcome)
    return text(start_response, outcome)


ROUTES = {"/echo": echo, "/big": big, "/upload": upload}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)

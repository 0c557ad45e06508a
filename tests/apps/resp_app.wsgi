# Response-side behaviour, for tests/response.rs: one case per PATH_INFO.
# Files the tests and the application share live in the stage's run/
# directory (writable by Apache's user), next to this script's apps/.

import os
import sys
import time

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
TEXT = [("Content-Type", "text/plain")]


def pattern(n):
    """n deterministic bytes, which the test computes the same way."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


def wait_for_flag(name):
    """Waits (bounded) for the test to create run/<name>."""
    path = os.path.join(RUN, name)
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.01)
    return os.path.exists(path)


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


# --- start_response: bad status lines and headers -------------------------

BAD_HEADS = {
    "/status-long": ("2000 OK", TEXT),
    "/status-letters": ("abc OK", TEXT),
    "/header-name-space": ("200 OK", [("X Name", "v")]),
    "/status-crlf": ("200 OK\r\nX-Injected: y", TEXT),
    "/header-newline": ("200 OK", [("X-Value", "a\nX-Injected: y")]),
    "/header-name-bytes": ("200 OK", [(b"X-Name", "v")]),
    "/header-value-int": ("200 OK", [("X-Value", 1)]),
    "/hop-connection": ("200 OK", [("Connection", "close")]),
    "/hop-transfer-encoding": ("200 OK", [("Transfer-Encoding", "chunked")]),
    "/headers-tuple": ("200 OK", (("Content-Type", "text/plain"),)),
    "/header-triple": ("200 OK", [("Content-Type", "text/plain", "extra")]),
}


def bad_head(environ, start_response):
    status, headers = BAD_HEADS[environ["PATH_INFO"]]
    start_response(status, headers)
    return [b"must not be sent"]


def twice(environ, start_response):
    # mod_wsgi 6: before any output, a second call replaces the head.
    start_response("200 OK", TEXT)
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Second", "yes")])
    return [b"second head"]


def twice_after_output(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"out;")
    try:
        start_response("201 Created", TEXT)
    except RuntimeError as e:
        return [str(e).encode()]
    return [b"must not be sent"]


def exc_info_list(environ, start_response):
    start_response("200 OK", TEXT, ["not", "a", "tuple"])
    return [b"must not be sent"]


def status_no_reason(environ, start_response):
    start_response("201", TEXT)
    return [b"no reason phrase"]


def exc_info_before(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise KeyError("handled by the application")
    except KeyError:
        start_response(
            "500 Application Error", [("Content-Type", "text/plain"), ("X-Replaced", "yes")], sys.exc_info()
        )
        return [b"the application's own error page"]


def exc_info_after(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"partial body;")
    try:
        raise KeyError("raised after the headers went out")
    except KeyError:
        start_response("500 Too Late", TEXT, sys.exc_info())
        return [b"must not be sent"]


def exc_info_reraise_ignored(environ, start_response):
    # The exception start_response re-raises, swallowed: the response
    # already started, so nothing the application does now can change it.
    write = start_response("200 OK", TEXT)
    write(b"partial body;")
    try:
        raise KeyError("raised after the headers went out")
    except KeyError:
        try:
            start_response("500 Too Late", TEXT, sys.exc_info())
        except KeyError:
            return [b"re-raised"]
    return [b"not re-raised"]


def write_str(environ, start_response):
    write = start_response("200 OK", TEXT)
    try:
        write("text, not bytes")
    except TypeError as e:
        return [("TypeError: %s" % e).encode()]
    return [b"write accepted str"]


def write_str_uncaught(environ, start_response):
    write = start_response("200 OK", TEXT)
    write("text, not bytes")
    return [b"must not be sent"]


def write_stream(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"first;")
    write(b"flag-seen" if wait_for_flag(environ["QUERY_STRING"]) else b"timed-out")
    return []


# --- headers go with the first non-empty chunk -----------------------------


def empty_then_raise(environ, start_response):
    start_response("200 OK", TEXT)
    yield b""
    raise RuntimeError("after an empty chunk")


def empty_list(environ, start_response):
    start_response("200 OK", TEXT)
    return []


def empty_chunks(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"", b"", b""]


def no_content(environ, start_response):
    start_response("204 No Content", [])
    return []


def not_modified(environ, start_response):
    start_response("304 Not Modified", [("ETag", '"abc"')])
    return []


# --- the response iterable ---------------------------------------------


def stream(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"first;"
    yield b"flag-seen" if wait_for_flag(environ["QUERY_STRING"]) else b"timed-out"


def str_list(environ, start_response):
    start_response("200 OK", TEXT)
    return ["text, not bytes"]


def str_whole(environ, start_response):
    start_response("200 OK", TEXT)
    return "text, not bytes"


def int_chunk(environ, start_response):
    start_response("200 OK", TEXT)
    yield 42


def bytes_then_int(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"x" * 100
    yield 42


def too_long(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"0123456789", b"EXCESS-BYTES"]


def too_long_generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    yield b"01234"
    yield b"56789EXCESS"
    yield b"MORE-EXCESS"


def too_short(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])
    return [b"only ten b"]


def too_short_generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])
    yield b"only "
    yield b"ten b"


def too_short_empty(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])
    return []


def big(environ, start_response):
    n = int(environ["QUERY_STRING"])
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])
    return [pattern(n)]


def big_generator(environ, start_response):
    n = int(environ["QUERY_STRING"])
    data = pattern(n)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def chunks():
        for i in range(0, n, 65536):
            yield data[i : i + 65536]

    return chunks()


def many_chunks(environ, start_response):
    start_response("200 OK", TEXT)
    return (b"%05d\n" % i for i in range(10000))


def not_found(environ, start_response):
    start_response("404 Not Found", TEXT)
    return [b"the application's own 404 body"]


def head(environ, start_response):
    body = b"a body that HEAD must not send"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def head_generator(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"a streamed body "
    yield b"that HEAD must not send"


ROUTES = {
    "/twice": twice,
    "/twice-after-output": twice_after_output,
    "/exc-info-list": exc_info_list,
    "/status-no-reason": status_no_reason,
    "/exc-info-before": exc_info_before,
    "/exc-info-after": exc_info_after,
    "/exc-info-reraise-ignored": exc_info_reraise_ignored,
    "/write-str": write_str,
    "/write-str-uncaught": write_str_uncaught,
    "/write-stream": write_stream,
    "/empty-then-raise": empty_then_raise,
    "/empty-list": empty_list,
    "/empty-chunks": empty_chunks,
    "/204": no_content,
    "/304": not_modified,
    "/stream": stream,
    "/str-list": str_list,
    "/str-whole": str_whole,
    "/int-chunk": int_chunk,
    "/bytes-then-int": bytes_then_int,
    "/too-long": too_long,
    "/too-long-generator": too_long_generator,
    "/too-short": too_short,
    "/too-short-generator": too_short_generator,
    "/too-short-empty": too_short_empty,
    "/big": big,
    "/big-generator": big_generator,
    "/many-chunks": many_chunks,
    "/not-found": not_found,
    "/head": head,
    "/head-generator": head_generator,
}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path in BAD_HEADS:
        return bad_head(environ, start_response)
    return ROUTES[path](environ, start_response)

# sys.stdout, sys.stderr and wsgi.errors as mod_wsgi 6 makes them, for
# tests/python_streams.rs: one case per PATH_INFO.

import sys

# At import (outside any request): into the process log.
print("STREAMS-IMPORT-LINE")
sys.stdout.buffer.write(b"STREAMS-IMPORT-BYTES\n")


def describe(stream):
    buffer = stream.buffer
    return [
        "%s=%s" % (k, v)
        for k, v in [
            ("type", type(stream).__module__ + "." + type(stream).__name__),
            ("buffer_type", type(buffer).__module__ + "." + type(buffer).__name__),
            ("encoding", stream.encoding),
            ("errors", stream.errors),
            ("line_buffering", stream.line_buffering),
            ("write_through", stream.write_through),
            ("name", stream.name),
            ("buffer_encoding", buffer.encoding),
            ("buffer_errors", buffer.errors),
            ("closed", stream.closed),
            ("isatty", stream.isatty()),
            ("writable", stream.writable()),
            ("readable", stream.readable()),
            ("seekable", stream.seekable()),
        ]
    ]


def types(environ):
    lines = []
    for label, stream in [
        ("stdout", sys.stdout),
        ("stderr", sys.stderr),
        ("errors", environ["wsgi.errors"]),
    ]:
        lines += ["%s.%s" % (label, item) for item in describe(stream)]
    return lines


def writes(environ):
    tag = environ["QUERY_STRING"]
    errors = environ["wsgi.errors"]
    sys.stdout.buffer.write(b"BYTES-" + tag.encode() + b"\n")
    sys.stdout.buffer.write(bytearray(b"BYTEARRAY-" + tag.encode() + b"\n"))
    sys.stderr.buffer.write(memoryview(b"MEMORYVIEW-" + tag.encode() + b"\n"))
    sys.stdout.buffer.writelines([b"BUFFER-", b"LINES-", tag.encode(), b"\n"])
    sys.stdout.writelines(["TEXT-", "LINES-", tag, "\n"])
    print("PRINT-STDERR-" + tag, file=sys.stderr)
    print("PRINT-STDOUT-" + tag)
    errors.write("ERRORS-TEXT-caf\u00e9-" + tag + "\n")
    errors.buffer.write("ERRORS-UTF8-\u20ac-".encode() + tag.encode() + b"\n")
    errors.writelines(["ERRORS-", "LINES-", tag, "\n"])
    # A line written in parts, through two of the streams, is one line.
    sys.stderr.buffer.write(b"SHARED-")
    errors.write("LINE-" + tag + "\n")
    errors.write("UNTERMINATED-" + tag)
    return ["ok"]


def bad_input(environ):
    out = []
    for label, call in [
        ("buffer-int", lambda: sys.stdout.buffer.write(5)),
        ("buffer-lines-int", lambda: sys.stdout.buffer.writelines(5)),
        ("buffer-lines-item", lambda: sys.stdout.buffer.writelines([b"x", 5])),
        ("text-bytes", lambda: environ["wsgi.errors"].write(b"x")),
        ("fileno", lambda: environ["wsgi.errors"].fileno()),
    ]:
        try:
            call()
            out.append("%s: no error" % label)
        except Exception as e:
            out.append("%s: %s: %s" % (label, type(e).__name__, e))
    return out


def closed(environ):
    errors = environ["wsgi.errors"]
    errors.write("BEFORE-CLOSE\n")
    errors.close()
    try:
        errors.write("AFTER-CLOSE\n")
        return ["no error"]
    except RuntimeError as e:
        return ["RuntimeError: %s" % e]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    lines = {
        "/types": types,
        "/writes": writes,
        "/bad-input": bad_input,
        "/closed": closed,
    }[path](environ)
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [("\n".join(lines) + "\n").encode("utf-8")]

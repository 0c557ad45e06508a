# For tests/hardening_validate.rs (issue 10, findings 1 and 6).
#
#   /dup-cl        two Content-Length headers that disagree (5 and 20)
#   /same-cl       the same Content-Length twice
#   /huge-cl       a Content-Length past an off_t (2**63)
#   /raw/CASE      daemon mode only: writes a Head and an End frame of its
#                  own on the channel connection its request came on, as an
#                  application that bypasses start_response could; CASE picks
#                  what is wrong with that head. It answers "clean" when
#                  start_response is used after all (the frames were refused).

import os
import socket
import struct

HEAD, END = 6, 10


def frame(kind, payload):
    return struct.pack("<BI", kind, len(payload)) + payload


def blob(b):
    return struct.pack("<I", len(b)) + b


def head(status, line, headers):
    out = struct.pack("<H", status) + blob(line) + struct.pack("<I", len(headers))
    for name, value in headers:
        out += blob(name) + blob(value)
    return frame(HEAD, out)


RAW = {
    "status-crlf": (200, b"200 OK\r\nX-Injected: 1", []),
    "value-crlf": (200, b"200 OK", [(b"X-A", b"b\r\nSet-Cookie: injected=1")]),
    "dup-cl": (200, b"200 OK", [(b"Content-Length", b"5"), (b"Content-Length", b"20")]),
    "hop": (200, b"200 OK", [(b"Transfer-Encoding", b"chunked")]),
    "huge-cl": (200, b"200 OK", [(b"Content-Length", b"9223372036854775808")]),
    "fine": (200, b"200 OK", [(b"Content-Length", b"4")]),
}


def channel_connection():
    """The daemon's accepted connection (threads=1: the request's own)."""
    listening, accepted = set(), []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            s = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        if s.family != socket.AF_UNIX or s.type != socket.SOCK_STREAM:
            s.close()
            continue
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            listening.add(s.getsockname())
            s.close()
        else:
            accepted.append(s)
    found = [s for s in accepted if s.getsockname() in listening]
    for s in accepted:
        if s not in found:
            s.close()
    assert len(found) == 1, "%d channel connections" % len(found)
    return found[0]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/dup-cl":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "5"), ("Content-Length", "20")])
        return [b"x" * 20]
    if path == "/huge-cl":
        # 2**63: past an off_t, where mod_wsgi's wsgi_strtoff fails (ERANGE).
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "9223372036854775808")])
        return [b"x"]
    if path == "/same-cl":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "5"), ("Content-Length", "5")])
        return [b"xxxxx"]
    if path.startswith("/many/"):
        # /many/COUNT/LENGTH: COUNT headers X-H-i with values of LENGTH bytes.
        count, length = map(int, path.split("/")[2:4])
        headers = [("X-H-%d" % i, "v" * length) for i in range(count)]
        start_response("200 OK", [("Content-Type", "text/plain")] + headers)
        return [b"many"]
    if path.startswith("/raw/"):
        status, line, headers = RAW[path[len("/raw/"):]]
        s = channel_connection()
        s.sendall(head(status, line, headers) + frame(HEAD + 1, b"body")
                  + frame(END, struct.pack("<BH", 0, 0)))
        s.close()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"clean"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such test"]

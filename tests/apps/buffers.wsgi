# The daemon channel options (tests/daemon_buffers.rs): the daemon's socket
# buffer sizes, long response headers, streamed and large responses.
import os
import socket
import time

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")


def unix_sockets():
    """Each UNIX stream socket of this process: kind, SO_SNDBUF, SO_RCVBUF."""
    lines = []
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            s = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with s:
            if s.family != socket.AF_UNIX or s.type != socket.SOCK_STREAM:
                continue
            listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            kind = "listener" if listening else "connection"
            sndbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            rcvbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            lines.append(f"{kind} {sndbuf} {rcvbuf}\n")
    return "".join(lines).encode()


def held(tag):
    # The first block, then nothing until the test creates run/release-TAG.
    yield b"A" * 100
    release = os.path.join(RUN, "release-" + tag)
    deadline = time.monotonic() + 30
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield b"B" * 100


class Endless:
    """64 KB blocks until the response is abandoned; says so in run/TAG."""

    def __init__(self, tag):
        self.tag = tag
        self.sent = 0

    def __iter__(self):
        block = b"x" * 65536
        while self.sent < (1 << 31):
            self.sent += len(block)
            yield block

    def close(self):
        with open(os.path.join(RUN, self.tag), "w") as f:
            f.write(f"closed after {self.sent}\n")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if path == "/sockets":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [unix_sockets()]
    if path == "/header":
        # ?LENGTH: an X-Big header of that many bytes.
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Big", "h" * int(query))])
        return [b"header sent"]
    if path == "/held":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return held(query)
    if path == "/zeros":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [bytes(65536)] * 16
    if path == "/endless":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Endless(query)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such path"]

# A minimal client of the daemon-mode channel (see crates/wsgi/src/channel),
# for tests/daemon.rs: run as some user, it connects to a daemon group's
# socket, speaks the protocol as an Apache child would, and prints what
# happened on one line:
#
#   python3 daemon_client.py SOCKET SCRIPT SCRIPT_NAME PATH_INFO [PROOF]
#
# prints "hello pid=N status=S body=..." on success, "refused: <error>" if
# the connection cannot be made, "closed: ..." if the daemon closes it.
# PROOF (hex) is what its Hello offers as the group's secret (none if
# omitted): a process that is not one of Apache's children cannot know it.

import os
import socket
import struct
import sys

VERSION = 5
MAGIC = b"WSGIRS"
HELLO, REQUEST, READ, BODY, HEAD, DATA, DATA_FLUSH, END = 1, 2, 3, 4, 6, 7, 8, 10


def frame(kind, payload):
    return struct.pack("<BI", kind, len(payload)) + payload


def blob(b):
    return struct.pack("<I", len(b)) + b


def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("the daemon closed the connection after %d bytes" % len(out))
        out += chunk
    return out


def read_frame(s):
    kind, length = struct.unpack("<BI", read_exact(s, 5))
    return kind, read_exact(s, length)


def main():
    path, script, script_name, path_info = sys.argv[1:5]
    proof = bytes.fromhex(sys.argv[5]) if len(sys.argv) > 5 else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError as e:
        print("refused: %s" % type(e).__name__)
        return
    try:
        hello = blob(MAGIC) + struct.pack("<HI", VERSION, os.getpid()) + blob(proof)
        s.sendall(frame(HELLO, hello))
        kind, payload = read_frame(s)
        assert kind == HELLO, kind
        at = 4 + len(MAGIC) + 2
        pid = struct.unpack("<I", payload[at : at + 4])[0]
        variables = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": script_name,
            "PATH_INFO": path_info,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
        }
        request = struct.pack("<B", 8) + blob(script.encode()) + struct.pack("<q", 0)
        request += blob(b"application") + struct.pack("<Q", 0) + blob(b"http") + blob(b"")
        # Queue start (monotonic), then request and queue start (wall clock).
        request += struct.pack("<qqq", 0, 0, 0)
        for k, v in variables.items():
            request += blob(k.encode()) + blob(v.encode())
        s.sendall(frame(REQUEST, request))
        status, body = None, b""
        while True:
            kind, payload = read_frame(s)
            if kind == HEAD:
                status = struct.unpack("<H", payload[:2])[0]
            elif kind in (DATA, DATA_FLUSH):
                body += payload
            elif kind == READ:
                s.sendall(frame(BODY, b""))
            elif kind == END:
                break
        print("hello pid=%d status=%s body=%s" % (pid, status, body.decode(errors="replace")))
    except (OSError, EOFError) as e:
        print("closed: %s: %s (client pid %d)" % (type(e).__name__, e, os.getpid()))


main()

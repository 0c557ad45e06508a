"""The soak's load: one process per server under test, each with a few
threads on keep-alive connections (raw sockets, so that what the server
sent is checked byte for byte and a client can leave mid-response).

Every request is one of the kinds below, picked by its sequence number from
a fixed, shuffled pattern of 100, so every server gets the same mix."""

import collections
import random
import signal
import socket
import struct
import threading
import time

KIB = 1024
UPLOAD = bytes(range(256)) * 512  # 128 KiB
UPLOAD_ANSWER = f"{len(UPLOAD)} {sum(UPLOAD) & 0xFFFFFFFF}".encode()
FILE_SIZE = 512 * KIB
STREAM = b"".join(bytes([65 + i % 26]) * KIB for i in range(64))
DISCONNECT_AFTER = 128 * KIB

# kind: (share in %, method, path)
KINDS = {
    "hello": (56, "GET", "/hello"),
    "big": (15, "GET", "/big"),
    "stream": (12, "GET", "/stream"),
    "upload": (7, "POST", "/upload"),
    "file": (6, "GET", "/file"),
    "disconnect": (3, "GET", "/endless"),
    "fail": (1, "GET", "/fail"),
}
assert sum(share for share, _, _ in KINDS.values()) == 100
PATTERN = [kind for kind, (share, _, _) in KINDS.items() for _ in range(share)]
random.Random(10).shuffle(PATTERN)


class Gone(Exception):
    """The server closed or reset the connection."""

    def __init__(self, text, nothing_read):
        super().__init__(text)
        self.nothing_read = nothing_read


class Conn:
    """One keep-alive connection; reopened when the server closes it."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.served = 0  # responses on this connection
        self.got_bytes = False  # any byte of the current response

    def open(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.served = 0

    def close(self, reset=False):
        if self.sock is not None:
            if reset:
                # SO_LINGER 0: close() sends RST, as a client that crashes would.
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
            self.sock = None

    def fill(self):
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError as e:
            raise Gone(f"reset: {e}", not self.got_bytes and not self.buf) from None
        if not data:
            raise Gone("closed", not self.got_bytes and not self.buf)
        self.got_bytes = True
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self.fill()

    def exact(self, n):
        parts, have = [self.buf], len(self.buf)
        while have < n:
            try:
                data = self.sock.recv(max(65536, n - have))
            except ConnectionResetError as e:
                raise Gone(f"reset: {e}", False) from None
            if not data:
                raise Gone(f"closed after {have} of {n} body bytes", False)
            parts.append(data)
            have += len(data)
        data = b"".join(parts) if len(parts) > 1 else parts[0]
        self.buf = data[n:]
        return data[:n]

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self.fill()
        head, self.buf = self.buf[:i], self.buf[i + 4:]
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            # A repeated header is kept whole, so a duplicated Content-Length shows.
            headers[name] = headers[name] + b"," + value.strip() if name in headers else value.strip()
        return status, headers

    def body(self, headers):
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return b"".join(parts)
                parts.append(self.exact(size))
                if self.exact(2) != b"\r\n":
                    raise ValueError("bad chunk end")
        if b"content-length" in headers:
            return self.exact(int(headers[b"content-length"]))
        parts = [self.buf]  # delimited by the connection's end
        self.buf = b""
        while True:
            data = self.sock.recv(262144)
            if not data:
                break
            parts.append(data)
        self.close()
        return b"".join(parts)

    def exchange(self, method, path, body=None):
        """One request and its response; returns (status, headers, body)."""
        if self.sock is None:
            self.open()
        self.got_bytes = False
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if body is not None:
            head += f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n"
        try:
            self.sock.sendall(head.encode() + b"\r\n" + (body or b""))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Gone(f"send: {e}", True) from None
        status, headers = self.head()
        if method == "GET" and path == "/endless":
            return status, headers, None
        data = self.body(headers)
        self.served += 1
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, data


def check(kind, status, headers, body):
    """None if the response is the right one for its kind, else why not."""
    if kind == "fail":
        return None if status == 500 else f"HTTP {status}, wanted 500"
    if status != 200:
        return f"HTTP {status}"
    if b"," in headers.get(b"content-length", b""):
        return f"repeated Content-Length {headers[b'content-length']!r}"
    expect = {"hello": b"Hello World", "upload": UPLOAD_ANSWER, "stream": STREAM}
    if kind in expect:
        ok = body == expect[kind]
    elif kind == "big":
        ok = len(body) == 65536 and body.count(b"x") == 65536
    elif kind == "file":
        ok = len(body) == FILE_SIZE
    else:
        ok = True
    return None if ok else f"wrong body: {len(body)} bytes, {body[:60]!r}"


class Tally:
    """What one server's threads saw; `lock` guards the counters."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = collections.Counter()  # kind -> answered as expected
        self.errors = collections.Counter()  # (kind, why) -> count
        self.examples = collections.defaultdict(list)  # (kind, why) -> first few times
        self.retried = collections.Counter()  # kind -> keep-alive close races retried

    def error(self, kind, why):
        with self.lock:
            self.errors[(kind, why)] += 1
            if len(self.examples[(kind, why)]) < 5:
                self.examples[(kind, why)].append(time.strftime("%H:%M:%S"))

    def as_dict(self):
        with self.lock:
            return {"ok": dict(self.ok), "retried": dict(self.retried),
                    "errors": [{"kind": k, "why": w, "count": n, "at": self.examples[(k, w)]}
                               for (k, w), n in self.errors.most_common()]}


def one(conn, kind, tally, seq):
    _, method, path = KINDS[kind]
    body = UPLOAD if kind == "upload" else None
    for attempt in (1, 2):
        reused = conn.sock is not None and conn.served > 0
        try:
            status, headers, data = conn.exchange(method, path, body)
            break
        except Gone as e:
            conn.close()
            # A keep-alive connection the server closed just as this request
            # went out (graceful restart, child recycling, keep-alive limit):
            # nothing was answered, so a client resends it once (RFC 9112 9.3.1).
            if reused and e.nothing_read and attempt == 1:
                with tally.lock:
                    tally.retried[kind] += 1
                continue
            tally.error(kind, f"connection lost: {e}")
            return
        except (OSError, ValueError) as e:
            conn.close()
            tally.error(kind, f"{type(e).__name__}: {e}")
            return
    if kind == "disconnect":
        if status != 200:
            tally.error(kind, f"HTTP {status}")
            conn.close()
            return
        try:
            conn.exact(DISCONNECT_AFTER)
        except (Gone, OSError) as e:
            tally.error(kind, f"lost before {DISCONNECT_AFTER} bytes: {e}")
        conn.close(reset=seq % 2 == 1)  # every other one leaves with an RST
        with tally.lock:
            tally.ok[kind] += 1
        return
    why = check(kind, status, headers, data)
    if why:
        tally.error(kind, why)
        conn.close()
    else:
        with tally.lock:
            tally.ok[kind] += 1


def drive(port, requests, connections, progress, stop, result_queue, name, timeout=60):
    """Runs in its own process: `requests` requests over `connections`
    threads; progress[0] is kept at the number done; the tally goes back
    through result_queue."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller stops us through `stop`
    tally = Tally()
    counter = iter(range(requests))
    lock = threading.Lock()
    done = [0]

    def worker():
        conn = Conn(port, timeout)
        while not stop.is_set():
            with lock:
                seq = next(counter, None)
            if seq is None:
                break
            one(conn, PATTERN[seq % len(PATTERN)], tally, seq)
            with lock:
                done[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        progress[0] = done[0]
        progress[1] = sum(tally.errors.values())
        threads[0].join(0.2) if threads[0].is_alive() else time.sleep(0.2)
    progress[0] = done[0]
    progress[1] = sum(tally.errors.values())
    result_queue.put((name, tally.as_dict()))

# Daemon mode, for tests/daemon.rs and tests/daemon_faults.rs: one case per
# PATH_INFO. Files shared with the tests live in the stage's run/ directory
# (writable by every user the daemons run as).

import atexit
import os
import sys
import threading
import time

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
TEXT = [("Content-Type", "text/plain")]


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


def _at_exit():
    record("atexit-%d" % os.getpid(), "atexit ran")


atexit.register(_at_exit)


def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _base_block():
    # 64 KiB of xorshift64 output, as the tests make it.
    x = 0x9E3779B97F4A7C15
    out = bytearray()
    mask = (1 << 64) - 1
    for _ in range(65536 // 8):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out += x.to_bytes(8, "little")
    return bytes(out)


BASE = _base_block()


def block(i):
    """The 64 KiB block number i of the deterministic stream the tests use:
    its index, then the fixed pseudo-random block."""
    return i.to_bytes(8, "little") + BASE[8:]


def info(environ, start_response):
    facts = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "egid": os.getegid(),
        "groups": sorted(os.getgroups()),
        "cwd": os.getcwd(),
        "multiprocess": environ["wsgi.multiprocess"],
        "multithread": environ["wsgi.multithread"],
        "run_once": environ["wsgi.run_once"],
        "process_group": environ.get("mod_wsgi.process_group"),
        "application_group": environ.get("mod_wsgi.application_group"),
        "threads": threading.active_count(),
        "query": environ.get("QUERY_STRING", ""),
        "time": int(time.time()),
    }
    body = "".join("%s=%s\n" % (k, facts[k]) for k in sorted(facts))
    return text(start_response, body)


def pid(environ, start_response):
    return text(start_response, str(os.getpid()))


def slow(environ, start_response):
    # QUERY_STRING: "<seconds>" or "<seconds>-<name>"; the start is recorded
    # in run/started-<name> so that the test knows the request is running.
    query = environ["QUERY_STRING"]
    seconds, _, name = query.partition("-")
    if name:
        record("started-" + name, str(os.getpid()))
    time.sleep(float(seconds))
    if name:
        record("finished-" + name, str(os.getpid()))
    return text(start_response, "slept %s in %d" % (seconds, os.getpid()))


def slow_stream(environ, start_response):
    # Headers and a first chunk at once, the rest after QUERY_STRING seconds.
    seconds = float(environ["QUERY_STRING"])
    start_response("200 OK", TEXT)
    yield b"first;"
    time.sleep(seconds)
    yield b"last in %d" % os.getpid()


def exit_now(environ, start_response):
    os._exit(3)


def exit_after_headers(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"partial;"
    time.sleep(0.2)
    os._exit(4)


def spin(environ, start_response):
    # An endless loop (bounded, so that a broken daemon does not burn a CPU
    # for ever).
    record("spin-started", str(os.getpid()))
    deadline = time.time() + 120
    while time.time() < deadline:
        pass
    return text(start_response, "the loop ended")


def upload(environ, start_response):
    # Compares the body with the deterministic stream as it arrives; nothing
    # is kept beyond one read.
    inp = environ["wsgi.input"]
    total = 0
    pending = b""
    index = 0
    mismatch = None
    while True:
        chunk = inp.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        buf = pending + chunk
        pos = 0
        while len(buf) - pos >= 65536:
            if mismatch is None and buf[pos : pos + 65536] != block(index):
                mismatch = index
            pos += 65536
            index += 1
        pending = buf[pos:]
    if pending and mismatch is None and pending != block(index)[: len(pending)]:
        mismatch = index
    result = "ok" if mismatch is None else "mismatch in block %d" % mismatch
    return text(start_response, "%d %s" % (total, result))


def download(environ, start_response):
    # QUERY_STRING: the number of 64 KiB blocks.
    blocks = int(environ["QUERY_STRING"])
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(blocks * 65536))],
    )

    def chunks():
        for i in range(blocks):
            yield block(i)

    return chunks()


KEPT = []


def grow(environ, start_response):
    # Keeps QUERY_STRING MB alive in this process, for memory-limit.
    KEPT.append(bytearray(int(environ["QUERY_STRING"]) << 20))
    return text(start_response, "kept %d MB in %d" % (sum(len(k) for k in KEPT) >> 20, os.getpid()))


def burn(environ, start_response):
    # Uses QUERY_STRING seconds of CPU time, for cpu-time-limit.
    deadline = time.process_time() + float(environ["QUERY_STRING"])
    while time.process_time() < deadline:
        pass
    return text(start_response, "burnt in %d" % os.getpid())


def hold_gil(environ, start_response):
    # Blocks in C with the GIL held (PyDLL calls do not release it), for
    # deadlock-timeout.
    import ctypes

    ctypes.PyDLL(None).sleep(int(environ["QUERY_STRING"]))
    return text(start_response, "the GIL came back")


def called(environ, start_response):
    record("called-" + environ["QUERY_STRING"], str(os.getpid()))
    return text(start_response, "called")


ROUTES = {
    "/info": info,
    "/pid": pid,
    "/slow": slow,
    "/slow-stream": slow_stream,
    "/exit": exit_now,
    "/exit-after-headers": exit_after_headers,
    "/spin": spin,
    "/upload": upload,
    "/download": download,
    "/called": called,
    "/grow": grow,
    "/burn": burn,
    "/hold-gil": hold_gil,
}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)

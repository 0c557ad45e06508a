# For tests/hardening_supervise.rs: an application that writes over every
# daemon heartbeat it can reach. It scans each writable shared mapping of
# its process for 8-byte words that look like a recent heartbeat (a
# CLOCK_MONOTONIC time in microseconds, within the last two minutes) and
# keeps overwriting them with a time 5 s in the past for as many seconds as
# the query string says: stale for a daemon whose deadlock-timeout is 2 s.
# It answers how many mappings and words it found.

import ctypes
import os
import time


def monotonic_micros():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000)


def shared_writable_mappings():
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if fields[1].startswith("rw") and fields[1][3] == "s":
                start, end = (int(x, 16) for x in fields[0].split("-"))
                found.append((start, end))
    return found


def looks_like_heartbeat(value, now):
    return now - 120_000_000 <= value <= now + 5_000_000


def find_heartbeats():
    now = monotonic_micros()
    words = []
    mappings = 0
    for start, end in shared_writable_mappings():
        array = (ctypes.c_uint64 * ((end - start) // 8)).from_address(start)
        hits = [i for i in range(len(array)) if looks_like_heartbeat(array[i], now)]
        if hits:
            mappings += 1
            words.extend((array, i) for i in hits)
    return mappings, words


def application(environ, start_response):
    seconds = float(environ.get("QUERY_STRING") or "3")
    mappings, words = find_heartbeats()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stale = monotonic_micros() - 5_000_000
        for array, i in words:
            array[i] = stale
        time.sleep(0.01)
    body = ("pid=%d mappings=%d words=%d" % (os.getpid(), mappings, len(words))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

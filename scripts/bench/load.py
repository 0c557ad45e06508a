"""The load generators: wrk for timed runs, ab for a fixed number of
requests, and http.client for one checked request. Pinned with taskset."""

import http.client
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def wrk(url, connections, seconds, cpu=None, script="report.lua", timeout="30s"):
    """One wrk run (one thread, keep-alive). Returns its figures, with
    requests/s and MiB/s received computed from the exact duration."""
    cmd = pin(cpu) + ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}",
                      "--latency", "-s", script, url]
    out = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=seconds + 120)
    match = re.search(r"^WRK_JSON (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({' '.join(cmd)}):\n{out.stdout}{out.stderr}")
    r = json.loads(match.group(1))
    secs = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / secs
    r["recv_mib_s"] = r["bytes"] / secs / 2**20
    r["failed"] = sum(r["errors"].values())
    return r


def ab(url, requests, connections, cpu=None):
    """Exactly `requests` keep-alive GETs with ab; raises if any failed."""
    cmd = pin(cpu) + ["ab", "-q", "-k", "-n", str(requests), "-c", str(connections), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    failed = re.search(r"Failed requests:\s+(\d+)", text)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", text)
    if out.returncode != 0 or not failed or int(failed.group(1)) or non2xx:
        raise RuntimeError(f"ab failed ({' '.join(cmd)}):\n{text}")


def fetch(url, method="GET", body=None):
    """One request; returns (status, body bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request(method, parts.path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()

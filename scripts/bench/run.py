#!/usr/bin/python3
"""The benchmark itself; scripts/bench.sh builds and installs first, then
runs this. See docs/benchmarks.md for what is measured and how."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import callgrind
import cgprofile
import load
import report
from apache import ROOT, Apache
from servers import DAEMON, all_servers

HERE = Path(__file__).resolve().parent
APACHE_CPU, LOAD_CPU = 0, 1
MIB = 2**20
BIG_FILE = 100 * MIB
COLUMNS = ["rs", "m494", "m611", "static"]


@dataclass
class Workload:
    key: str
    title: str
    connections: int
    paths: dict  # column -> URL path; a column left out is not measured
    expect: object  # the body a check request must get: bytes, or its length
    unit: str = "req/s"
    daemon: bool = False
    script: str = "report.lua"
    upload: bool = False


HELLO = {"rs": "/hello", "m494": "/hello", "m611": "/hello", "static": "/hello.txt"}
WSGI = ("rs", "m494", "m611")
WORKLOADS = [
    Workload("hello", "hello world (11 bytes), embedded", 16, HELLO, b"Hello World"),
    Workload("hello64", "hello world, embedded, 64 connections", 64, HELLO, b"Hello World"),
    Workload("daemon", "hello world, daemon mode (processes=2 threads=15)", 16,
             {c: "/hello" for c in WSGI}, b"Hello World", daemon=True),
    Workload("big", "64 KiB response", 16, {c: "/big" for c in WSGI}, 65536),
    Workload("file", "100 MiB file, wsgi.file_wrapper", 2,
             {**{c: "/file" for c in WSGI}, "static": "/100M.bin"}, BIG_FILE, unit="MiB/s"),
    Workload("upload", "100 MiB upload, wsgi.input 64 KiB reads", 2, {c: "/upload" for c in WSGI},
             str(BIG_FILE).encode(), unit="MiB/s", script="upload.lua", upload=True),
    Workload("chunks", "generator of 10,000 10-byte chunks", 16, {c: "/chunks" for c in WSGI}, 100000),
]


def instance_key(workload, column):
    return column + "d" if workload.daemon else column


def figure(workload, r):
    """The throughput figure of one wrk run, in the workload's unit."""
    if workload.upload:
        return r["rps"] * BIG_FILE / MIB
    return r["recv_mib_s"] if workload.unit == "MiB/s" else r["rps"]


def prepare(module):
    """ROOT: the apps, a copy of our module, the static files; all readable
    by www-data."""
    for sub in ("apps", "servers", "results"):
        shutil.rmtree(ROOT / sub, ignore_errors=True)
    (ROOT / "htdocs").mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "apps", ROOT / "apps")
    (ROOT / "servers").mkdir()
    (ROOT / "results").mkdir()
    shutil.copy(module, ROOT / "mod_wsgi_rs.so")
    (ROOT / "htdocs" / "hello.txt").write_bytes(b"Hello World")
    big = ROOT / "htdocs" / "100M.bin"
    if not big.exists() or big.stat().st_size != BIG_FILE:
        with open(big, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(MIB))
    subprocess.run(["chmod", "-R", "a+rX", str(ROOT)], check=True)


def check(workload, url):
    """One request; None when the response is the expected one, else why not."""
    body = b"u" * BIG_FILE if workload.upload else None
    try:
        status, got = load.fetch(url, "POST" if workload.upload else "GET", body)
    except OSError as e:
        return f"request failed: {e}"
    ok = got == workload.expect if isinstance(workload.expect, bytes) else len(got) == workload.expect
    return None if status == 200 and ok else f"HTTP {status}, body {got[:120]!r} ({len(got)} bytes)"


def loadavg():
    return float(Path("/proc/loadavg").read_text().split()[0])


def log(text):
    print(text, flush=True)


def start_error(text):
    # Our module rejects the daemon directives until daemon mode lands.
    if "not supported" in text:
        return "not implemented"
    return "Apache did not start: " + text.strip().splitlines()[-1][:200]


def check_and_warm_up(args, w, instances, refused, entry):
    for col, path in w.paths.items():
        key = instance_key(w, col)
        error = start_error(refused[key]) if key in refused else check(w, instances[key].url(path))
        entry["columns"][col] = {"runs": [], "error": error}
        if error:
            log(f"  {w.key} {col}: not measured: {error}")
        elif args.warmup:
            load.wrk(instances[key].url(path), w.connections, args.warmup, LOAD_CPU, w.script)


def one_run(args, w, col, inst, cell):
    try:
        r = load.wrk(inst.url(w.paths[col]), w.connections, args.duration, LOAD_CPU, w.script)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        cell["error"] = f"wrk failed: {str(e)[-300:]}"
        log(f"  {w.key:8} {col:7} {cell['error']}")
        return
    r["value"] = figure(w, r)
    r["loadavg"] = loadavg()
    cell["runs"].append(r)
    log(f"  {w.key:8} {col:7} {r['value']:10.1f} {w.unit:6} p50 {r['p50_us'] / 1000:7.2f} ms"
        f"  p99 {r['p99_us'] / 1000:7.2f} ms  errors {r['failed']}")


def throughput_phase(args, servers, results):
    instances = {key: Apache(key, s.wsgi_config(), cpu=APACHE_CPU) for key, s in servers.items()}
    refused = {}
    try:
        for key, inst in instances.items():
            try:
                inst.start()
            except RuntimeError as e:
                refused[key] = str(e)
        for key, inst in instances.items():
            if servers[key].load and key not in refused:
                try:
                    status, text = load.fetch(inst.url("/probe"))
                    text = text.decode(errors="replace") if status == 200 else f"HTTP {status}"
                except OSError as e:
                    text = f"request failed: {e}"
                results["probes"][servers[key].label] = text
        for w in WORKLOADS:
            entry = {"title": w.title, "unit": w.unit, "connections": w.connections, "columns": {}}
            results["workloads"][w.key] = entry
            check_and_warm_up(args, w, instances, refused, entry)
        for rnd in range(1, args.rounds + 1):
            log(f"==> round {rnd} of {args.rounds} (load average {loadavg():.2f})")
            for w in WORKLOADS:
                # A B C, then B C A, ...: no server always runs first after a change of workload.
                cells = list(results["workloads"][w.key]["columns"].items())
                shift = (rnd - 1) % len(cells)
                for col, cell in cells[shift:] + cells[:shift]:
                    if not cell["error"]:
                        one_run(args, w, col, instances[instance_key(w, col)], cell)
    finally:
        for inst in instances.values():
            inst.stop()


def hello_requests(inst, n):
    """n keep-alive hello-world requests, in batches of 1,000 (16 new
    connections each), so that every Apache child gets some: a child serving
    its first requests grows once, which is not growth per request."""
    for batch in range(0, n, 1000):
        load.ab(inst.url("/hello"), min(1000, n - batch), 16, LOAD_CPU)


def memory_phase(args, servers, results):
    """A fresh instance per module: hello world N times, memory, N more, memory."""
    n = args.memory_requests
    for col in WSGI:
        try:
            with Apache(f"mem-{col}", servers[col].wsgi_config(), cpu=APACHE_CPU) as inst:
                hello_requests(inst, n)
                first = inst.memory_kib()
                hello_requests(inst, n)
                second = inst.memory_kib()
        except (RuntimeError, subprocess.SubprocessError) as e:
            results["failures"].append(f"memory, {col}: {e}")
            log(f"  {col:7} FAILED: {e}")
            continue
        results["memory"][col] = {"requests": n, "first": first, "second": second}
        log(f"  {col:7} RSS of {first['children']} children after {n}: {first['rss_kib'] / 1024:.1f} MiB, "
            f"after {2 * n}: {second['rss_kib'] / 1024:.1f} MiB ({second['children']} children)")


def callgrind_phase(args, servers, results):
    cases = [(col, "/hello") for col in WSGI] + [("static", "/hello.txt")]
    for col, path in cases:
        try:
            cg = callgrind.instructions_per_request(col, servers[col].wsgi_config(), path, 200, 1200)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            results["failures"].append(f"callgrind, {col}: {e}")
            log(f"  {col:7} FAILED: {e}")
            continue
        cg["objects"] = cgprofile.objects_per_request(cg)
        results["callgrind"][col] = cg
        log(f"  {col:7} {cg['per_request']:,.0f} instructions per request")
    if "rs" in results["callgrind"]:
        results["profile_functions"] = cgprofile.module_functions_per_request(results["callgrind"]["rs"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--venv", required=True, help="virtualenv with mod_wsgi 6.1.1")
    parser.add_argument("--module", required=True, help="our module's .so")
    parser.add_argument("--output", help="markdown report to write")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server and workload")
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--report-from", metavar="RESULTS_JSON", help="only rewrite the report from saved figures")
    args = parser.parse_args()
    if args.report_from:
        results = json.loads(Path(args.report_from).read_text())
        results.setdefault("config", {"rs": all_servers(args.venv)["rs"].wsgi_config(), "daemon": DAEMON})
        Path(args.output or ROOT / "results" / "benchmarks.md").write_text(report.markdown(results, WORKLOADS))
        return
    if args.quick:
        args.rounds, args.duration, args.warmup, args.memory_requests = 1, 1, 0, 2000
        args.no_callgrind = True
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs two CPUs: Apache is pinned to CPU 0 and the load generator to CPU 1")

    started = time.time()
    prepare(args.module)
    servers = all_servers(args.venv)
    results = {"args": vars(args), "machine": report.machine(), "loadavg_start": loadavg(),
               "config": {"rs": servers["rs"].wsgi_config(), "daemon": DAEMON},
               "workloads": {}, "probes": {}, "memory": {}, "callgrind": {}, "profile_functions": [],
               "failures": []}
    log(f"==> throughput: Apache on CPU {APACHE_CPU}, wrk on CPU {LOAD_CPU}; "
        f"{args.rounds} round(s) of {args.duration} s per run")
    throughput_phase(args, servers, results)
    log(f"==> memory: {args.memory_requests} and {2 * args.memory_requests} hello-world requests")
    memory_phase(args, servers, results)
    if not args.no_callgrind:
        log("==> callgrind: instructions per request (N = 200 and N = 1200)")
        callgrind_phase(args, servers, results)
    results["loadavg_end"] = loadavg()
    results["minutes"] = round((time.time() - started) / 60, 1)
    (ROOT / "results" / "results.json").write_text(json.dumps(results, indent=1, default=str))
    text = report.markdown(results, WORKLOADS)
    print(text)
    out = Path(args.output) if args.output else ROOT / "results" / "benchmarks.md"
    out.write_text(text)
    log(f"==> report written to {out}; raw figures in {ROOT / 'results' / 'results.json'}")
    cells = [c for e in results["workloads"].values() for c in e["columns"].values() if c["error"] != "not implemented"]
    failed = sum(1 for c in cells if c["error"]) + len(results["failures"])
    # A plain closing line CI can count; a failed check or wrk run fails the command.
    print(f"bench: {len(cells) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

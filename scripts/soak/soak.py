#!/usr/bin/python3
"""The soak itself; scripts/soak.sh installs and builds first, then runs
this. Four Apaches side by side (mod_wsgi_rs and Debian's mod_wsgi 4.9.4,
each embedded and in daemon mode), the same mixed workload through each at
the same time, graceful restarts every --restart-every requests and
recycling (daemons: maximum-requests; Apache children: MaxConnectionsPerChild)
throughout. Records every unexpected answer, and the RSS and descriptors of
every process before and after."""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_ROOT", "/tmp/mod_wsgi_rs-soak")
HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent / "bench"))

from apache import ROOT, Apache, alive, field  # noqa: E402

import client  # noqa: E402
import soak_report  # noqa: E402

RS = f"LoadModule wsgi_module {ROOT}/mod_wsgi_rs.so"
M494 = "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so"
PREFORK = "StartServers 4\nMinSpareServers 2\nMaxSpareServers 8\nMaxRequestWorkers 32"
APPS = ["hello", "big", "stream", "upload", "file", "endless", "fail"]


def wsgi_config(load, daemon, args):
    # Recycling of Apache's own children, in both modes: a client connection
    # ends after 500 requests, a child after MaxConnectionsPerChild of them.
    # After scripts/bench's MPM lines, so these win. Prefork: a process per
    # connection, enough for the clients and a few spare.
    lines = [PREFORK] if args.mpm == "prefork" else []
    lines += [f"MaxKeepAliveRequests {args.keepalive_requests}",
             f"MaxConnectionsPerChild {args.connections_per_child}",
             load, "WSGIApplicationGroup %{GLOBAL}"]
    if daemon:
        lines += ["WSGISocketPrefix @DIR@/run/wsgi",
                  f"WSGIDaemonProcess soak processes=2 threads=15 display-name=%{{GROUP}} "
                  f"maximum-requests={args.maximum_requests}",
                  "WSGIProcessGroup soak"]
    lines += [f"WSGIScriptAlias /{app} @ROOT@/apps/{app}.wsgi" for app in APPS]
    return "\n".join(lines)


def servers(args):
    every = {"rs": ("mod_wsgi_rs, embedded", RS, False), "rsd": ("mod_wsgi_rs, daemon", RS, True),
             "m494": ("mod_wsgi 4.9.4, embedded", M494, False),
             "m494d": ("mod_wsgi 4.9.4, daemon", M494, True)}
    return {key: every[key] for key in args.servers.split(",")}


def prepare(module):
    for sub in ("apps", "servers", "results", "htdocs"):
        shutil.rmtree(ROOT / sub, ignore_errors=True)
    shutil.copytree(HERE / "apps", ROOT / "apps")
    for sub in ("servers", "results", "htdocs"):
        (ROOT / sub).mkdir(parents=True)
    shutil.copy(module, ROOT / "mod_wsgi_rs.so")
    (ROOT / "htdocs" / "512K.bin").write_bytes(os.urandom(client.FILE_SIZE))
    subprocess.run(["chmod", "-R", "a+rX", str(ROOT)], check=True)


def processes(inst):
    """Every process of one Apache: the parent, its children and the
    daemons (whose command line is "(wsgi:soak)"), with RSS, descriptors
    and threads."""
    parent = inst.pid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if pid != parent and ppid != parent:
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        role = "parent" if pid == parent else "daemon" if cmd.startswith("(wsgi:") else "child"
        found.append({"pid": pid, "role": role, "rss_kib": field(f"/proc/{pid}/status", "VmRSS:"),
                      "fds": fds, "threads": field(f"/proc/{pid}/status", "Threads:")})
    return sorted(found, key=lambda p: (["parent", "child", "daemon"].index(p["role"]), p["pid"]))


def log(text):
    print(time.strftime("%H:%M:%S ") + text, flush=True)


def settle(instances, seconds):
    """Idle time before a start or end sample: keep-alive connections time
    out (KeepAliveTimeout 5) and daemons finish what they were doing."""
    time.sleep(seconds)
    for key, inst in instances.items():
        if not alive(inst.pid() or 0):
            raise RuntimeError(f"{key}: Apache's parent is gone:\n{inst.error_log()[-2000:]}")


def phase(instances, requests, args, results, restarts):
    """`requests` requests through every server at once; with `restarts`,
    a graceful restart of a server each time it has done --restart-every."""
    stop = multiprocessing.Event()
    queue = multiprocessing.Queue()
    progress = {key: multiprocessing.Array("q", 2, lock=False) for key in instances}
    procs = {key: multiprocessing.Process(target=client.drive, daemon=True,
                                          args=(inst.port, requests, args.connections, progress[key],
                                                stop, queue, key))
             for key, inst in instances.items()}
    started = time.time()
    for p in procs.values():
        p.start()
    next_restart = {key: args.restart_every for key in instances}
    last_report = time.time()
    tallies = {}
    try:
        while len(tallies) < len(procs):
            while not queue.empty():
                key, tally = queue.get()
                tallies[key] = tally
            for key, inst in instances.items():
                done = progress[key][0]
                if restarts and done >= next_restart[key] and done < requests:
                    results["servers"][key]["checkpoints"].append(
                        {"requests": done, "processes": processes(inst), "at": time.time() - started})
                    os.kill(inst.pid(), signal.SIGUSR1)  # apachectl -k graceful
                    results["servers"][key]["graceful_restarts"] += 1
                    log(f"{key}: graceful restart at {done} requests")
                    next_restart[key] += args.restart_every
            if restarts and args.max_minutes and not stop.is_set() and time.time() - started > args.max_minutes * 60:
                stop.set()
                results["stopped_early"] = True
                log(f"--max-minutes {args.max_minutes} reached: the clients stop after their current request")
            if time.time() - last_report >= args.report_every:
                last_report = time.time()
                secs = last_report - started
                log("  ".join(f"{key} {progress[key][0]} ({progress[key][0] / secs:.0f}/s, "
                              f"{progress[key][1]} errors)" for key in instances))
            if len(tallies) < len(procs):
                time.sleep(0.1)
    except KeyboardInterrupt:
        stop.set()
        for key in procs:
            if key not in tallies:
                k, tally = queue.get(timeout=120)
                tallies[k] = tally
        raise
    finally:
        for p in procs.values():
            p.join(timeout=120)
        results["seconds"] = results.get("seconds", 0) + time.time() - started
        for key, tally in tallies.items():
            results["servers"][key].setdefault("tallies", []).append(tally)
    return time.time() - started


# The lines the deliberate exceptions of /fail write (5 per request, in
# either module's words): expected, so counted apart.
EXPECTED = re.compile(r"fail\.wsgi|Traceback \(most recent call last\):|soak: a deliberate failure")


def error_lines(inst):
    """The error log's lines, grouped once their times, pids and numbers
    are taken out; the deliberate exceptions' lines apart."""
    counts = {}
    expected = 0
    for line in inst.error_log().splitlines():
        text = re.sub(r"^\[[^]]*\] \[[^]]*\] \[pid \d+(:tid \d+)?\] ", "", line)
        text = re.sub(r"\[client [^]]*\] ", "", text)
        if EXPECTED.search(text):
            expected += 1
            continue
        text = re.sub(r"\d+", "N", text)[:200]
        counts[text] = counts.get(text, 0) + 1
    return {"expected": expected,
            "others": sorted(({"line": k, "count": n} for k, n in counts.items()), key=lambda e: -e["count"])}


def access_figures(inst):
    """From the access log: the statuses Apache logged, and how many bytes
    it sent for each /endless request before it noticed the client had gone."""
    statuses, endless = {}, []
    try:
        text = (inst.dir / "access.log").read_text(errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        fields = line.rsplit(" ", 2)
        if len(fields) < 3:
            continue
        statuses[fields[1]] = statuses.get(fields[1], 0) + 1
        if '"GET /endless ' in line and fields[2].isdigit():
            endless.append(int(fields[2]))
    endless.sort()
    return {"statuses": statuses, "endless_bytes": {
        "count": len(endless), "median": endless[len(endless) // 2] if endless else 0,
        "max": endless[-1] if endless else 0}}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", help="our module's .so (required unless --report-from)")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests per server")
    parser.add_argument("--warmup", type=int, default=5_000, help="requests per server before the start sample")
    parser.add_argument("--servers", default="rs,rsd,m494,m494d")
    parser.add_argument("--mpm", choices=["event", "prefork"], default="event")
    parser.add_argument("--connections", type=int, default=6, help="client connections per server")
    parser.add_argument("--restart-every", type=int, default=100_000)
    parser.add_argument("--maximum-requests", type=int, default=10_000, help="daemon maximum-requests")
    parser.add_argument("--connections-per-child", type=int, default=500, help="MaxConnectionsPerChild")
    parser.add_argument("--keepalive-requests", type=int, default=500, help="MaxKeepAliveRequests")
    parser.add_argument("--settle", type=float, default=8, help="idle seconds before each sample")
    parser.add_argument("--max-minutes", type=float, default=0,
                        help="stop the soak phase after this long (0: no limit); the report says how many ran")
    parser.add_argument("--report-every", type=float, default=30)
    parser.add_argument("--output", help="markdown report to write (default ROOT/results/soak.md)")
    parser.add_argument("--report-from", metavar="SOAK_JSON", help="only write the report from saved figures")
    args = parser.parse_args()
    if args.report_from:
        text = soak_report.markdown(json.loads(Path(args.report_from).read_text()))
        Path(args.output or ROOT / "results" / "soak.md").write_text(text)
        print(text)
        return
    if not args.module:
        parser.error("--module is required")

    # SIGTERM as Ctrl-C: report what ran, and stop every server.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    prepare(args.module)
    chosen = servers(args)
    instances = {key: Apache(key, wsgi_config(load, daemon, args), mpm=args.mpm) for key, (_, load, daemon) in chosen.items()}
    results = {"args": vars(args), "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
               "config": {key: wsgi_config(load, daemon, args) for key, (_, load, daemon) in chosen.items()},
               "servers": {key: {"label": label, "graceful_restarts": 0, "checkpoints": []}
                           for key, (label, _, _) in chosen.items()}}
    try:
        for inst in instances.values():
            inst.start()
        log(f"warm-up: {args.warmup} requests per server")
        phase(instances, args.warmup, args, results, restarts=False)
        settle(instances, args.settle)
        for key, inst in instances.items():
            results["servers"][key]["start"] = processes(inst)
        results["servers_warmup"] = {k: v.pop("tallies") for k, v in results["servers"].items()}
        results["seconds"] = 0
        log(f"soak: {args.requests} requests per server, graceful restart every {args.restart_every}")
        interrupted = False
        try:
            phase(instances, args.requests, args, results, restarts=True)
        except KeyboardInterrupt:
            interrupted = True
            log("interrupted: reporting what ran")
        results["interrupted"] = interrupted
        settle(instances, args.settle)
        for key, inst in instances.items():
            results["servers"][key]["end"] = processes(inst)
            results["servers"][key]["error_log"] = error_lines(inst)
            results["servers"][key]["access_log"] = access_figures(inst)
    finally:
        for inst in instances.values():
            inst.stop()
        results["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        (ROOT / "results" / "soak.json").write_text(json.dumps(results, indent=1, default=str))
    text = soak_report.markdown(results)
    out = Path(args.output) if args.output else ROOT / "results" / "soak.md"
    out.write_text(text)
    print(text)
    log(f"report written to {out}; raw figures in {ROOT / 'results' / 'soak.json'}")
    # mod_wsgi 4.9.4's unexpected answers are figures to compare with; only
    # ours fail the run.
    unexpected = {key: sum(e["count"] for t in s.get("tallies", []) for e in t["errors"])
                  for key, s in results["servers"].items()}
    print("soak: unexpected answers: " + ", ".join(f"{key} {n}" for key, n in unexpected.items()))
    sys.exit(1 if any(n for key, n in unexpected.items() if key.startswith("rs")) else 0)


if __name__ == "__main__":
    main()

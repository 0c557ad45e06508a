"""The machine's description and the markdown report (docs/benchmarks.md)."""

import datetime
import platform
import statistics
import subprocess
from pathlib import Path

from apache import ROOT

LABELS = {"rs": "mod_wsgi_rs", "m494": "mod_wsgi 4.9.4", "m611": "mod_wsgi 6.1.1", "static": "Apache static"}
VERSION = {"m494": "4.9.4", "m611": "6.1.1"}
REPO = Path(__file__).resolve().parents[2]


def sh(*cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip()
    except OSError as e:
        return str(e)


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()

    def cpu(name):
        return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith(name)), "?")

    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                    if line.startswith("PRETTY_NAME=")), "?")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu('model name')} (family {cpu('cpu family')}, model {cpu('model')}, cache {cpu('cache size')}), "
               f"nproc {sh('nproc')}, {int(mem) / 2**20:.1f} GiB memory",
        "os": f"{os_name}, kernel {platform.release()}",
        "apache": sh("apache2", "-v").splitlines()[0].split(":", 1)[-1].strip(),
        "python": sh("/usr/bin/python3.11", "--version"),
        "wrk": sh("wrk", "-v").splitlines()[0].split(" Copyright")[0],
        "valgrind": sh("valgrind", "--version"),
        "mod_wsgi_debian": sh("dpkg-query", "-W", "-f=${Version}", "libapache2-mod-wsgi-py3"),
        "commit": sh("git", "-C", str(REPO), "describe", "--always", "--dirty"),
    }


def median(cell, key):
    runs = cell.get("runs") or []
    return statistics.median(r[key] for r in runs) if runs else None


def number(v):
    if v is None:
        return "-"
    return f"{round(v) or 0:,}" if abs(v) >= 100 else f"{v:,.1f}"


def count(v):
    return f"{round(v) or 0:,}"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def faster(entry):
    """The faster of the two mod_wsgi builds in a workload (by median)."""
    best = [(median(entry["columns"][c], "value"), c) for c in ("m494", "m611")
            if c in entry["columns"] and median(entry["columns"][c], "value") is not None]
    return max(best)[1] if best else None


def round_ratios(entry, col, ref, field="value"):
    """min-max of the per-round ratios col/ref (servers of a round ran back to back)."""
    a, b = entry["columns"].get(col, {}).get("runs"), entry["columns"].get(ref, {}).get("runs")
    if not a or not b:
        return ""
    ratios = [x[field] / y[field] for x, y in zip(a, b) if y[field]]
    return f"; rounds {min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""


def cell_text(cell, text):
    if cell is None:
        return ""
    if cell["error"]:
        return cell["error"] if cell["error"] == "not implemented" else "failed (see notes)"
    return text


def throughput_table(results, workloads):
    rows = ["| workload | conns | unit | " + " | ".join(LABELS.values()) +
            " | mod_wsgi_rs ÷ faster mod_wsgi | mod_wsgi_rs ÷ Apache static |",
            "|---|---|---|---|---|---|---|---|---|"]
    for w in workloads:
        e = results["workloads"].get(w.key)
        if not e:
            continue
        cols = e["columns"]
        values = {c: median(cols[c], "value") if c in cols else None for c in LABELS}
        ref = faster(e)
        cells = [cell_text(cols.get(c), number(values[c])) for c in LABELS]
        vs_ref = (f"{ratio(values['rs'], values[ref])} (vs {VERSION[ref]}{round_ratios(e, 'rs', ref)})"
                  if ref and values["rs"] else "-")
        vs_static = f"{ratio(values['rs'], values['static'])}{round_ratios(e, 'rs', 'static')}" if values["static"] else "-"
        rows.append(f"| {e['title']} | {e['connections']} | {e['unit']} | " + " | ".join(cells) +
                    f" | {vs_ref} | {vs_static} |")
    return "\n".join(rows)


def latency_table(results, workloads):
    rows = ["| workload | " + " | ".join(LABELS.values()) + " | p99: mod_wsgi_rs ÷ faster mod_wsgi |",
            "|---|---|---|---|---|---|"]
    for w in workloads:
        e = results["workloads"].get(w.key)
        if not e:
            continue
        cols, ref = e["columns"], faster(e)
        cells = []
        for c in LABELS:
            cell = cols.get(c)
            p50, p99 = (median(cell, "p50_us"), median(cell, "p99_us")) if cell else (None, None)
            cells.append(cell_text(cell, f"{p50 / 1000:.2f} / {p99 / 1000:.2f}" if p50 is not None else "-"))
        rs99 = median(cols["rs"], "p99_us") if "rs" in cols else None
        ref99 = median(cols[ref], "p99_us") if ref else None
        rows.append(f"| {e['title']} | " + " | ".join(cells) +
                    f" | {ratio(rs99, ref99)}{round_ratios(e, 'rs', ref, 'p99_us') if ref else ''} |")
    return "\n".join(rows)


def mib(kib):
    return f"{kib / 1024:.1f}"


def same_children_growth(m):
    """RSS growth summed over the children alive at both checkpoints, and
    their number. The MPM starts and stops children with the load, and a
    child that appears between the checkpoints is not growth per request."""
    first, second = m["first"].get("rss_by_pid"), m["second"].get("rss_by_pid")
    if first is None or second is None:
        return None, 0
    both = [pid for pid in first if pid in second]
    return sum(second[p] - first[p] for p in both), len(both)


def mean_child_kib(snapshot):
    return snapshot["rss_kib"] / max(1, snapshot["children"])


def memory_table(results):
    mem = results["memory"]
    cols = [c for c in ("rs", "m494", "m611") if c in mem]
    if not cols:
        return "(not measured)"
    n = mem[cols[0]]["requests"]
    rows = ["| | " + " | ".join(LABELS[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    rows.append("| Apache children | " + " | ".join(f"{mem[c]['first']['children']} / {mem[c]['second']['children']}"
                                                  for c in cols) + " |")
    rows.append(f"| largest child's RSS after {n:,} / {2 * n:,} requests, MiB | " + " | ".join(
        f"{mib(max(mem[c]['first'].get('rss_per_child_kib', []), default=0))} / "
        f"{mib(max(mem[c]['second'].get('rss_per_child_kib', []), default=0))}" for c in cols) + " |")
    rows.append(f"| mean RSS per child after {n:,} requests, MiB | " + " | ".join(
        mib(mean_child_kib(mem[c]["first"])) for c in cols) + " |")
    growths = [same_children_growth(mem[c]) for c in cols]
    if all(g is not None for g, _ in growths):
        rows.append("| RSS growth of the children alive at both points, MiB | " + " | ".join(
            f"{g / 1024:+.2f} ({k} children)" for g, k in growths) + " |")
    for key, name in (("rss_kib", "RSS"), ("pss_kib", "PSS")):
        rows.append(f"| {name} after {n:,} requests, MiB | " + " | ".join(mib(mem[c]["first"][key]) for c in cols) + " |")
        rows.append(f"| {name} after {2 * n:,} requests, MiB | " + " | ".join(mib(mem[c]["second"][key]) for c in cols) + " |")
        rows.append(f"| {name} growth, MiB | " + " | ".join(
            f"{(mem[c]['second'][key] - mem[c]['first'][key]) / 1024:+.2f}" for c in cols) + " |")
    return "\n".join(rows)


def callgrind_tables(results):
    cg = results["callgrind"]
    if not cg:
        return "(skipped)"
    base = cg.get("m494", {}).get("per_request")
    rows = ["| what serves the request | I(200) | I(1200) | instructions per request | ÷ mod_wsgi 4.9.4 |",
            "|---|---|---|---|---|"]
    for c, r in cg.items():
        what = "Apache, static 11-byte file" if c == "static" else f"{LABELS[c]}, embedded hello world"
        rows.append(f"| {what} | {r['i_small']:,} | {r['i_large']:,} | {r['per_request']:,.0f} | {ratio(r['per_request'], base)} |")
    objects = []
    for c, r in cg.items():
        for obj, _ in r["objects"]:
            if obj not in objects and max(abs(dict(x["objects"]).get(obj, 0)) for x in cg.values()) >= 100:
                objects.append(obj)
    rows += ["", "Self cost per request by shared object (instructions; the same two runs):", "",
             "| object | " + " | ".join(LABELS[c] for c in cg) + " |", "|---" * (len(cg) + 1) + "|"]
    for obj in objects:
        rows.append(f"| {obj} | " + " | ".join(count(dict(r["objects"]).get(obj, 0)) for r in cg.values()) + " |")
    if results["profile_functions"]:
        rows += ["", "mod_wsgi_rs: inclusive cost per request of its own functions (callgrind_annotate "
                 "--inclusive=yes on both runs, difference / 1000; the 20 largest):", "",
                 "| function | instructions per request |", "|---|---|"]
        rows += [f"| `{fn}` | {cost:,.0f} |" for fn, cost in results["profile_functions"]]
    return "\n".join(rows)


def findings():
    """The hand-written profile notes (scripts/bench/findings.md)."""
    path = Path(__file__).with_name("findings.md")
    return path.read_text().strip() if path.exists() else ""


def targets_table(results):
    w = results["workloads"]

    def measure(key, field="value", against="ref"):
        """(ours, theirs, text): medians of mod_wsgi_rs and of the faster
        mod_wsgi build (or Apache static), their ratio and the per-round range."""
        e = w.get(key)
        other = faster(e) if e and against == "ref" else against
        if not e or not other or other not in e["columns"] or "rs" not in e["columns"]:
            return None, None, "not measured"
        ours, theirs = median(e["columns"]["rs"], field), median(e["columns"][other], field)
        if ours is None or theirs is None:
            return None, None, e["columns"]["rs"]["error"] or "not measured"
        return ours, theirs, f"{ours / theirs:.3f}x{round_ratios(e, 'rs', other, field)}"

    rows = ["| target | measured | met |", "|---|---|---|"]

    def add(name, text, ok):
        rows.append(f"| {name} | {text} | {'yes' if ok else 'no'} |")

    rs, ref, text = measure("hello")
    add("embedded hello world: ≥ 1.25x requests/s of the faster mod_wsgi", text, rs and rs / ref >= 1.25)
    rs, ref, text = measure("hello64", "p99_us")
    add("embedded hello world: p99 latency at 64 connections no worse", f"p99 {text}", rs and rs <= ref)
    rs, ref, text = measure("daemon")
    add("daemon hello world: ≥ 1.6x requests/s", text, rs and rs / ref >= 1.6)
    if "daemon" in w and "hello" in w and "rs" in w["daemon"]["columns"] and "rs" in w["hello"]["columns"]:
        d, e = median(w["daemon"]["columns"]["rs"], "value"), median(w["hello"]["columns"]["rs"], "value")
        if d and e:
            add("our daemon mode: ≥ 0.75x of our embedded mode (hello world)", f"{d / e:.3f}x", d / e >= 0.75)
    rs, static, text = measure("file", against="static")
    add("100 MiB file_wrapper: ≥ 0.9x of Apache serving the file", text, rs and rs / static >= 0.9)
    rs, ref, text = measure("upload")
    add("100 MiB upload: ≥ mod_wsgi throughput", text, rs and rs >= ref)
    mem = results["memory"]
    ref = faster(w["hello"]) if "hello" in w else None
    if "rs" in mem and ref in mem:
        # Per child: the MPM may run a different number of children for each server.
        ours, theirs = mean_child_kib(mem["rs"]["first"]), mean_child_kib(mem[ref]["first"])
        add(f"memory (mean RSS per child) no larger than mod_wsgi's ({LABELS[ref]}, the faster in hello world)",
            f"{mib(ours)} MiB vs {mib(theirs)} MiB", ours <= theirs)
        growth, kept = same_children_growth(mem["rs"])
        if growth is None:
            growth, kept = mem["rs"]["second"]["rss_kib"] - mem["rs"]["first"]["rss_kib"], mem["rs"]["second"]["children"]
        add(f"no memory growth from {mem['rs']['requests']:,} to {2 * mem['rs']['requests']:,} requests "
            "(children alive at both points; tolerance 1 MiB)",
            f"{growth / 1024:+.2f} MiB over {kept} children", growth <= 1024)
    return "\n".join(rows)


def all_rounds(results, workloads):
    rows = ["| workload | server | figure per round | p99 ms per round | errors | load average |",
            "|---|---|---|---|---|---|"]
    for w in workloads:
        e = results["workloads"].get(w.key)
        for c, cell in (e or {}).get("columns", {}).items():
            if cell["runs"]:
                rows.append(f"| {w.key} | {LABELS[c]} | " + ", ".join(number(r["value"]) for r in cell["runs"]) +
                            " | " + ", ".join(f"{r['p99_us'] / 1000:.1f}" for r in cell["runs"]) +
                            f" | {sum(r['failed'] for r in cell['runs'])} | "
                            + ", ".join(f"{r['loadavg']:.1f}" for r in cell["runs"]) + " |")
    return "\n".join(rows)


def notes(results):
    lines = [f"- {label}: {text}" for label, text in results["probes"].items()]
    for e in results["workloads"].values():
        for c, cell in e["columns"].items():
            if cell["error"] and cell["error"] != "not implemented":
                lines.append(f"- {e['title']}, {LABELS[c]}: not measured: {cell['error']}")
    lines += [f"- failed: {text[:300]}" for text in results.get("failures", [])]
    return "\n".join(lines)


def commands(args):
    d, rounds = args["duration"], args["rounds"]
    return f"""    scripts/bench.sh{' --quick' if args['quick'] else ''}

What it runs (PORT and DIR differ per server; everything is under {ROOT}):

    # each server: its own Apache, configuration from scripts/bench/httpd.conf.in + servers.py
    taskset -c 0 setsid /usr/sbin/apache2 -f DIR/httpd.conf -k start        # stopped: kill -TERM $(cat DIR/run/httpd.pid)
    # check request, then warm-up ({args['warmup']} s), then {rounds} round(s) alternating the servers, each run:
    taskset -c 1 wrk -t1 -cCONNS -d{d}s --timeout=30s --latency -s report.lua http://127.0.0.1:PORT/PATH
    taskset -c 1 wrk -t1 -c2 -d{d}s --timeout=30s --latency -s upload.lua http://127.0.0.1:PORT/upload
    # memory: a fresh server per module
    taskset -c 1 ab -q -k -n 1000 -c 16 http://127.0.0.1:PORT/hello   # {args['memory_requests'] // 1000 or 1} times, memory, again
    # instructions per request: N = 200 and N = 1200 requests over one keep-alive connection
    setsid setpriv --reuid=www-data --regid=www-data --init-groups \\
        valgrind --tool=callgrind --callgrind-out-file=DIR/callgrind.out /usr/sbin/apache2 -X -f DIR/httpd.conf"""


def markdown(results, workloads):
    m, a = results["machine"], results["args"]
    kind = "quick smoke run (`--quick`): figures are not meaningful" if a["quick"] else "full run"
    return f"""# Benchmarks

mod_wsgi_rs against mod_wsgi 4.9.4 (Debian) and mod_wsgi 6.1.1 (PyPI), with Apache serving static
files as the ceiling. Generated by `scripts/bench.sh` ({kind}) on {m['date']}, in {results['minutes']} minutes.
**The ratios are the result**; absolute numbers depend on the machine and on what else runs on it.

## Machine and software

- CPU: {m['cpu']}
- OS: {m['os']}
- Apache: {m['apache']}, event MPM (StartServers 2, ThreadsPerChild 25, MaxRequestWorkers 100), KeepAlive On
  (MaxKeepAliveRequests 0), access log on: the same configuration for every server
  (`scripts/bench/httpd.conf.in`), each in its own Apache instance on 127.0.0.1
- Python: {m['python']} (`/usr/bin/python3.11`'s libpython for all three modules, main interpreter:
  `WSGIApplicationGroup %{{GLOBAL}}`, no `WSGIPythonHome`)
- mod_wsgi_rs: commit {m['commit']}, `cargo build --release`
- mod_wsgi 4.9.4: Debian's libapache2-mod-wsgi-py3 {m['mod_wsgi_debian']}
- mod_wsgi 6.1.1: `pip install mod-wsgi==6.1.1` in a `/usr/bin/python3.11 -m venv`, built against the local apxs
- Load generators: {m['wrk']}; ab (apache2-utils); {m['valgrind']}
- Load average (1 min) at the start {results['loadavg_start']:.2f}, at the end {results['loadavg_end']:.2f}:
  anything above 0 is other work on the machine competing with the benchmark.

## Method

- Apache (all its processes) pinned to CPU 0 and the load generator to CPU 1 with `taskset`.
- wrk over loopback with keep-alive, one thread; a check request (status and body) and a {a['warmup']} s warm-up
  per server and workload; then {a['rounds']} round(s) of {a['duration']} s runs alternating the servers
  (A B C, B C A, C A B, ...: each round starts with the next server). Figures are medians over the rounds.
- Ratios are of the medians, against the faster of the two mod_wsgi builds in each workload (named in the
  table); "rounds" gives the lowest and highest ratio of the servers' runs within one round.
- 100 MiB upload: wrk sends a 100 MiB body on each request (`upload.lua`); MiB/s = requests/s x 100.
- Memory: a fresh server per module, {a['memory_requests']:,} hello-world requests (`ab -k -c 16`, in batches of
  1,000 so that every child serves some), VmRSS and Pss summed over the Apache children (not the parent),
  then {a['memory_requests']:,} more. The MPM starts and stops children with the load, so sizes are compared
  per child (mean), and growth over the children alive at both points (same pid).
- Instructions per request: callgrind, as in `../shared/reference/baseline.md`: prefork MPM, one `apache2 -X`
  under valgrind as www-data, N = 200 and N = 1200 requests over one keep-alive connection,
  (I(1200) - I(200)) / 1000.
- Daemon mode: `WSGIDaemonProcess bench processes=2 threads=15` and `WSGIProcessGroup bench`, the same for all
  three; a build of mod_wsgi_rs that refuses the directives shows "not implemented".

## Throughput (median)

{throughput_table(results, workloads)}

## Latency, p50 / p99 in ms (median over the rounds)

{latency_table(results, workloads)}

## Memory (embedded hello world)

{memory_table(results)}

## Instructions per request (callgrind, hello world)

{callgrind_tables(results)}

## Targets

{targets_table(results)}

A verdict is only as good as the spread of its rounds: where the range crosses the target, the machine's
noise (see the load average above) can decide it.

{findings()}

## Notes

{notes(results)}

## Every round

Errors are wrk's socket errors and non-2xx responses. A few read errors at 64 connections, for Apache's
own static file too, are keep-alive connections the event MPM closed while busy; wrk reconnects.

{all_rounds(results, workloads)}

## Commands

{commands(a)}

## Configuration

Every server's `httpd.conf` is `scripts/bench/httpd.conf.in` with its module's lines at the end. For
mod_wsgi_rs (the two mod_wsgi builds differ only in the `LoadModule` line):

{indent(results['config']['rs'])}

Daemon mode adds:

{indent(results['config']['daemon'])}
"""


def indent(text):
    text = text.replace("@ROOT@", str(ROOT)).replace("@DIR@", "DIR")
    return "\n".join("    " + line for line in text.splitlines())

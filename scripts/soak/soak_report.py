"""The soak's figures as the markdown of docs/reliability.md's soak section."""

import client

ROLES = ["parent", "child", "daemon"]


def mib(kib):
    return f"{kib / 1024:.1f}"


def span(values):
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def summary(tallies):
    ok, retried, errors = {}, {}, {}
    for t in tallies:
        for kind, n in t["ok"].items():
            ok[kind] = ok.get(kind, 0) + n
        for kind, n in t["retried"].items():
            retried[kind] = retried.get(kind, 0) + n
        for e in t["errors"]:
            key = (e["kind"], e["why"])
            errors[key] = errors.get(key, 0) + e["count"]
    return ok, retried, errors


def by_role(procs, role):
    return [p for p in procs if p["role"] == role]


def markdown(results):
    args = results["args"]
    servers = results["servers"]
    out = []
    w = out.append
    done = {k: sum(summary(s.get("tallies", []))[0].values()) + sum(summary(s.get("tallies", []))[2].values())
            for k, s in servers.items()}
    w(f"Run of {results['started']}: `scripts/soak.sh --requests {args['requests']}`"
      + (f" `--max-minutes {args['max_minutes']}`" if args.get("max_minutes") else "")
      + f", {results['seconds'] / 60:.0f} minutes, the four servers at once on one machine "
      f"(load average {' '.join(results['loadavg_start'])} at the start, "
      f"{' '.join(results['loadavg_end'])} at the end).")
    if results.get("stopped_early") or results.get("interrupted"):
        w("")
        w(f"**The run was stopped before {args['requests']:,} requests per server**: "
          + ", ".join(f"{servers[k]['label']} {n:,}" for k, n in done.items()) + " requests ran.")
    w("")
    w(f"Workload, per 100 requests on {args['connections']} keep-alive connections per server: "
      + ", ".join(f"{share} {kind}" for kind, (share, _, _) in client.KINDS.items()) + ". "
      "hello: 11 bytes; big: 64 KiB with Content-Length; stream: a generator of 64 blocks of 1 KiB "
      "(chunked); upload: 128 KiB read through wsgi.input in 16 KiB reads, answered with its length "
      "and checksum; file: 512 KiB through wsgi.file_wrapper; disconnect: a 32 MiB generator the "
      "client leaves after 128 KiB (every other one with a reset); fail: the application raises, "
      "the answer must be 500. Every body is checked byte for byte (the 512 KiB file by length).")
    w("")
    w(f"Meanwhile: a graceful restart (SIGUSR1) every {args['restart_every']:,} requests; "
      f"daemons `processes=2 threads=15 maximum-requests={args['maximum_requests']}`; Apache "
      + ("children (event MPM, 25 threads each) " if args.get("mpm", "event") == "event"
         else "children (prefork MPM, one connection each) ")
      + f"`MaxConnectionsPerChild {args['connections_per_child']}`, "
      f"connections closed by Apache after `MaxKeepAliveRequests {args['keepalive_requests']}`. "
      "`WSGIApplicationGroup %{GLOBAL}` everywhere, `LogLevel warn`.")
    w("")
    w("### Answers")
    w("")
    w("| server | requests | as expected | unexpected | resent (keep-alive close race) | graceful restarts |")
    w("|---|---:|---:|---:|---:|---:|")
    details = []
    for key, s in servers.items():
        ok, retried, errors = summary(s.get("tallies", []))
        w(f"| {s['label']} | {done[key]:,} | {sum(ok.values()):,} | {sum(errors.values()):,} | "
          f"{sum(retried.values()):,} | {s['graceful_restarts']} |")
        for (kind, why), n in sorted(errors.items(), key=lambda e: -e[1]):
            details.append(f"- {s['label']}: {n:,} × {kind}: {why}")
    w("")
    w("A resent request is one sent on a kept-alive connection that the server closed at that moment "
      "(a graceful restart, a recycled child, the keep-alive limit) before answering anything: a "
      "client sends it again on a new connection, as RFC 9112 §9.3.1 allows, and so does the soak; "
      "it counts once, as answered.")
    w("")
    if details:
        w("Unexpected answers:")
        w("")
        out.extend(details)
    else:
        w("No unexpected answer.")
    w("")
    w("### Processes, idle, after the warm-up and at the end")
    w("")
    w(f"Sampled after {args['settle']:.0f} idle seconds: after {args['warmup']:,} warm-up requests "
      "per server (start) and after the last request (end). RSS in MiB; descriptors (fds) and threads "
      "per process.")
    w("")
    w("| server | process | count start → end | RSS total start → end | RSS each start → end | fds each start → end | threads each start → end |")
    w("|---|---|---|---|---|---|---|")
    for key, s in servers.items():
        start, end = s.get("start", []), s.get("end", [])
        for role in ROLES:
            a, b = by_role(start, role), by_role(end, role)
            if not a and not b:
                continue
            w(f"| {s['label']} | {role} | {len(a)} → {len(b)} | "
              f"{mib(sum(p['rss_kib'] for p in a))} → {mib(sum(p['rss_kib'] for p in b))} | "
              f"{span([round(p['rss_kib'] / 1024, 1) for p in a])} → {span([round(p['rss_kib'] / 1024, 1) for p in b])} | "
              f"{span([p['fds'] for p in a])} → {span([p['fds'] for p in b])} | "
              f"{span([p['threads'] for p in a])} → {span([p['threads'] for p in b])} |")
    w("")
    w("### Under load, just before each graceful restart")
    w("")
    w("Parent RSS (MiB) and descriptors; RSS of all children and of all daemons (MiB).")
    w("")
    for key, s in servers.items():
        if not s["checkpoints"]:
            continue
        w(f"- {s['label']}: " + "; ".join(
            f"{c['requests'] // 1000}k: parent {mib(sum(p['rss_kib'] for p in by_role(c['processes'], 'parent')))}"
            f"/{sum(p['fds'] for p in by_role(c['processes'], 'parent'))} fds, children "
            f"{mib(sum(p['rss_kib'] for p in by_role(c['processes'], 'child')))}"
            + (f", daemons {mib(sum(p['rss_kib'] for p in by_role(c['processes'], 'daemon')))}"
               if by_role(c['processes'], 'daemon') else "")
            for c in s["checkpoints"]))
    w("")
    w("### Logs")
    w("")
    w("Statuses in each access log (warm-up included), and the bytes Apache sent for a "
      "disconnect request before it noticed the client had gone (loopback socket buffers "
      "hold several MiB):")
    w("")
    for key, s in servers.items():
        a = s.get("access_log") or {}
        if not a:
            continue
        e = a["endless_bytes"]
        w(f"- {s['label']}: " + ", ".join(f"{n:,} × {st}" for st, n in sorted(a["statuses"].items()))
          + f"; disconnects: median {e['median'] / 2**20:.1f} MiB, at most {e['max'] / 2**20:.1f} MiB sent")
    w("")
    w("Each server's error.log: the deliberate exceptions' lines (five per /fail request: the "
      "module's line and the traceback) counted apart; every other line, grouped with numbers "
      "replaced by N:")
    w("")
    for key, s in servers.items():
        log = s.get("error_log") or {"expected": 0, "others": []}
        others = log["others"]
        w(f"- {s['label']}: {log['expected']:,} lines of the deliberate exceptions; "
          f"{sum(e['count'] for e in others):,} others" + (":" if others else ""))
        for e in others[:12]:
            text = e["line"].replace("|", "\\|").replace("`", "'")
            w(f"  - {e['count']:,} × `{text}`")
    w("")
    return "\n".join(out)

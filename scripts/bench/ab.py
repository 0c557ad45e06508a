"""Two builds of mod_wsgi_rs side by side in one run, with the benchmark's
method (servers alternating within each round, medians): the check that a
change to the request path costs nothing, on a machine whose rounds vary
more than the change. Usage (as root, from the repository root):

    python3 scripts/bench/ab.py NEW.so OLD.so [--rounds N] [--duration S]

Prints each workload's median for both and the ratio new / old. Uses its
own $BENCH_ROOT (default /tmp/mod_wsgi_rs-ab), removed at the end."""

import argparse
import dataclasses
import os
import shutil
import statistics
from pathlib import Path

os.environ.setdefault("BENCH_ROOT", "/tmp/mod_wsgi_rs-ab")

import run  # noqa: E402  (reads BENCH_ROOT at import)
from apache import ROOT  # noqa: E402
from servers import Server  # noqa: E402

# The columns of the A/B run: "rs" is the new build, "m494" stands for the
# old one (run.py's workloads and its round-robin know these column names).
NEW, OLD = "rs", "m494"
MEASURED = ("hello", "hello64", "daemon", "big", "chunks")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("new")
    parser.add_argument("old")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=MEASURED, help="workloads to measure")
    args = parser.parse_args()
    run.prepare(Path(args.new))
    shutil.copy(args.old, ROOT / "mod_wsgi_rs_old.so")
    load = {NEW: f"LoadModule wsgi_module {ROOT}/mod_wsgi_rs.so",
            OLD: f"LoadModule wsgi_module {ROOT}/mod_wsgi_rs_old.so"}
    servers = {}
    for col, line in load.items():
        servers[col] = Server(col, col, line)
        servers[col + "d"] = Server(col + "d", col, line, daemon=True)
    run.WORKLOADS = [dataclasses.replace(w, paths={c: w.paths[c] for c in (NEW, OLD)})
                     for w in run.WORKLOADS if w.key in args.only]
    results = {"workloads": {}, "probes": {}}
    try:
        run.throughput_phase(args, servers, results)
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
    print("\nworkload    new        old        new / old (rounds)")
    for key, entry in results["workloads"].items():
        runs = {c: [r["value"] for r in entry["columns"][c]["runs"]] for c in (NEW, OLD)}
        if not all(runs.values()):
            print(f"{key:10} not measured: {entry['columns']}")
            continue
        new, old = statistics.median(runs[NEW]), statistics.median(runs[OLD])
        per_round = [n / o for n, o in zip(runs[NEW], runs[OLD])]
        print(f"{key:10} {new:10.1f} {old:10.1f} {new / old:5.2f}x ({min(per_round):.2f}-{max(per_round):.2f})")


if __name__ == "__main__":
    main()

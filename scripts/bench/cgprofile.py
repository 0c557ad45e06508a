"""Where the instructions of one request go, from the two callgrind runs
(N = small and N = large): per-request self cost by shared object, and
per-request inclusive cost of the functions in mod_wsgi_rs.so."""

import collections
import os
import re
import subprocess


def self_cost_by_object(outfile):
    """Self instructions per object, read straight from callgrind's format
    (a cost line right after `calls=` is a call's inclusive cost: skipped)."""
    names, costs = {}, collections.Counter()
    current, after_call = "?", False
    with open(outfile, errors="replace") as f:
        for line in f:
            if line.startswith(("ob=", "cob=")):
                # "(id) name" defines a compressed name, "(id)" refers to one.
                m = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m and m.group(2):
                    names[m.group(1)] = m.group(2)
                if line.startswith("ob="):
                    current = names.get(m.group(1), "?") if m else line[3:].strip()
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                parts = line.split()
                if len(parts) > 1:
                    costs[current] += int(parts[1])
    return costs


def inclusive_by_function(outfile):
    """Inclusive instructions of every function callgrind_annotate names
    with its object (the canonical entry of each function)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", outfile],
                         capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*) \[(.*)\]$", line)
        if m:
            function = m.group(2).split(":", 1)[1]
            costs[(function, os.path.basename(m.group(3)))] = int(m.group(1).replace(",", ""))
    return costs


def per_request(small, large, n):
    """(large - small) / n for every key of either counter, largest first."""
    keys = set(small) | set(large)
    diffs = {k: (large.get(k, 0) - small.get(k, 0)) / n for k in keys}
    return sorted(diffs.items(), key=lambda kv: -kv[1])


def object_label(path):
    name = os.path.basename(path)
    for prefix, label in (("libpython", "libpython3.11"), ("mod_wsgi", "the WSGI module"), ("libapr-", "libapr"),
                          ("libaprutil", "libaprutil"), ("libc.so", "libc"), ("apache2", "apache2 (httpd core)"),
                          ("ld-linux", "ld.so")):
        if name.startswith(prefix):
            return label
    return name


def objects_per_request(cg):
    """Self cost by object per request for one callgrind result (see callgrind.py)."""
    small = self_cost_by_object(cg["out_small"])
    large = self_cost_by_object(cg["out_large"])
    merged_small, merged_large = collections.Counter(), collections.Counter()
    for src, dst in ((small, merged_small), (large, merged_large)):
        for obj, cost in src.items():
            dst[object_label(obj)] += cost
    return per_request(merged_small, merged_large, cg["large"] - cg["small"])


def module_functions_per_request(cg, module="mod_wsgi_rs.so", top=20):
    """The functions of our module with the largest inclusive cost per request."""
    small = inclusive_by_function(cg["out_small"])
    large = inclusive_by_function(cg["out_large"])
    rows = per_request(small, large, cg["large"] - cg["small"])
    return [(fn, cost) for (fn, obj), cost in rows if obj == module and cost >= 1][:top]

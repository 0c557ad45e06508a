"""Instructions per hello-world request of one build of our module, in
embedded and daemon mode (callgrind, the method of callgrind.py), without
the rest of the benchmark: the quick before/after check for a change to the
request path. Usage (as root, from the repository root):

    python3 scripts/bench/instructions.py target/release/libmod_wsgi_rs.so [GROUP]

GROUP (default %{GLOBAL}, what the benchmark runs) is the application group
the hello-world script runs in: any other name measures a request in a
sub-interpreter.

Each root is its own $BENCH_ROOT (default /tmp/mod_wsgi_rs-instructions),
so that several builds can be measured side by side; it is removed at the
end."""

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("BENCH_ROOT", "/tmp/mod_wsgi_rs-instructions")

import callgrind  # noqa: E402  (reads BENCH_ROOT at import)
import run  # noqa: E402
from apache import ROOT  # noqa: E402
from servers import Server  # noqa: E402


def main():
    module = Path(sys.argv[1]).resolve()
    group = sys.argv[2] if len(sys.argv) > 2 else "%{GLOBAL}"
    run.prepare(module)
    load = f"LoadModule wsgi_module {ROOT}/mod_wsgi_rs.so"
    try:
        for key, daemon in (("rs", False), ("rsd", True)):
            wsgi = Server(key, key, load, daemon=daemon).wsgi_config()
            wsgi = wsgi.replace("WSGIApplicationGroup %{GLOBAL}", f"WSGIApplicationGroup {group}")
            cg = callgrind.instructions_per_request(key, wsgi, "/hello", 200, 1200)
            print(f"{'daemon' if daemon else 'embedded':8} {cg['per_request']:,.0f} instructions per request")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Instructions per request with callgrind (method of
../shared/reference/baseline.md): one Apache process (prefork, `apache2 -X`)
under valgrind, started as www-data; N requests over one keep-alive
connection, once with N = small and once with N = large; the difference of
the two instruction totals divided by (large - small). Start-up and
shutdown cancel out."""

import os
import re
import signal
import socket
import subprocess

from apache import HTTPD, Apache

AS_WWW_DATA = ["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups"]


def requests_over_one_connection(port, path, n):
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        reader = s.makefile("rb")
        for _ in range(n):
            s.sendall(request)
            status = reader.readline()
            length = None
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if not status.startswith(b"HTTP/1.1 200") or length is None:
                raise RuntimeError(f"unexpected response {status!r} (needs 200 with Content-Length)")
            reader.read(length)


def total_instructions(outfile):
    text = outfile.read_text(errors="replace")
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    return int(match.group(1))


def stop(apache, proc):
    """SIGTERM to the pid in the PidFile. Under valgrind the signal can land
    just before the process blocks in accept(); an empty connection (no
    request: a few thousand instructions) then wakes it up to exit."""
    os.kill(apache.pid(), signal.SIGTERM)
    for _ in range(60):
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                socket.create_connection(("127.0.0.1", apache.port), timeout=5).close()
            except OSError:
                pass  # already closed its listener: it is on its way out
    proc.kill()
    raise RuntimeError(f"{apache.name}: apache -X did not exit on SIGTERM")


def run_once(name, wsgi, path, n):
    """Returns (instruction total, callgrind output file)."""
    apache = Apache(name, wsgi, mpm="prefork", as_user=False)
    subprocess.run(["chown", "-R", "www-data:www-data", str(apache.dir)], check=True)
    outfile = apache.dir / "callgrind.out"
    cmd = ["setsid"] + AS_WWW_DATA + ["valgrind", "--tool=callgrind", "--quiet",
                                      f"--callgrind-out-file={outfile}", HTTPD, "-X", "-f", str(apache.conf)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        apache.wait_ready(timeout=600)
        requests_over_one_connection(apache.port, path, n)
    finally:
        stop(apache, proc)
    return total_instructions(outfile), outfile


def instructions_per_request(key, wsgi, path, small, large):
    """Returns the two totals, the figure and the output files."""
    i_small, out_small = run_once(f"cg-{key}-{small}", wsgi, path, small)
    i_large, out_large = run_once(f"cg-{key}-{large}", wsgi, path, large)
    return {"small": small, "large": large, "i_small": i_small, "i_large": i_large,
            "per_request": (i_large - i_small) / (large - small),
            "out_small": str(out_small), "out_large": str(out_large)}

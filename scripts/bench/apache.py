"""One Apache instance per server under test: its configuration, start
(setsid, pinned with taskset), stop (by the pid in its own PidFile, never by
name) and the resident memory of its children."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("BENCH_ROOT", "/tmp/mod_wsgi_rs-bench"))


def apxs(var):
    return subprocess.run(["apxs", "-q", var], check=True, capture_output=True, text=True).stdout.strip()


HTTPD = str(Path(apxs("SBINDIR")) / apxs("TARGET"))
MODULES = apxs("LIBEXECDIR")

MPM_SETTINGS = {
    # As in ../shared/reference/baseline.md.
    "event": "StartServers 2\nThreadsPerChild 25\nMaxRequestWorkers 100",
    # Only used with `apache2 -X` (one process) under callgrind.
    "prefork": "StartServers 1\nMaxRequestWorkers 1",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def alive(pid):
    """Running (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def field(path, name):
    """A "Name:   123 kB" field of a /proc file, in KiB (0 if it is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def unblock_all_signals():
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


class Apache:
    """An Apache configured from httpd.conf.in in ROOT/servers/NAME."""

    def __init__(self, name, wsgi="", mpm="event", cpu=None, as_user=True):
        self.name = name
        self.dir = ROOT / "servers" / name
        self.port = free_port()
        self.cpu = cpu
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "run").mkdir(parents=True)
        user = "User www-data\nGroup www-data" if as_user and os.geteuid() == 0 else ""
        values = {"DIR": str(self.dir), "ROOT": str(ROOT), "PORT": str(self.port), "USER": user,
                  "MPM": mpm, "MPM_SETTINGS": MPM_SETTINGS[mpm], "MODULES": MODULES,
                  "WSGI": wsgi.replace("@DIR@", str(self.dir)).replace("@ROOT@", str(ROOT))}
        text = (HERE / "httpd.conf.in").read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        self.conf = self.dir / "httpd.conf"
        self.conf.write_text(text)
        subprocess.run(["chmod", "-R", "a+rX", str(self.dir)], check=True)
        os.chmod(self.dir / "run", 0o777)

    @property
    def pidfile(self):
        return self.dir / "run" / "httpd.pid"

    def pid(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def error_log(self):
        try:
            return (self.dir / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def pin(self):
        return ["taskset", "-c", str(self.cpu)] if self.cpu is not None else []

    def start(self, timeout=60):
        cmd = self.pin() + ["setsid", HTTPD, "-f", str(self.conf), "-k", "start"]
        # Apache inherits the signal mask. Started by something that blocks
        # SIGINT (some CI runners do), mod_wsgi's daemons, which stop on
        # SIGINT, never stop, and every figure of theirs is skewed.
        out = subprocess.run(cmd, capture_output=True, text=True,
                             preexec_fn=unblock_all_signals)
        if out.returncode != 0:
            raise RuntimeError(f"{self.name}: apache did not start:\n{out.stdout}{out.stderr}{self.error_log()}")
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid = self.pid()
            if pid and answers(self.port):
                return
            if pid and not alive(pid):
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: apache not answering on {self.port}:\n{self.error_log()}")

    def stop(self, timeout=30):
        pid = self.pid()
        if not pid or not alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if alive(pid):
            # The whole session (started with setsid): its children too.
            os.killpg(pid, signal.SIGKILL)

    def children(self):
        parent = self.pid()
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                # The ppid is the 2nd field after the ")" closing the command name.
                if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(entry))
        return pids

    def memory_kib(self):
        """Sum over the children (the parent is left out) of VmRSS and of
        Pss (which splits shared pages between the processes sharing them)."""
        kids = self.children()
        by_pid = {str(pid): field(f"/proc/{pid}/status", "VmRSS:") for pid in kids}
        rss = sorted(by_pid.values())
        pss = sum(field(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in kids)
        return {"rss_kib": sum(rss), "pss_kib": pss, "children": len(kids), "rss_per_child_kib": rss,
                "rss_by_pid": by_pid}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

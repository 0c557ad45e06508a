# Interpreter facts for tests/lifecycle.rs: which process runs the
# application, which Python it is, and whether the standard library's C
# extension modules (and modules from WSGIPythonHome / WSGIPythonPath) import.
import atexit
import hashlib
import importlib
import json
import os
import sys
import threading

RUN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")


def _write_atexit_marker():
    # Runs when Python is finalised as the child exits.
    pid = os.getpid()
    with open(os.path.join(RUN_DIR, "life_atexit-%d" % pid), "w") as f:
        f.write("atexit ran in %d\n" % pid)


atexit.register(_write_atexit_marker)


def _try_import(name):
    try:
        module = importlib.import_module(name)
    except Exception as e:  # reported to the test, which names the failure
        return "ERROR %s: %s" % (type(e).__name__, e)
    return getattr(module, "__file__", None) or "built-in"


def _facts():
    facts = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "executable": sys.executable,
        "argv": sys.argv,
        "path": sys.path,
        "version": "%d.%d" % sys.version_info[:2],
        "thread": threading.current_thread().name,
    }
    # C extension modules of the standard library. _hashlib is OpenSSL,
    # _decimal is libmpdec, _sqlite3 (through sqlite3) is libsqlite3 and
    # _ctypes is libffi: each is a shared object in lib-dynload.
    modules = ["math", "_hashlib", "_decimal", "decimal", "sqlite3", "_sqlite3", "_ctypes", "ctypes"]
    # The SHA-2 hashes: Python 3.12+ has one _sha2 module; 3.11 has
    # _sha256 and _sha512 (built into libpython on Debian). Import what this
    # Python has; hashlib.sha256/sha512 below work either way.
    if sys.version_info >= (3, 12):
        modules.append("_sha2")
    else:
        modules += ["_sha256", "_sha512"]
    for name in modules + ["life_venv_only", "life_pathmod", "life_pthmod"]:
        facts["import." + name] = _try_import(name)
    facts["sha256"] = hashlib.sha256(b"abc").hexdigest()
    facts["sha512"] = hashlib.sha512(b"abc").hexdigest()
    import decimal
    import math
    import sqlite3

    facts["decimal"] = str(decimal.Decimal(1) / decimal.Decimal(7))
    facts["math"] = math.factorial(20)
    db = sqlite3.connect(":memory:")
    facts["sqlite"] = db.execute("select 6 * 7").fetchone()[0]
    db.close()
    import ctypes

    facts["ctypes"] = ctypes.c_int32(-5).value
    return facts


def application(environ, start_response):
    # One "key=value" line per fact; lists as JSON, so the test needs no
    # JSON parser.
    lines = []
    for key, value in _facts().items():
        lines.append("%s=%s" % (key, json.dumps(value) if isinstance(value, list) else value))
    body = "\n".join(lines).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

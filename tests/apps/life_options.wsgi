# Python start-up options for tests/interpreter_options.rs: what
# WSGIPythonOptimize, WSGIDontWriteBytecode, WSGIPythonHashSeed,
# WSGIPythonWarnings, WSGISwitchInterval and WSGIRestrictSignal did to this
# process, and what signal.signal(SIGTERM, ...) does at import time and at
# request time. One "key=value" line per fact.
import importlib
import json
import os
import signal
import sys
import tempfile

RUN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")


def _handler(signum, frame):
    pass


def _try_signal():
    """signal.signal(SIGTERM, _handler): what it returned and whether the
    handler was installed, or the exception it raised."""
    try:
        previous = signal.signal(signal.SIGTERM, _handler)
    except Exception as e:
        return "raised %s: %s" % (type(e).__name__, e)
    installed = signal.getsignal(signal.SIGTERM) is _handler
    return "returned %r, installed=%s" % (previous, installed)


SIGNAL_AT_IMPORT = _try_signal()


def _asserts_run():
    try:
        assert False
    except AssertionError:
        return True
    return False


def _bytecode_written():
    """Imports a fresh module from a new directory and reports whether a
    __pycache__ directory appeared next to it."""
    where = tempfile.mkdtemp(prefix="life_options-", dir=RUN_DIR)
    with open(os.path.join(where, "life_options_probe.py"), "w") as f:
        f.write("VALUE = 1\n")
    sys.path.insert(0, where)
    try:
        importlib.invalidate_caches()
        importlib.import_module("life_options_probe")
    finally:
        sys.path.remove(where)
        sys.modules.pop("life_options_probe", None)
    return os.path.isdir(os.path.join(where, "__pycache__"))


def application(environ, start_response):
    """No docstring survives WSGIPythonOptimize 2."""
    facts = {
        "pid": os.getpid(),
        "optimize": sys.flags.optimize,
        "asserts": _asserts_run(),
        "docstrings": application.__doc__ is not None,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "bytecode_written": _bytecode_written(),
        "hash_randomization": sys.flags.hash_randomization,
        "hash": hash("mod_wsgi_rs"),
        "warnoptions": json.dumps(sys.warnoptions),
        "switchinterval": repr(sys.getswitchinterval()),
        "signal_type": type(signal.signal).__name__,
        "signal_at_import": SIGNAL_AT_IMPORT,
        "signal_at_request": _try_signal(),
    }
    body = "\n".join("%s=%s" % item for item in facts.items()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

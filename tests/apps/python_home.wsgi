# For tests/interpreter_options.rs: the prefix this process's Python runs
# from (WSGIPythonHome or python-home=), and which of the modules that exist
# only in one virtual environment, or only in a WSGIPythonPath/python-path
# directory, import here, and PYTHON_EGG_CACHE (WSGIPythonEggs or
# python-eggs=). One "key=value" line per fact.
import importlib
import os
import sys


def _try(name):
    try:
        return importlib.import_module(name).__file__
    except ImportError as e:
        return "ERROR %s" % e


def application(environ, start_response):
    facts = {
        "pid": os.getpid(),
        "prefix": sys.prefix,
        "venv": _try("venv_only"),
        "ownvenv": _try("ownvenv_only"),
        "pylib": _try("home_pathmod"),
        "eggs": os.environ.get("PYTHON_EGG_CACHE"),
    }
    body = "".join("%s=%s\n" % item for item in facts.items()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

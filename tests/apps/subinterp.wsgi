# Reports which interpreter serves it, and what it sees of state other
# interpreters could share (sys, sys.modules, os.environ). Loaded under
# several aliases (and copies) by tests/subinterpreters.rs; files shared
# with the test go into the stage's run/ directory.

import atexit
import os
import sys
import threading

import _xxsubinterpreters
import mod_wsgi

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
NAME = os.path.splitext(os.path.basename(__file__))[0]

# Counts the loads of this script in this interpreter (a reload makes a
# new module; sys stays the interpreter's).
sys._subinterp_loads = getattr(sys, "_subinterp_loads", 0) + 1
LOADS = sys._subinterp_loads
# A module every interpreter imports on its own.
sys.modules.setdefault("_subinterp_owner", type(sys)("_subinterp_owner"))
sys.modules["_subinterp_owner"].__dict__.setdefault("owner", NAME)


def _at_exit():
    group = mod_wsgi.application_group.replace("/", "_").replace("|", "_") or "GLOBAL"
    with open(os.path.join(RUN, "atexit-%s-%d" % (group, os.getpid())), "a") as f:
        f.write("atexit ran in %s\n" % NAME)


atexit.register(_at_exit)


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if query.startswith("setenv="):
        os.environ["SUBINTERP_OWNER"] = query[len("setenv="):]
    local = threading.local()
    facts = {
        "name": NAME,
        "group": environ["mod_wsgi.application_group"],
        "module_group": mod_wsgi.application_group,
        "interpreter": int(_xxsubinterpreters.get_current()),
        "main": int(_xxsubinterpreters.get_current()) == int(_xxsubinterpreters.get_main()),
        "loads": LOADS,
        "owner": sys.modules["_subinterp_owner"].owner,
        "env_owner": os.environ.get("SUBINTERP_OWNER", "-"),
        "file_wrapper": environ["wsgi.file_wrapper"] is mod_wsgi.FileWrapper,
        "pid": os.getpid(),
        "thread": threading.get_ident(),
    }
    body = "".join("%s=%s\n" % item for item in facts.items()).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

# Facts about mod_wsgi's metrics functions for tests/metrics.rs, as
# key=value lines: what server_metrics() returned, and whether this very
# request shows in Apache's scoreboard (its request line only with
# ExtendedStatus On).
import os

import mod_wsgi


def server_facts(environ):
    board = mod_wsgi.server_metrics()
    if board is None:
        return ["server=None"]
    me = environ.get("REQUEST_URI", "")
    workers = [w for p in board["processes"] for w in p["workers"]]
    seen = [w for w in workers if me and me in w["request"]]
    lines = [
        "server=dict",
        "server_keys=%s" % ",".join(sorted(board)),
        "server_limit=%d" % board["server_limit"],
        "thread_limit=%d" % board["thread_limit"],
        "processes=%d" % len(board["processes"]),
        "workers_per_process=%s" % sorted({len(p["workers"]) for p in board["processes"]}),
        "running_time_type=%s" % type(board["running_time"]).__name__,
        "restart_before_now=%s" % (board["restart_time"] <= board["current_time"]),
        "process_keys=%s" % ",".join(sorted(board["processes"][0])),
        "worker_keys=%s" % ",".join(sorted(workers[0])),
        "statuses=%s" % "".join(sorted({w["status"] for w in workers})),
        "this_request_status=%s" % ",".join(w["status"] for w in seen),
        "this_pid_listed=%s" % any(p["pid"] == os.getpid() for p in board["processes"]),
        "this_process_statuses=%s" % "".join(
            sorted(w["status"] for p in board["processes"] if p["pid"] == os.getpid()
                   for w in p["workers"])
        ),
    ]
    return lines


def application(environ, start_response):
    lines = ["pid=%d" % os.getpid()]
    lines += server_facts(environ)
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

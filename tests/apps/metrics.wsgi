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


def process_facts(environ):
    if "record" in environ.get("QUERY_STRING", ""):
        mod_wsgi.start_recording_metrics()
    metrics = mod_wsgi.process_metrics()
    if metrics is None:
        return ["process=None"]
    me = environ["mod_wsgi.thread_id"]
    mine = [t["request_count"] for t in metrics["threads"] if t["thread_id"] == me]
    return [
        "process=dict",
        "process_metrics_keys=%s" % ",".join(sorted(metrics)),
        "process_pid_is_mine=%s" % (metrics["pid"] == os.getpid()),
        "request_count=%d" % metrics["request_count"],
        "active_requests=%d" % metrics["active_requests"],
        "request_threads=%d" % metrics["request_threads"],
        "this_thread_count=%s" % (mine[0] if mine else "missing"),
        "busy_time=%r" % metrics["request_busy_time"],
        "cpu_adds_up=%s" % (
            abs(metrics["cpu_time"] - metrics["cpu_user_time"] - metrics["cpu_system_time"]) < 1e-9),
        "memory_ok=%s" % (0 < metrics["memory_rss"] <= metrics["memory_max_rss"]),
        "times_ok=%s" % (
            metrics["restart_time"] <= metrics["current_time"]
            and isinstance(metrics["running_time"], int)),
    ]


def request_facts(environ):
    metrics = mod_wsgi.request_metrics()
    if metrics is None:
        return ["rm=None"]
    seconds = ("request_threads_busy_time", "request_threads_current_elapsed")
    return [
        "rm=dict",
        "rm_keys=%s" % ",".join(sorted(metrics)),
        "rm_pid_is_mine=%s" % (metrics["pid"] == os.getpid()),
        "rm_request_count=%d" % metrics["request_count"],
        "rm_status=%s" % ",".join(str(metrics["status_%dxx" % c]) for c in range(1, 6)),
        "rm_request_time_samples=%d" % sum(metrics["request_time_buckets"]),
        "rm_threads_completed=%d" % sum(metrics["request_threads_completed"]),
        "rm_threads_lists=%s" % sorted({len(metrics[k]) for k in metrics if k.startswith("request_threads_") and isinstance(metrics[k], list)}),
        "rm_threads_maximum=%d" % metrics["request_threads_maximum"],
        "rm_this_thread_running=%s" % any(t > 0 for t in metrics["request_threads_current_elapsed"]),
        "rm_busy_ok=%s" % all(t >= 0 for k in seconds for t in metrics[k]),
        "rm_queue_time=%s" % type(metrics["queue_time"]).__name__,
        "rm_request_time=%s" % type(metrics["request_time"]).__name__,
        "rm_min_le_max=%s" % (
            metrics["request_time_min_us"] is None
            or metrics["request_time_min_us"] <= metrics["request_time_max_us"]),
        "rm_output_bytes=%d" % metrics["output_bytes"],
        "rm_period_ok=%s" % (
            metrics["sample_period"] > 0
            and metrics["start_time"] < metrics["stop_time"]),
    ]


def application(environ, start_response):
    lines = ["pid=%d" % os.getpid()]
    lines += server_facts(environ)
    lines += process_facts(environ)
    lines += request_facts(environ)
    body = ("\n".join(lines) + "\n").encode()
    status = "404 Not Found" if "missing" in environ.get("QUERY_STRING", "") else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [body]

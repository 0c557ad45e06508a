# The mod_wsgi and apache modules, for tests/mod_wsgi_module.rs. Imports
# mod_wsgi at import time (as applications and APM agents do), subscribes
# to every event, and writes what it saw to run/ as JSON lines.
import json
import os
import sys
import threading

import apache
import mod_wsgi

RUN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")

# The script is imported while its first request runs: as in mod_wsgi,
# that request's data is there already.
AT_IMPORT = type(mod_wsgi.request_data()).__name__


def in_another_thread():
    out = []

    def probe():
        try:
            mod_wsgi.request_data()
            out.append("no error")
        except RuntimeError as e:
            out.append("RuntimeError: %s" % e)

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return out[0]


DERIVED = ("request_id", "thread_id", "server_pid", "request_start",
           "queue_start", "daemon_start")


def record(name, **fields):
    line = json.dumps(dict(name=name, pid=os.getpid(), **fields), sort_keys=True)
    with open(os.path.join(RUN_DIR, "events.log"), "a") as f:
        f.write(line + "\n")


@mod_wsgi.subscribe_events
def on_event(name, **event):
    data = event.get("request_data")
    if name == "request_started":
        environ = event["request_environ"]
        path = environ.get("PATH_INFO", "")
        if data is not None:
            data["path"] = path
            # The event keys mod_wsgi copies from its request record, which
            # mod_wsgi_rs copies from the environ's mod_wsgi.* keys.
            data["derived"] = [k for k in DERIVED if "mod_wsgi." + k in environ]
        if not path.startswith("/ev"):
            return None
        record(name, path=path, keys=sorted(event), derived=data["derived"],
               callable_object=event["callable_object"])
        if path == "/ev/wrap":
            inner = event["application_object"]

            def wrapper(environ, start_response):
                return [b"wrapped:"] + list(inner(environ, start_response))

            return {"application_object": wrapper}
        if path == "/ev/callback-error":
            raise ValueError("subscriber failed on purpose")
        return None
    path = (data or {}).get("path", "")
    if not path.startswith("/ev") and name != "process_stopping":
        return None
    fields = dict(path=path, keys=sorted(event), derived=(data or {}).get("derived", []))
    if name == "response_started":
        fields["status"] = event["response_status"]
        fields["exc_info_is_none"] = event["exception_info"] is None
    elif name == "request_exception":
        fields["exception"] = repr(event["exception_info"][1])
    elif name == "request_finished":
        fields["status"] = event["status"]
        fields["input_length"] = event["input_length"]
        fields["output_length"] = event["output_length"]
        fields["data_marker"] = data.get("marker")
    record(name, **fields)
    return None


@mod_wsgi.subscribe_shutdown
def on_shutdown(name, **event):
    with open(os.path.join(RUN_DIR, "stopping-%d" % os.getpid()), "w") as f:
        json.dump(dict(name=name, **event), f)


def facts(environ):
    data = mod_wsgi.request_data()
    data["marker"] = "set by the application"
    active = mod_wsgi.active_requests
    rid = environ.get("mod_wsgi.request_id")
    return {
        "version": list(mod_wsgi.version),
        "mod_wsgi_rs_version": list(getattr(mod_wsgi, "mod_wsgi_rs_version", [])),
        "process_group": mod_wsgi.process_group,
        "application_group": mod_wsgi.application_group,
        "maximum_processes": mod_wsgi.maximum_processes,
        "threads_per_process": mod_wsgi.threads_per_process,
        "input_is_mod_wsgi_input": type(environ["wsgi.input"]) is getattr(mod_wsgi, "Input", None),
        "input_type": "%s.%s" % (type(environ["wsgi.input"]).__module__,
                                  type(environ["wsgi.input"]).__name__),
        "file_wrapper_is_mod_wsgi": environ["wsgi.file_wrapper"] is mod_wsgi.FileWrapper,
        "file_wrapper_name": "%s.%s" % (mod_wsgi.FileWrapper.__module__,
                                         mod_wsgi.FileWrapper.__name__),
        "request_timeout_bases": [c.__name__ for c in mod_wsgi.RequestTimeout.__mro__],
        "request_data_same": mod_wsgi.request_data() is data,
        "request_data_path": data.get("path"),
        "at_import": AT_IMPORT,
        "other_thread": in_another_thread(),
        "request_id": rid,
        "active_len": len(active),
        "active_has_this": (rid in active and active[rid] is data) if rid else None,
        "active_copy_is_dict": type(active.copy()) is dict,
        "sys_modules": sys.modules.get("mod_wsgi") is mod_wsgi,
        "callback_lists": [type(mod_wsgi.event_callbacks).__name__,
                           len(mod_wsgi.event_callbacks) >= 1,
                           len(mod_wsgi.shutdown_callbacks) >= 1],
        "apache.version": list(apache.version),
        "apache.mpm_name": apache.mpm_name,
        "apache.maximum_processes": apache.maximum_processes,
        "apache.threads_per_process": apache.threads_per_process,
        "apache.description": apache.description,
        "apache.build_date": apache.build_date,
    }


class FailingClose:
    def __init__(self, body):
        self.body = body

    def __iter__(self):
        return iter([self.body])

    def close(self):
        raise KeyError("close failed on purpose")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/facts":
        # One "key=json" line per fact, for the test to read without a parser.
        body = "".join("%s=%s\n" % (k, json.dumps(v, sort_keys=True))
                       for k, v in sorted(facts(environ).items())).encode()
    elif path == "/wait-stop":
        # Tells the test its pid, then waits for process_stopping while
        # this request is still in flight.
        import time
        stopping = os.path.join(RUN_DIR, "stopping-%d" % os.getpid())
        with open(os.path.join(RUN_DIR, "waiting-pid"), "w") as f:
            f.write(str(os.getpid()))
        deadline = time.monotonic() + 10
        while not os.path.exists(stopping) and time.monotonic() < deadline:
            time.sleep(0.02)
        body = b"stopping seen" if os.path.exists(stopping) else b"not seen"
    elif path == "/ev/fail":
        raise ValueError("the application failed on purpose")
    elif path == "/ev/post":
        body = environ["wsgi.input"].read()
        mod_wsgi.request_data()["marker"] = "posted"
    else:
        mod_wsgi.request_data()["marker"] = "plain"
        body = b"hello"
    headers = [("Content-Type", "text/plain")]
    if path != "/ev/wrap":
        headers.append(("Content-Length", str(len(body))))
    start_response("200 OK", headers)
    if path == "/ev/close-fails":
        return FailingClose(body)
    return [body]

import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    time.sleep(float(query.get("sleep", ["0"])[0]))
    status = query.get("status", ["200"])[0]
    body = "pid=%d\n" % os.getpid()
    if environ.get("PATH_INFO") == "/metrics":
        import mod_wsgi
        mod_wsgi.start_recording_metrics()
        body += "process_metrics_none=%s\n" % (mod_wsgi.process_metrics() is None)
        body += "request_metrics_none=%s\n" % (mod_wsgi.request_metrics() is None)
    body = body.encode()
    start_response(status + " X", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

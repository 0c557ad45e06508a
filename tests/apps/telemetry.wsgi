import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    time.sleep(float(query.get("sleep", ["0"])[0]))
    status = query.get("status", ["200"])[0]
    body = ("pid=%d\n" % os.getpid()).encode()
    start_response(status + " X", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

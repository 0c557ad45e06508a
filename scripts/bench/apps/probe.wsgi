# Not timed: tells which interpreter serves the requests and whether
# extension modules from lib-dynload (math, _json, select) can be imported.
import sys


def application(environ, start_response):
    failed = []
    for name in ("math", "_json", "select"):
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            failed.append(f"{name}: {e!r}")
    text = f"python {sys.version.split()[0]} prefix {sys.prefix}; "
    text += ("lib-dynload imports fail: " + "; ".join(failed)) if failed else "lib-dynload imports ok"
    body = text.encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

# For tests/hardening_timeouts.rs: reads the whole body of a request whose
# Content-Length claims far more than it sends, and says what read() raised
# and the process's VmPeak (kB) afterwards.


def vm_peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1])
    return -1


def application(environ, start_response):
    try:
        data = environ["wsgi.input"].read()
        outcome = "read %d" % len(data)
    except MemoryError:
        outcome = "MemoryError"
    except OSError:
        outcome = "OSError"
    body = ("%s vmpeak=%d" % (outcome, vm_peak())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

# For tests/daemon_options.rs: what a daemon's process options changed, seen
# from inside. Imports only what a chroot with the standard library has.

import os
import resource
import sys


def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def facts(environ, start_response):
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    values = {
        "pid": os.getpid(),
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "as_soft": soft,
        "as_hard": hard,
        "file": __file__,
        "script_filename": environ.get("SCRIPT_FILENAME"),
        "document_root": environ.get("DOCUMENT_ROOT", "<unset>"),
        "cwd": os.getcwd(),
        "root_entries": ",".join(sorted(os.listdir("/"))),
        "prefix": sys.prefix,
    }
    return text(start_response, "".join("%s=%s\n" % (k, values[k]) for k in sorted(values)))


def stack(environ, start_response):
    # The worker thread's own stack, as the C library set it up.
    import ctypes

    libc = ctypes.CDLL(None)
    libc.pthread_self.restype = ctypes.c_ulong
    attr = ctypes.create_string_buffer(128)
    size = ctypes.c_size_t()
    assert libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr) == 0
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    libc.pthread_attr_destroy(attr)
    return text(start_response, "stack=%d\n" % size.value)


def allocate(environ, start_response):
    # QUERY_STRING bytes in one piece.
    try:
        block = bytearray(int(environ["QUERY_STRING"]))
        del block
        outcome = "allocated"
    except MemoryError:
        outcome = "MemoryError"
    return text(start_response, outcome)


ROUTES = {"/facts": facts, "/stack": stack, "/allocate": allocate}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)

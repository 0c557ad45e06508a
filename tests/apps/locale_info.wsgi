# The locale Python runs with, for tests/locale.rs: the encodings, the
# locale categories, the locale variables of the process environment, and
# open() of a UTF-8 file without an encoding. One "key=value" line per fact.
# Run as a script (python3 locale_info.wsgi) it prints the same facts for
# Python's own command line, which starts from the configuration mod_wsgi 6
# starts from (PyConfig_InitPythonConfig).
import locale
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _read_text():
    try:
        with open(os.path.join(HERE, "locale_text.txt")) as f:
            return f.read().strip()
    except Exception as e:  # reported to the test, which names the failure
        return "ERROR %s: %s" % (type(e).__name__, e)


def facts():
    return {
        "filesystem_encoding": sys.getfilesystemencoding(),
        "preferred_encoding": locale.getpreferredencoding(False),
        "utf8_mode": sys.flags.utf8_mode,
        "LC_CTYPE": locale.setlocale(locale.LC_CTYPE),
        "LC_NUMERIC": locale.setlocale(locale.LC_NUMERIC),
        "env.LANG": os.environ.get("LANG"),
        "env.LC_ALL": os.environ.get("LC_ALL"),
        "env.LC_CTYPE": os.environ.get("LC_CTYPE"),
        "text": _read_text(),
    }


def _lines():
    pid = "pid=%d\n" % os.getpid()
    return pid + "".join("%s=%s\n" % item for item in facts().items())


def application(environ, start_response):
    body = _lines().encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    sys.stdout.buffer.write(_lines().encode("utf-8"))

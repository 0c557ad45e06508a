"""The servers compared, and the WSGI part of each one's configuration.

All of them use the main interpreter (WSGIApplicationGroup %{GLOBAL}), the
only one mod_wsgi_rs has so far, and the same Python: /usr/bin/python3.11's
libpython with its default prefix (no WSGIPythonHome for any of them).
"""

import subprocess
from dataclasses import dataclass

from apache import ROOT

APPS = ["hello", "big", "file", "upload", "chunks", "probe"]

DAEMON = """WSGISocketPrefix @DIR@/run/wsgi
WSGIDaemonProcess bench processes=2 threads=15
WSGIProcessGroup bench"""


@dataclass
class Server:
    key: str
    label: str
    load: str = ""  # LoadModule line; empty for plain Apache
    daemon: bool = False

    def wsgi_config(self):
        if not self.load:
            return ""
        lines = [self.load, "WSGIApplicationGroup %{GLOBAL}"]
        if self.daemon:
            lines.append(DAEMON)
        lines += [f"WSGIScriptAlias /{app} @ROOT@/apps/{app}.wsgi" for app in APPS]
        return "\n".join(lines)


def module_611_load_line(venv):
    """The LoadModule line `mod_wsgi-express module-config` prints (its
    WSGIPythonHome line, pointing at the venv, is left out: see above)."""
    out = subprocess.run([f"{venv}/bin/mod_wsgi-express", "module-config"],
                         check=True, capture_output=True, text=True).stdout
    return next(line for line in out.splitlines() if line.startswith("LoadModule"))


def all_servers(venv):
    rs = f"LoadModule wsgi_module {ROOT}/mod_wsgi_rs.so"
    m4 = "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so"
    m6 = module_611_load_line(venv)
    servers = [
        Server("rs", "mod_wsgi_rs", rs),
        Server("m494", "mod_wsgi 4.9.4", m4),
        Server("m611", "mod_wsgi 6.1.1", m6),
        Server("rsd", "mod_wsgi_rs daemon", rs, daemon=True),
        Server("m494d", "mod_wsgi 4.9.4 daemon", m4, daemon=True),
        Server("m611d", "mod_wsgi 6.1.1 daemon", m6, daemon=True),
        Server("static", "Apache static file"),
    ]
    return {s.key: s for s in servers}


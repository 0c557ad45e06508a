"""``runmodwsgi`` with ``mod_wsgi_rs.express`` in INSTALLED_APPS: mod_wsgi
6.1.1 offers the command from ``mod_wsgi.express`` (and deprecates
``mod_wsgi.server``), so either of its names, with ``_rs`` added, works.
The command is mod_wsgi_rs.server's.
"""

from mod_wsgi_rs.server.management.commands.runmodwsgi import Command  # noqa: F401

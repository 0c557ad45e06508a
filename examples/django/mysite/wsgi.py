"""The WSGI entry point mod_wsgi loads (WSGIScriptAlias, or
mod_wsgi_rs-express start-server). The project's directory goes on
sys.path here, so that the file works wherever the project was copied,
with or without a python-path= option."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

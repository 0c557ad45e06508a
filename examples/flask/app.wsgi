# The WSGI entry point mod_wsgi loads: Flask's deployment page writes it so.
# The application's own directory goes on sys.path, so that `app` imports
# whichever directory this file was copied to.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from app import app as application  # noqa: E402

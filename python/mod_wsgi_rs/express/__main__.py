"""python -m mod_wsgi_rs.express: the mod_wsgi_rs-express command."""

import sys

from .cli import main

sys.exit(main())

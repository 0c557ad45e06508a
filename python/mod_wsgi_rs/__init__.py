"""mod_wsgi_rs: the Apache module, and the mod_wsgi_rs-express runner.

The version is the Cargo package's (Cargo.toml), so that the module a
pip install builds and the package around it always say the same.
"""

__version__ = "0.1.0"

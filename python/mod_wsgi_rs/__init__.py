"""mod_wsgi_rs: the Apache module, and the mod_wsgi_rs-express runner.

The version is the Cargo package's (Cargo.toml), so that the module a
pip install builds and the package around it always say the same:
setup.py takes the package's version from Cargo.toml and refuses to build
when this line differs (python/tests/test_setup.py checks it too).
"""

__version__ = "0.1.0"

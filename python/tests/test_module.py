"""Where mod_wsgi_rs.module finds the Apache module."""

import os
import tempfile
import unittest
from unittest import mock

from mod_wsgi_rs import module


class ModuleLocation(unittest.TestCase):
    def test_the_environment_wins(self):
        with mock.patch.dict(os.environ, {"MOD_WSGI_RS_MODULE": "/x/mod.so"}):
            self.assertEqual(module.module_location(), "/x/mod.so")

    def test_an_installed_module_beside_the_package_comes_before_a_checkout(self):
        with tempfile.TemporaryDirectory() as package_dir:
            installed = os.path.join(package_dir, "mod_wsgi_rs.cpython-311-x86_64-linux-gnu.so")
            open(installed, "wb").close()
            env = {k: v for k, v in os.environ.items() if k != "MOD_WSGI_RS_MODULE"}
            with mock.patch.dict(os.environ, env, clear=True), mock.patch.object(
                module, "_PACKAGE_DIR", package_dir
            ):
                self.assertEqual(module.module_location(), installed)

    def test_nothing_found_is_none(self):
        with tempfile.TemporaryDirectory() as package_dir:
            env = {k: v for k, v in os.environ.items() if k != "MOD_WSGI_RS_MODULE"}
            with mock.patch.dict(os.environ, env, clear=True), mock.patch.object(
                module, "_PACKAGE_DIR", os.path.join(package_dir, "python", "mod_wsgi_rs")
            ):
                self.assertIsNone(module.module_location())


if __name__ == "__main__":
    unittest.main()

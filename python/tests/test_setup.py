"""setup.py's pure logic: the one version, and the errors that name the
Debian package to install when the build cannot succeed."""

import importlib.util
import os
import tempfile
import unittest
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_setup():
    # Imported under its own name, so its `if __name__ == "__main__"` does
    # not run setup().
    spec = importlib.util.spec_from_file_location("mod_wsgi_rs_setup", os.path.join(ROOT, "setup.py"))
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    return setup


setup = _load_setup()


class Version(unittest.TestCase):
    def test_the_package_version_is_cargo_tomls(self):
        import mod_wsgi_rs

        self.assertEqual(mod_wsgi_rs.__version__, setup.cargo_version())
        self.assertEqual(setup.checked_version(), mod_wsgi_rs.__version__)

    def test_the_version_comes_from_the_package_table_not_a_dependency(self):
        with tempfile.TemporaryDirectory() as root:
            with open(os.path.join(root, "Cargo.toml"), "w") as f:
                f.write('[package]\nname = "x"\nversion = "1.2.3"\n\n[dependencies]\ny = { version = "9" }\n')
            self.assertEqual(setup.cargo_version(root), "1.2.3")

    def test_a_package_version_that_differs_stops_the_build(self):
        with tempfile.TemporaryDirectory() as root:
            with open(os.path.join(root, "Cargo.toml"), "w") as f:
                f.write('[package]\nversion = "1.2.3"\n')
            os.makedirs(os.path.join(root, "python", "mod_wsgi_rs"))
            with open(os.path.join(root, "python", "mod_wsgi_rs", "__init__.py"), "w") as f:
                f.write('__version__ = "1.2.2"\n')
            with self.assertRaisesRegex(RuntimeError, "'1.2.2' but Cargo.toml has '1.2.3'"):
                setup.checked_version(root)


class BuildRequirements(unittest.TestCase):
    def test_no_apxs_names_apache2_dev(self):
        with self.assertRaisesRegex(setup.MissingBuildRequirement, r"install apache2-dev"):
            setup.apxs_query("INCLUDEDIR", apxs="/nonexistent/apxs")

    def test_apxs_answers(self):
        if not os.path.exists("/usr/bin/apxs"):
            self.skipTest("apache2-dev is not installed")
        self.assertTrue(os.path.isdir(setup.apxs_query("INCLUDEDIR")))

    def _config(self, **overrides):
        values = {
            "VERSION": "3.11",
            "LIBDIR": "/usr/lib/x86_64-linux-gnu",
            "LDLIBRARY": "libpython3.11.so",
            "INCLUDEPY": "/usr/include/python3.11",
            "Py_ENABLE_SHARED": 1,
        }
        values.update(overrides)
        return values.get

    def test_python_dev_present(self):
        found = setup.check_python_dev(self._config(), exists=lambda p: True)
        self.assertEqual(found, "/usr/lib/x86_64-linux-gnu/libpython3.11.so")

    def test_no_libpython_link_names_python3_dev(self):
        exists = lambda p: not p.endswith(".so")  # noqa: E731
        with self.assertRaisesRegex(setup.MissingBuildRequirement, r"install python3-dev"):
            setup.check_python_dev(self._config(), exists=exists)

    def test_no_python_h_names_python3_dev(self):
        exists = lambda p: not p.endswith("Python.h")  # noqa: E731
        with self.assertRaisesRegex(setup.MissingBuildRequirement, r"install python3-dev"):
            setup.check_python_dev(self._config(), exists=exists)

    def test_a_static_python_is_refused_with_what_to_use(self):
        with self.assertRaisesRegex(setup.MissingBuildRequirement, r"--enable-shared"):
            setup.check_python_dev(self._config(Py_ENABLE_SHARED=0), exists=lambda p: True)

    def test_a_venv_builds_against_its_base_interpreter(self):
        with tempfile.TemporaryDirectory() as d:
            base = os.path.join(d, "python3.11")
            open(base, "w").close()
            with mock.patch.object(setup.sys, "_base_executable", base, create=True):
                self.assertEqual(setup.build_python(), os.path.realpath(base))

    def test_debians_python_is_named_as_cargo_config_names_it(self):
        with tempfile.TemporaryDirectory() as d:
            real = os.path.join(d, "python3.11")
            open(real, "w").close()
            alias = os.path.join(d, "python3")
            os.symlink("python3.11", alias)
            with mock.patch.object(setup.sys, "_base_executable", real, create=True):
                self.assertEqual(setup.build_python(alias), alias)

    def test_the_alias_is_cargo_configs(self):
        with open(os.path.join(ROOT, ".cargo", "config.toml")) as f:
            self.assertIn('PYO3_PYTHON = "%s"' % setup.CARGO_CONFIG_PYTHON, f.read())


if __name__ == "__main__":
    unittest.main()

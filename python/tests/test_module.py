"""mod_wsgi_rs.module: where the Apache module is, and the module-location,
module-config and install-module commands."""

import contextlib
import io
import os
import sys
import tempfile
import unittest
from unittest import mock

from mod_wsgi_rs import module


def _without_override():
    return {k: v for k, v in os.environ.items() if k != "MOD_WSGI_RS_MODULE"}


def _run(command, argv, env=None):
    """main(command, argv) -> (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(
        out
    ), contextlib.redirect_stderr(err):
        status = module.main(command, argv)
    return status, out.getvalue(), err.getvalue()


class ModuleLocation(unittest.TestCase):
    def test_the_environment_wins(self):
        with mock.patch.dict(os.environ, {"MOD_WSGI_RS_MODULE": "/x/mod.so"}):
            self.assertEqual(module.module_location(), "/x/mod.so")

    def test_an_installed_module_beside_the_package_comes_before_a_checkout(self):
        with tempfile.TemporaryDirectory() as package_dir:
            installed = os.path.join(package_dir, module.installed_module_name())
            open(installed, "wb").close()
            with mock.patch.dict(os.environ, _without_override(), clear=True), mock.patch.object(
                module, "_PACKAGE_DIR", package_dir
            ):
                self.assertEqual(module.module_location(), installed)

    def test_the_installed_name_says_which_python(self):
        name = module.installed_module_name()
        self.assertTrue(name.startswith("mod_wsgi_rs-py%d%d." % sys.version_info[:2]), name)
        self.assertTrue(name.endswith(".so"), name)

    def test_the_checkout_build_comes_last(self):
        with tempfile.TemporaryDirectory() as root:
            package_dir = os.path.join(root, "python", "mod_wsgi_rs")
            built = os.path.join(root, "target", "release", "libmod_wsgi_rs.so")
            os.makedirs(package_dir)
            os.makedirs(os.path.dirname(built))
            open(built, "wb").close()
            with mock.patch.dict(os.environ, _without_override(), clear=True), mock.patch.object(
                module, "_PACKAGE_DIR", package_dir
            ):
                self.assertEqual(module.module_location(), built)

    def test_nothing_found_is_none(self):
        with tempfile.TemporaryDirectory() as package_dir:
            with mock.patch.dict(os.environ, _without_override(), clear=True), mock.patch.object(
                module, "_PACKAGE_DIR", os.path.join(package_dir, "python", "mod_wsgi_rs")
            ):
                self.assertIsNone(module.module_location())


class Commands(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.so = os.path.join(self.dir.name, "mod_wsgi_rs-py311.so")
        with open(self.so, "wb") as f:
            f.write(b"module bytes")
        self.env = {"MOD_WSGI_RS_MODULE": self.so}

    def test_module_location_prints_the_path(self):
        self.assertEqual(_run("module-location", [], self.env), (0, self.so + "\n", ""))

    def test_module_config_prints_loadmodule_and_python_home_as_mod_wsgi_express(self):
        status, out, _ = _run("module-config", [], self.env)
        self.assertEqual(status, 0)
        self.assertEqual(
            out.splitlines(),
            [
                'LoadModule wsgi_module "%s"' % self.so,
                'WSGIPythonHome "%s"' % os.path.normpath(sys.prefix),
            ],
        )

    def test_a_macos_framework_python_gets_a_loadfile_line_first(self):
        lines = module.config_lines("/m.so", prefix="/env/", dylib="/lib/Python")
        self.assertEqual(
            lines,
            ['LoadFile "/lib/Python"', 'LoadModule wsgi_module "/m.so"', 'WSGIPythonHome "/env"'],
        )

    def test_install_module_copies_and_prints_the_lines_for_the_copy(self):
        modules = os.path.join(self.dir.name, "modules")
        os.mkdir(modules)
        status, out, _ = _run("install-module", ["--modules-directory", modules], self.env)
        self.assertEqual(status, 0)
        target = os.path.join(modules, "mod_wsgi_rs-py311.so")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"module bytes")
        self.assertEqual(out.splitlines()[0], 'LoadModule wsgi_module "%s"' % target)
        self.assertEqual(os.listdir(modules), ["mod_wsgi_rs-py311.so"])

    def test_install_module_replaces_the_file_rather_than_rewriting_it(self):
        # A running Apache maps the old file: it must keep its inode.
        modules = os.path.join(self.dir.name, "modules")
        os.mkdir(modules)
        target = os.path.join(modules, "mod_wsgi_rs-py311.so")
        with open(target, "wb") as f:
            f.write(b"old")
        old = open(target, "rb")
        self.addCleanup(old.close)
        self.assertEqual(_run("install-module", ["--modules-directory", modules], self.env)[0], 0)
        self.assertEqual(old.read(), b"old")

    def test_install_module_into_a_missing_directory_is_a_usage_error(self):
        missing = os.path.join(self.dir.name, "nowhere")
        status, _, err = _run("install-module", ["--modules-directory", missing], self.env)
        self.assertEqual(status, 2)
        self.assertIn("mod_wsgi_rs-express install-module: error: the modules directory", err)

    def test_install_module_defaults_to_the_directory_recorded_at_build(self):
        fake = mock.Mock(LIBEXECDIR="/recorded/modules")
        with mock.patch.dict(sys.modules, {"mod_wsgi_rs._build_config": fake}):
            self.assertEqual(module.default_modules_directory(), "/recorded/modules")

    def test_extra_arguments_are_a_usage_error(self):
        status, _, err = _run("module-config", ["extra"], self.env)
        self.assertEqual(status, 2)
        self.assertIn("unrecognized arguments: extra", err)

    def test_no_module_says_how_to_get_one(self):
        env = {"MOD_WSGI_RS_MODULE": os.path.join(self.dir.name, "absent.so")}
        status, out, err = _run("module-config", [], env)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("pip install", err)
        self.assertIn("absent.so", err)

    def test_an_unknown_command_is_refused(self):
        status, _, err = _run("serve-me", [], self.env)
        self.assertEqual(status, 2)
        self.assertIn("invalid command 'serve-me'", err)


if __name__ == "__main__":
    unittest.main()

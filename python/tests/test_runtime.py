"""mod_wsgi_rs.express.runtime: entry points to WSGI callables, without Apache."""

import os
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

from mod_wsgi_rs.express import runtime


def options(**overrides):
    base = {
        "application_type": "script",
        "entry_point": "/nonexistent/app.wsgi",
        "callable_object": "application",
        "working_directory": "/nonexistent",
        "reload_on_changes": False,
        "reload_interval": 1,
        "server_root": "/nonexistent/root",
    }
    base.update(overrides)
    return base


class Workdir(unittest.TestCase):
    """A temporary working directory, and sys.path/sys.modules restored."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="runtime-test-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir))
        saved_path = list(sys.path)
        saved_modules = dict(sys.modules)

        def restore():
            sys.path[:] = saved_path
            for name in set(sys.modules) - set(saved_modules):
                del sys.modules[name]

        self.addCleanup(restore)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(textwrap.dedent(text))
        return path


class Options(unittest.TestCase):
    def test_a_missing_key_names_it(self):
        incomplete = options()
        del incomplete["server_root"]
        with self.assertRaisesRegex(runtime.ApplicationError, "server_root"):
            runtime.application_from_options(incomplete)

    def test_an_unknown_type_lists_the_known_ones(self):
        with self.assertRaisesRegex(runtime.ApplicationError, "script, module, paste"):
            runtime.application_from_options(options(application_type="static"))


class ModuleEntryPoints(unittest.TestCase):
    def test_a_plain_module_takes_the_callable_object(self):
        self.assertEqual(runtime.split_module_entry_point("pkg.mod", "app"), ("pkg.mod", "app"))

    def test_a_colon_names_the_callable(self):
        self.assertEqual(
            runtime.split_module_entry_point("pkg.mod:make.app", "application"),
            ("pkg.mod", "make.app"),
        )

    def test_an_empty_part_is_refused(self):
        for bad in (":app", "pkg.mod:", ""):
            with self.assertRaisesRegex(runtime.ApplicationError, "package.module"):
                runtime.split_module_entry_point(bad, "application")


class Script(Workdir):
    def test_the_script_runs_as_the_wsgi_module(self):
        path = self.write("app.wsgi", """
            def application(environ, start_response):
                return [__name__.encode()]
        """)
        app = runtime.application_from_options(options(entry_point=path, working_directory=self.dir))
        self.assertEqual(app({}, None), [b"__wsgi__"])
        self.assertEqual(sys.modules["__wsgi__"].__file__, path)

    def test_callable_object_names_another_callable(self):
        path = self.write("app.wsgi", """
            def handler(environ, start_response):
                return [b"handler"]
        """)
        app = runtime.application_from_options(
            options(entry_point=path, callable_object="handler", working_directory=self.dir)
        )
        self.assertEqual(app({}, None), [b"handler"])

    def test_a_missing_callable_says_what_the_script_defines(self):
        path = self.write("app.wsgi", "def other(environ, start_response): pass\n")
        with self.assertRaisesRegex(runtime.ApplicationError, r"has no 'application'.*other"):
            runtime.application_from_options(options(entry_point=path, working_directory=self.dir))

    def test_a_value_that_is_not_callable_is_refused(self):
        path = self.write("app.wsgi", "application = 42\n")
        with self.assertRaisesRegex(runtime.ApplicationError, "is a int, not a WSGI application"):
            runtime.application_from_options(options(entry_point=path, working_directory=self.dir))

    def test_a_missing_script_is_an_application_error(self):
        with self.assertRaisesRegex(runtime.ApplicationError, "cannot be read"):
            runtime.application_from_options(
                options(entry_point=os.path.join(self.dir, "gone.wsgi"), working_directory=self.dir)
            )

    def test_the_script_s_own_error_propagates(self):
        path = self.write("app.wsgi", "raise ValueError('broken at import')\n")
        with self.assertRaisesRegex(ValueError, "broken at import"):
            runtime.application_from_options(options(entry_point=path, working_directory=self.dir))


class Module(Workdir):
    def test_the_module_is_found_in_the_working_directory(self):
        self.write("rtpkg/__init__.py", "")
        self.write("rtpkg/web.py", """
            def application(environ, start_response):
                return [b"module"]
            def other(environ, start_response):
                return [b"other"]
        """)
        app = runtime.application_from_options(
            options(application_type="module", entry_point="rtpkg.web", working_directory=self.dir)
        )
        self.assertEqual(app({}, None), [b"module"])
        self.assertEqual(sys.path[0], self.dir)

    def test_a_colon_entry_point_picks_the_callable(self):
        self.write("rtmod2.py", """
            class Holder:
                def app(self, environ, start_response):
                    return [b"method"]
            holder = Holder()
        """)
        app = runtime.application_from_options(
            options(application_type="module", entry_point="rtmod2:holder.app",
                    working_directory=self.dir)
        )
        self.assertEqual(app({}, None), [b"method"])

    def test_a_missing_module_names_the_path_to_set(self):
        with self.assertRaisesRegex(runtime.ApplicationError, "no module named 'rt_absent'.*--working-directory"):
            runtime.application_from_options(
                options(application_type="module", entry_point="rt_absent", working_directory=self.dir)
            )

    def test_a_missing_import_inside_the_application_keeps_its_own_error(self):
        self.write("rtmod3.py", "import rt_dependency_that_is_missing\n")
        with self.assertRaises(ModuleNotFoundError) as caught:
            runtime.application_from_options(
                options(application_type="module", entry_point="rtmod3", working_directory=self.dir)
            )
        self.assertEqual(caught.exception.name, "rt_dependency_that_is_missing")


class Paste(Workdir):
    def test_without_paste_deploy_says_what_to_install(self):
        ini = self.write("app.ini", "[app:main]\nuse = call:x:y\n")
        with mock.patch.dict(sys.modules, {"paste.deploy": None, "paste": None}):
            with self.assertRaisesRegex(runtime.ApplicationError, "pip install PasteDeploy"):
                runtime.application_from_options(
                    options(application_type="paste", entry_point=ini, working_directory=self.dir)
                )

    def test_the_ini_file_is_watched_besides_the_modules(self):
        self.assertEqual(runtime.watched_file(options(application_type="paste", entry_point="/a.ini")), "/a.ini")
        self.assertIsNone(runtime.watched_file(options(application_type="script")))


class EntryPointProblem(Workdir):
    def test_a_missing_script_or_ini_is_named(self):
        gone = os.path.join(self.dir, "gone.wsgi")
        self.assertIn(gone, runtime.entry_point_problem(options(entry_point=gone)))
        self.assertIn("PasteDeploy", runtime.entry_point_problem(
            options(application_type="paste", entry_point=gone)))

    def test_an_existing_script_and_a_module_name_are_fine(self):
        path = self.write("app.wsgi", "")
        self.assertIsNone(runtime.entry_point_problem(options(entry_point=path)))
        self.assertIsNone(runtime.entry_point_problem(
            options(application_type="module", entry_point="a.b:c")))

    def test_a_malformed_module_name_is_a_problem(self):
        self.assertIn("package.module", runtime.entry_point_problem(
            options(application_type="module", entry_point="a.b:")))


class Reloading(Workdir):
    def test_reload_on_changes_starts_the_monitor_with_the_interval(self):
        path = self.write("app.wsgi", "def application(e, s): return []\n")
        with mock.patch.object(runtime.reloader, "start_reloader") as start:
            runtime.application_from_options(
                options(entry_point=path, working_directory=self.dir,
                        reload_on_changes=True, reload_interval=3)
            )
        start.assert_called_once_with(interval=3)

    def test_without_it_no_monitor_starts(self):
        path = self.write("app.wsgi", "def application(e, s): return []\n")
        with mock.patch.object(runtime.reloader, "start_reloader") as start:
            runtime.application_from_options(options(entry_point=path, working_directory=self.dir))
        start.assert_not_called()


if __name__ == "__main__":
    unittest.main()

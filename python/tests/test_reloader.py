"""mod_wsgi_rs.express.reloader: which file changes restart the process."""

import os
import tempfile
import types
import unittest
from unittest import mock

from mod_wsgi_rs.express import reloader


class ChangeMonitor(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="reloader-test-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir))
        self.monitor = reloader.ChangeMonitor()

    def file(self, name, mtime):
        path = os.path.join(self.dir, name)
        with open(path, "w") as out:
            out.write("x = 1\n")
        os.utime(path, (mtime, mtime))
        return path

    def modules(self, **files):
        return {name: types.SimpleNamespace(__file__=path) for name, path in files.items()}

    def test_an_unchanged_module_is_not_a_change(self):
        mods = self.modules(a=self.file("a.py", 1000))
        self.assertIsNone(self.monitor.first_change(mods))
        self.assertIsNone(self.monitor.first_change(mods))

    def test_any_loaded_module_changing_is_seen(self):
        a = self.file("a.py", 1000)
        b = self.file("b.py", 1000)
        mods = self.modules(a=a, b=b)
        self.monitor.first_change(mods)
        os.utime(b, (2000, 2000))
        self.assertEqual(self.monitor.first_change(mods), b)

    def test_an_older_copy_restored_is_a_change(self):
        a = self.file("a.py", 1000)
        self.monitor.first_change(self.modules(a=a))
        os.utime(a, (500, 500))
        self.assertEqual(self.monitor.first_change(self.modules(a=a)), a)

    def test_a_removed_file_is_a_change_and_a_never_seen_pseudo_path_is_not(self):
        a = self.file("a.py", 1000)
        mods = self.modules(a=a, zipped=os.path.join(self.dir, "lib.zip", "m.py"))
        self.assertIsNone(self.monitor.first_change(mods))
        os.remove(a)
        self.assertEqual(self.monitor.first_change(mods), a)

    def test_a_compiled_file_stands_for_its_source(self):
        source = self.file("c.py", 1000)
        mods = self.modules(c=source + "c")
        self.monitor.first_change(mods)
        os.utime(source, (3000, 3000))
        self.assertEqual(self.monitor.first_change(mods), source)

    def test_modules_without_a_file_are_skipped(self):
        mods = {"builtin": types.SimpleNamespace(), "none": types.SimpleNamespace(__file__=None)}
        self.assertIsNone(self.monitor.first_change(mods))

    def test_a_tracked_file_that_is_no_module_is_watched(self):
        ini = self.file("app.ini", 1000)
        self.monitor.track(ini)
        self.monitor.track(ini)
        self.assertIsNone(self.monitor.first_change({}))
        os.utime(ini, (1001, 1001))
        self.assertEqual(self.monitor.first_change({}), ini)


class StartReloader(unittest.TestCase):
    def test_outside_a_daemon_process_no_thread_starts(self):
        with mock.patch.object(reloader, "in_daemon_process", return_value=False), \
                mock.patch.object(reloader.threading, "Thread") as thread, \
                mock.patch.object(reloader, "_say") as say:
            reloader.start_reloader(1)
        thread.assert_not_called()
        self.assertIn("Not a daemon process", say.call_args[0][0])

    def test_without_the_module_it_is_not_a_daemon_process(self):
        with mock.patch.dict("sys.modules", {"mod_wsgi": None}):
            self.assertFalse(reloader.in_daemon_process())


if __name__ == "__main__":
    unittest.main()

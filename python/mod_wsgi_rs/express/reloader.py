"""--reload-on-changes: restart the daemon process when code changes.

As mod_wsgi-express 6.1.1's reloader: a thread of the daemon process looks,
every interval, at the file of every module in ``sys.modules`` (and at the
files registered with ``track_changes``, such as a PasteDeploy .ini file),
and when one was changed, removed or replaced by an older copy, sends
SIGINT to its own process. The module's daemon takes SIGINT as a graceful
stop (src/daemon/server.rs: the requests in flight finish within
graceful-timeout, ``process_stopping`` is published, Python is finalised,
the process exits 0), and the Apache parent starts a new daemon at once,
which imports the changed code afresh. Only the process that saw the change
restarts; each daemon process has its own monitor.

In embedded mode (an Apache child) the monitor does not start: a signal
would stop Apache's child, not reload the application. mod_wsgi-express
turns reloading off there too.
"""

import os
import queue
import signal
import sys
import threading

# The compiled forms whose source is what an edit changes.
_COMPILED_SUFFIXES = (".pyc", ".pyo")


def source_of(path):
    """The source file of a module's ``__file__``."""
    if path.endswith(_COMPILED_SUFFIXES):
        return path[:-1]
    return path


class ChangeMonitor:
    """Modification times of files, and whether they changed since first
    seen. Pure: the thread that polls it is below."""

    def __init__(self):
        self._times = {}
        self._extra = []

    def track(self, path):
        if path not in self._extra:
            self._extra.append(path)

    def modified(self, path):
        """Whether `path` changed since it was first looked at."""
        try:
            # A path that is not a file is ignored unless it was one: a
            # module inside a zip file has a pseudo path; a file that was
            # there and went away is a change.
            if not os.path.isfile(path):
                return path in self._times
            mtime = os.stat(path).st_mtime
        except OSError:
            # Removed between the two calls.
            return True
        first = self._times.setdefault(path, mtime)
        # Any difference, older too: an older copy restored is a change.
        return mtime != first

    def module_files(self, modules):
        for module in list(modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and path:
                yield source_of(path)

    def first_change(self, modules):
        """The first changed file among the modules' files and the tracked
        ones, or None."""
        for path in self.module_files(modules):
            if self.modified(path):
                return path
        for path in self._extra:
            if self.modified(path):
                return path
        return None


_monitor = ChangeMonitor()
_interval = 1.0
_stop = queue.Queue()
_lock = threading.Lock()
_thread = None


def _say(text):
    print("monitor (pid=%d): %s" % (os.getpid(), text), file=sys.stderr)


def _restart(path):
    _say('Change detected to "%s".' % path)
    _say("Triggering process restart.")
    os.kill(os.getpid(), signal.SIGINT)


def _run():
    while True:
        changed = _monitor.first_change(sys.modules)
        if changed is not None:
            return _restart(changed)
        # Waits on the queue, not in sleep(), so that process_stopping
        # ends the thread at once.
        try:
            _stop.get(timeout=_interval)
            return None
        except queue.Empty:
            pass


def _stopping(*args, **kwargs):
    _stop.put(True)


def track_changes(path):
    """Restart also when `path` (not a module) changes."""
    _monitor.track(path)


def in_daemon_process():
    """Whether this is a daemon process of the module (not embedded)."""
    try:
        import mod_wsgi
    except ImportError:
        return False
    return bool(getattr(mod_wsgi, "process_group", ""))


def start_reloader(interval=1.0):
    """Starts the monitor thread once per process."""
    global _interval, _thread
    with _lock:
        if _thread is not None:
            return
        if not in_daemon_process():
            _say("Not a daemon process: reloading on changes is off.")
            return
        _interval = max(float(interval), 0.1)
        _say("Starting change monitor.")
        # Files as they are now, before any request: a change made while
        # the first requests run is then seen too.
        _monitor.first_change(sys.modules)
        _thread = threading.Thread(target=_run, name="mod_wsgi_rs-reloader", daemon=True)
        _thread.start()
        import mod_wsgi

        mod_wsgi.subscribe_shutdown(_stopping)

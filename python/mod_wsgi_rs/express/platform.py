"""Where this machine's Apache is, and who runs it: the defaults of
--httpd-executable, --modules-directory, --rotatelogs-executable,
--shell-executable, --mime-types, --user and --group.

mod_wsgi-express bakes the Apache it was built against into
apxs_config.py. This package may be used where apxs is not installed (the
slim runtime image has Apache but not apache2-dev), so the usual places
are looked at first and apxs is asked only when none of them exists.
"""

import mimetypes
import os
import posixpath
import subprocess


def find_program(names, default=None, paths=()):
    """The first of `names` on PATH or in `paths`, else `default`."""
    for name in names:
        for path in os.environ.get('PATH', '').split(os.pathsep) + list(paths):
            program = posixpath.join(path, name)
            if os.path.exists(program):
                return program
    return default


def _apxs(name):
    apxs = find_program(['apxs', 'apxs2'], paths=['/usr/bin', '/usr/sbin'])
    if apxs is None:
        return ''
    try:
        out = subprocess.run([apxs, '-q', name], capture_output=True,
                text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ''
    return out.stdout.strip()


def _first_existing(paths):
    for path in paths:
        if os.path.exists(path):
            return path
    return None


def _httpd():
    found = _first_existing(['/usr/sbin/apache2', '/usr/sbin/httpd',
            '/usr/local/apache2/bin/httpd'])
    if found:
        return found
    sbindir, target = _apxs('SBINDIR'), _apxs('TARGET')
    if sbindir and target:
        return posixpath.join(sbindir, target)
    return find_program(['apache2', 'httpd'], 'httpd', ['/usr/sbin'])


def _modules_directory():
    found = _first_existing(['/usr/lib/apache2/modules',
            '/usr/lib64/httpd/modules', '/usr/lib/httpd/modules',
            '/usr/local/apache2/modules'])
    return found or _apxs('LIBEXECDIR') or '/usr/lib/apache2/modules'


def _mime_types():
    for name in mimetypes.knownfiles:
        if os.path.exists(name):
            return name
    return '/dev/null'


HTTPD = _httpd()
LIBEXECDIR = _modules_directory()
ROTATELOGS = find_program(['rotatelogs'], 'rotatelogs', ['/usr/sbin'])
SHELL = find_program(['bash', 'sh'], '/bin/sh', ['/usr/local/bin'])
MIME_TYPES = _mime_types()


def default_run_user():
    """The user running the command, as mod_wsgi-express: so root's default
    is root, which Apache refuses (apachectl warns; pass --user)."""
    import pwd
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return '#%d' % uid


def default_run_group():
    """The primary group of the user running the command."""
    import grp
    import pwd
    uid = os.getuid()
    try:
        gid = pwd.getpwuid(uid).pw_gid
    except KeyError:
        return '#%d' % uid
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return '#%d' % gid

"""Builds the mod_wsgi_rs package: the Python code in python/ and the Apache
module, the cdylib of this repository's root crate, built by cargo.

The module is built by setuptools-rust as a bare cdylib (Binding.NoBinding):
it is loaded by Apache, not imported by Python, so it gets no Python
bindings, and cargo builds it exactly as `cargo build --release` does. It is
installed beside the package as mod_wsgi_rs-pyXY<EXT_SUFFIX>, the way
mod_wsgi installs mod_wsgi-pyXY<EXT_SUFFIX>: the hyphen keeps Python from
ever importing it, the suffix says which Python it embeds.

What it is built against:
- the Python running this build (a virtual environment's base interpreter:
  a venv has no libpython or headers of its own, and naming the one real
  interpreter keeps cargo's cache valid from one venv to the next);
- the Apache that `apxs` (or $APXS) describes.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.abspath(__file__))


class MissingBuildRequirement(Exception):
    """Something the build needs is not installed; the message says what."""


def cargo_version(root=ROOT):
    """The version in Cargo.toml's [package] table: the one version."""
    with open(os.path.join(root, "Cargo.toml"), encoding="utf-8") as f:
        text = f.read()
    package = re.search(r"^\[package\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    version = package and re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    if not version:
        raise RuntimeError("no version in Cargo.toml's [package] table")
    return version.group(1)


def package_version(root=ROOT):
    """`__version__` of python/mod_wsgi_rs/__init__.py, read without importing it."""
    path = os.path.join(root, "python", "mod_wsgi_rs", "__init__.py")
    with open(path, encoding="utf-8") as f:
        found = re.search(r'^__version__\s*=\s*"([^"]+)"', f.read(), re.M)
    return found and found.group(1)


def checked_version(root=ROOT):
    """Cargo.toml's version, after checking that the package says the same."""
    version = cargo_version(root)
    declared = package_version(root)
    if declared != version:
        raise RuntimeError(
            "python/mod_wsgi_rs/__init__.py has __version__ = %r but Cargo.toml has %r: "
            "make them equal" % (declared, version)
        )
    return version


def apxs_query(variable, apxs=None):
    """`apxs -q VARIABLE`, or MissingBuildRequirement naming apache2-dev."""
    apxs = apxs or os.environ.get("APXS", "apxs")
    program = shutil.which(apxs)
    if program is None:
        raise MissingBuildRequirement(
            "cannot find %r (Apache's apxs): the module is built against the local Apache; "
            "install apache2-dev (apt-get install apache2-dev), or set APXS to its path" % apxs
        )
    out = subprocess.run([program, "-q", variable], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        raise MissingBuildRequirement(
            "%s -q %s failed (%s): reinstall apache2-dev" % (program, variable, out.stderr.strip())
        )
    return out.stdout.strip()


def check_python_dev(config_var=sysconfig.get_config_var, exists=os.path.exists):
    """The module links libpython: without its development files (the
    libpythonX.Y.so link and Python.h) the build cannot succeed, so say
    which package gives them before cargo fails at the link."""
    version = config_var("VERSION")
    library = os.path.join(config_var("LIBDIR") or "", config_var("LDLIBRARY") or "")
    header = os.path.join(config_var("INCLUDEPY") or "", "Python.h")
    if config_var("Py_ENABLE_SHARED") and exists(library) and exists(header):
        return library
    if not config_var("Py_ENABLE_SHARED"):
        raise MissingBuildRequirement(
            "this Python (%s) has no shared libpython, which Apache needs to embed it: "
            "use Debian's python3, or a Python built with --enable-shared" % sys.executable
        )
    raise MissingBuildRequirement(
        "Python %s's development files are missing (%s, %s): install python3-dev "
        "(apt-get install python3-dev)" % (version, library, header)
    )


# .cargo/config.toml's PYO3_PYTHON. Cargo keys its cache on the text of
# PYO3_PYTHON: naming Debian's interpreter by this name when it is the one
# building lets `pip install .` and `cargo build --release` in one clone
# share target/ instead of rebuilding pyo3 and everything above it in turn.
CARGO_CONFIG_PYTHON = "/usr/bin/python3"


def build_python(alias=CARGO_CONFIG_PYTHON):
    """The interpreter cargo (pyo3) builds against: the real one behind a venv."""
    base = getattr(sys, "_base_executable", None)
    base = os.path.realpath(base) if base and os.path.exists(base) else sys.executable
    if os.path.exists(alias) and os.path.samefile(alias, base):
        return alias
    return base


def module_name():
    """The module's name inside the package (without the extension suffix)."""
    return "mod_wsgi_rs-py%d%d" % sys.version_info[:2]


def build_config_source(libexecdir):
    """python/mod_wsgi_rs/_build_config.py as the build writes it."""
    return (
        '"""Written by setup.py when the module was built: the Apache it was built for."""\n\n'
        "LIBEXECDIR = %r\n" % libexecdir
    )


def main():
    from setuptools import find_packages, setup
    from setuptools.command.build_py import build_py
    from setuptools_rust import Binding, RustExtension
    from setuptools_rust.build import build_rust

    class checked_build_rust(build_rust):
        def run(self):
            try:
                apxs_query("INCLUDEDIR")
                check_python_dev()
            except MissingBuildRequirement as e:
                sys.exit("error: mod_wsgi_rs: %s" % e)
            # setuptools-rust passes PYO3_PYTHON to cargo; it must be this
            # build's Python, whatever the calling shell had exported.
            os.environ["PYO3_PYTHON"] = build_python()
            super().run()

    class recording_build_py(build_py):
        """Records apxs's LIBEXECDIR, install-module's default directory."""

        def run(self):
            super().run()
            if self.dry_run:
                return
            try:
                libexecdir = apxs_query("LIBEXECDIR")
            except MissingBuildRequirement as e:
                sys.exit("error: mod_wsgi_rs: %s" % e)
            target = os.path.join(self.build_lib, "mod_wsgi_rs", "_build_config.py")
            with open(target, "w", encoding="utf-8") as f:
                f.write(build_config_source(libexecdir))

    setup(
        version=checked_version(),
        package_dir={"": "python"},
        packages=find_packages("python", exclude=["tests", "tests.*"]),
        include_package_data=True,
        rust_extensions=[
            RustExtension(
                "mod_wsgi_rs." + module_name(),
                path="Cargo.toml",
                binding=Binding.NoBinding,
                py_limited_api=False,
            )
        ],
        cmdclass={"build_rust": checked_build_rust, "build_py": recording_build_py},
        zip_safe=False,
    )


if __name__ == "__main__":
    main()

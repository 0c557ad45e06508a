"""Where the Apache module is, and the lines that load it.

Looked up in this order:
1. ``MOD_WSGI_RS_MODULE`` in the environment (tests, and users who built
   the module themselves with cargo);
2. the module a pip install put beside this package;
3. ``target/release/libmod_wsgi_rs.so`` of the checkout this package sits
   in (running from a clone with ``PYTHONPATH=python``).
"""

import glob
import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def module_location():
    """The path of the module, or None when there is none."""
    override = os.environ.get("MOD_WSGI_RS_MODULE")
    if override:
        return override
    installed = sorted(glob.glob(os.path.join(_PACKAGE_DIR, "mod_wsgi_rs*.so")))
    if installed:
        return installed[0]
    checkout = os.path.join(
        os.path.dirname(os.path.dirname(_PACKAGE_DIR)), "target", "release", "libmod_wsgi_rs.so"
    )
    if os.path.exists(checkout):
        return checkout
    return None

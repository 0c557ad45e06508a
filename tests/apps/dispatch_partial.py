# For tests/dispatch_script.rs: only callable_object is defined, so the
# configured groups stay; the test rewrites CHOICE to check reloading.
CHOICE = "alt_app"


def callable_object(environ):
    return CHOICE

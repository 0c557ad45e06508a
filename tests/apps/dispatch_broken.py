# For tests/dispatch_script.rs: a dispatch script that cannot be loaded.
def process_group(environ)
    return "tenant-a"

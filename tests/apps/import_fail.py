# For tests/import_script.rs: a WSGIImportScript that raises. The failure is
# logged with its traceback and the process goes on serving.
raise RuntimeError("import_fail.py fails at import on purpose")

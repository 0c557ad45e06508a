# Raises while being loaded, for tests/app_errors.rs.
raise ImportError("SECRET-at-import")

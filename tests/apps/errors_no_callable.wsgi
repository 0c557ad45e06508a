# Loads, but defines no `application`, for tests/app_errors.rs.
app = None

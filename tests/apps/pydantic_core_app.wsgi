# Imports pydantic-core (a pyo3 extension module, which refuses
# sub-interpreters) and validates a value with it.

import pydantic_core
from pydantic_core import SchemaValidator, core_schema

VALIDATOR = SchemaValidator(core_schema.int_schema())


def application(environ, start_response):
    body = ("validated=%d\n" % VALIDATOR.validate_python("42")).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

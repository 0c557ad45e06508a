"""mod_wsgi_rs-express: serve a WSGI application with Apache and this module
in one command, as mod_wsgi-express does (cli.main is the console script).
"""

"""The Django app `mod_wsgi_rs.server`: with it in INSTALLED_APPS,
``python manage.py runmodwsgi [options]`` serves the project through
mod_wsgi_rs-express, as mod_wsgi's ``mod_wsgi.server`` app does.
"""

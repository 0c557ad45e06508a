"""``python manage.py runmodwsgi [options]``: the project served by Apache
with mod_wsgi_rs, through ``mod_wsgi_rs-express start-server``.

Every option of start-server is taken as it is (``--port``, ``--processes``,
``--setup-only``, ``--reload-on-changes``...); Django's own (``--settings``,
``--pythonpath``, ``-v``...) are Django's. See arguments.py for what comes
from the settings.
"""

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mod_wsgi_rs.server import arguments


class Command(BaseCommand):
    help = "Starts Apache with mod_wsgi_rs (mod_wsgi_rs-express start-server) serving this project."
    epilog = (
        "Every option of `mod_wsgi_rs-express start-server` is taken too: "
        "see `mod_wsgi_rs-express start-server --help`."
    )
    # Checks run in the daemon process, where the application loads.
    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("epilog", self.epilog)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        known_only = parser.parse_known_args

        # The runner's options are the runner's to check: whatever Django's
        # parser does not know is passed on, in order.
        def parse_args(args=None, namespace=None):
            options, rest = known_only(args, namespace)
            options.express_args = rest
            return options

        parser.parse_args = parse_args
        return parser

    def handle(self, *args, **options):
        settings_module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get(
            "DJANGO_SETTINGS_MODULE", ""
        )
        settings_file = getattr(sys.modules.get(settings_module), "__file__", None)
        try:
            directory = arguments.working_directory(
                getattr(settings, "BASE_DIR", None), settings_module, settings_file
            )
            alias, why_not = arguments.static_alias(
                getattr(settings, "STATIC_URL", None),
                getattr(settings, "STATIC_ROOT", None),
                getattr(settings, "MIDDLEWARE", None),
            )
            argv = arguments.express_arguments(
                getattr(settings, "WSGI_APPLICATION", None),
                directory,
                alias,
                options.get("express_args", ()),
                options.get("pythonpath"),
            )
        except arguments.SettingsError as error:
            raise CommandError(str(error))
        if why_not and options.get("verbosity", 1) > 0:
            self.stderr.write("runmodwsgi: static files are not served: %s." % why_not)

        from mod_wsgi_rs.express import cli

        status = cli.main(argv)
        if status:
            raise CommandError(
                "mod_wsgi_rs-express start-server failed (exit status %d)" % status,
                returncode=status,
            )

"""mod_wsgi_rs.server.arguments: what runmodwsgi passes to start-server."""

import os
import unittest

from mod_wsgi_rs.server import arguments


class WsgiApplication(unittest.TestCase):
    def test_the_last_dot_splits_module_and_callable(self):
        self.assertEqual(
            arguments.split_wsgi_application("mysite.wsgi.application"), ("mysite.wsgi", "application")
        )

    def test_unset_or_undotted_says_what_to_write(self):
        for bad in (None, "", "application", ".application", "mysite.wsgi."):
            with self.assertRaisesRegex(arguments.SettingsError, "mysite.wsgi.application"):
                arguments.split_wsgi_application(bad)


class WorkingDirectory(unittest.TestCase):
    def test_base_dir_wins(self):
        self.assertEqual(
            arguments.working_directory("/srv/site", "mysite.settings", "/x/mysite/settings.py"), "/srv/site"
        )

    def test_else_the_directory_above_the_settings_top_package(self):
        self.assertEqual(
            arguments.working_directory(None, "mysite.settings.prod", "/srv/p/mysite/settings/prod.py"),
            "/srv/p",
        )

    def test_else_the_current_directory(self):
        self.assertEqual(arguments.working_directory(None, "", None), os.getcwd())


class StaticAlias(unittest.TestCase):
    def test_static_url_maps_to_static_root(self):
        self.assertEqual(
            arguments.static_alias("/static/", "/srv/static", []), (("/static", "/srv/static"), None)
        )

    def test_a_root_static_url_stays_a_slash(self):
        self.assertEqual(arguments.static_alias("/", "/srv/static", [])[0], ("/", "/srv/static"))

    def test_no_alias_with_whitenoise_another_site_or_no_root(self):
        cases = [
            (("/static/", "/srv/static", [arguments.WHITENOISE]), "WhiteNoise"),
            (("https://cdn.example/static/", "/srv/static", []), "not a path on this site"),
            (("static/", "/srv/static", []), "not a path on this site"),
            (("/static/", None, []), "collectstatic"),
        ]
        for args, why in cases:
            alias, why_not = arguments.static_alias(*args)
            self.assertIsNone(alias)
            self.assertIn(why, why_not)


class ExpressArguments(unittest.TestCase):
    def test_the_project_first_and_the_user_s_options_after(self):
        argv = arguments.express_arguments(
            "mysite.wsgi.application",
            "/srv/p",
            ("/static", "/srv/static"),
            ["--port", "8001", "--url-alias", "/media", "/srv/media", "--working-directory", "/elsewhere"],
        )
        self.assertEqual(
            argv,
            [
                "start-server",
                "--application-type", "module",
                "--entry-point", "mysite.wsgi",
                "--callable-object", "application",
                "--working-directory", "/srv/p",
                "--url-alias", "/static", "/srv/static",
                "--port", "8001", "--url-alias", "/media", "/srv/media",
                "--working-directory", "/elsewhere",
            ],
        )

    def test_the_user_s_options_override_the_project_s_in_the_runner_s_parser(self):
        from mod_wsgi_rs.express import options

        argv = arguments.express_arguments(
            "mysite.wsgi.application", "/srv/p", ("/static", "/srv/static"),
            ["--working-directory", "/elsewhere", "--url-alias", "/media", "/srv/media"],
        )
        parsed, _ = options.parse(argv[0], argv[1:])
        self.assertEqual(parsed["working_directory"], "/elsewhere")
        self.assertEqual(parsed["entry_point"], "mysite.wsgi")
        self.assertEqual(parsed["application_type"], "module")
        self.assertEqual(
            [list(a) for a in parsed["url_aliases"]], [["/static", "/srv/static"], ["/media", "/srv/media"]]
        )

    def test_django_s_pythonpath_reaches_the_daemon(self):
        argv = arguments.express_arguments("a.b.c", "/p", None, [], pythonpath="/extra")
        self.assertEqual(argv[-2:], ["--python-path", "/extra"])
        self.assertNotIn("--url-alias", argv)


if __name__ == "__main__":
    unittest.main()

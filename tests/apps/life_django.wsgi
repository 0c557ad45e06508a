# A minimal single-file Django project for tests/frameworks.rs (Debian's
# python3-django): settings, one URLconf and Django's own WSGI handler.
import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="mod_wsgi_rs-tests-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )

from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path, reverse  # noqa: E402


def hello(request):
    return HttpResponse("Hello from Django", content_type="text/plain")


def info(request, name):
    return JsonResponse(
        {
            "name": name,
            "script_name": request.META.get("SCRIPT_NAME"),
            "path": request.path,
            "path_info": request.path_info,
            "reverse": reverse("info", args=[name]),
            "method": request.method,
            "body": request.body.decode(),
            "django": django.get_version(),
        }
    )


urlpatterns = [
    path("", hello, name="hello"),
    path("info/<str:name>/", info, name="info"),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

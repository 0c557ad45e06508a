import os

from django.http import JsonResponse
from django.shortcuts import render


def index(request):
    return render(request, "hello/index.html", {"name": request.GET.get("name", "world")})


def where(request):
    """Where the view runs: which mod_wsgi process group and interpreter."""
    meta = request.META
    return JsonResponse(
        {
            "framework": "django",
            "pid": os.getpid(),
            "process_group": meta.get("mod_wsgi.process_group"),
            "application_group": meta.get("mod_wsgi.application_group"),
            "script_name": meta.get("SCRIPT_NAME"),
            "url": request.build_absolute_uri(),
        }
    )

"""Settings of the example project: what `django-admin startproject` gives,
trimmed to what a site without a database needs, and set for deployment
(DEBUG off, so ALLOWED_HOSTS must name the hosts it answers)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Set DJANGO_SECRET_KEY in the environment for anything but a try-out.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "hello",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {},
    },
]

WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {}

USE_TZ = True

# Relative, so that Django puts the mount point (SCRIPT_NAME) in front when
# the site is served below /, as examples/multi-app does.
STATIC_URL = "static/"
# Apache (or mod_wsgi_rs-express --url-alias) serves this directory.
STATIC_ROOT = BASE_DIR / "static"

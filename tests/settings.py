from pathlib import Path

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "tests.urls"
ALLOWED_HOSTS = ["*"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_flagship",
    "django_flagship.authoring",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_flagship.middleware.FlagshipMiddleware",
]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "django" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
# The admin (for the authored campaigns' pages) asks for context processors and
# middleware that tests replacing TEMPLATES or MIDDLEWARE leave out on purpose.
SILENCED_SYSTEM_CHECKS = [
    *(f"admin.E{n}" for n in (402, 403, 404, 406, 408, 409, 410)),
    "admin.W411",
]

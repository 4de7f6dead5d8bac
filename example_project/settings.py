"""Settings of the example shop; every Flagship setting comes from the environment.

Four ways to run it, chosen by the environment (or ``example_project/.env``):

* nothing set: offline BUCKETING from the bundled ``bucketing.json``, hits kept
  in memory and shown on the Flagship page;
* ``FLAGSHIP_BUCKET_SOURCE=local``: the same, from campaigns authored in the
  admin (``make run`` imports the bundled file into them the first time);
* ``FLAGSHIP_MODE=DECISION_API`` without credentials: the site asks the
  Decision API it serves itself at ``/decision-api/`` (``EXAMPLE_BASE_URL``
  says where that is), to show that both modes give the same variations;
* ``FLAGSHIP_ENV_ID`` and ``FLAGSHIP_API_KEY``: Flagship's own service, in
  the mode ``FLAGSHIP_MODE`` names (BUCKETING by default).
"""

import importlib.util
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="example-only-not-secret")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_flagship",
    # Campaigns authored in the admin (used with FLAGSHIP_BUCKET_SOURCE=local).
    "django_flagship.authoring",
    "example_project.shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After sessions and authentication: the visitor id comes from them.
    "django_flagship.middleware.FlagshipMiddleware",
]
ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_project.shop.context_processors.shop",
            ]
        },
    }
]
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# A cache every process shares (runserver's reloader, several workers): the
# bucket loaded by `manage.py flagship_refresh_bucket` lives here, and so do the
# visitors' assignments. Use Redis in production: CACHE_URL=redis://...
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{BASE_DIR / '.cache'}")}
STATIC_URL = "static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-debug-toolbar with the Flagship panel, for requests from this machine:
# on by default with DEBUG when the toolbar is installed (`make run` installs the
# package's [debug-toolbar] extra); EXAMPLE_DEBUG_TOOLBAR=false turns it off.
EXAMPLE_DEBUG_TOOLBAR = env.bool(
    "EXAMPLE_DEBUG_TOOLBAR",
    default=DEBUG and importlib.util.find_spec("debug_toolbar") is not None,
)
if EXAMPLE_DEBUG_TOOLBAR:
    from debug_toolbar.settings import PANELS_DEFAULTS

    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1", "::1"]
    DEBUG_TOOLBAR_PANELS = [
        *PANELS_DEFAULTS,
        "django_flagship.contrib.debug_toolbar.FlagshipPanel",
    ]

# -- Flagship ------------------------------------------------------------------

EXAMPLE_BASE_URL = env.str("EXAMPLE_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

FLAGSHIP_ENV_ID = env.str("FLAGSHIP_ENV_ID", default="")
FLAGSHIP_API_KEY = env.str("FLAGSHIP_API_KEY", default="")
FLAGSHIP_MODE = env.str("FLAGSHIP_MODE", default="BUCKETING").upper()
FLAGSHIP_CONTEXT = "example_project.shop.context.visitor_context"
FLAGSHIP_BUCKET_SOURCE = env.str("FLAGSHIP_BUCKET_SOURCE", default="cdn")
FLAGSHIP_BROWSER_RATE_LIMIT = (env.int("FLAGSHIP_BROWSER_RATE_LIMIT", default=60), 60.0)

#: True when the site talks to Flagship's own servers.
EXAMPLE_ONLINE = bool(FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY)

if not EXAMPLE_ONLINE:
    # Offline: decide from the bundled file (or the authored campaigns), never
    # download, keep hits in memory.
    if FLAGSHIP_BUCKET_SOURCE != "local":
        FLAGSHIP_BUCKET_FILE = env.str(
            "FLAGSHIP_BUCKET_FILE", default=str(BASE_DIR / "bucketing.json")
        )
    FLAGSHIP_POLLING_INTERVAL = 0.0
    FLAGSHIP_HIT_SINK = "memory"
    if FLAGSHIP_MODE == "DECISION_API":
        # The site is its own Decision API: one environment, one key, both
        # made up here and used nowhere else.
        FLAGSHIP_ENV_ID = "example-shop"
        FLAGSHIP_API_KEY = "example-shop-key"
        FLAGSHIP_DECISION_API_URL = f"{EXAMPLE_BASE_URL}/decision-api/v2"
        FLAGSHIP_ACTIVATE_URL = f"{EXAMPLE_BASE_URL}/decision-api/v2/activate"
        FLAGSHIP_DECISION_API_ENVIRONMENTS = {FLAGSHIP_ENV_ID: [FLAGSHIP_API_KEY]}
else:
    FLAGSHIP_HIT_SINK = env.str("FLAGSHIP_HIT_SINK", default="auto")
    # Optional, when set: a bucket to start from, other endpoints (a proxy, the
    # tests' own collector in tests/hits/test_gunicorn.py), the hits' timing and spool.
    for _name, _read in (
        ("FLAGSHIP_BUCKET_FILE", env.str),
        ("FLAGSHIP_POLLING_INTERVAL", env.float),
        ("FLAGSHIP_EVENTS_URL", env.str),
        ("FLAGSHIP_ACTIVATE_URL", env.str),
        ("FLAGSHIP_HIT_FLUSH_INTERVAL", env.float),
        ("FLAGSHIP_HIT_BATCH_SIZE", env.int),
        ("FLAGSHIP_HIT_SPOOL_DIR", env.str),
        ("FLAGSHIP_HIT_SHUTDOWN_TIMEOUT", env.float),
        ("FLAGSHIP_TIMEOUT", env.float),
    ):
        if _name in env:
            globals()[_name] = _read(_name)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_flagship": {"handlers": ["console"], "level": "INFO"}},
}

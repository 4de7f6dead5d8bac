import json

import pytest
from django.core.cache import caches

from django_flagship import client

ALL_USERS = {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
BUCKET = {
    "panic": False,
    "accountSettings": {"enabledXPC": False, "enabled1V1T": False},
    "campaigns": [
        {
            "id": "cbrowser0000000000001",
            "name": "Browser flags",
            "type": "toggle",
            "variationGroups": [
                {
                    "id": "cbrowser0000000000002",
                    "targeting": {
                        "targetingGroups": [
                            {
                                "targetings": [
                                    {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
                                ]
                            }
                        ]
                    },
                    "variations": [
                        {
                            "id": "cbrowser0000000000003",
                            "allocation": 100,
                            "modifications": {
                                "type": "FLAG",
                                "value": {"color": "red", "size": 3, "internalNote": "server only"},
                            },
                        }
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture
def browser_site(settings, tmp_path):
    """A site with the browser routes, a one-campaign bucket and hits in memory."""
    path = tmp_path / "bucketing.json"
    path.write_text(json.dumps(BUCKET))
    settings.ROOT_URLCONF = "tests.browser.urls"
    # As in any Django project: the CSRF cookie behind the page's token.
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_flagship.middleware.FlagshipMiddleware",
    ]
    settings.FLAGSHIP_BUCKET_FILE = str(path)
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_API_KEY = ""
    settings.FLAGSHIP_MODE = "BUCKETING"
    settings.FLAGSHIP_HIT_SINK = "memory"
    client.reset()
    for cache in caches.all():  # every configured cache, even one this thread has not used
        cache.clear()
    yield settings
    client.reset()

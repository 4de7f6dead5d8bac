"""The example shop's settings, for the flood test: one rate-limit window for the whole run.

The shop's default windows (60 s) start at multiples of 60 s of the clock; a
test crossing one would see its counts start again halfway.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from example_project.settings import *  # noqa: F403

if "FLAGSHIP_TEST_REDIS_PREFIX" not in os.environ:
    # Without it every key would go outside the test run's share of the database.
    raise ImproperlyConfigured("the flood test passes FLAGSHIP_TEST_REDIS_PREFIX")

from tests import redis_support

CACHES = {"default": redis_support.cache_settings(os.environ["CACHE_URL"])}

FLAGSHIP_DECISION_API_RATE_LIMIT = (1000, 6000, 1e9)

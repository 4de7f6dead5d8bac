"""Settings of a separate ``manage.py`` process whose cache is its own (``locmemcache://``)."""

from pathlib import Path

from tests.settings import *  # noqa: F403

FLAGSHIP_BUCKET_FILE = str(Path(__file__).parent / "data" / "bucketing.json")
FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"

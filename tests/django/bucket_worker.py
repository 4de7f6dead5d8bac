"""A separate process sharing the bucket through Redis, driven line by line on stdin.

Commands: ``get KEY`` (the flag for visitor "v"), ``refresh`` / ``refresh force``,
``version``, ``quit``. Each answer is one JSON line on stdout.
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django.redis_settings")

import django

django.setup()

from django_flagship.client import get_poller, get_store  # noqa: E402
from django_flagship.flags import Flags  # noqa: E402
from django_flagship.sdk.bucketing import BucketError  # noqa: E402


def answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


answer("ready")
for line in sys.stdin:
    command, _, argument = line.strip().partition(" ")
    if command == "get":
        answer(Flags("v").get(argument, None))
    elif command == "refresh":
        try:
            result = get_poller().refresh(force=argument == "force")
            answer({"updated": result.updated, "skipped": result.skipped})
        except BucketError as exc:
            answer({"error": str(exc)})
    elif command == "version":
        answer(get_store().version)
    elif command == "quit":
        break

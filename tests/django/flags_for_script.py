"""A task-like process: reads a flag and sends hits with ``flags_for``, then just exits.

Run by ``test_flags_for`` with ``python -m``; it prints how many of its events
the collector had received when its work was done.
"""

import json
import os
import urllib.request

import django


def main() -> None:
    django.setup()
    from django_flagship import flags_for
    from django_flagship.sdk.hits import Event, EventCategory

    flags = flags_for(visitor_id="script-visitor")
    flags.get("vip_feature", False)
    for n in range(int(os.environ["HITS"])):
        flags.send_hit(Event(EventCategory.ACTION_TRACKING, f"task-{n}"))
    with urllib.request.urlopen(os.environ["COLLECTOR_URL"] + "/count", timeout=10) as answer:
        received = json.load(answer)
    print(json.dumps({"events_before_exit": received["events"]}))


if __name__ == "__main__":
    main()

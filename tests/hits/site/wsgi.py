"""The site's WSGI application; with SITE_HIT_AT_IMPORT, the importing process sends a hit.

Under ``gunicorn --preload`` that process is the master, which then forks the
workers with a started hit thread and a pending hit: each worker must start
empty, and the master must deliver its own hit once, when it exits.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.hits.site.settings")

application = get_wsgi_application()

if os.environ.get("SITE_HIT_AT_IMPORT"):
    from django_flagship.client import get_client
    from django_flagship.sdk.hits import Event, EventCategory

    visitor = get_client().create_visitor("master-visitor")
    visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "preload").with_event_label("master"))

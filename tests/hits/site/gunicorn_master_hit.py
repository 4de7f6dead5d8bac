"""A gunicorn config file whose master sends a hit after ``--preload``, before forking.

``when_ready`` runs in the master once the application is loaded and before
the workers are spawned: they are forked with a started hit thread and a
pending hit. Each worker must start empty, and the master must deliver its
own hit once, when it exits.
"""


def when_ready(server):
    from django_flagship.client import get_client
    from django_flagship.sdk.hits import Event, EventCategory

    visitor = get_client().create_visitor("master-visitor")
    visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "preload").with_event_label("master"))

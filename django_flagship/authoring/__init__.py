"""Campaigns authored in Django and the local bucketing file built from them.

Add ``"django_flagship.authoring"`` to ``INSTALLED_APPS`` for the models, the
admin and the ``flagship_flag`` / ``flagship_campaigns`` commands; set
``FLAGSHIP_BUCKET_SOURCE = "local"`` to decide from them. ``FLAGSHIP_LOCAL_FLAGS``
and the served file (``django_flagship.authoring.urls``) work without the app.
"""

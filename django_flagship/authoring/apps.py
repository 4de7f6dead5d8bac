"""``django_flagship.authoring``: campaigns authored in Django, served as Flagship's file.

An app of its own, so that a site that uses a Flagship account gets no tables,
migrations or admin pages it does not use.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["AuthoringConfig"]


class AuthoringConfig(AppConfig):
    name = "django_flagship.authoring"
    label = "flagship_authoring"
    verbose_name = "Flagship campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .signals import connect

        connect()

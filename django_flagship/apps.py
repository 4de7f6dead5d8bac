from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

__all__ = ["FlagshipConfig"]


class FlagshipConfig(AppConfig):
    name = "django_flagship"
    verbose_name = "Flagship feature flags"

    def ready(self) -> None:
        # Importing them connects the client's setting_changed receiver and
        # the login continuity's user_logged_in receiver.
        from . import client, continuity  # noqa: F401
        from .authoring.checks import check_local_source
        from .checks import (
            check_async_deploy,
            check_deploy,
            check_middleware,
            check_settings,
            check_templates,
        )

        checks.register(check_settings)
        checks.register(check_local_source)
        checks.register(check_middleware)
        checks.register(check_templates, checks.Tags.templates)
        checks.register(check_deploy, deploy=True)
        checks.register(check_async_deploy, deploy=True)

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

__all__ = ["FlagshipConfig"]


class FlagshipConfig(AppConfig):
    name = "django_flagship"
    verbose_name = "Flagship feature flags"

    def ready(self) -> None:
        # Importing the client connects its setting_changed receiver.
        from . import client  # noqa: F401
        from .checks import check_deploy, check_middleware, check_settings, check_templates

        checks.register(check_settings)
        checks.register(check_middleware)
        checks.register(check_templates, checks.Tags.templates)
        checks.register(check_deploy, deploy=True)

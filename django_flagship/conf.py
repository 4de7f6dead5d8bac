"""The app's settings: flat ``FLAGSHIP_*`` names read from ``django.conf.settings``.

Each setting is read when it is used, so ``override_settings`` works in tests;
one left unset is its default. The settings, their defaults, parsers and check
ids are in :mod:`django_flagship.settings_table`; ``docs/settings.md`` says
what each one does.

``conf.<name>`` (``conf.env_id`` for ``FLAGSHIP_ENV_ID``) and ``conf.raw(name)``
give the value as given. ``conf.value(name)`` gives it parsed, or, for a
value the parser refuses, the default: ``manage.py check`` reports such a
value, and should it reach a request anyway, it is logged once, never a 500.
``conf.strict(name)`` raises ``ImproperlyConfigured`` instead, for the
settings without which the client serves every flag's default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .setting_parsers import DRF_DENY_STATUSES
from .settings_table import DEFAULTS, setting

__all__ = ["DEFAULTS", "DRF_DENY_STATUSES", "FlagshipSettings", "conf", "setting_or_default"]

_T = TypeVar("_T")

#: The malformed values :func:`setting_or_default` logged, each once per process.
_reported: set[str] = set()


def setting_or_default(name: str, value: Any, parse: Callable[[Any], _T], check_id: str) -> _T:
    """``parse(value)``, or, for a value it refuses, ``parse`` of the default.

    For settings read on each request: ``manage.py check`` reports a malformed
    one (``check_id``); should it reach a request anyway, it is logged once
    and the default applies, never a 500.
    """
    try:
        return parse(value)
    except (ValueError, ImproperlyConfigured) as exc:
        message = str(exc)
        if message not in _reported:
            _reported.add(message)
            logging.getLogger("django_flagship").error(
                "Flagship: %s (system check django_flagship.%s); using the default, %r",
                message,
                check_id,
                DEFAULTS[name],
            )
        return parse(DEFAULTS[name])


class FlagshipSettings:
    """The ``FLAGSHIP_*`` settings, read at access time."""

    def raw(self, name: str) -> Any:
        """Setting ``name`` (a key of :data:`DEFAULTS`) as given, else its default."""
        return getattr(settings, name, DEFAULTS[name])

    def parsed(self, name: str) -> Any:
        """Setting ``name`` through its parser; :class:`ValueError` when it refuses it."""
        return setting(name).parsed(self.raw(name))

    def strict(self, name: str) -> Any:
        """:meth:`parsed`, raising ``ImproperlyConfigured`` for a malformed value."""
        try:
            return self.parsed(name)
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from None

    def value(self, name: str) -> Any:
        """:meth:`parsed`, or the parsed default for a malformed value (logged once)."""
        entry = setting(name)
        return setting_or_default(name, self.raw(name), entry.parsed, entry.check_id)

    def __getattr__(self, attribute: str) -> Any:
        """``conf.env_id``: ``FLAGSHIP_ENV_ID`` as given."""
        name = f"FLAGSHIP_{attribute.upper()}"
        if not attribute.islower() or attribute.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"{type(self).__name__} has no setting {attribute!r}")
        return self.raw(name)


conf = FlagshipSettings()

"""System checks of the local source's settings.

=========================  ==============================================================
Id                         Problem
=========================  ==============================================================
``django_flagship.E029``   ``FLAGSHIP_BUCKET_SOURCE`` is not ``"cdn"`` or ``"local"``, or
                           ``"local"`` is combined with ``FLAGSHIP_BUCKET_FILE``
``django_flagship.E030``   ``FLAGSHIP_LOCAL_FLAGS`` is malformed (each problem named)
``django_flagship.W010``   ``FLAGSHIP_LOCAL_FLAGS`` is set but the source is not local, or
                           the source is local with nothing to compile (no flags in
                           settings, ``django_flagship.authoring`` not installed)
=========================  ==============================================================
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning

from ..conf import conf
from .compiler import APP
from .settings_flags import local_flags_problems
from .source import SOURCES, is_local

__all__ = ["check_local_source"]


def check_local_source(**kwargs: Any) -> list[CheckMessage]:
    """The three checks above, each with a hint."""
    messages: list[CheckMessage] = []
    source = conf.bucket_source
    if not isinstance(source, str) or source.strip().lower() not in SOURCES:
        messages.append(
            Error(
                f"FLAGSHIP_BUCKET_SOURCE is {source!r}.",
                hint='Set it to "cdn" (download the bucketing file, the default) or "local" '
                "(compile the campaigns authored in Django and FLAGSHIP_LOCAL_FLAGS).",
                id="django_flagship.E029",
            )
        )
    elif is_local() and conf.bucket_file:
        messages.append(
            Error(
                "FLAGSHIP_BUCKET_SOURCE is 'local' and FLAGSHIP_BUCKET_FILE is set: the "
                "file would never be read.",
                hint="Remove FLAGSHIP_BUCKET_FILE, or import the file into the authored "
                "campaigns: manage.py flagship_campaigns import FILE.",
                id="django_flagship.E029",
            )
        )
    flags = conf.local_flags
    for problem in local_flags_problems(flags):
        messages.append(
            Error(
                f"FLAGSHIP_LOCAL_FLAGS: {problem}.",
                hint='Give each flag a JSON value for everyone ("vip": True) or a split of '
                'values to whole percents adding up to 100 at most ({"red": 50, "blue": 50}).',
                id="django_flagship.E030",
            )
        )
    if flags and not is_local():
        messages.append(
            Warning(
                "FLAGSHIP_LOCAL_FLAGS is set, but FLAGSHIP_BUCKET_SOURCE is not 'local': "
                "the flags are not used.",
                hint='Set FLAGSHIP_BUCKET_SOURCE = "local" to decide from them.',
                id="django_flagship.W010",
            )
        )
    elif is_local() and not flags and not apps.is_installed(APP):
        messages.append(
            Warning(
                "FLAGSHIP_BUCKET_SOURCE is 'local' with nothing to compile: every flag "
                "serves its default.",
                hint=f'Add "{APP}" to INSTALLED_APPS (and run migrate) to author campaigns, '
                "or declare flags in FLAGSHIP_LOCAL_FLAGS.",
                id="django_flagship.W010",
            )
        )
    return messages

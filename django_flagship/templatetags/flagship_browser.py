"""``{% load flagship_browser %}``: ``{% flags_json %}``, flags for JavaScript.

::

    {% flags_json "btnColor" "btnText" %}
    {% flags_json "btnColor" activate=False element_id="flagship-data-checkout" %}
    {% flags_json flag_names %}                 a list in the context works too

Only the flags named are written. ``flagship.js`` reads every element whose id
starts with ``flagship-data`` (the default id): an ``element_id`` that does not
is ignored by the script. See :mod:`django_flagship.browser`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django import template
from django.template.context import Context
from django.utils.html import json_script
from django.utils.safestring import SafeString

from ..browser import browser_data

__all__ = ["register"]

register = template.Library()

logger = logging.getLogger("django_flagship")


def _names(keys: Iterable[Any]) -> list[str]:
    names: list[str] = []
    for key in keys:
        if isinstance(key, list | tuple):
            names.extend(key)
        else:
            names.append(key)
    return names


@register.simple_tag(takes_context=True)
def flags_json(
    context: Context,
    *keys: Any,
    activate: bool | None = None,
    element_id: str = "flagship-data",
) -> SafeString:
    """A ``json_script`` element with the named flags for ``flagship.js``."""
    names = _names(keys)
    request = context.get("request")
    if request is None:
        # Like the other tags: the page still renders, every flag at its default.
        logger.warning(
            "Flagship: {% flags_json %} has no request in its template context; enable "
            "'django.template.context_processors.request'. Every flag is null."
        )
        data = {"flags": dict.fromkeys(names), "trackUrl": None, "csrfToken": None}
        return json_script(data, element_id)
    return json_script(browser_data(request, names, activate=activate), element_id)

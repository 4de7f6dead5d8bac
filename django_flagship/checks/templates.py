"""The flag tags need the request context processor (W009)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage
from django.template.backends.django import DjangoTemplates
from django.utils.module_loading import import_string

from .messages import warning

__all__ = ["REQUEST_PROCESSOR", "check_templates"]

REQUEST_PROCESSOR = "django.template.context_processors.request"
#: The app's template libraries, by the name ``{% load %}`` gives them; every
#: tag in them reads ``request.flags`` from the template context.
_TAG_LIBRARIES = {
    "flagship": "django_flagship.templatetags.flagship",
    "flagship_browser": "django_flagship.templatetags.flagship_browser",
}


def _is_django_templates(backend: Any) -> bool:
    if backend == "django.template.backends.django.DjangoTemplates":
        return True
    try:
        imported = import_string(backend) if isinstance(backend, str) else None
    except ImportError:
        return False  # Django reports a backend that does not import
    return isinstance(imported, type) and issubclass(imported, DjangoTemplates)


def _loads_flag_tags(options: dict[str, Any]) -> bool:
    """Whether templates of a DjangoTemplates backend with ``options`` can load our tags.

    An installed app's libraries are offered to every DjangoTemplates backend
    (with or without ``APP_DIRS``), unless ``OPTIONS["libraries"]`` gives their
    name to another module; ``builtins`` and ``libraries`` can also name ours.
    """
    libraries = options.get("libraries") or {}
    builtins = options.get("builtins") or []
    if not isinstance(libraries, dict) or not isinstance(builtins, (list, tuple)):
        return False  # Django reports malformed OPTIONS when the engine is built
    ours = set(_TAG_LIBRARIES.values())
    named = [*builtins, *libraries.values()]
    if any(isinstance(path, str) and path in ours for path in named):
        return True
    return apps.is_installed("django_flagship") and any(
        libraries.get(name, module) == module for name, module in _TAG_LIBRARIES.items()
    )


def check_templates(**kwargs: Any) -> list[CheckMessage]:
    """The flag tags need ``request`` in the template context: its processor must be on.

    Without it ``{% flag %}``, ``{% ifflag %}`` and ``{% flags_json %}`` find no
    request and serve defaults, which otherwise shows only as a log line at the
    first render. Other backends (Jinja2 gets the request from Django) are not
    concerned.
    """
    templates = getattr(settings, "TEMPLATES", None)
    if not isinstance(templates, (list, tuple)):
        return []
    warnings: list[CheckMessage] = []
    for index, backend in enumerate(templates):
        if not isinstance(backend, dict) or not _is_django_templates(backend.get("BACKEND")):
            continue
        options = backend.get("OPTIONS") or {}
        if not isinstance(options, dict) or not _loads_flag_tags(options):
            continue
        processors = options.get("context_processors") or []
        if isinstance(processors, (list, tuple)) and REQUEST_PROCESSOR in processors:
            continue
        where = f"TEMPLATES[{index}]"
        name = backend.get("NAME")
        named = f" (NAME {name!r})" if isinstance(name, str) else ""
        warnings.append(
            warning(
                9,
                f"{where}{named} can load the Flagship template tags but lacks the "
                f"{REQUEST_PROCESSOR!r} context processor: {{% flag %}}, {{% ifflag %}} "
                "and {% flags_json %} find no request there and serve every default.",
                f'Add the line "{REQUEST_PROCESSOR}", to {where}["OPTIONS"]["context_processors"].',
            )
        )
    return warnings

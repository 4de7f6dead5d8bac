"""Flags in Jinja2 templates: the globals ``flag()`` and ``flag_is()``.

Add the extension to the Jinja2 backend's options::

    TEMPLATES = [{
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "OPTIONS": {"extensions": ["django_flagship.jinja2.FlagshipExtension"]},
        ...
    }]

then::

    <button style="color: {{ flag('btn_color', 'blue') }}">Buy</button>
    {% set color = flag('btn_color', 'blue') %}
    {% if flag_is('vip_feature') %}Welcome, VIP{% else %}Join VIP{% endif %}
    {% if flag_is('btn_color', 'red') %}…{% endif %}

They read ``request`` from the template context (Django's Jinja2 backend puts
it there when rendering with a request) and behave like ``{% flag %}`` and
``{% ifflag %}``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

from .templating import flag_matches, read_flag

__all__ = ["FlagshipExtension", "environment", "flag", "flag_is"]


@pass_context
def flag(context: Context, key: str, default: Any = None) -> Any:
    """The flag's value, or ``default`` (see ``request.flags.get``)."""
    return read_flag(context.get("request"), key, default, where="flag()")


@pass_context
def flag_is(context: Context, key: str, value: Any = True) -> bool:
    """True when the flag equals ``value`` (``True`` by default), type included."""
    return flag_matches(context.get("request"), key, value, where="flag_is()")


class FlagshipExtension(Extension):
    """Registers :func:`flag` and :func:`flag_is` as globals."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals.update(flag=flag, flag_is=flag_is)


def environment(**options: Any) -> Environment:
    """An ``environment`` callable for the Jinja2 backend, with the extension loaded."""
    env = Environment(**options)
    env.add_extension(FlagshipExtension)
    return env

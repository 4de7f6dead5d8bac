import re

from django import template

register = template.Library()

_COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")


@register.filter
def css_colour(value: object, default: str) -> str:
    """``value`` when it is a hex colour, else ``default``.

    A flag's value lands in a ``style`` attribute: accept exactly what the
    campaign is meant to hold, never arbitrary CSS.
    """
    return value if isinstance(value, str) and _COLOUR.fullmatch(value) else default

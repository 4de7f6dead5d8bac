"""How each kind of ``FLAGSHIP_*`` value is checked: the parsers of the settings table.

A parser takes the setting's name and its value as given, and returns the
value the app uses (a tuple for a list, a float for seconds, the imported
callable for a dotted path), or raises :class:`ValueError` with a message
naming the setting. That one message serves both readers: the system check
reports it (with the setting's check id, :mod:`django_flagship.settings_table`)
and the run time logs it before using the default.

Numbers are refused when they are booleans, not finite (``inf``, ``nan``) or
out of bounds, here as in the checks.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

from .sdk import FlagshipEventHandler, Mode

__all__ = [
    "DRF_DENY_STATUSES",
    "HIT_SINKS",
    "Parser",
    "as_given",
    "count",
    "deny_status",
    "dotted_callable",
    "event_handler",
    "flag",
    "header_names",
    "hit_sink",
    "is_number",
    "mode",
    "parse_activation_rate_limit",
    "parse_address_header",
    "parse_max_batch",
    "rate_limit",
    "seconds",
    "served_group_ttl",
    "served_max_body",
    "spool_dir",
    "string",
    "stripped_string",
    "url",
]

#: ``parser(name, value)``: the value to use, or :class:`ValueError`.
Parser = Callable[[str, Any], Any]

#: The statuses ``FLAGSHIP_DRF_DENY_STATUS`` may take: here, so that the checks
#: know them without importing rest_framework.
DRF_DENY_STATUSES = (403, 404)

#: The names ``FLAGSHIP_HIT_SINK`` takes besides a dotted path.
HIT_SINKS = ("auto", "collector", "log", "memory")

# An HTTP header name (RFC 9110 token characters).
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def is_number(value: Any) -> bool:
    """A finite int or float, and not a bool."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _is_count(value: Any, lowest: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= lowest


def as_given(name: str, value: Any) -> Any:
    """No rule of its own: the setting's checks look at it with the others it goes with."""
    return value


def string(name: str, value: Any) -> str:
    """A string, ``None`` counting as ``""``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    return value


def stripped_string(name: str, value: Any) -> str:
    """:func:`string`, without surrounding spaces."""
    return string(name, value).strip()


def seconds(*, allow_zero: bool = False, allow_none: bool = False) -> Parser:
    """A number of seconds > 0 (``>= 0`` with ``allow_zero``), as a float; ``None`` if allowed."""
    bound = ">= 0" if allow_zero else "> 0"

    def parse(name: str, value: Any) -> float | None:
        if value is None and allow_none:
            return None
        if not is_number(value) or not (value > 0 or (allow_zero and value == 0)):
            raise ValueError(f"{name} is {value!r}; it must be a number of seconds {bound}")
        return float(value)

    return parse


def count(lowest: int, *, unit: str = "") -> Parser:
    """An int >= ``lowest``; ``unit`` names what it counts in the message (``"bytes"``)."""
    what = f"a number of {unit} (an int >= {lowest:,})" if unit else f"an int >= {lowest:,}"

    def parse(name: str, value: Any) -> int:
        if not _is_count(value, lowest):
            raise ValueError(f"{name} is {value!r}; it must be {what}")
        return int(value)

    return parse


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False``, nothing else (not ``1``, not ``"yes"``)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} is {value!r}; it must be True or False")
    return value


def header_names(name: str, value: Any) -> tuple[str, ...]:
    """A list or tuple of non-empty header names, as a tuple."""
    if not isinstance(value, list | tuple) or not all(isinstance(h, str) and h for h in value):
        raise ValueError(f"{name} is {value!r}; it must be a list of header names")
    return tuple(value)


def mode(name: str, value: Any) -> Mode:
    """``"BUCKETING"`` or ``"DECISION_API"``, in any case."""
    try:
        return Mode.coerce(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def url(name: str, value: Any) -> str:
    """An absolute http(s) URL; ``{env_id}`` may stand for the host's or the path's part."""
    if isinstance(value, str):
        parts = urlsplit(value.replace("{env_id}", "env"))
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
    raise ValueError(f"{name} is {value!r}, not an absolute http(s) URL")


def dotted_callable(name: str, value: Any) -> Callable[..., Any] | None:
    """The callable a dotted path names (a callable given as is); ``None`` for none."""
    if value is None or value == "":
        return None
    if callable(value):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} = {value!r} must be a dotted path, not {type(value).__name__}")
    try:
        imported = import_string(value)
    except ImportError as exc:
        raise ValueError(f"{name} = {value!r} cannot be imported ({exc})") from None
    if not callable(imported):
        raise ValueError(f"{name} = {value!r} is not callable")
    return imported


def event_handler(name: str, value: Any) -> Any:
    """A :class:`FlagshipEventHandler` subclass or instance, or ``None``."""
    handler = dotted_callable(name, value)
    if (
        handler is None
        or isinstance(handler, FlagshipEventHandler)
        or (isinstance(handler, type) and issubclass(handler, FlagshipEventHandler))
    ):
        return handler
    raise ValueError(f"{name} = {value!r} is not a FlagshipEventHandler subclass")


def hit_sink(name: str, value: Any) -> Any:
    """One of :data:`HIT_SINKS`, or the dotted path of a callable (kept as the path)."""
    if value in HIT_SINKS:
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is {value!r}, not a sink name or a dotted path")
    try:
        if not callable(import_string(value)):
            raise ValueError(f"{name} = {value!r} is not callable")
    except ImportError as exc:
        raise ValueError(f"{name} = {value!r} cannot be imported ({exc})") from None
    return value


def spool_dir(name: str, value: Any) -> Any:
    """A path, ``None`` (the default directory) or ``False`` (no spool)."""
    if value is None or value is False or isinstance(value, str | os.PathLike):
        return value
    raise ValueError(f"{name} is {value!r}; it must be a path, None or False")


def deny_status(name: str, value: Any) -> int:
    """One of :data:`DRF_DENY_STATUSES`, as an int."""
    if isinstance(value, bool) or value not in DRF_DENY_STATUSES:
        raise ValueError(f"{name} is {value!r}; it must be 403 or 404")
    return int(value)


def rate_limit(name: str, value: Any) -> tuple[int, float] | None:
    """``(count, seconds)`` (a tuple or a list), or ``None``.

    ``count`` is an int >= 1, ``seconds`` a number > 0.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{name} is {value!r}; it must be a (count, seconds) pair or None")
    number, window = value
    if not _is_count(number, 1):
        raise ValueError(f"{name}'s count is {number!r}; it must be an int >= 1")
    if not is_number(window) or window <= 0:
        raise ValueError(f"{name}'s seconds are {window!r}; they must be a number of seconds > 0")
    return number, float(window)


def parse_max_batch(value: Any) -> int:
    """``FLAGSHIP_DECISION_API_MAX_BATCH`` checked: an int >= 1, else :class:`ValueError`."""
    parsed: int = count(1)("FLAGSHIP_DECISION_API_MAX_BATCH", value)
    return parsed


def parse_activation_rate_limit(value: Any) -> tuple[int, int, float] | None:
    """``FLAGSHIP_DECISION_API_RATE_LIMIT`` checked: ``(requests, activations, seconds)``.

    ``None`` means no limit. Raises :class:`ValueError` naming the problem.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(
            f"FLAGSHIP_DECISION_API_RATE_LIMIT is {value!r}; it must be a "
            "(requests, activations, seconds) triple or None"
        )
    requests, items, window = value
    for what, number in (("requests", requests), ("activations", items)):
        if not _is_count(number, 1):
            raise ValueError(
                f"FLAGSHIP_DECISION_API_RATE_LIMIT's {what} are {number!r}; "
                "they must be an int >= 1"
            )
    if not is_number(window) or window <= 0:
        raise ValueError(
            f"FLAGSHIP_DECISION_API_RATE_LIMIT's seconds are {window!r}; "
            "they must be a number of seconds > 0"
        )
    return requests, items, float(window)


def parse_address_header(value: Any) -> tuple[str, int] | None:
    """``FLAGSHIP_CLIENT_ADDRESS_HEADER`` checked: ``None`` or ``(header, position)``.

    Raises :class:`ValueError` naming the problem (system check
    ``django_flagship.E022`` reports it).
    """
    if value is None:
        return None
    header, position = value, 1
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(
                f"FLAGSHIP_CLIENT_ADDRESS_HEADER is {value!r}; give a header name "
                "or a (header name, proxies) pair"
            )
        header, position = value
    if not isinstance(header, str) or not _HEADER_NAME.match(header):
        raise ValueError(
            f"FLAGSHIP_CLIENT_ADDRESS_HEADER names {header!r}, which is not an HTTP header name"
        )
    if not _is_count(position, 1):
        raise ValueError(
            f"FLAGSHIP_CLIENT_ADDRESS_HEADER's proxy count is {position!r}; it must be an int >= 1"
        )
    return header, position


def served_max_body(name: str, value: Any) -> int:
    """The served Decision API's body limit: an int >= 1 (bytes)."""
    if not _is_count(value, 1):
        raise ValueError(f"{name} must be a positive number of bytes")
    return int(value)


def served_group_ttl(name: str, value: Any) -> float | None:
    """The served Decision API's decision group TTL: seconds > 0, or ``None``."""
    if value is None:
        return None
    if not is_number(value) or value <= 0:
        raise ValueError(f"{name} must be a number of seconds > 0 or None")
    return float(value)

"""What the checks share: their messages (``django_flagship.E0NN``, ``W0NN``), a text setting."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Warning

from ..conf import conf

__all__ = ["error", "text", "warning"]


def error(id_: int, msg: str, hint: str) -> Error:
    """Error ``django_flagship.E{id_:03d}``."""
    return Error(msg, hint=hint, id=f"django_flagship.E{id_:03d}")


def warning(id_: int, msg: str, hint: str) -> Warning:
    """Warning ``django_flagship.W{id_:03d}``."""
    return Warning(msg, hint=hint, id=f"django_flagship.W{id_:03d}")


def text(name: str) -> str:
    """A string setting stripped, ``""`` when it is not a string (check ``E001`` says so)."""
    value: Any = conf.raw(name)
    return value.strip() if isinstance(value, str) else ""

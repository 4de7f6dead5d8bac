"""The seam between the accessor and test overrides: what every flag read checks first.

:mod:`django_flagship.testing` owns the user-facing API (``override_flags``,
:class:`~django_flagship.testing.FlagOverride`); this module only keeps the
overrides in force, innermost last. While one is installed, each accessor
(``request.flags``, ``Flags(...)``) reads the source it gives instead of
deciding with Flagship::

    from django_flagship import overrides

    overrides.install(my_override)      # anything with .source(identity)
    try:
        ...
    finally:
        overrides.uninstall(my_override)

In production nothing is installed and :func:`current` costs one list test.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .flags import FlagSource
    from .identity import Identity

__all__ = ["Override", "current", "install", "uninstall"]


class Override(Protocol):
    """What an accessor reads from while the override is in force."""

    def source(self, identity: Identity) -> FlagSource:
        """The flags served to this visitor (built once per accessor)."""
        ...


_installed: list[Override] = []
_lock = threading.Lock()


def install(override: Override) -> None:
    """Put ``override`` in force, over any installed before it."""
    with _lock:
        _installed.append(override)


def uninstall(override: Override) -> None:
    """Take ``override`` out of force; nothing happens if it is not installed."""
    with _lock:
        if override in _installed:
            _installed.remove(override)


def current() -> Override | None:
    """The override in force (the last installed), or ``None``."""
    return _installed[-1] if _installed else None

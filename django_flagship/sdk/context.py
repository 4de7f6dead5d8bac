"""The rules a visitor context obeys (protocol section 5).

Keys are non-empty strings other than the SDK's own (``fs_client``,
``fs_version``). A value is a string, a finite number or a bool, or a list of
those, as Flagship's decision engine reads a context (protocol 4.2, 5): a
list matches ``EQUALS``/``CONTAINS`` when one element does, ``NOT_*`` when
every element does. A list holds at most :data:`MAX_CONTEXT_LIST_ITEMS`
elements, of any of the three kinds, and is kept as a tuple, so that a list
the caller changes later does not change the visitor's context behind its
back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from .constants import RESERVED_CONTEXT_KEYS, SDK_CLIENT, SDK_VERSION
from .memo import context_key

__all__ = [
    "MAX_CONTEXT_LIST_ITEMS",
    "ContextError",
    "SharedContext",
    "check_context_item",
    "context_value",
    "normalize_context_update",
]

#: The longest list a context value may be: enough for a user's groups or a
#: visitor's tags, and a bound on what one key costs to decide and to send.
MAX_CONTEXT_LIST_ITEMS = 100


class ContextError(ValueError):
    """A context key or value was refused."""


def _scalar_problem(value: Any, kinds: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if not isinstance(value, (str, bool, int, float)):
        return f"values must be {kinds}, got {type(value).__name__}"
    return None


def context_value(key: Any, value: Any) -> Any:
    """``value`` as a context keeps it (a list as a tuple); :class:`ContextError` if refused."""
    if not isinstance(key, str) or not key:
        raise ContextError(f"context key {key!r} refused: keys must be non-empty strings")
    if key in RESERVED_CONTEXT_KEYS:
        raise ContextError(f"context key {key!r} refused: it is reserved by the SDK")
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_CONTEXT_LIST_ITEMS:
            raise ContextError(
                f"context key {key!r} refused: a list holds at most {MAX_CONTEXT_LIST_ITEMS} "
                f"values, got {len(value)}"
            )
        for position, item in enumerate(value):
            problem = _scalar_problem(item, "str, int, float or bool")
            if problem is not None:
                raise ContextError(f"context key {key!r} refused: item {position}: {problem}")
        return tuple(value)
    problem = _scalar_problem(value, "str, int, float, bool or a list of those")
    if problem is not None:
        raise ContextError(f"context key {key!r} refused: {problem}")
    return value


def check_context_item(key: Any, value: Any) -> None:
    """Raise :class:`ContextError` naming ``key`` when the pair is not allowed."""
    context_value(key, value)


def normalize_context_update(update: Any) -> list[tuple[Any, Any]]:
    """Turn the seed's ``(key, value)`` tuple or ``{key: value}`` dict into pairs."""
    if isinstance(update, Mapping):
        return list(update.items())
    if isinstance(update, tuple) and len(update) == 2:
        return [update]
    raise ContextError(
        f"context must be a (key, value) tuple or a dict, got {type(update).__name__}"
    )


class SharedContext(Mapping[str, Any]):
    """A context checked once, for the many visitors who have it.

    A site's anonymous visitors share a handful of contexts (device type and
    language, say). A visitor created with a ``SharedContext`` adopts it as it
    is: its values are not checked again, and the decision context and the
    memory of decisions' key are made once here rather than once per visitor.
    Read-only; a visitor whose context is updated later takes a copy first.

    Raises :class:`ContextError` for the first pair a visitor would refuse.
    """

    __slots__ = ("_values", "decision", "key")

    def __init__(self, context: Mapping[str, Any]) -> None:
        values = {key: context_value(key, value) for key, value in context.items()}
        self._values = values
        #: The context the decision engine reads (the SDK's own keys added).
        #: Shared by every visitor of this context, and matched to :attr:`key`:
        #: never changed in place.
        self.decision: dict[str, Any] = {
            **values,
            "fs_client": SDK_CLIENT,
            "fs_version": SDK_VERSION,
        }
        #: :func:`~.memo.context_key` of :attr:`decision`.
        self.key = context_key(self.decision)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SharedContext({self._values!r})"

"""A function of a string with its results for recent arguments remembered."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["remembering"]

R = TypeVar("R")


def remembering(
    function: Callable[[str], R],
    *,
    size: int,
    max_length: int | None = None,
    cache: dict[str, R] | None = None,
) -> Callable[[str], R]:
    """``function``, its result kept for each of the last ``size`` arguments at most.

    For a pure function called again and again with a few distinct strings.
    The memory is simply emptied when full: a hit pays one dict lookup and no
    bookkeeping. Arguments longer than ``max_length`` are computed, never kept.
    ``cache`` is the dict to keep them in, for a caller that looks at it.
    ``function`` never returns ``None``.
    """
    memory: dict[str, R] = {} if cache is None else cache

    def remembered(value: str) -> R:
        result = memory.get(value)  # not a KeyError: raising one costs a miss more
        if result is None:
            result = function(value)
            if max_length is None or len(value) <= max_length:
                if len(memory) >= size:
                    memory.clear()
                memory[value] = result
        return result

    return remembered

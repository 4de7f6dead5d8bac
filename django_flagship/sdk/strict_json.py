"""One JSON decoder for every byte that comes from outside, with bounds of its own,
and the one compact encoder of what this project writes (:func:`dumps`).

Python's decoder recurses once per nesting level, so a few thousand ``[``
raise ``RecursionError`` (an error page, or a crashed command) long before
any size limit applies. Flagship's engine (Go's protojson) stops at 10,000
levels; :func:`loads` refuses anything nested deeper than :data:`MAX_DEPTH`,
counted on the text before it is decoded, so the decoder never gets near the
interpreter's recursion limit whatever the caller's stack holds.

It also refuses what the engine refuses and Python accepts:

* bytes that are not UTF-8 (Python would guess UTF-16 or UTF-32);
* a lone UTF-16 surrogate written as an escape (``"\\ud800"``), which
  protojson reports as an invalid escape. Python decodes it into a ``str``
  that cannot be encoded again: the response, the hit or the log line that
  carries it later fails. The error names where it is (``visitor_id is not
  valid text``);
* ``NaN``, ``Infinity`` and ``-Infinity`` (unless ``allow_nan=True``).

Every refusal is a :class:`JsonError`, a ``ValueError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "JsonDepthError",
    "JsonError",
    "JsonTextError",
    "dumps",
    "loads",
    "nesting_depth",
]

#: The deepest nesting accepted: objects and arrays inside each other. A
#: bucketing file reaches a flag's value at depth 8, a Decision API request
#: body at 3; 64 leaves any JSON flag value a person writes room to spare and
#: keeps every recursive walk of decoded data far below Python's limit (1,000).
MAX_DEPTH = 64


class JsonError(ValueError):
    """The text is not JSON this project accepts; the message says why."""


class JsonDepthError(JsonError):
    """Nested deeper than the limit."""


class JsonTextError(JsonError):
    """A string holds a lone surrogate; ``where`` names it (``"context.key"``)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where} is not valid text: it holds a lone UTF-16 surrogate")
        self.where = where


# A JSON string, escapes included. One that is not closed runs to the end of
# the text: every quote then starts at most one scan, so the whole pass stays
# linear (the text is invalid anyway, and the decoder says where).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = [0] * 256
_DELTA[ord("[")] = _DELTA[ord("{")] = 1
_DELTA[ord("]")] = _DELTA[ord("}")] = -1
# Where a lone surrogate can come from: an escape of one, or (in a str given
# by the caller) the code point itself.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def dumps(value: Any, *, allow_nan: bool = False) -> str:
    """Compact JSON text (no spaces, non-ASCII kept) that a strict reader accepts.

    ``NaN`` and the infinities raise ``ValueError`` instead of being written as
    tokens no JSON parser accepts, so collector bodies, spool files and the
    authoring store hold only standard JSON. ``allow_nan=True`` writes them
    as :func:`loads` with ``allow_nan`` reads them back (a bucketing file).
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)


def nesting_depth(text: str) -> int:
    """How deeply objects and arrays nest in ``text`` (brackets inside strings do not count).

    A linear scan done by the regular expression engine; decoding is not
    needed, so it works on text of any depth.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise JsonError(f"{name} is not valid JSON")


def loads(
    raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH, allow_nan: bool = False
) -> Any:
    """Decode ``raw`` (UTF-8 bytes or text) within the bounds above; raises :class:`JsonError`."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"the text is not UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    # Cheap first: a text with few brackets cannot nest deeper.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JsonDepthError(f"it nests objects and arrays deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=None if allow_nan else _refuse_constant)
    except JsonError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        # RecursionError cannot happen below the depth limit; ValueError is,
        # for example, an integer of more than 4,300 digits.
        raise JsonError(str(exc) or type(exc).__name__) from None
    if _SURROGATE.search(text):
        where = _lone_surrogate(value)
        if where is not None:
            raise JsonTextError(where)
    return value


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate(value: Any) -> str | None:
    """Where the first string holding a lone surrogate is, or ``None``."""
    for path, item in _walk(value):
        if isinstance(item, str) and not _is_text(item):
            return path or "the JSON text"
    return None


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    # Iterative, in document order: (path, value) for every value and key.
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        yield path, item
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if not _is_text(key):
                    yield (f"a key in {path}" if path else "a key"), key
                children.append((_join(path, key), child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            indexed = [(f"{path}[{index}]", child) for index, child in enumerate(item)]
            stack.extend(reversed(indexed))


def _join(path: str, key: str) -> str:
    shown = key if len(key) <= 40 else key[:39] + "…"
    return f"{path}.{shown}" if path else shown

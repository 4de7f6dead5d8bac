"""Go's text semantics that Flagship's engine applies: case mapping and semantic versions.

The engine is written in Go, so a targeting on strings compares them as Go's
``strings.ToLower`` and ``strings.EqualFold`` do, rune by rune, and semantic
versions as ``golang.org/x/mod/semver`` does. Python's own ``lower()`` and
``casefold()`` differ for a few characters; this module gives Go's answers.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable
from operator import methodcaller

from .remembering import remembering

__all__ = [
    "SEMVER_TESTS",
    "SemVer",
    "compare_semver",
    "fold_non_ascii",
    "format_float",
    "go_equal_fold",
    "go_fold",
    "go_lower",
    "lower_non_ascii",
    "parse_semver",
]


class _LowerTable(dict[int, str]):
    """``str.translate`` table applying Go's per-rune ``unicode.ToLower``."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lowered = char.lower()
        if len(lowered) != 1:
            # Only U+0130 (capital I with dot) lower-cases to two characters
            # in Python; Go maps it to a plain "i".
            lowered = "i" if code == 0x130 else char
        if len(self) < 4096:
            self[code] = lowered
        return lowered


class _FoldTable(dict[int, str]):
    """``str.translate`` table applying Unicode simple case folding (Go's EqualFold)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = char.casefold()
        if len(folded) != 1:
            # Full folding expands it; the simple folding, when there is one,
            # is the lower-case form (U+1E9E, Greek with ypogegrammeni).
            lowered = char.lower()
            folded = lowered if len(lowered) == 1 else char
        if len(self) < 4096:
            self[code] = folded
        return folded


# One decision evaluates the same context values (and the visitor id) against
# many targetings: translating each long non-ASCII string once is what counts.
lower_non_ascii: Callable[[str], str] = remembering(
    methodcaller("translate", _LowerTable()), size=256
)
fold_non_ascii: Callable[[str], str] = remembering(
    methodcaller("translate", _FoldTable()), size=256
)


def go_lower(value: str) -> str:
    """Lower-case ``value`` rune by rune, like Go's ``strings.ToLower``."""
    if value.isascii():
        return value.lower()
    return lower_non_ascii(value)


def go_fold(value: str) -> str:
    if value.isascii():
        return value.lower()
    return fold_non_ascii(value)


def go_equal_fold(a: str, b: str) -> bool:
    """Case-insensitive equality under simple case folding, like Go's ``strings.EqualFold``."""
    return go_fold(a) == go_fold(b)


# --- semantic versions (golang.org/x/mod/semver) ---------------------------

_SEMVER_RE = re.compile(
    r"v(0|[1-9][0-9]*)"
    r"(?:\.(0|[1-9][0-9]*)"
    r"(?:\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.\-]+))?(?:\+([0-9A-Za-z.\-]+))?)?)?"
)

SemVer = tuple[int, int, int, tuple[str, ...]]


def parse_semver(value: str) -> SemVer | None:
    """Parse a version the way the engine does, or return None when it is invalid.

    A missing leading ``v`` is added first. The result orders like
    ``semver.Compare`` only through :func:`compare_semver`.
    """
    if not value.startswith("v"):
        value = "v" + value
    match = _SEMVER_RE.fullmatch(value)
    if match is None:
        return None
    major, minor, patch, pre, build = match.groups()
    prerelease: tuple[str, ...] = ()
    if pre is not None:
        prerelease = tuple(pre.split("."))
        for ident in prerelease:
            if not ident or (ident.isdigit() and len(ident) > 1 and ident[0] == "0"):
                return None
    if build is not None and "" in build.split("."):
        return None
    return (int(major), int(minor or 0), int(patch or 0), prerelease)


def _cmp_ident(a: str, b: str) -> int:
    a_num, b_num = a.isdigit() and a.isascii(), b.isdigit() and b.isascii()
    if a_num and b_num:
        x, y = int(a), int(b)
    elif a_num != b_num:
        return -1 if a_num else 1
    else:
        x, y = a, b  # type: ignore[assignment]
    return (x > y) - (x < y)


def compare_semver(a: SemVer, b: SemVer) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    pa, pb = a[3], b[3]
    if pa == pb:
        return 0
    if not pa:
        return 1
    if not pb:
        return -1
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            return _cmp_ident(x, y)
    return -1 if len(pa) < len(pb) else 1


SEMVER_TESTS: dict[str, Callable[[int], bool]] = {
    "SEMVER_EQUALS": lambda c: c == 0,
    "SEMVER_NOT_EQUALS": lambda c: c != 0,
    "SEMVER_GREATER_THAN": lambda c: c > 0,
    "SEMVER_LOWER_THAN": lambda c: c < 0,
    "SEMVER_GREATER_THAN_OR_EQUALS": lambda c: c >= 0,
    "SEMVER_LOWER_THAN_OR_EQUALS": lambda c: c <= 0,
}


def format_float(value: float) -> str:
    """``value`` as Go's ``%v`` writes a float64: shortest digits, ``%e`` form from 1e21
    down to 1e6 and below 1e-4 (``31.0`` is ``31``, ``1234567.0`` is ``1.234567e+06``)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if 1e-4 <= abs(value) < 1e6:
        # Both write this range in fixed notation with the same shortest digits;
        # SEGMENT values are built on the request path, so skip Decimal here.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    minus = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        power = point - 1
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return minus + text + "0" * (point - len(text))
    return f"{minus}{text[:point]}.{text[point:]}"

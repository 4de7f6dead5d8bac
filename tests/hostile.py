"""Hypothesis strategies for request bodies an attacker would send.

Each body is bytes: JSON values of every kind around the fields an endpoint
knows (so that validation, not only decoding, is reached), text with lone
surrogates and control characters, non-finite and huge numbers, deep nesting,
and bytes that are not JSON or not UTF-8 at all.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["HOSTILE_TEXT", "LONE_SURROGATE", "bodies", "json_values", "settings_for_fuzz"]

#: Characters that have broken parsers and encoders: lone surrogates, NUL,
#: controls, the replacement character, a character outside the BMP, quotes.
_AWKWARD = ["\ud800", "\udfff", "\ud83d", "\x00", "\n", "\x7f", "\ufffd", "😀", '"', "\\", "é"]

HOSTILE_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(_AWKWARD), st.characters(codec="utf-8")), max_size=12
)
#: Text holding a lone surrogate for certain (HOSTILE_TEXT often pairs them up).
LONE_SURROGATE = st.sampled_from(["\ud800", "\udfff", "x\ud83d", "\ude00y", "a\udbffb"])

_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**53 + 1, 1e400, -0.0]),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, HOSTILE_TEXT)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested values whose object keys are often ``keys``."""
    key = st.one_of(st.sampled_from(keys), HOSTILE_TEXT) if keys else HOSTILE_TEXT
    return st.recursive(
        _SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(key, children, max_size=5)
        ),
        max_leaves=12,
    )


def _dump(value: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as its escape, as a client library would.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode("ascii")


def _deep(depth: int, opener: str, closed: bool) -> bytes:
    inner = "[" if opener == "[" else '{"a":'
    closer = ("]" if opener == "[" else "}") * depth if closed else ""
    return (inner * depth + "1" + closer).encode()


#: Around the bound (64), past Python's recursion limit (~1,000), and far past it.
DEPTHS = (63, 64, 65, 200, 1_500, 5_000, 30_000)


def bodies(
    keys: list[str],
    *,
    templates: list[dict[str, Any]] | None = None,
    depths: tuple[int, ...] = DEPTHS,
) -> st.SearchStrategy[bytes]:
    """Request bodies: mostly objects of the endpoint's fields, some of them built to break.

    ``templates`` are valid requests: they are sent with extra fields, and with
    a lone surrogate in one of their fields.
    """
    fields = st.dictionaries(st.sampled_from(keys), json_values(keys), max_size=len(keys))
    templates = templates or [{}]
    objects = st.one_of(
        fields,
        st.builds(
            lambda template, extra: {**template, **extra}, st.sampled_from(templates), fields
        ),
        st.builds(
            lambda template, key, text: {**template, key: text},
            st.sampled_from(templates),
            st.sampled_from(keys),
            LONE_SURROGATE,
        ),
    )
    return st.one_of(
        objects.map(_dump),
        json_values(keys).map(_dump),
        st.binary(max_size=64),
        st.builds(_deep, st.sampled_from(depths), st.sampled_from("[{"), st.booleans()),
        st.sampled_from(
            [
                b"",
                b"{",
                b"NaN",
                b'{"a": Infinity}',
                b"\xef\xbb\xbf{}",
                "{}".encode("utf-16"),
                b'{"a": "\xed\xa0\x80"}',
                b"1" * 5_000,
                b'{"a": 1, "a": 2}',
            ]
        ),
    )


def settings_for_fuzz(examples: int):
    """A fixed number of examples, derandomized and without a deadline: bounded and repeatable."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

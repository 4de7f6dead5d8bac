"""Bucketing hashes, identical to Flagship's decision engine.

Flagship assigns a visitor to a variation with MurmurHash3 (x86, 32 bits,
seed 0) over the UTF-8 bytes of ``variationGroupId + visitorId``, read as an
unsigned integer, modulo 100. Campaign bucket ranges hash the visitor id
alone. A decision group replaces the visitor id by the standard base64 (with
padding) of the group name.

Strings that cannot be encoded as UTF-8 (lone UTF-16 surrogates, which a
Python ``str`` may hold but JSON decoders in the engine refuse) are handled
deterministically: a well-formed surrogate pair becomes the character it
encodes and every lone surrogate becomes U+FFFD, the replacement character
Go substitutes for an invalid code point. Such strings are always encoded to
bytes here before hashing: ``mmh3`` must never receive them as ``str``
(mmh3 5.x crashes the interpreter on a lone surrogate).
"""

from __future__ import annotations

import base64

import mmh3

__all__ = [
    "decision_group_key",
    "encode_utf8",
    "murmur_bucket",
    "murmur_hash",
    "range_bucket",
]


def encode_utf8(value: str) -> bytes:
    """UTF-8 bytes of ``value``; lone surrogates become U+FFFD (see module docstring)."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        # Round-trip through UTF-16 to pair up surrogates; what stays unpaired
        # is replaced.
        repaired = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return repaired.encode("utf-8")


def murmur_hash(value: str) -> int:
    """MurmurHash3 x86 32-bit, seed 0, of the UTF-8 bytes of ``value``, unsigned."""
    return mmh3.hash(encode_utf8(value), 0, False)


def murmur_bucket(variation_group_id: str, visitor_id: str) -> int:
    """The allocation bucket (0..99) of ``visitor_id`` in a variation group.

    Each of the two strings is encoded on its own, so a surrogate pair split
    across them is not joined.
    """
    return mmh3.hash(encode_utf8(variation_group_id) + encode_utf8(visitor_id), 0, False) % 100


def range_bucket(visitor_id: str) -> int:
    """The bucket (0..99) checked against a campaign's ``bucketRanges``."""
    return mmh3.hash(encode_utf8(visitor_id), 0, False) % 100


def decision_group_key(decision_group: str) -> str:
    """What a decision group hashes instead of the visitor id: base64 of its UTF-8 bytes."""
    return base64.b64encode(encode_utf8(decision_group)).decode("ascii")

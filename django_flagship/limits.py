"""The bucketing file's bounds that grow with an account, from ``FLAGSHIP_BUCKET_*`` settings.

The others are fixed (:mod:`.sdk.bucket_limits`). ``manage.py check``
reports a malformed value with the id in :data:`SETTINGS`; should one reach a
process anyway, it is logged once and replaced by its default, so the bounds
stay in force.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .conf import conf, setting_or_default
from .sdk.bucket_limits import BucketLimits

__all__ = ["MIN_BYTES", "SETTINGS", "bucket_limits"]

#: Below this, not even a small real bucketing file fits.
MIN_BYTES = 1024


def _count(name: str, lowest: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ValueError(f"{name} is {value!r}; it must be an int >= {lowest:,}")
        return value

    return parse


def _seconds(name: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"{name} is {value!r}; it must be a number of seconds > 0")
        return float(value)

    return parse


#: (setting, :class:`BucketLimits` field, parser raising ``ValueError``, check id)
SETTINGS: tuple[tuple[str, str, Callable[[Any], Any], str], ...] = tuple(
    (name, field, parse(name, *args), check_id)
    for name, field, parse, args, check_id in (
        ("FLAGSHIP_BUCKET_MAX_BYTES", "max_bytes", _count, (MIN_BYTES,), "E019"),
        ("FLAGSHIP_BUCKET_MAX_CAMPAIGNS", "max_campaigns", _count, (1,), "E020"),
        ("FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS", "max_variation_groups", _count, (1,), "E020"),
        ("FLAGSHIP_BUCKET_MAX_VARIATIONS", "max_variations", _count, (1,), "E020"),
        ("FLAGSHIP_BUCKET_MAX_TARGETINGS", "max_targetings", _count, (1,), "E020"),
        ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", "download_deadline", _seconds, (), "E021"),
    )
)


def bucket_limits() -> BucketLimits:
    """The bounds in force now: the settings, or the default of a malformed one."""
    return BucketLimits(
        **{
            field: setting_or_default(name, conf.raw(name), parse, check_id)
            for name, field, parse, check_id in SETTINGS
        }
    )

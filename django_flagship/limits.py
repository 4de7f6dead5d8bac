"""The bucketing file's bounds, from the ``FLAGSHIP_BUCKET_*`` settings.

``FLAGSHIP_BUCKET_MAX_BYTES`` (E019), ``FLAGSHIP_BUCKET_MAX_CAMPAIGNS`` (E020)
and ``FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE`` (E021) raise the bounds an account
could outgrow; the others are fixed (:mod:`.sdk.bucket_limits`). A malformed
value is reported by ``manage.py check`` and, should it reach a process
anyway, logged once and replaced by its default: the bounds stay in force.
"""

from __future__ import annotations

import math
from typing import Any

from .conf import conf, setting_or_default
from .sdk.bucket_limits import BucketLimits

__all__ = ["bucket_limits", "parse_download_deadline", "parse_max_bytes", "parse_max_campaigns"]

#: Below this, not even a small real bucketing file fits.
MIN_BYTES = 1024


def _count(name: str, value: Any, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ValueError(f"{name} is {value!r}; it must be an int >= {lowest}")
    return value


def parse_max_bytes(value: Any) -> int:
    return _count("FLAGSHIP_BUCKET_MAX_BYTES", value, MIN_BYTES)


def parse_max_campaigns(value: Any) -> int:
    return _count("FLAGSHIP_BUCKET_MAX_CAMPAIGNS", value, 1)


def parse_download_deadline(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE is {value!r}; it must be a number of seconds > 0"
        )
    return float(value)


def bucket_limits() -> BucketLimits:
    """The bounds in force now: the settings, or the default of a malformed one."""
    return BucketLimits(
        max_bytes=setting_or_default(
            "FLAGSHIP_BUCKET_MAX_BYTES", conf.bucket_max_bytes, parse_max_bytes, "E019"
        ),
        max_campaigns=setting_or_default(
            "FLAGSHIP_BUCKET_MAX_CAMPAIGNS", conf.bucket_max_campaigns, parse_max_campaigns, "E020"
        ),
        download_deadline=setting_or_default(
            "FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE",
            conf.bucket_download_deadline,
            parse_download_deadline,
            "E021",
        ),
    )

"""The bucketing file's bounds that grow with an account, from ``FLAGSHIP_BUCKET_*`` settings.

The others are fixed (:mod:`.sdk.bucket_limits`). ``manage.py check``
reports a malformed value (its check id is in the settings table); should one reach a
process anyway, it is logged once and replaced by its default, so the bounds
stay in force.
"""

from __future__ import annotations

from .conf import conf
from .sdk.bucket_limits import BucketLimits
from .settings_table import MIN_BUCKET_BYTES

__all__ = ["MIN_BYTES", "SETTINGS", "bucket_limits"]

#: Below this, not even a small real bucketing file fits.
MIN_BYTES = MIN_BUCKET_BYTES

#: (setting, :class:`BucketLimits` field); their parsers and check ids are in the settings table.
SETTINGS: tuple[tuple[str, str], ...] = (
    ("FLAGSHIP_BUCKET_MAX_BYTES", "max_bytes"),
    ("FLAGSHIP_BUCKET_MAX_CAMPAIGNS", "max_campaigns"),
    ("FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS", "max_variation_groups"),
    ("FLAGSHIP_BUCKET_MAX_VARIATIONS", "max_variations"),
    ("FLAGSHIP_BUCKET_MAX_TARGETINGS", "max_targetings"),
    ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", "download_deadline"),
)


def bucket_limits() -> BucketLimits:
    """The bounds in force now: the settings, or the default of a malformed one."""
    return BucketLimits(**{field: conf.value(name) for name, field in SETTINGS})

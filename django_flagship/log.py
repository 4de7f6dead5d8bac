"""Rate-limited warnings: an outage logs once a minute, not once a request.

A repeated warning (the cache down, a template tag without a request) goes
to the ``django_flagship`` logger at most once per :data:`WARN_EVERY` seconds
per topic and process, so an outage cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["WARN_EVERY", "forget_warnings", "warn_rarely"]

logger = logging.getLogger("django_flagship")

#: Seconds between two warnings of the same topic.
WARN_EVERY = 60.0

_last_warning: dict[str, float] = {}


def warn_rarely(topic: str, message: str, *args: Any) -> None:
    """Log a warning unless the same ``topic`` was logged in the last minute."""
    now = time.monotonic()
    if now - _last_warning.get(topic, -WARN_EVERY) >= WARN_EVERY:
        _last_warning[topic] = now
        logger.warning(message, *args)


def forget_warnings() -> None:
    """Let every topic warn again at once (tests start from here)."""
    _last_warning.clear()

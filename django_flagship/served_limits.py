"""Limits of the served Decision API's activation endpoints, which take no key.

``v1/activate`` and ``v2/activate`` answer anyone, as Flagship's do, so what
one client may put into the hit pipeline is bounded three ways:

``FLAGSHIP_DECISION_API_MAX_BATCH`` (default ``100``)
    the most activations one ``v2/activate`` batch may hold; a larger batch
    is refused whole (``400``, ``{"batch": "At most 100 items."}``). 100 is
    what this app's own SDK sends at most (``FLAGSHIP_HIT_BATCH_SIZE``).
``FLAGSHIP_DECISION_API_RATE_LIMIT`` (default ``(600, 6000, 60.0)``)
    ``(requests, activations, seconds)``: per client address
    (:mod:`django_flagship.client_address`), at most that many requests and
    that many activations in each window of ``seconds``; past either, ``429``
    with ``Retry-After``. Counted in the Django cache (see
    :mod:`django_flagship.ratelimit`, which also says what happens while the
    cache is failing). ``None`` removes the limit.

The third bound is where the accepted items go: a queue of their own, apart
from the site's own hits (see :mod:`django_flagship.decision_server`).

A malformed value is reported by ``manage.py check`` (``E023``, ``E024``);
should one reach a request, the default applies and an error is logged.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest

from .client_address import client_address
from .conf import conf, setting_or_default
from .ratelimit import charge

__all__ = [
    "RateLimited",
    "charge_activations",
    "charge_request",
    "max_batch",
    "parse_activation_rate_limit",
    "parse_max_batch",
]


class RateLimited(Exception):
    """The client is over a limit; ``retry_after`` is in whole seconds."""

    def __init__(self, what: str, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"too many {what} from this client; retry in {self.retry_after} s")


def _is_count(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def parse_max_batch(value: Any) -> int:
    """``FLAGSHIP_DECISION_API_MAX_BATCH`` checked: an int >= 1, else :class:`ValueError`."""
    if not _is_count(value):
        raise ValueError(f"FLAGSHIP_DECISION_API_MAX_BATCH is {value!r}; it must be an int >= 1")
    return value


def parse_activation_rate_limit(value: Any) -> tuple[int, int, float] | None:
    """``FLAGSHIP_DECISION_API_RATE_LIMIT`` checked: ``(requests, activations, seconds)``.

    ``None`` means no limit. Raises :class:`ValueError` naming the problem.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(
            f"FLAGSHIP_DECISION_API_RATE_LIMIT is {value!r}; it must be a "
            "(requests, activations, seconds) triple or None"
        )
    requests, items, seconds = value
    for name, number in (("requests", requests), ("activations", items)):
        if not _is_count(number):
            raise ValueError(
                f"FLAGSHIP_DECISION_API_RATE_LIMIT's {name} are {number!r}; "
                "they must be an int >= 1"
            )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise ValueError(
            f"FLAGSHIP_DECISION_API_RATE_LIMIT's seconds are {seconds!r}; "
            "they must be a number of seconds > 0"
        )
    return requests, items, float(seconds)


def max_batch() -> int:
    return setting_or_default(
        "FLAGSHIP_DECISION_API_MAX_BATCH", conf.decision_api_max_batch, parse_max_batch, "E024"
    )


def _rate_limit() -> tuple[int, int, float] | None:
    return setting_or_default(
        "FLAGSHIP_DECISION_API_RATE_LIMIT",
        conf.decision_api_rate_limit,
        parse_activation_rate_limit,
        "E023",
    )


def charge_request(request: HttpRequest) -> None:
    """Count one activation request of the client; :class:`RateLimited` when over."""
    limit = _rate_limit()
    if limit is None:
        return
    requests, _, seconds = limit
    wait = charge("activate-requests", client_address(request), (requests, seconds))
    if wait is not None:
        raise RateLimited("requests", wait)


def charge_activations(request: HttpRequest, count: int) -> None:
    """Count ``count`` activations of the client; :class:`RateLimited` when over."""
    limit = _rate_limit()
    if limit is None or count < 1:
        return
    _, items, seconds = limit
    wait = charge("activate-items", client_address(request), (items, seconds), count)
    if wait is not None:
        raise RateLimited("activations", wait)

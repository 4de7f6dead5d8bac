"""Limits of the activation endpoints, which take no key.

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
from the site's own hits (see :mod:`django_flagship.decision_api.trackers`).

The settings are read by :mod:`django_flagship.served_conf`: a malformed
value is reported by ``manage.py check`` (``E023``, ``E024``); should one
reach a request, the default applies and an error is logged.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest

from ..client_address import client_address
from ..ratelimit import charge
from ..served_conf import activation_rate_limit, max_batch
from .activation import activation_error

__all__ = ["RateLimited", "batch_size", "charge_activations", "charge_request"]


class RateLimited(Exception):
    """The client is over a limit; ``retry_after`` is in whole seconds."""

    def __init__(self, what: str, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"too many {what} from this client; retry in {self.retry_after} s")


def charge_request(request: HttpRequest) -> None:
    """Count one activation request of the client; :class:`RateLimited` when over."""
    limit = activation_rate_limit()
    if limit is None:
        return
    requests, _, seconds = limit
    wait = charge("activate-requests", client_address(request), (requests, seconds))
    if wait is not None:
        raise RateLimited("requests", wait)


def charge_activations(request: HttpRequest, count: int) -> None:
    """Count ``count`` activations of the client; :class:`RateLimited` when over."""
    limit = activation_rate_limit()
    if limit is None or count < 1:
        return
    _, items, seconds = limit
    wait = charge("activate-items", client_address(request), (items, seconds), count)
    if wait is not None:
        raise RateLimited("activations", wait)


def batch_size(data: Any) -> int:
    """How many activations the body holds; ``400`` past ``FLAGSHIP_DECISION_API_MAX_BATCH``."""
    batch = data.get("batch") if isinstance(data, dict) else None
    if not isinstance(batch, list):
        return 1
    cap = max_batch()
    if len(batch) > cap:
        raise activation_error({"batch": f"At most {cap} items."})
    return len(batch)

"""Moved: the activation endpoints' limits live in :mod:`django_flagship.decision_api.limits`.

Their settings are read by :mod:`django_flagship.served_conf`. This module
re-exports the names it held, so imports written for it keep working.
"""

from __future__ import annotations

from .decision_api.limits import RateLimited, charge_activations, charge_request
from .served_conf import max_batch, parse_activation_rate_limit, parse_max_batch

__all__ = [
    "RateLimited",
    "charge_activations",
    "charge_request",
    "max_batch",
    "parse_activation_rate_limit",
    "parse_max_batch",
]

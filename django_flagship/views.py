"""Moved: the Decision API's views live in :mod:`django_flagship.decision_api.views`.

This module re-exports them, so imports written for it keep working.
"""

from __future__ import annotations

from .decision_api.views import (
    not_found,
    v1_activate,
    v1_campaign,
    v1_campaigns,
    v2_activate,
    v2_campaign,
    v2_campaigns,
)

__all__ = [
    "not_found",
    "v1_activate",
    "v1_campaign",
    "v1_campaigns",
    "v2_activate",
    "v2_campaign",
    "v2_campaigns",
]
